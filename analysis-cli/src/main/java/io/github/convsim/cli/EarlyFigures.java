package io.github.convsim.cli;

import io.github.convsim.report.ReportWriter;
import io.github.convsim.results.ModuleResult;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.function.Consumer;

/**
 * Draws each module's figures into the report being assembled as soon as the module is analysed, on one background
 * thread, so that drawing overlaps the analysis of the next module instead of following the whole analysis.
 */
final class EarlyFigures implements Consumer<ModuleResult>, AutoCloseable {
    private final ReportWriter writer;
    private final Path figures;
    private final Map<String, Future<?>> drawing = new LinkedHashMap<>();
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "convsim-figures");
        t.setDaemon(true);
        return t;
    });

    EarlyFigures(ReportWriter writer, Path figures) {
        this.writer = writer;
        this.figures = figures;
    }

    @Override
    public void accept(ModuleResult m) {
        drawing.put(m.module(), thread.submit(() -> {
            writer.writeFigures(m, figures);
            return null;
        }));
    }

    /**
     * Waits for the drawing, and names the modules whose figures are done. A module whose drawing failed is left out:
     * the report writer draws it again and reports the failure as any output error.
     */
    Set<String> finished() throws InterruptedException {
        Set<String> done = new HashSet<>();
        for (Map.Entry<String, Future<?>> f : drawing.entrySet()) {
            try {
                f.getValue().get();
                done.add(f.getKey());
            } catch (ExecutionException failed) {
                // drawn again by the writer
            }
        }
        return done;
    }

    @Override
    public void close() {
        thread.shutdownNow();
    }
}
