package io.github.convsim.api;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.conversion.ConversionAnalysis;
import io.github.convsim.conversion.FactorCache;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.IllConditionedException;
import io.github.convsim.conversion.LayerConversion;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.pipeline.LayerStream;
import io.github.convsim.results.ModuleSpectrum;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullBasisStore;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.PlantedControl;
import io.github.convsim.similarity.SimilarityAnalysis;
import io.github.convsim.similarity.SimilaritySettings;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * One module's pass over the base, streamed: layer group by layer group, read W0 from the (memory-mapped) base,
 * factor it, solve the conversion matrices, push the W0 null's random factors and the W0 control through the same
 * factors, then let W0 go; only the n x r conversion matrices and bases stay. Groups are as large as the memory allows
 * ({@link LayerGroups}); the W0 null's bases go to a temporary file when they would take more than an eighth of it.
 */
final class ModulePass {
    /** The module's result, and how it was streamed (group size, null bytes and where they went, seconds per step). */
    record Outcome(ModuleResult result, Map<String, Object> streaming) {}

    private final LoraCheckpoint ckpt;
    private final AnalysisOptions options;
    private final LinalgBackend backend;
    private final SimilarityAnalysis similarity;
    private final long memory;
    private final BaseCache cache;
    private final String baseSha256;
    /** W0 nulls read by {@link #readCachedNulls} (null where none was stored), until their module's pass. */
    private final Map<String, W0Cache.ModuleNulls> readNulls = new java.util.HashMap<>();

    /**
     * @param cache      where W0-derived results are looked up and left, or null for none
     * @param baseSha256 the base's identity in the cache's keys (see {@link W0Cache}); unused without a cache
     */
    ModulePass(LoraCheckpoint ckpt, AnalysisOptions options, LinalgBackend backend, SimilarityAnalysis similarity,
               long memory, BaseCache cache, String baseSha256) {
        this.ckpt = ckpt;
        this.options = options;
        this.backend = backend;
        this.similarity = similarity;
        this.memory = memory;
        this.cache = cache;
        this.baseSha256 = baseSha256;
    }

    /**
     * Analyses module {@code name}; adds the seconds of each step to {@code timings} and reports every layer group
     * done to {@code layersDone} (with the number of its layers), and each phase of a group to {@code phaseDone}
     * (the phase, then the number of layers).
     */
    Outcome run(String name, Map<String, Double> timings, IntConsumer layersDone,
                java.util.function.ObjIntConsumer<String> phaseDone) throws CheckpointException {
        Plan plan = plan(name);
        List<LoraModule> layers = plan.layers();
        SimilaritySettings settings = options.similarity();
        LoraModule largest = plan.largest();
        int rank = plan.rank();
        boolean square = plan.square();
        SolveOptions solveOptions = plan.solveOptions();
        ConversionSolver solver = new ConversionSolver(backend, solveOptions);
        int group = plan.group();
        int drawsPerChunk = plan.drawsPerChunk();
        int keep = similarity.keep(rank);
        List<Factor> drawnFactors = plan.drawnFactors();
        long nullBytes = (long) settings.draws() * layers.size() * drawnFactors.size()
                * NullBasisStore.bytesPerPair(Math.max(largest.out(), largest.in()), keep, settings.sides().size());
        List<LayerConversion> converted = new ArrayList<>(layers.size());
        List<FactorBases.Pair> w0Control = settings.controls().contains("W0") ? new ArrayList<>() : null;
        Map<String, Double> seconds = new LinkedHashMap<>();
        long plantedBytes = (long) PlantedControl.NOISE.length * PlantedControl.REPETITIONS * layers.size()
                * similarity.storedPlants(square, layers).size()
                * NullBasisStore.bytesPerPair(Math.max(largest.out(), largest.in()), keep, settings.sides().size());
        LayerStream stream = new LayerStream(ckpt, group);
        W0Cache w0Cache = plan.w0Cache();
        String nullParams = plan.nullParams();
        W0Cache.ModuleNulls cachedNulls = readNulls.containsKey(name) ? readNulls.remove(name) : cachedNulls(plan);
        Equation[] eqA = {null};
        ModuleSpectrum[] spectrum = {null};
        try (NullBasisStore store = cachedNulls != null ? null : nullStore(nullBytes, keep);
             NullBasisStore planted = store == null ? null : plantedStore(plantedBytes, keep)) {
            stream.forEach(layers, timings, g -> {
                ModuleConversion part = ConversionAnalysis.convert(solver, g.layers(), g.w0s(),
                        w0Cache == null ? FactorCache.NONE : w0Cache);
                if (eqA[0] != null && part.equationA() != eqA[0]) {
                    throw new IllConditionedException("module " + name + " mixes square and non-square W0 across layers");
                }
                eqA[0] = part.equationA();
                converted.addAll(part.layers());
                if (g.from() == 0) {
                    spectrum[0] = spectrum(part.layers().get(0), g.w0s().get(0), w0Cache);
                }
                part.seconds().forEach((step, s) -> timings.merge(step, s, Double::sum));
                part.seconds().forEach((step, s) -> seconds.merge(step, s, Double::sum));
                phaseDone.accept("factor, cond(W0) and solve", g.layers().size());
                long t1 = System.nanoTime();
                if (store != null) {
                    similarity.sampleW0Null(solver, part.systems(), eqA[0], drawnFactors, drawsPerChunk, store);
                }
                if (planted != null) {
                    similarity.samplePlanted(solver, part.systems(), eqA[0], layers, planted);
                }
                if (w0Control != null) {
                    w0Control.addAll(similarity.w0ControlBases(part.systems(), keep));
                }
                add(timings, "w0_null_and_controls", System.nanoTime() - t1);
                if (w0Cache != null) {
                    // the group's factors are let go of next: their cache entries are written first
                    long waitFrom = System.nanoTime();
                    w0Cache.settle();
                    add(timings, "cache_write_wait", System.nanoTime() - waitFrom);
                }
                phaseDone.accept("W0 null and controls", g.layers().size());
                layersDone.accept(g.layers().size());
            });
            long t2 = System.nanoTime();
            ModuleConversion conv = new ModuleConversion(name, converted, List.of(), eqA[0], Map.of());
            W0Cache.ModuleNulls nulls = cachedNulls;
            if (store != null) {
                nulls = new W0Cache.ModuleNulls(similarity.w0NullSamples(layers, store),
                        planted == null ? Map.of() : similarity.plantedSamples(layers, eqA[0], planted));
                if (w0Cache != null) {
                    w0Cache.keepModuleNulls(layers, nullParams, nulls, settings.factors(), settings.sides());
                }
            }
            List<Heatmap> maps = similarity.analyze(conv, nulls == null ? null : nulls.w0Null(),
                    nulls == null ? Map.of() : nulls.planted(), w0Control);
            add(timings, "similarity", System.nanoTime() - t2);
            Map<String, Object> streaming = new LinkedHashMap<>();
            streaming.put("layers_per_group", group);
            streaming.put("w0_null_draws_per_chunk", drawsPerChunk);
            streaming.put("w0_null_bases_bytes", store == null ? 0 : store.bytes());
            streaming.put("w0_null_bases_spilled_to_disk", store != null && store.spilled());
            streaming.put("w0_null_from_cache", cachedNulls != null);
            streaming.put("mode", solveOptions.mode().label());
            streaming.put("seconds", seconds);
            streaming.put("solve_guard", solver.guardSummary());
            return new Outcome(new ModuleResult(name, solveOptions.mode(), conv.diagnostics(), maps,
                    spectrum[0]), streaming);
        } catch (CheckpointException e) {
            throw e; // a bad input found while streaming (a NaN in W0, say): its own message, not the temp file's
        } catch (IOException e) {
            throw new CheckpointException(null, "cannot create a temporary file for the W0 null: " + e.getMessage());
        }
    }

    /** What a module's pass is sized and keyed by: its layers, ranks, solve options, groups and W0 cache. */
    private record Plan(List<LoraModule> layers, LoraModule largest, int rank, boolean square, SolveOptions solveOptions,
                        int group, int drawsPerChunk, List<Factor> drawnFactors, W0Cache w0Cache, String nullParams) {}

    private Plan plan(String name) {
        List<LoraModule> layers = ckpt.layersOf(name);
        similarity.checkPrefixes(name, layers);
        SimilaritySettings settings = options.similarity();
        // memory is sized for the largest layer; i, j and the bases kept count from the smallest rank (rank_pattern)
        LoraModule largest = SimilarityAnalysis.largestRank(layers);
        int rank = SimilarityAnalysis.heatmapRank(layers);
        boolean oneRank = rank == largest.rank();
        boolean square = layers.stream().allMatch(m -> m.out() == m.in());
        SolveOptions solveOptions = options.solveOptions(square);
        int group = Math.min(layers.size(), LayerGroups.size(largest, memory));
        int drawsPerChunk = LayerGroups.w0NullDrawsPerChunk(largest, memory, layers.size());
        List<Factor> drawnFactors = similarity.w0NullFactors(layers);
        W0Cache w0Cache = cache == null ? null : W0Cache.of(cache, baseSha256, backend, solveOptions, group > 1);
        String nullParams = (oneRank ? "rank=" + rank : "ranks=" + layers.stream().map(LoraModule::rank).toList())
                + " i=" + settings.iFor(rank) + " j=" + settings.jFor(rank) + " seed=" + settings.seed()
                + " draws=" + settings.draws()
                + " per-chunk=" + drawsPerChunk + " factors=" + settings.factors() + " drawn=" + drawnFactors
                + " sides=" + settings.sides() + " w0-null-draws=unscaled planted-noise="
                + java.util.Arrays.toString(PlantedControl.NOISE) + " repetitions=" + PlantedControl.REPETITIONS
                + " planted=phi-by-factor-side shared-map=largest-rank dw-planted=below-rank-times-gaussian-A"
                + " dw-right-planted=shared-rows-of-A";
        return new Plan(layers, largest, rank, square, solveOptions, group, drawsPerChunk, drawnFactors, w0Cache,
                nullParams);
    }

    /** The module's W0 null from the cache, or null (no cache, no W0 null asked for, or none stored). */
    private W0Cache.ModuleNulls cachedNulls(Plan plan) {
        SimilaritySettings settings = options.similarity();
        return plan.w0Cache() == null || !settings.nulls().contains(NullModel.W0) ? null
                : plan.w0Cache().moduleNulls(plan.layers(), plan.nullParams(), settings.factors(), settings.sides())
                        .orElse(null);
    }

    /**
     * Reads the W0 nulls of {@code names} from the cache before any module is analysed: an entry this run has read is
     * never evicted by its writes, and each module's null (a few megabytes that spare minutes at 7B shapes) would
     * otherwise be read only after the modules before it had written their LU factors, which can fill the cap.
     */
    void readCachedNulls(List<String> names) {
        for (String name : names) {
            readNulls.put(name, cachedNulls(plan(name)));
        }
    }

    /**
     * The singular values of the first layer's W0 (where it is small enough; from the cache when it has them) and of
     * its C_A and C_B.
     */
    private ModuleSpectrum spectrum(LayerConversion first, io.github.convsim.linalg.Matrix w0, W0Cache w0Cache) {
        boolean small = Math.max(w0.rows(), w0.cols()) <= ModuleSpectrum.W0_LIMIT;
        double[] cached = small && w0Cache != null ? w0Cache.singularValues(first.module()).orElse(null) : null;
        boolean computeW0 = small && cached == null;
        var svds = backend.svd(computeW0 ? List.of(w0, first.cA(), first.cB()) : List.of(first.cA(), first.cB()),
                false, io.github.convsim.linalg.Precision.FP64);
        int k = computeW0 ? 1 : 0;
        double[] w0Values = cached != null ? cached : computeW0 ? svds.get(0).s() : null;
        if (computeW0 && w0Cache != null) {
            w0Cache.keepSingularValues(first.module(), w0Values);
        }
        return new ModuleSpectrum(first.module().layer(), w0Values, svds.get(k).s(), svds.get(k + 1).s());
    }

    /** The planted controls' bases: on the heap when small, spilling to a temporary file like the W0 null's. */
    private NullBasisStore plantedStore(long bytes, int keep) throws IOException {
        Set<io.github.convsim.similarity.Side> sides = Set.copyOf(similarity.settings().sides());
        return bytes > memory / 8 ? NullBasisStore.spilling(sides, keep, Path.of(System.getProperty("java.io.tmpdir")))
                : NullBasisStore.inMemory(sides, keep);
    }

    /** Null when there is no W0 null; on the heap when its bases are small; spilling to a temporary file otherwise. */
    private NullBasisStore nullStore(long bytes, int keep) throws IOException {
        SimilaritySettings settings = options.similarity();
        if (!settings.nulls().contains(NullModel.W0)) {
            return null;
        }
        Set<io.github.convsim.similarity.Side> sides = Set.copyOf(similarity.settings().sides());
        return bytes > memory / 8
                ? NullBasisStore.spilling(sides, keep, Path.of(System.getProperty("java.io.tmpdir")))
                : NullBasisStore.inMemory(sides, keep);
    }

    static void add(Map<String, Double> timings, String step, long nanos) {
        timings.merge(step, nanos / 1e9, Double::sum);
    }
}
