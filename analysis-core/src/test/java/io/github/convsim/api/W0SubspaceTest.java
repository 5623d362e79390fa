package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.convsim.common.ProgressListener;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilaritySettings;
import io.github.convsim.synth.ModelShape;
import io.github.convsim.synth.SyntheticCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The subspace W0 fixes for a conversion matrix, told from the shapes ({@link Heatmap#w0Subspace}), against what the
 * W0 null shows: where the shapes say a map is W0's alone, every W0-null draw gives it to rounding, and where they do
 * not, the draws spread.
 */
class W0SubspaceTest {
    @TempDir
    Path dir;

    /** A tall W0 (gate_proj, 40 x 16): W0^T C_A = A^T puts C_A in W0's 16-dimensional column space. */
    @Test
    void theShapesAndTheW0NullAgreeForATallW0() throws Exception {
        for (int rank : new int[] {16, 6}) {
            var written = SyntheticCheckpoint.write(new ModelShape("tall", 3, 16, 40, 2, 2, 32),
                    new SyntheticCheckpoint.Options(5, rank, 2 * rank, List.of("gate_proj"), 1L << 30, 1),
                    Files.createDirectories(dir.resolve("r" + rank)), ProgressListener.NONE);
            AnalysisResult r;
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(written.adapter(), written.base());
                 Backends.Choice cpu = Backends.select("cpu")) {
                r = Analysis.run(ckpt, AnalysisOptions.builder().similarity(SimilaritySettings.builder().draws(4)
                        .build()).build(), cpu, ProgressListener.NONE);
            }
            boolean full = rank == 16;
            Heatmap ca = r.module("gate_proj").heatmap("C_A", Side.LEFT).orElseThrow();
            assertEquals(40, ca.dimension());
            assertEquals(16, ca.w0Subspace());
            assertEquals(full, ca.spansW0Subspace(), "rank " + rank);
            assertEquals(full, ca.w0().hasNoSpread(), "the W0 null at rank " + rank);
            // C_B = W0^+ B lies in R^16 whole (phi 1 at r = 16), C_dW's left vectors too: nothing fixed by W0
            for (String subject : List.of("C_B", "C_dW")) {
                Heatmap h = r.module("gate_proj").heatmap(subject, Side.LEFT).orElseThrow();
                assertEquals(0, h.w0Subspace(), subject);
                assertFalse(h.spansW0Subspace(), subject);
                assertEquals(full, h.spansWholeSpace(), subject + " at rank " + rank);
            }
            assertTrue(r.module("gate_proj").heatmaps().stream().filter(Heatmap::isControl)
                    .allMatch(h -> h.w0Subspace() == 0));
        }
    }
}
