package io.github.convsim.io;

import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * One writer thread (a daemon) behind a producer: jobs run in the order they were submitted, and the bytes they hold
 * on the heap until they have run are bounded. A producer that would pass the bound waits; a job larger than the bound
 * waits until it is alone. A job whose bytes the producer holds anyway ({@link #submitHeld}) is queued without
 * waiting, and the producer waits for such jobs ({@link #awaitHeld}) before it lets go of what they hold.
 */
public final class WriteBehind implements AutoCloseable {
    private final ExecutorService thread;
    private final Semaphore room;
    private final int maxKib;
    private final Object heldLock = new Object();
    private long heldJobs;

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

    /**
     * Queues {@code job}, whose data the producer keeps alive anyway until its next {@link #awaitHeld}: it costs no heap
     * while queued, so the producer does not wait for room, nor does it take any.
     */
    public Future<?> submitHeld(Runnable job) {
        synchronized (heldLock) {
            heldJobs++;
        }
        try {
            return thread.submit(() -> {
                try {
                    job.run();
                } finally {
                    doneHeld();
                }
            });
        } catch (RuntimeException notQueued) {
            doneHeld();
            throw notQueued;
        }
    }

    private void doneHeld() {
        synchronized (heldLock) {
            heldJobs--;
            heldLock.notifyAll();
        }
    }

    /** Waits until every job queued by {@link #submitHeld} has run (returns early, interrupted, if interrupted). */
    public void awaitHeld() {
        synchronized (heldLock) {
            while (heldJobs > 0) {
                try {
                    heldLock.wait();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
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
