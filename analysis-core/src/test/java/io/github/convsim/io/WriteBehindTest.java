package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class WriteBehindTest {
    /**
     * A job holding the whole bound keeps the next producer waiting until it has run (a job larger than the bound
     * then runs alone), and jobs run in the order they were submitted.
     */
    @Test
    void aProducerWaitsWhileTheBoundIsHeldAndJobsRunInOrder() throws Exception {
        List<Integer> ran = new CopyOnWriteArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        try (WriteBehind w = new WriteBehind("test-writer", 4 << 10)) {
            takeTheBoundUntil(w, release, ran);
            CompletableFuture<Void> second = CompletableFuture.runAsync(() -> w.submit(1 << 20, () -> ran.add(2)));
            Thread.sleep(200);
            assertFalse(second.isDone(), "the second job was queued past the bound");
            release.countDown();
            second.get(10, TimeUnit.SECONDS);
            w.submit(10, () -> ran.add(3)).get(10, TimeUnit.SECONDS);
        }
        assertEquals(List.of(1, 2, 3), ran);
    }

    /**
     * A held job takes no room: with the bound taken by a running job, a held job is still queued at once, and
     * {@code awaitHeld} returns only once it has run; jobs of both kinds run in the order they were submitted.
     */
    @Test
    void aHeldJobIsQueuedWithoutRoomAndAwaitHeldWaitsForIt() throws Exception {
        List<Integer> ran = new CopyOnWriteArrayList<>();
        CountDownLatch release = new CountDownLatch(1);
        try (WriteBehind w = new WriteBehind("test-writer", 4 << 10)) {
            takeTheBoundUntil(w, release, ran);
            CompletableFuture<Void> queued = CompletableFuture.runAsync(() -> w.submitHeld(() -> ran.add(2)));
            queued.get(10, TimeUnit.SECONDS);
            CompletableFuture<Void> awaited = CompletableFuture.runAsync(w::awaitHeld);
            Thread.sleep(200);
            assertFalse(awaited.isDone(), "awaitHeld returned before the held job ran");
            release.countDown();
            awaited.get(10, TimeUnit.SECONDS);
            assertEquals(List.of(1, 2), ran);
            w.awaitHeld(); // none left: returns at once
        }
    }

    /** Queues a job that takes the whole bound of {@code w} and runs, adding 1 to {@code ran}, once {@code release}. */
    private static void takeTheBoundUntil(WriteBehind w, CountDownLatch release, List<Integer> ran) {
        w.submit(4 << 10, () -> {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            ran.add(1);
        });
    }
}
