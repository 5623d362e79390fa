package io.github.convsim.api;

import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.similarity.Heatmap;
import java.util.List;
import java.util.Optional;

/** One module's analysis: the mode it was solved in, per-layer diagnostics and every heatmap. */
public record ModuleResult(String module, SolveMode mode, List<LayerDiagnostics> diagnostics, List<Heatmap> heatmaps) {

    /** The heatmap of a subject ("C_A", "C_B", "C_dW", "A^T", "B", "W0") on a side, if computed. */
    public Optional<Heatmap> heatmap(String subject, io.github.convsim.similarity.Side side) {
        return heatmaps.stream().filter(h -> h.subject().equals(subject) && h.side() == side).findFirst();
    }
}
