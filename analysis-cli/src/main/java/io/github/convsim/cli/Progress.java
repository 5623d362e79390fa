package io.github.convsim.cli;

import io.github.convsim.common.ProgressListener;
import java.util.HashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/**
 * Progress of the slow phases on stderr: bars with an ETA on a terminal, plain lines where stderr is a file or a pipe
 * (a log, CI), or nothing with --quiet.
 */
abstract class Progress implements ProgressListener, AutoCloseable {
    @Override
    public abstract void close();

    static final class Silent extends Progress {
        @Override
        public void progress(String phase, long done, long total) {}

        @Override
        public void close() {}
    }

    /**
     * One line per phase when it starts, then at most one every {@link #EVERY_NANOS} (and at its end): no carriage
     * returns or escape codes, so a log reads as text.
     */
    static final class Lines extends Progress {
        static final long EVERY_NANOS = 5_000_000_000L;
        private final java.io.PrintWriter err;
        private final long start = System.nanoTime();
        private final Map<String, Long> lastPrinted = new HashMap<>();

        Lines(java.io.PrintWriter err) {
            this.err = err;
        }

        @Override
        public synchronized void progress(String phase, long done, long total) {
            long now = System.nanoTime();
            Long last = lastPrinted.get(phase);
            boolean finished = done >= total;
            if (last == null || finished || now - last >= EVERY_NANOS) {
                if (last != null && last == Long.MIN_VALUE) {
                    return; // its end was printed already
                }
                err.printf(java.util.Locale.ROOT, "progress: %s %d/%d (%.0f %%), %.1f s%n", phase, done, total,
                        total == 0 ? 100.0 : 100.0 * done / total, (now - start) / 1e9);
                err.flush();
                lastPrinted.put(phase, finished ? Long.MIN_VALUE : now);
            }
        }

        @Override
        public void close() {}
    }

    static final class Bars extends Progress {
        private final Map<String, ProgressBar> bars = new HashMap<>();

        @Override
        public synchronized void progress(String phase, long done, long total) {
            ProgressBar bar = bars.computeIfAbsent(phase, p -> new ProgressBarBuilder().setTaskName(p)
                    .setInitialMax(total).setStyle(ProgressBarStyle.ASCII).setUpdateIntervalMillis(200)
                    .continuousUpdate().build());
            bar.maxHint(total);
            bar.stepTo(done);
        }

        @Override
        public synchronized void close() {
            bars.values().forEach(ProgressBar::close);
            bars.clear();
        }
    }
}
