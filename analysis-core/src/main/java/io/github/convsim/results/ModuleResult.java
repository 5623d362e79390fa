package io.github.convsim.results;

import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.similarity.Heatmap;
import java.util.List;
import java.util.Optional;

/**
 * One module's analysis: the mode it was solved in, per-layer diagnostics, every heatmap (each with its nulls and what
 * its test could detect), and the spectra of its first layer (null where not computed).
 */
public record ModuleResult(String module, SolveMode mode, List<LayerDiagnostics> diagnostics, List<Heatmap> heatmaps,
                           ModuleSpectrum spectrum) {

    public ModuleResult(String module, SolveMode mode, List<LayerDiagnostics> diagnostics, List<Heatmap> heatmaps) {
        this(module, mode, diagnostics, heatmaps, null);
    }

    /** The heatmap of a subject ("C_A", "C_B", "C_dW", "A^T", "B", "W0") on a side, if computed. */
    public Optional<Heatmap> heatmap(String subject, io.github.convsim.similarity.Side side) {
        return heatmaps.stream().filter(h -> h.subject().equals(subject) && h.side() == side).findFirst();
    }
}
