package io.github.convsim.linalg;

import static org.junit.jupiter.api.Assertions.*;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** What a stopping JVM relies on: closing waits for the work in flight, then no work starts. */
class BlasGateTest {
    private static Thread daemon(Runnable r) {
        Thread t = new Thread(r);
        t.setDaemon(true);
        t.start();
        return t;
    }

    /** Runs work through {@code gate} on a daemon thread that holds it until {@code release}; returns once it runs. */
    private static void holdUntil(BlasGate gate, CountDownLatch release, AtomicBoolean finished) throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        daemon(() -> gate.run(() -> {
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                throw new IllegalStateException(e);
            }
            finished.set(true);
            return null;
        }));
        assertTrue(started.await(10, TimeUnit.SECONDS));
    }

    @Test
    void closingWaitsForTheWorkInFlightAndThenLetsNoneStart() throws Exception {
        BlasGate gate = new BlasGate();
        CountDownLatch release = new CountDownLatch(1);
        AtomicBoolean finished = new AtomicBoolean();
        holdUntil(gate, release, finished);
        AtomicReference<Boolean> closed = new AtomicReference<>();
        AtomicBoolean workDoneWhenClosed = new AtomicBoolean();
        Thread closer = daemon(() -> {
            closed.set(gate.close(30, TimeUnit.SECONDS));
            workDoneWhenClosed.set(finished.get());
        });
        closer.join(300);
        assertTrue(closer.isAlive(), "closed while work was in flight");
        release.countDown();
        closer.join(10_000);
        assertEquals(Boolean.TRUE, closed.get());
        assertTrue(workDoneWhenClosed.get());

        AtomicBoolean ran = new AtomicBoolean();
        Thread late = daemon(() -> gate.run(() -> {
            ran.set(true);
            return null;
        }));
        late.join(300);
        assertTrue(late.isAlive(), "work started after the gate closed");
        assertFalse(ran.get());
    }

    @Test
    void workThatOutlastsTheWaitIsNotWaitedForAndTheGateStaysOpen() throws Exception {
        BlasGate gate = new BlasGate();
        CountDownLatch release = new CountDownLatch(1);
        holdUntil(gate, release, new AtomicBoolean());
        long t0 = System.nanoTime();
        assertFalse(gate.close(50, TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(50));
        release.countDown();
        assertEquals(7, gate.run(() -> 7));
    }
}
