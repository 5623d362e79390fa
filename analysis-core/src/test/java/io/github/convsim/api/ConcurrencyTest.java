package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.OpenBlasBackend;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

/** Several analyses at once on one backend give exactly what they give one after another. */
class ConcurrencyTest {
    static AnalysisOptions options(long seed) {
        SimilaritySettings s = SimilaritySettings.paperDefaults();
        return AnalysisOptions.defaults().withSimilarity(new SimilaritySettings(0, 0, s.sides(), s.factors(),
                Set.of(NullModel.GAUSSIAN, NullModel.W0, NullModel.ANALYTIC), 4, seed, s.controls()));
    }

    static List<double[]> numbers(AnalysisResult r) {
        List<double[]> out = new ArrayList<>();
        for (ModuleResult m : r.modules()) {
            for (Heatmap h : m.heatmaps()) {
                for (double[] row : h.phi()) {
                    out.add(row);
                }
                out.add(h.w0() == null ? new double[0] : h.w0().averages());
                out.add(h.gaussian().averages());
            }
        }
        return out;
    }

    @Test
    void parallelAnalysesEqualSequentialOnes() throws Exception {
        try (OpenBlasBackend shared = new OpenBlasBackend(2)) {
            Backends.Choice backend = Backends.checked(shared, "test");
            List<List<double[]>> sequential = new ArrayList<>();
            for (long seed = 1; seed <= 3; seed++) {
                try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
                    sequential.add(numbers(Analysis.run(c, options(seed), backend, ProgressListener.NONE)));
                }
            }
            ExecutorService pool = Executors.newFixedThreadPool(3);
            try {
                List<Future<List<double[]>>> futures = new ArrayList<>();
                for (long seed = 1; seed <= 3; seed++) {
                    long s = seed;
                    futures.add(pool.submit(() -> {
                        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
                            return numbers(Analysis.run(c, options(s), backend, ProgressListener.NONE));
                        }
                    }));
                }
                for (int k = 0; k < 3; k++) {
                    List<double[]> parallel = futures.get(k).get();
                    assertEquals(sequential.get(k).size(), parallel.size());
                    for (int i = 0; i < parallel.size(); i++) {
                        assertArrayEquals(sequential.get(k).get(i), parallel.get(i), 0.0, "seed " + (k + 1) + " row " + i);
                    }
                }
            } finally {
                pool.shutdownNow();
            }
        }
    }
}
