package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@code convsim inspect} shows for one module of one layer: where W0 is, the adapter's hyper-parameters and
 * the size of the update relative to the frozen weight. Read without the base ({@link AdapterAlone}), the base key is
 * null and the relative size NaN.
 */
public record ModuleSummary(String module, int layer, String baseKey, int out, int in, int rank, double alpha,
                            double scaling, double normA, double normB, double relativeDelta, boolean dora) {

    /** Summaries of every resolved module; reads each W0 once for its norm. */
    public static List<ModuleSummary> of(LoraCheckpoint checkpoint) throws CheckpointException {
        List<ModuleSummary> rows = new ArrayList<>();
        for (LoraModule m : checkpoint.modules()) {
            rows.add(of(m, m.deltaNorm() / checkpoint.baseWeight(m).frobeniusNorm()));
        }
        return rows;
    }

    /** The row of {@code m}, whose update is {@code relativeDelta} of its W0 (NaN where W0 is not at hand). */
    static ModuleSummary of(LoraModule m, double relativeDelta) {
        return new ModuleSummary(m.module(), m.layer(), m.baseKey(), m.out(), m.in(), m.rank(), m.alpha(), m.scaling(),
                m.a().frobeniusNorm(), m.b().frobeniusNorm(), relativeDelta, m.dora());
    }
}
