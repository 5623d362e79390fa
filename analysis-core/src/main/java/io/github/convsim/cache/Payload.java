package io.github.convsim.cache;

import io.github.convsim.linalg.Fp32;
import java.io.IOException;
import java.nio.BufferUnderflowException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * A cache entry's payload, little-endian: numbers and arrays (each array after its length) in the order they were
 * put. Reading past the end or a negative length throws {@link IllegalArgumentException}; the entry was verified
 * before, so that means a defect, not a damaged file.
 *
 * <p>Large arrays are put by reference ({@link #putDoublesByReference}, {@link #putNarrowedByReference}) and encoded a
 * slice at a time as the entry is written, so that keeping a 4096 x 4096 LU costs no 128 MiB copy of it on the heap
 * (the 7B smoke ran out of a 1 GiB heap with one).
 */
public final class Payload {
    /** The largest payload: one Java array (an fp64 LU of n = 16384 is 2 GiB, just over). */
    public static final long MAX_BYTES = Integer.MAX_VALUE - 64;

    /** Bytes put in place, or an array put by reference (encoded when written: as doubles, or narrowed to fp32). */
    private sealed interface Part permits InPlace, ByReference {}

    private record InPlace(ByteBuffer bytes) implements Part {}

    private record ByReference(double[] values, boolean narrowed) implements Part {
        long size() {
            return (long) values.length * (narrowed ? Float.BYTES : Double.BYTES);
        }
    }

    /** Where {@link #writeTo} puts the payload, a slice at a time. */
    interface Sink {
        void accept(ByteBuffer slice) throws IOException;
    }

    private final List<Part> parts = new ArrayList<>();
    private ByteBuffer buf;
    private long size;

    /**
     * A payload with room for {@code expectedBytes} put in place (it grows past them).
     *
     * @throws IllegalArgumentException if {@code expectedBytes} exceeds {@link #MAX_BYTES}
     */
    public Payload(long expectedBytes) {
        if (expectedBytes > MAX_BYTES) {
            throw new IllegalArgumentException("a cache entry cannot exceed 2 GiB, asked for " + expectedBytes + " bytes");
        }
        buf = ByteBuffer.allocate((int) Math.max(64, expectedBytes)).order(ByteOrder.LITTLE_ENDIAN);
    }

    public Payload putInt(int v) {
        room(4).putInt(v);
        return this;
    }

    public Payload putDouble(double v) {
        room(8).putDouble(v);
        return this;
    }

    public Payload putBoolean(boolean v) {
        room(1).put((byte) (v ? 1 : 0));
        return this;
    }

    public Payload putString(String s) {
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        room(4 + b.length).putInt(b.length).put(b);
        return this;
    }

    public Payload putDoubles(double[] v) {
        room(4 + 8L * v.length).putInt(v.length);
        buf.asDoubleBuffer().put(v);
        buf.position(buf.position() + v.length * Double.BYTES);
        return this;
    }

    /**
     * {@code v} after its length, not copied: encoded when the entry is written, so {@code v} must not change until
     * then ({@link BaseCache#flush}); LU factors never change once made.
     */
    public Payload putDoublesByReference(double[] v) {
        return putByReference(new ByReference(v, false));
    }

    /**
     * Doubles that hold fp32 values (fp32 LU factors), by reference as {@link #putDoublesByReference}, stored as fp32:
     * exact, half the bytes, read back by {@link #getWidened}.
     */
    public Payload putNarrowedByReference(double[] v) {
        return putByReference(new ByReference(v, true));
    }

    private Payload putByReference(ByReference part) {
        if (size() + 4 + part.size() > MAX_BYTES) {
            throw new IllegalArgumentException("a cache entry cannot exceed 2 GiB");
        }
        putInt(part.values().length);
        parts.add(new InPlace(buf.flip()));
        parts.add(part);
        size += buf.remaining() + part.size();
        buf = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        return this;
    }

    public Payload putInts(int[] v) {
        room(4 + 4L * v.length).putInt(v.length);
        buf.asIntBuffer().put(v);
        buf.position(buf.position() + v.length * Integer.BYTES);
        return this;
    }

    /** Maps (phi samples: draw, then row), each row as {@link #putDoubles}; read back by {@link #getMaps}. */
    public Payload putMaps(double[][][] maps) {
        putInt(maps.length);
        for (double[][] map : maps) {
            putInt(map.length);
            for (double[] row : map) {
                putDoubles(row);
            }
        }
        return this;
    }

    /** The payload's length in bytes, the arrays put by reference included. */
    public long size() {
        return size + buf.position();
    }

    /**
     * Hands the payload to {@code sink} in order, in slices of at most {@code scratch}'s capacity: bytes put in place
     * as views of themselves, arrays put by reference encoded into {@code scratch} (little-endian), which the sink
     * must have consumed when it returns.
     */
    void writeTo(ByteBuffer scratch, Sink sink) throws IOException {
        int slice = scratch.capacity();
        List<Part> all = new ArrayList<>(parts);
        all.add(new InPlace(buf.duplicate().flip()));
        for (Part part : all) {
            if (part instanceof InPlace p) {
                ByteBuffer b = p.bytes().duplicate();
                for (int at = b.position(); at < b.limit(); at += slice) {
                    sink.accept(b.slice(at, Math.min(slice, b.limit() - at)));
                }
            } else if (part instanceof ByReference r) {
                int width = r.narrowed() ? Float.BYTES : Double.BYTES;
                int per = slice / width;
                float[] narrowed = r.narrowed() ? new float[Math.min(per, r.values().length)] : null;
                for (int from = 0; from < r.values().length; from += per) {
                    int n = Math.min(per, r.values().length - from);
                    scratch.clear().order(ByteOrder.LITTLE_ENDIAN);
                    if (narrowed != null) {
                        Fp32.narrow(r.values(), from, narrowed, n);
                        scratch.asFloatBuffer().put(narrowed, 0, n);
                    } else {
                        scratch.asDoubleBuffer().put(r.values(), from, n);
                    }
                    sink.accept(scratch.limit(n * width));
                }
            }
        }
    }

    private ByteBuffer room(long bytes) {
        if (buf.remaining() < bytes) {
            long want = Math.max(buf.capacity() * 2L, buf.position() + bytes);
            if (want > MAX_BYTES) {
                throw new IllegalArgumentException("a cache entry cannot exceed 2 GiB");
            }
            ByteBuffer bigger = ByteBuffer.allocate((int) want).order(ByteOrder.LITTLE_ENDIAN);
            bigger.put(buf.flip());
            buf = bigger;
        }
        return buf;
    }

    public static int getInt(ByteBuffer b) {
        return read(() -> b.getInt());
    }

    public static double getDouble(ByteBuffer b) {
        return read(() -> b.getDouble());
    }

    public static boolean getBoolean(ByteBuffer b) {
        return read(() -> b.get() != 0);
    }

    public static String getString(ByteBuffer b) {
        byte[] s = new byte[length(b, 1)];
        b.get(s);
        return new String(s, StandardCharsets.UTF_8);
    }

    public static double[] getDoubles(ByteBuffer b) {
        double[] v = new double[length(b, Double.BYTES)];
        b.asDoubleBuffer().get(v);
        b.position(b.position() + v.length * Double.BYTES);
        return v;
    }

    public static double[][][] getMaps(ByteBuffer b) {
        double[][][] maps = new double[length(b, 4)][][];
        for (int d = 0; d < maps.length; d++) {
            maps[d] = new double[length(b, 4)][];
            for (int a = 0; a < maps[d].length; a++) {
                maps[d][a] = getDoubles(b);
            }
        }
        return maps;
    }

    /** fp32 values as doubles (exactly), without an fp32 copy of the whole array. */
    public static double[] getWidened(ByteBuffer b) {
        double[] v = new double[length(b, Float.BYTES)];
        java.nio.FloatBuffer in = b.asFloatBuffer();
        float[] chunk = new float[Math.min(v.length, 1 << 16)];
        for (int from = 0; from < v.length; from += chunk.length) {
            int n = Math.min(chunk.length, v.length - from);
            in.get(chunk, 0, n);
            for (int i = 0; i < n; i++) {
                v[from + i] = chunk[i];
            }
        }
        b.position(b.position() + v.length * Float.BYTES);
        return v;
    }

    public static int[] getInts(ByteBuffer b) {
        int[] v = new int[length(b, Integer.BYTES)];
        b.asIntBuffer().get(v);
        b.position(b.position() + v.length * Integer.BYTES);
        return v;
    }

    private static int length(ByteBuffer b, int elementBytes) {
        int n = getInt(b);
        if (n < 0 || (long) n * elementBytes > b.remaining()) {
            throw new IllegalArgumentException("cache payload: an array of " + n + " elements with " + b.remaining()
                    + " bytes left");
        }
        return n;
    }

    private interface Read<T> {
        T get();
    }

    private static <T> T read(Read<T> r) {
        try {
            return r.get();
        } catch (BufferUnderflowException e) {
            throw new IllegalArgumentException("cache payload ends early", e);
        }
    }
}
