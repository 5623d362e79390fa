package io.github.convsim.pipeline;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.IoJobs;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The one path from the base's files to the numerical work, shared by analyze, compare, condlora fit and export and
 * the library facade: a module's layers go through memory a group at a time ({@link LayerGroups}); each group's W0 is
 * read from the (memory-mapped) base on all cores, handed to a step, and let go before the next group is read. Only
 * what a step keeps (conversion matrices, bases, sums) outlives its group, so a 7B-class base streams within the heap
 * that one group needs.
 *
 * <pre>{@code
 * LayerStream stream = new LayerStream(checkpoint, LayerGroups.size(layers.get(0), Runtime.getRuntime().maxMemory()));
 * stream.forEach(layers, timings, group -> solveAndKeepBases(group.layers(), group.w0s()));
 * }</pre>
 */
public final class LayerStream {
    /** One group of consecutive layers of a module, starting at position {@code from}, with their W0 in order. */
    public record Group(int from, List<LoraModule> layers, List<Matrix> w0s) {}

    /** What is done with each group while its W0 is in memory. */
    @FunctionalInterface
    public interface Step {
        void accept(Group group) throws CheckpointException;
    }

    private final LoraCheckpoint base;
    private final int groupSize;

    /** Streams W0 from {@code base}'s base weights, {@code groupSize} layers at a time. */
    public LayerStream(LoraCheckpoint base, int groupSize) {
        if (groupSize < 1) {
            throw new IllegalArgumentException("a layer group needs at least one layer, got " + groupSize);
        }
        this.base = base;
        this.groupSize = groupSize;
    }

    public int groupSize() {
        return groupSize;
    }

    /**
     * Runs {@code step} on every group of {@code layers}, in order; the seconds spent reading W0 are added to
     * {@code timings} under "read_w0".
     */
    public void forEach(List<LoraModule> layers, Map<String, Double> timings, Step step) throws CheckpointException {
        for (int from = 0; from < layers.size(); from += groupSize) {
            List<LoraModule> chunk = layers.subList(from, Math.min(layers.size(), from + groupSize));
            long t0 = System.nanoTime();
            List<Matrix> w0s = read(chunk);
            timings.merge("read_w0", (System.nanoTime() - t0) / 1e9, Double::sum);
            step.accept(new Group(from, chunk, w0s));
        }
    }

    /** The group's W0, read and converted on as many threads as there are cores (decoding bf16 is CPU work). */
    private List<Matrix> read(List<LoraModule> chunk) throws CheckpointException {
        Matrix[] w0s = new Matrix[chunk.size()];
        List<IoJobs.Job> jobs = new ArrayList<>(chunk.size());
        for (int k = 0; k < chunk.size(); k++) {
            int kk = k;
            jobs.add(() -> w0s[kk] = base.baseWeight(chunk.get(kk)));
        }
        try {
            IoJobs.runAll(jobs, Runtime.getRuntime().availableProcessors());
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException e) {
            throw new CheckpointException(null, e.getMessage());
        }
        return List.of(w0s);
    }
}
