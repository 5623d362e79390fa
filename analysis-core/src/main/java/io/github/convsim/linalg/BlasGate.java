package io.github.convsim.linalg;

import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;

/**
 * One piece of native work at a time, and none after {@link #close}: what a JVM that is stopping needs of a native
 * library whose buffers the process's exit frees. Work runs under a lock; closing takes the lock and never gives it
 * back, so it waits for the work in flight and every later {@link #run} blocks until the JVM halts.
 */
final class BlasGate {
    private final ReentrantLock lock = new ReentrantLock();

    /** Runs {@code work} alone among this gate's work (the same thread may run more inside it). */
    <T> T run(Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits up to {@code timeout} for the work in flight to end and lets none start after.
     *
     * @return whether the gate closed: false when the work in flight outlasted {@code timeout} (or this thread was
     *     interrupted), in which case later work is not held back either
     */
    boolean close(long timeout, TimeUnit unit) {
        try {
            return lock.tryLock(timeout, unit);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }
}
