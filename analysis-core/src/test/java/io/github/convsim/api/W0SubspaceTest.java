package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullModel;
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

    /**
     * pinv through a square W0 of numerical rank 6 (a rank-6 product plus 1e-9 noise, in fp64): the cut-off keeps 6
     * singular values, so C_A, C_B and C_dW lie in a 6-dimensional subspace of W0's, and at r = 6 the maps are W0's
     * alone. Only the W0 null's spread told it before, so a Gaussian-only run tested W0's subspaces as the adapter's;
     * least squares, whose cut-off keeps all 16, does not restrict them.
     */
    @Test
    void pinvsCutOffFixesTheSubspaceThroughASquareW0() throws Exception {
        var written = SyntheticCheckpoint.write(new ModelShape("square", 3, 16, 40, 2, 2, 32),
                new SyntheticCheckpoint.Options(7, 6, 12, List.of("q_proj"), 1L << 30, 1),
                Files.createDirectories(dir.resolve("square")), ProgressListener.NONE);
        lowRankQueries(written.base(), 6);
        for (SolveMode mode : new SolveMode[] {SolveMode.PINV, SolveMode.LSTSQ}) {
            boolean pinv = mode == SolveMode.PINV;
            for (var nulls : List.of(java.util.Set.of(NullModel.GAUSSIAN), java.util.Set.of(NullModel.W0))) {
                AnalysisResult r;
                try (LoraCheckpoint ckpt = LoraCheckpoint.open(written.adapter(), written.base());
                     Backends.Choice cpu = Backends.select("cpu")) {
                    r = Analysis.run(ckpt, AnalysisOptions.builder().mode(mode).rcond(1e-6).similarity(
                            SimilaritySettings.builder().nulls(nulls.toArray(NullModel[]::new)).draws(4).build())
                            .build(), cpu, ProgressListener.NONE);
                }
                var module = r.module("q_proj");
                if (pinv && nulls.contains(NullModel.GAUSSIAN)) { // the residuals' flag says how many were kept
                    Path out = Files.createDirectories(dir.resolve("report"));
                    new io.github.convsim.report.ReportWriter(java.util.Set.of("png"),
                            io.github.convsim.similarity.MultipleTesting.Correction.HOLM).write(r, out);
                    String md = Files.readString(out.resolve("report.md"));
                    assertTrue(md.contains("(pinv mode): the pinv solve keeps 6 of W0's 16 singular directions, those"
                            + " above its cut-off, and drops the rest (solution_rank in diagnostics.csv)"), md);
                    assertTrue(Files.readAllLines(out.resolve("diagnostics.csv")).get(1).contains(",16,6,"));
                }
                assertTrue(module.diagnostics().stream().allMatch(d -> d.solutionRank() == (pinv ? 6 : 16)),
                        mode + ": " + module.diagnostics());
                for (String subject : List.of("C_A", "C_B", "C_dW")) {
                    Heatmap h = module.heatmap(subject, Side.LEFT).orElseThrow();
                    assertEquals(16, h.dimension());
                    assertEquals(pinv ? 6 : 0, h.w0Subspace(), mode + " " + subject);
                    assertEquals(pinv, h.spansW0Subspace(), mode + " " + subject);
                    assertEquals(pinv, h.degenerate(), mode + " " + subject);
                    if (h.w0() != null) { // the W0 null agrees: no spread where the shapes and the cut-off say so
                        assertEquals(pinv, h.w0().hasNoSpread(), mode + " " + subject);
                    }
                }
            }
        }
    }

    /** Rewrites every q_proj weight of the synthetic base as G1 G2 + 1e-9 G3 (G1 16 x k, G2 k x 16), in fp64. */
    private static void lowRankQueries(Path base, int k) throws Exception {
        java.util.SplittableRandom rng = new java.util.SplittableRandom(11);
        List<Path> shards;
        try (var files = Files.list(base)) {
            shards = files.filter(p -> p.toString().endsWith(".safetensors")).toList();
        }
        for (Path shard : shards) {
            io.github.convsim.io.SafetensorsWriter w = new io.github.convsim.io.SafetensorsWriter();
            try (io.github.convsim.io.SafetensorsFile f = io.github.convsim.io.SafetensorsFile.open(shard)) {
                for (String name : f.names()) {
                    io.github.convsim.io.TensorInfo info = f.info(name);
                    if (!name.contains("q_proj")) {
                        w.add(name, info.dtype(), info.shape(), f.readDoubles(name));
                        continue;
                    }
                    int n = (int) info.dim(0);
                    double[] g1 = rng.doubles((long) n * k, -1, 1).toArray();
                    double[] g2 = rng.doubles((long) k * n, -1, 1).toArray();
                    double[] v = new double[n * n];
                    for (int a = 0; a < n; a++) {
                        for (int b = 0; b < n; b++) {
                            double sum = 1e-9 * (2 * rng.nextDouble() - 1);
                            for (int c = 0; c < k; c++) {
                                sum += g1[a * k + c] * g2[c * n + b];
                            }
                            v[a * n + b] = sum;
                        }
                    }
                    w.add(name, io.github.convsim.io.Dtype.F64, info.shape(), v);
                }
            }
            Path tmp = shard.resolveSibling(shard.getFileName() + ".tmp");
            w.write(tmp);
            Files.move(tmp, shard, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        }
    }
}
