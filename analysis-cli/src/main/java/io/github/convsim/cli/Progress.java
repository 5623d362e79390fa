package io.github.convsim.cli;

import io.github.convsim.common.ProgressListener;
import java.util.HashMap;
import java.util.Map;
import me.tongfei.progressbar.ProgressBar;
import me.tongfei.progressbar.ProgressBarBuilder;
import me.tongfei.progressbar.ProgressBarStyle;

/** Progress of the slow phases on stderr: bars with an ETA, or nothing. */
abstract class Progress implements ProgressListener, AutoCloseable {
    @Override
    public abstract void close();

    static final class Silent extends Progress {
        @Override
        public void progress(String phase, long done, long total) {}

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
