package io.github.convsim.api;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.results.ReportedRun;
import io.github.convsim.similarity.GaussianNullStore;
import io.github.convsim.similarity.SimilarityAnalysis;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The analysis pipeline: each module streamed through the base layer group by layer group ({@link ModulePass}), its
 * layers compared against the nulls; input files hashed for provenance while the numbers are computed, and the time
 * and memory spent recorded with them.
 */
public final class Analysis {
    private Analysis() {}

    /**
     * Analyses every module of {@code ckpt} (or those {@code options} names) on {@code backend}.
     *
     * <pre>{@code
     * try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapterDir, baseWeights);
     *      Backends.Choice backend = Backends.select("auto")) {
     *     AnalysisResult r = Analysis.run(ckpt, AnalysisOptions.defaults(), backend, ProgressListener.NONE);
     *     double average = r.module("value").heatmap("C_A", Side.LEFT).orElseThrow().average();
     * }
     * }</pre>
     */
    public static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                                     ProgressListener progress) throws CheckpointException {
        return run(ckpt, options, backend, progress, null);
    }

    /**
     * As {@link #run(LoraCheckpoint, AnalysisOptions, Backends.Choice, ProgressListener)}, taking what was derived
     * from W0 by an earlier run on the same base from {@code cache} and leaving there what this run derives (null: no
     * cache). The numbers are the same, bit for bit, with or without it; see {@link BaseCache}.
     */
    public static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                                     ProgressListener progress, BaseCache cache) throws CheckpointException {
        return run(ckpt, options, backend, progress, cache, m -> {});
    }

    /**
     * As {@link #run(LoraCheckpoint, AnalysisOptions, Backends.Choice, ProgressListener, BaseCache)}, handing each
     * module's result to {@code moduleDone} as soon as it is complete (on the analysing thread), e.g. to draw its
     * figures while the next module is analysed.
     */
    public static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                                     ProgressListener progress, BaseCache cache,
                                     java.util.function.Consumer<ModuleResult> moduleDone) throws CheckpointException {
        return run(ckpt, options, backend, progress, Runtime.getRuntime().maxMemory(), cache, moduleDone);
    }

    /** As {@link #run(LoraCheckpoint, AnalysisOptions, Backends.Choice, ProgressListener)} within {@code memory} bytes. */
    static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                              ProgressListener progress, long memory) throws CheckpointException {
        return run(ckpt, options, backend, progress, memory, null, m -> {});
    }

    private static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                                      ProgressListener progress, long memory, BaseCache cache,
                                      java.util.function.Consumer<ModuleResult> moduleDone)
            throws CheckpointException {
        MemoryUse.watch();
        CompletableFuture<List<Provenance.InputFile>> hashes = CompletableFuture.supplyAsync(() -> {
            try {
                return Provenance.inputsOf(List.of(ckpt));
            } catch (CheckpointException e) {
                throw new CompletionException(e);
            }
        });
        List<String> modules = selectModules(ckpt, options.modules());
        Map<String, Double> timings = new LinkedHashMap<>();
        SimilarityAnalysis similarity = new SimilarityAnalysis(backend.backend(), options.similarity(), cache == null
                ? GaussianNullStore.NONE : new GaussianNullCache(cache, backend.backend(), options.similarity()));
        List<ModuleResult> results = new ArrayList<>();
        long totalLayers = modules.stream().mapToLong(m -> ckpt.layersOf(m).size()).sum();
        long[] layersDone = {0};
        Map<String, Long> phaseDone = new java.util.HashMap<>();
        Map<String, Object> streaming = new LinkedHashMap<>();
        ModulePass pass = new ModulePass(ckpt, options, backend.backend(), similarity, memory, cache,
                cache == null ? null : baseSha256(ckpt));
        if (cache != null) {
            pass.readCachedNulls(modules);
        }
        for (int k = 0; k < modules.size(); k++) {
            ModulePass.Outcome outcome = pass.run(modules.get(k), timings,
                    n -> progress.progress("solve layers", layersDone[0] += n, totalLayers),
                    (phase, n) -> progress.progress(phase, phaseDone.merge(phase, (long) n, Long::sum), totalLayers));
            progress.progress("similarity", k + 1, modules.size());
            results.add(outcome.result());
            moduleDone.accept(outcome.result());
            streaming.put(modules.get(k), outcome.streaming());
        }
        long h0 = System.nanoTime();
        List<Provenance.InputFile> inputs;
        try {
            inputs = hashes.join();
            ckpt.requireUnchanged(); // everything is read and hashed: a rewrite meanwhile would mix two versions
        } catch (CompletionException e) {
            if (e.getCause() instanceof CheckpointException ce) {
                throw discardingCache(cache, ce);
            }
            throw e;
        } catch (CheckpointException e) {
            throw discardingCache(cache, e);
        }
        ModulePass.add(timings, "hash_wait", System.nanoTime() - h0);
        Map<String, Object> resources = new LinkedHashMap<>(MemoryUse.resources(streaming));
        if (cache != null) {
            resources.put("w0_cache", cache.summary());
        }
        Provenance prov = Provenance.of("convsim", backend, inputs, optionsMap(options, ckpt), timings, resources);
        return new AnalysisResult(ckpt.adapterDir().getFileName().toString(), options, List.copyOf(results),
                ckpt.config().raw(), prov);
    }

    /**
     * {@code e}, once the entries this run wrote to {@code cache} (if any) are removed: an input that changed while it
     * was read leaves them holding results of one version of the base under the hash of another.
     */
    static CheckpointException discardingCache(BaseCache cache, CheckpointException e) {
        if (cache != null) {
            cache.discardWritten();
        }
        return e;
    }

    /**
     * The base's identity in the cache's keys: the SHA-256 of its files' SHA-256s, in the order the base lists them
     * (the same hashes provenance records, computed once).
     */
    static String baseSha256(LoraCheckpoint ckpt) throws CheckpointException {
        try {
            java.security.MessageDigest md = java.security.MessageDigest.getInstance("SHA-256");
            for (java.nio.file.Path f : ckpt.base().files()) {
                md.update(Provenance.sha256(f).getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            }
            return java.util.HexFormat.of().formatHex(md.digest());
        } catch (java.io.IOException e) {
            throw new CheckpointException(ckpt.base().location(), "cannot hash the base: " + e.getMessage());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
    }

    private static List<String> selectModules(LoraCheckpoint ckpt, List<String> requested) throws CheckpointException {
        List<String> available = ckpt.moduleNames();
        if (available.isEmpty()) {
            throw new CheckpointException(ckpt.adapterDir(), "the adapter has no LoRA modules to analyse ("
                    + ckpt.skipped().size() + " tensors skipped; `convsim inspect` lists them with the reasons)");
        }
        if (requested.isEmpty()) {
            return available;
        }
        for (String r : requested) {
            if (!available.contains(r)) {
                throw new IllegalArgumentException("no module '" + r + "' in " + ckpt.adapterDir() + " (it has "
                        + String.join(", ", available) + ")");
            }
        }
        return available.stream().filter(requested::contains).toList();
    }

    /** The options as {@link ReportedRun} reads them back, with the inputs as given and how they were read. */
    private static Map<String, Object> optionsMap(AnalysisOptions o, LoraCheckpoint ckpt) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(Provenance.CHECKPOINT_NOTES, ckpt.notes());
        m.putAll(Provenance.inputsAsGiven(ckpt));
        m.putAll(o.toMap());
        return m;
    }
}
