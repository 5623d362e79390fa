package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.linalg.Backends;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Gaussian null's samples come back bit for bit, and only for the shape, draws and seed they were drawn with. */
class GaussianNullCacheTest {
    static Backends.Choice cpu;

    @TempDir
    Path dir;

    @BeforeAll
    static void open() {
        cpu = Backends.select("cpu");
    }

    @AfterAll
    static void close() {
        cpu.backend().close();
    }

    private static SimilaritySettings settings(int draws, long seed) {
        SimilaritySettings s = SimilaritySettings.paperDefaults();
        return new SimilaritySettings(0, 0, s.sides(), s.factors(), Set.of(NullModel.GAUSSIAN), draws, seed,
                s.controls());
    }

    private GaussianNullCache view(BaseCache cache, int draws, long seed) {
        return new GaussianNullCache(cache, cpu.backend(), settings(draws, seed));
    }

    @Test
    void samplesComeBackExactlyAndOnlyUnderTheirKey() {
        double[][][] samples = {{{1, Math.PI}, {-0.0, Double.MIN_VALUE}}, {{1, 1e-300}, {Double.NaN, 1}}};
        BaseCache cache = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        view(cache, 2, 11).keep("n=768 i=8 j=8 layers=2", samples);
        cache.flush();

        BaseCache again = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        double[][][] back = view(again, 2, 11).find("n=768 i=8 j=8 layers=2").orElseThrow();
        assertEquals(samples.length, back.length);
        for (int d = 0; d < samples.length; d++) {
            for (int a = 0; a < samples[d].length; a++) {
                for (int b = 0; b < samples[d][a].length; b++) {
                    assertEquals(Double.doubleToRawLongBits(samples[d][a][b]),
                            Double.doubleToRawLongBits(back[d][a][b]));
                }
            }
        }
        assertTrue(view(again, 2, 11).find("n=768 i=4 j=8 layers=2").isEmpty(), "another shape");
        assertTrue(view(again, 3, 11).find("n=768 i=8 j=8 layers=2").isEmpty(), "other draws");
        assertTrue(view(again, 2, 12).find("n=768 i=8 j=8 layers=2").isEmpty(), "another seed");
        assertEquals(List.of(), again.notes());
    }
}
