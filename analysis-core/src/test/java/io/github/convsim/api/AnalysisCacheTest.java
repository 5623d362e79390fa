package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.cache.BaseCache;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.ReportWriter;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The W0 cache changes how long an analysis takes, never its numbers: a run that fills the cache, a run that reads it
 * and a run without it write the same tables, bit for bit, and a damaged cache is noted and recomputed.
 */
class AnalysisCacheTest {
    static Backends.Choice cpu;
    static String uncached;

    @TempDir
    Path dir;

    static AnalysisOptions options() {
        SimilaritySettings s = SimilaritySettings.paperDefaults();
        return AnalysisOptions.defaults().withModules(List.of("value")).withSimilarity(new SimilaritySettings(0, 0,
                s.sides(), s.factors(), Set.of(NullModel.GAUSSIAN, NullModel.W0, NullModel.ANALYTIC), 4, 11,
                s.controls()));
    }

    @BeforeAll
    static void withoutCache() throws Exception {
        cpu = Backends.select("cpu");
        uncached = fingerprint(run(TestData.bertAdapter(), null));
    }

    @AfterAll
    static void close() {
        cpu.backend().close();
    }

    static AnalysisResult run(Path adapter, BaseCache cache) throws Exception {
        return run(adapter, cache, options());
    }

    static AnalysisResult run(Path adapter, BaseCache cache, AnalysisOptions options) throws Exception {
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, TestData.bertBase())) {
            return Analysis.run(ckpt, options, cpu, ProgressListener.NONE, cache);
        }
    }

    /** Every number a report prints (tables at full precision), the power curves and the spectra. */
    static String fingerprint(AnalysisResult r) throws IOException {
        StringWriter out = new StringWriter();
        ReportWriter.similarityTable(r).write().csv(out);
        ReportWriter.diagnosticsTable(r).write().csv(out);
        for (ModuleResult m : r.modules()) {
            for (var h : m.heatmaps()) {
                out.write(h.power() == null ? "no power" : Arrays.deepToString(h.power().averages()));
            }
            out.write(Arrays.toString(m.spectrum().w0()) + Arrays.toString(m.spectrum().cA())
                    + Arrays.toString(m.spectrum().cB()));
        }
        return out.toString();
    }

    /** Per layer: fp64 and fp32 factors; per module: the nulls, and layer 0's singular values; one Gaussian null. */
    private static final int ENTRIES = 12 * 2 + 2 + 1;

    private static long stat(BaseCache c, String key) {
        return ((Number) c.summary().get(key)).longValue();
    }

    @Test
    void aColdAndAWarmRunGiveTheNumbersOfARunWithoutCache() throws Exception {
        BaseCache cold = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        AnalysisResult first = run(TestData.bertAdapter(), cold);
        assertEquals(uncached, fingerprint(first));
        assertEquals(0, stat(cold, "hits"));
        assertEquals(ENTRIES, stat(cold, "written"));
        assertEquals(cold.summary(), ((Map<?, ?>) first.provenance().resources().get("w0_cache")));

        BaseCache warm = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        assertEquals(uncached, fingerprint(run(TestData.bertAdapter(), warm)));
        assertEquals(ENTRIES, stat(warm, "hits"));
        assertEquals(0, stat(warm, "misses"));
        assertEquals(0, stat(warm, "written"));
        assertEquals(List.of(), warm.notes());
    }

    /**
     * pinv's cut-off and ridge's lambda decide the W0 null's solves as much as the adapter's: a run with another value
     * computes its own (they were not in the key, so pinv at rcond 0.3 read the null of rcond 1e-6 and called a map
     * beyond W0 that a run without cache called W0's, p 5.7e-10 against 0.485 on the demo's query C_A).
     */
    @Test
    void aSolvesParameterIsPartOfTheKey() throws Exception {
        for (AnalysisOptions[] pair : List.of(
                new AnalysisOptions[] {options().withMode(SolveMode.PINV), withParameters(SolveMode.PINV, 0.3, 1e-3)},
                new AnalysisOptions[] {options().withMode(SolveMode.RIDGE), withParameters(SolveMode.RIDGE, 1e-6, 50)})) {
            Path at = Files.createDirectories(dir.resolve(pair[0].mode().label()));
            String expected = fingerprint(run(TestData.bertAdapter(), null, pair[1]));
            assertNotEquals(fingerprint(run(TestData.bertAdapter(), null, pair[0])), expected,
                    "the parameter changes the numbers");
            run(TestData.bertAdapter(), BaseCache.open(at, BaseCache.DEFAULT_MAX_BYTES), pair[0]);
            BaseCache other = BaseCache.open(at, BaseCache.DEFAULT_MAX_BYTES);
            assertEquals(expected, fingerprint(run(TestData.bertAdapter(), other, pair[1])), pair[1].mode().label());
            assertEquals(1, stat(other, "hits"), "of the other parameter's run only the Gaussian null, which no solve"
                    + " enters, is read");
            // and the same parameter again reads all it wrote
            BaseCache again = BaseCache.open(at, BaseCache.DEFAULT_MAX_BYTES);
            assertEquals(expected, fingerprint(run(TestData.bertAdapter(), again, pair[1])));
            assertEquals(0, stat(again, "misses"));
        }
    }

    /**
     * Every option that changes the numbers changes what the cache gives back: one cache filled by the default run,
     * then each variant read through it equals the variant without cache (as the cut-off and lambda did not).
     */
    @Test
    void eachOptionThatChangesTheNumbersReadsOnlyWhatItsOwnRunsLeft() throws Exception {
        BaseCache shared = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        run(TestData.bertAdapter(), shared);
        SimilaritySettings s = options().similarity();
        Map<String, AnalysisOptions> variants = new java.util.LinkedHashMap<>();
        variants.put("seed", options().withSimilarity(new SimilaritySettings(s.i(), s.j(), s.sides(), s.factors(),
                s.nulls(), s.draws(), 12, s.controls())));
        variants.put("draws", options().withSimilarity(new SimilaritySettings(s.i(), s.j(), s.sides(), s.factors(),
                s.nulls(), 6, s.seed(), s.controls())));
        variants.put("i and j", options().withSimilarity(new SimilaritySettings(4, 2, s.sides(), s.factors(),
                s.nulls(), s.draws(), s.seed(), s.controls())));
        variants.put("sides", options().withSimilarity(new SimilaritySettings(3, 3, List.of(
                io.github.convsim.similarity.Side.LEFT, io.github.convsim.similarity.Side.RIGHT), s.factors(),
                s.nulls(), s.draws(), s.seed(), s.controls())));
        variants.put("precision", options().withPrecision(io.github.convsim.linalg.Precision.FP32));
        variants.put("cond", options().withCond(io.github.convsim.conversion.ConditionMethod.ESTIMATE));
        variants.put("mode", options().withMode(SolveMode.LSTSQ));
        for (Map.Entry<String, AnalysisOptions> v : variants.entrySet()) {
            String expected = fingerprint(run(TestData.bertAdapter(), null, v.getValue()));
            assertEquals(expected, fingerprint(run(TestData.bertAdapter(), shared, v.getValue())), v.getKey());
        }
    }

    private static AnalysisOptions withParameters(SolveMode mode, double rcond, double lambda) {
        AnalysisOptions o = options();
        return new AnalysisOptions(mode, o.precision(), rcond, lambda, o.similarity(), o.modules(), o.backend(),
                o.cond());
    }

    /**
     * Below the rank C_dW is planted on its own (factor dW among the cached plants): its power comes back from the
     * cache as it was computed, on both sides.
     */
    @Test
    void cDwsOwnPlantsComeBackFromTheCache() throws Exception {
        SimilaritySettings s = options().similarity();
        AnalysisOptions below = options().withSimilarity(new SimilaritySettings(4, 4, List.of(
                io.github.convsim.similarity.Side.LEFT, io.github.convsim.similarity.Side.RIGHT), s.factors(),
                s.nulls(), s.draws(), s.seed(), s.controls()));
        AnalysisResult plain = run(TestData.bertAdapter(), null, below);
        var heatmaps = plain.modules().get(0).heatmaps();
        var dw = heatmaps.stream().filter(h -> h.subject().equals("C_dW")
                && h.side() == io.github.convsim.similarity.Side.LEFT).findFirst().orElseThrow();
        var b = heatmaps.stream().filter(h -> h.subject().equals("C_B")
                && h.side() == io.github.convsim.similarity.Side.LEFT).findFirst().orElseThrow();
        assertFalse(Arrays.deepEquals(dw.power().averages(), b.power().averages()), "C_dW's own plants");
        String expected = fingerprint(plain);
        BaseCache cold = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        assertEquals(expected, fingerprint(run(TestData.bertAdapter(), cold, below)));
        BaseCache warm = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        assertEquals(expected, fingerprint(run(TestData.bertAdapter(), warm, below)));
        assertEquals(0, stat(warm, "misses"));
    }

    /**
     * Under a cap that the first module's LU factors overflow, every module's W0 null (small, stored after its layers'
     * factors) is still stored, and the next run takes all of them from the cache, before its own writes could evict
     * a later module's: the numbers are those of a run without the cache.
     */
    @Test
    void everyModulesW0NullIsKeptAndReadUnderACapTheFactorsFill() throws Exception {
        AnalysisOptions both = options().withModules(List.of());
        String expected = fingerprint(run(TestData.bertAdapter(), null, both));
        long cap = 30L << 20; // the query module's fp64 factors alone are 12 x 4.7 MB
        AnalysisResult first = run(TestData.bertAdapter(), BaseCache.open(dir, cap), both);
        assertEquals(Map.of("query", false, "value", false), nullsFromCache(first));
        BaseCache second = BaseCache.open(dir, cap);
        AnalysisResult again = run(TestData.bertAdapter(), second, both);
        assertEquals(Map.of("query", true, "value", true), nullsFromCache(again));
        assertEquals(expected, fingerprint(again));
        assertTrue(second.notes().get(0).contains("did not fit"), second.notes().toString());
    }

    /** Whether each module's W0 null came from the cache, as the run's provenance records it. */
    private static Map<String, Boolean> nullsFromCache(AnalysisResult r) {
        Map<?, ?> modules = (Map<?, ?>) r.provenance().resources().get("modules");
        Map<String, Boolean> out = new java.util.TreeMap<>();
        modules.forEach((name, m) -> out.put((String) name, (Boolean) ((Map<?, ?>) m).get("w0_null_from_cache")));
        return out;
    }

    @Test
    void anotherAdapterOfTheSameRankOnTheSameBaseReusesEveryW0Result() throws Exception {
        run(TestData.bertAdapter(), BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES));
        Path other = otherAdapter(dir.resolve("other"));
        String expected = fingerprint(run(other, null));
        assertNotEquals(uncached, expected, "the other adapter must give other numbers");
        BaseCache warm = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        assertEquals(expected, fingerprint(run(other, warm)));
        assertEquals(ENTRIES, stat(warm, "hits"));
        assertEquals(0, stat(warm, "written"));
    }

    /**
     * A comparison on the same base takes the factors and cond(W0) an analysis left (12 layers, fp64), and its maps,
     * per layer and pair, and its W0 null are those of a comparison without the cache, bit for bit.
     */
    @Test
    void aComparisonReusesTheFactorsAnAnalysisLeft() throws Exception {
        run(TestData.bertAdapter(), BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES));
        List<Path> adapters = List.of(TestData.bertAdapter(), otherAdapter(dir.resolve("other")));
        io.github.convsim.results.ComparisonResult plain = Comparison.run(adapters, TestData.bertBase(),
                io.github.convsim.model.BaseMatch.BaseCheck.STRICT, options(), cpu, ProgressListener.NONE, null);
        BaseCache warm = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
        io.github.convsim.results.ComparisonResult cached = Comparison.run(adapters, TestData.bertBase(),
                io.github.convsim.model.BaseMatch.BaseCheck.STRICT, options(), cpu, ProgressListener.NONE, warm);
        assertEquals(12, stat(warm, "hits"));
        assertEquals(0, stat(warm, "misses"));
        assertEquals(warm.summary(), cached.provenance().resources().get("w0_cache"));
        assertEquals(plain.maps().size(), cached.maps().size());
        for (int k = 0; k < plain.maps().size(); k++) {
            var a = plain.maps().get(k);
            var b = cached.maps().get(k);
            assertEquals(Arrays.deepToString(a.perLayer()), Arrays.deepToString(b.perLayer()), a.subject());
            assertEquals(a.w0Null() == null, b.w0Null() == null, a.subject());
            if (a.w0Null() != null) {
                assertEquals(Arrays.deepToString(a.w0Null().mean()) + Arrays.toString(a.w0Null().averages()),
                        Arrays.deepToString(b.w0Null().mean()) + Arrays.toString(b.w0Null().averages()), a.subject());
            }
        }
        assertTrue(plain.maps().stream().anyMatch(m -> m.w0Null() != null), "the pair null must be compared too");
    }

    @Test
    void corruptTruncatedOrForeignEntriesAreNotedAndRecomputed() throws Exception {
        run(TestData.bertAdapter(), BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES));
        Map<String, UnaryOperator<byte[]>> damage = Map.of(
                "corrupt", b -> {
                    byte[] c = b.clone();
                    c[c.length / 2] ^= 1;
                    return c;
                },
                "truncated", b -> Arrays.copyOf(b, b.length - 1),
                "foreign", b -> "not a cache entry".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        for (Map.Entry<String, UnaryOperator<byte[]>> d : damage.entrySet()) {
            for (Path f : entries()) {
                Files.write(f, d.getValue().apply(Files.readAllBytes(f)));
            }
            BaseCache damaged = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
            assertEquals(uncached, fingerprint(run(TestData.bertAdapter(), damaged)), d.getKey());
            assertEquals(0, stat(damaged, "hits"), d.getKey());
            assertFalse(damaged.notes().isEmpty(), d.getKey());
            assertTrue(damaged.notes().stream().allMatch(n -> n.contains(d.getKey())), d.getKey() + ": "
                    + damaged.notes());
            // the damaged entries were replaced by good ones
            BaseCache repaired = BaseCache.open(dir, BaseCache.DEFAULT_MAX_BYTES);
            assertEquals(uncached, fingerprint(run(TestData.bertAdapter(), repaired)));
            assertEquals(ENTRIES, stat(repaired, "hits"), d.getKey());
        }
    }

    private List<Path> entries() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> out = s.filter(p -> p.toString().endsWith(".entry")).toList();
            assertEquals(ENTRIES, out.size());
            return out;
        }
    }

    /** The demo adapter with every B scaled by 3 and every A's first row negated: another adapter of rank 8. */
    private static Path otherAdapter(Path out) throws IOException {
        Files.createDirectories(out);
        Path demo = TestData.bertAdapter();
        Files.copy(demo.resolve("adapter_config.json"), out.resolve("adapter_config.json"));
        try (SafetensorsFile in = SafetensorsFile.open(demo.resolve("adapter_model.safetensors"))) {
            SafetensorsWriter w = new SafetensorsWriter();
            for (String name : in.names()) {
                double[] v = in.readDoubles(name);
                long[] shape = in.info(name).shape();
                if (name.contains("lora_B")) {
                    for (int i = 0; i < v.length; i++) {
                        v[i] *= 3;
                    }
                } else if (name.contains("lora_A")) {
                    for (int i = 0; i < shape[1]; i++) {
                        v[i] = -v[i];
                    }
                }
                w.add(name, Dtype.F32, shape, v);
            }
            w.write(out.resolve("adapter_model.safetensors"));
        }
        return out;
    }
}
