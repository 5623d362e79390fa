package io.github.convsim.api;

import com.sun.management.GarbageCollectionNotificationInfo;
import java.io.IOException;
import java.lang.management.GarbageCollectorMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import javax.management.NotificationEmitter;
import javax.management.openmbean.CompositeData;

/**
 * Memory this process has used, as the JVM's collectors and the OS report it: the heap just before each collection
 * (its highest points) and just after (what was live), and the peak resident set. Collections are watched from the
 * first call of {@link #watch()}.
 */
public final class MemoryUse {
    private static final AtomicLong PEAK_BEFORE_GC = new AtomicLong();
    private static final AtomicLong PEAK_AFTER_GC = new AtomicLong();
    private static final AtomicLong PEAK_AFTER_FULL_GC = new AtomicLong();
    private static volatile boolean watching;

    private MemoryUse() {}

    /** Starts watching collections (once per JVM). */
    public static synchronized void watch() {
        if (watching) {
            return;
        }
        for (GarbageCollectorMXBean gc : ManagementFactory.getGarbageCollectorMXBeans()) {
            if (gc instanceof NotificationEmitter emitter) {
                emitter.addNotificationListener((n, handback) -> {
                    if (GarbageCollectionNotificationInfo.GARBAGE_COLLECTION_NOTIFICATION.equals(n.getType())) {
                        var done = GarbageCollectionNotificationInfo.from((CompositeData) n.getUserData());
                        var info = done.getGcInfo();
                        long after = heap(info.getMemoryUsageAfterGc());
                        PEAK_BEFORE_GC.accumulateAndGet(heap(info.getMemoryUsageBeforeGc()), Math::max);
                        PEAK_AFTER_GC.accumulateAndGet(after, Math::max);
                        if (done.getGcAction().contains("major")) {
                            PEAK_AFTER_FULL_GC.accumulateAndGet(after, Math::max);
                        }
                    }
                }, null, null);
            }
        }
        watching = true;
    }

    private static long heap(Map<String, MemoryUsage> pools) {
        long sum = 0;
        for (var pool : ManagementFactory.getMemoryPoolMXBeans()) {
            if (pool.getType() == java.lang.management.MemoryType.HEAP && pools.containsKey(pool.getName())) {
                sum += pools.get(pool.getName()).getUsed();
            }
        }
        return sum;
    }

    /** The largest heap occupancy seen: before a collection, or now. */
    /** The heap the run was given and the peaks it reached, for provenance. */
    public static Map<String, Object> resources() {
        Map<String, Object> r = new java.util.LinkedHashMap<>();
        r.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        r.put("peak_heap_bytes", peakHeapBytes());
        r.put("peak_live_heap_after_gc_bytes", peakLiveHeapBytes());
        r.put("peak_live_heap_after_full_gc_bytes", peakLiveAfterFullGcBytes());
        r.put("peak_rss_bytes", peakResidentBytes());
        return r;
    }

    /** As {@link #resources()}, with how each module was streamed. */
    public static Map<String, Object> resources(Map<String, Object> modules) {
        Map<String, Object> r = resources();
        r.put("modules", modules);
        return r;
    }

    public static long peakHeapBytes() {
        return Math.max(PEAK_BEFORE_GC.get(), ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed());
    }

    /** The largest heap left after any collection (a young one leaves old garbage): an upper bound of live data. */
    public static long peakLiveHeapBytes() {
        return PEAK_AFTER_GC.get();
    }

    /** The largest heap left after a full collection: the live data then; 0 when no full collection ran. */
    public static long peakLiveAfterFullGcBytes() {
        return PEAK_AFTER_FULL_GC.get();
    }

    /** Peak resident set size (VmHWM of /proc/self/status), including native memory; -1 where unavailable. */
    public static long peakResidentBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
                if (line.startsWith("VmHWM:")) {
                    String[] parts = line.substring(6).trim().split("\\s+");
                    return Long.parseLong(parts[0]) * 1024;
                }
            }
        } catch (IOException | RuntimeException e) {
            return -1;
        }
        return -1;
    }
}
