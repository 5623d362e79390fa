package io.github.convsim.cuda;

import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Precision;
import java.lang.foreign.MemorySegment;
import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Consumer;

/**
 * LU factors kept on the device after the call that computed or first used them: one layer's factors serve cond(W0)'s
 * neighbours, C_A and C_B, every chunk of the W0 null and the planted controls, each a {@code luSolve} that would
 * otherwise upload them again (128 MiB at 4096 x 4096 in fp64). An entry is keyed by the identity of the factors'
 * array, weakly (it keeps no factors alive), which {@link LuFactors} never changes once made. Entries leave least
 * recently used first, when an allocation needs their memory; those in use by the current call stay.
 */
final class ResidentFactors {
    /** The factors on the device: packed L\U and the 64-bit pivots cuSOLVER's Xgetrs reads. */
    record Entry(MemorySegment packed, MemorySegment pivots, long bytes, int n, Precision precision) {}

    private final Map<Key, Entry> entries = new LinkedHashMap<>(16, 0.75f, true);
    private final Set<Entry> busy = new HashSet<>();
    private final ReferenceQueue<double[]> gone = new ReferenceQueue<>();
    private final Consumer<Entry> free;

    ResidentFactors(Consumer<Entry> free) {
        this.free = free;
    }

    /** The device copy of {@code lu}, held for the current call, or null. */
    Entry find(LuFactors lu) {
        purge();
        Entry e = entries.get(new Key(lu.packed().data(), null));
        if (e != null && (e.n() != lu.n() || e.precision() != lu.precision())) {
            return null;
        }
        if (e != null) {
            busy.add(e);
        }
        return e;
    }

    /** Keeps {@code e} as the device copy of {@code lu}, free to leave when memory is needed. */
    void keep(LuFactors lu, Entry e) {
        purge();
        Entry old = entries.put(new Key(lu.packed().data(), gone), e);
        if (old != null && old != e) {
            busy.remove(old);
            free.accept(old);
        }
    }

    /** Frees the least recently used entry not held by the current call; false when there is none. */
    boolean evictOne() {
        purge();
        Iterator<Map.Entry<Key, Entry>> it = entries.entrySet().iterator();
        while (it.hasNext()) {
            Entry e = it.next().getValue();
            if (!busy.contains(e)) {
                it.remove();
                free.accept(e);
                return true;
            }
        }
        return false;
    }

    /** The end of a chunk of work: the entries it used may leave again. */
    void release() {
        busy.clear();
    }

    int size() {
        return entries.size();
    }

    long bytes() {
        return entries.values().stream().mapToLong(Entry::bytes).sum();
    }

    void clear() {
        List<Entry> all = new ArrayList<>(entries.values());
        entries.clear();
        busy.clear();
        all.forEach(free);
    }

    /** Frees the entries of factors the program no longer holds. */
    private void purge() {
        Object k;
        while ((k = gone.poll()) != null) {
            Entry e = entries.remove(k);
            if (e != null) {
                busy.remove(e);
                free.accept(e);
            }
        }
    }

    /** Identity of an array, weakly held; a key made for a lookup (no queue) equals the stored one. */
    private static final class Key extends WeakReference<double[]> {
        private final int hash;

        Key(double[] array, ReferenceQueue<double[]> queue) {
            super(array, queue);
            hash = System.identityHashCode(array);
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            if (!(o instanceof Key k)) {
                return false;
            }
            double[] mine = get();
            return mine != null && mine == k.get();
        }
    }
}
