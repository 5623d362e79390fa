package io.github.convsim.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/** Independent file-writing jobs run on a few threads; the first failure is rethrown, the rest cancelled. */
public final class IoJobs {
    /** One job: writes something, may fail with an IOException. */
    @FunctionalInterface
    public interface Job {
        void run() throws IOException;
    }

    private IoJobs() {}

    public static void runAll(List<Job> jobs, int threads) throws IOException {
        if (jobs.isEmpty()) {
            return;
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, Math.min(threads, jobs.size())));
        List<Future<?>> futures = new ArrayList<>(jobs.size());
        try {
            for (Job j : jobs) {
                futures.add(pool.submit(() -> {
                    j.run();
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }
}
