package io.github.convsim.io;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One writer thread (a daemon) behind a producer: jobs run in the order they were submitted, and the bytes they hold
 * on the heap until they have run are bounded. A producer that would pass the bound waits; a job larger than the bound
 * waits until it is alone.
 */
public final class WriteBehind implements AutoCloseable {
    private final ExecutorService thread;
    private final Semaphore room;
    private final int maxKib;

    /** A writer on a thread named {@code threadName}, with at most {@code maxQueuedBytes} waiting for it. */
    public WriteBehind(String threadName, long maxQueuedBytes) {
        this.maxKib = (int) Math.max(1, Math.min(Integer.MAX_VALUE, maxQueuedBytes >> 10));
        this.room = new Semaphore(maxKib);
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, threadName);
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues {@code job}, which holds {@code bytes} until it has run; waits while that would pass the bound. */
    public Future<?> submit(long bytes, Runnable job) {
        int kib = (int) Math.min(maxKib, (bytes >> 10) + 1);
        room.acquireUninterruptibly(kib);
        return thread.submit(() -> {
            try {
                job.run();
            } finally {
                room.release(kib);
            }
        });
    }

    /** Lets the queued jobs finish (for at most a minute) and stops the thread. */
    @Override
    public void close() {
        thread.shutdown();
        try {
            thread.awaitTermination(1, TimeUnit.MINUTES);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
