package io.github.convsim.api;

import io.github.convsim.conversion.ConversionAnalysis;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.IllConditionedException;
import io.github.convsim.conversion.LayerConversion;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.report.Provenance;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullBasisStore;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilarityAnalysis;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The analysis pipeline, streamed: per module, layer group by layer group, read W0 from the (memory-mapped) base,
 * factor it, solve the conversion matrices and push the W0 null's random factors through the same factors, then let
 * W0 go; only the n x r conversion matrices and bases stay. Then compare layers against the nulls. Groups are as
 * large as the heap allows ({@link LayerGroups}); the W0 null's bases go to a temporary file when they would take
 * more than an eighth of the heap. Input files are hashed for provenance while the numbers are computed.
 */
public final class Analysis {
    private Analysis() {}

    public static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                                     ProgressListener progress) throws CheckpointException {
        return run(ckpt, options, backend, progress, Runtime.getRuntime().maxMemory());
    }

    /** As {@link #run(LoraCheckpoint, AnalysisOptions, Backends.Choice, ProgressListener)} within {@code memory} bytes. */
    static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                              ProgressListener progress, long memory) throws CheckpointException {
        MemoryUse.watch();
        CompletableFuture<List<Provenance.InputFile>> hashes = CompletableFuture.supplyAsync(() -> hashInputs(ckpt));
        List<String> modules = selectModules(ckpt, options.modules());
        Map<String, Double> timings = new LinkedHashMap<>();
        SimilarityAnalysis similarity = new SimilarityAnalysis(backend.backend(), options.similarity());
        List<ModuleResult> results = new ArrayList<>();
        long totalLayers = modules.stream().mapToLong(m -> ckpt.layersOf(m).size()).sum();
        long[] layersDone = {0};
        Map<String, Object> streaming = new LinkedHashMap<>();
        for (int k = 0; k < modules.size(); k++) {
            String name = modules.get(k);
            List<LoraModule> layers = ckpt.layersOf(name);
            similarity.checkPrefixes(name, layers);
            boolean square = layers.stream().allMatch(m -> m.out() == m.in());
            SolveOptions solveOptions = options.solveOptions(square);
            ConversionSolver solver = new ConversionSolver(backend.backend(), solveOptions);
            int group = Math.min(layers.size(), LayerGroups.size(layers.get(0), memory));
            int keep = similarity.keep(layers.get(0).rank());
            boolean w0Null = options.similarity().nulls().contains(NullModel.W0);
            long nullBytes = (long) options.similarity().draws() * layers.size() * options.similarity().factors().size()
                    * NullBasisStore.bytesPerPair(Math.max(layers.get(0).out(), layers.get(0).in()), keep,
                    options.similarity().sides().size());
            List<LayerConversion> converted = new ArrayList<>(layers.size());
            List<FactorBases.Pair> w0Control = options.similarity().controls().contains("W0") ? new ArrayList<>() : null;
            Equation eqA = null;
            Map<String, Double> moduleSeconds = new LinkedHashMap<>();
            try (NullBasisStore store = !w0Null ? null : nullBytes > memory / 8
                    ? spillingStore(options, keep) : NullBasisStore.inMemory(Set.copyOf(options.similarity().sides()),
                    keep)) {
                for (int from = 0; from < layers.size(); from += group) {
                    List<LoraModule> chunk = layers.subList(from, Math.min(layers.size(), from + group));
                    long t0 = System.nanoTime();
                    List<Matrix> w0s = new ArrayList<>(chunk.size());
                    for (LoraModule m : chunk) {
                        w0s.add(ckpt.baseWeight(m));
                    }
                    long t1 = System.nanoTime();
                    add(timings, "read_w0", t1 - t0);
                    ModuleConversion part = ConversionAnalysis.convert(solver, chunk, w0s);
                    if (eqA != null && part.equationA() != eqA) {
                        throw new IllConditionedException("module " + name
                                + " mixes square and non-square W0 across layers");
                    }
                    eqA = part.equationA();
                    converted.addAll(part.layers());
                    part.seconds().forEach((phase, sec) -> timings.merge(phase, sec, Double::sum));
                    part.seconds().forEach((phase, sec) -> moduleSeconds.merge(phase, sec, Double::sum));
                    long t2 = System.nanoTime();
                    if (store != null) {
                        similarity.sampleW0Null(solver, part.systems(), eqA, store);
                    }
                    if (w0Control != null) {
                        w0Control.addAll(similarity.w0ControlBases(part.systems()));
                    }
                    long t3 = System.nanoTime();
                    add(timings, "w0_null_and_controls", t3 - t2);
                    layersDone[0] += chunk.size();
                    progress.progress("solve layers", layersDone[0], totalLayers);
                }
                long t4 = System.nanoTime();
                ModuleConversion conv = new ModuleConversion(name, converted, List.of(), eqA, Map.of());
                List<Heatmap> maps = similarity.analyze(conv, store, w0Control);
                add(timings, "similarity", System.nanoTime() - t4);
                progress.progress("similarity", k + 1, modules.size());
                results.add(new ModuleResult(name, solveOptions.mode(), conv.diagnostics(), maps));
                Map<String, Object> s = new LinkedHashMap<>();
                s.put("layers_per_group", group);
                s.put("w0_null_bases_bytes", store == null ? 0 : store.bytes());
                s.put("w0_null_bases_spilled_to_disk", store != null && store.spilled());
                s.put("mode", solveOptions.mode().label());
                s.put("seconds", moduleSeconds);
                streaming.put(name, s);
            } catch (IOException e) {
                throw new CheckpointException(null, "cannot create a temporary file for the W0 null: " + e.getMessage());
            }
        }
        long h0 = System.nanoTime();
        List<Provenance.InputFile> inputs;
        try {
            inputs = hashes.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof UncheckedIOException io) {
                throw new CheckpointException(null, "cannot hash inputs: " + io.getCause().getMessage());
            }
            throw e;
        }
        add(timings, "hash_wait", System.nanoTime() - h0);
        Map<String, Object> resources = new LinkedHashMap<>();
        resources.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        resources.put("peak_heap_bytes", MemoryUse.peakHeapBytes());
        resources.put("peak_live_heap_after_gc_bytes", MemoryUse.peakLiveHeapBytes());
        resources.put("peak_live_heap_after_full_gc_bytes", MemoryUse.peakLiveAfterFullGcBytes());
        resources.put("peak_rss_bytes", MemoryUse.peakResidentBytes());
        resources.put("modules", streaming);
        Provenance prov = new Provenance("convsim", Provenance.currentToolVersion(), Provenance.currentJava(),
                Provenance.currentOs(), backend.backend().name() + ": " + backend.backend().description(), backend.reason(),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), inputs, optionsMap(options), timings,
                resources);
        return new AnalysisResult(ckpt.adapterDir().getFileName().toString(), options, List.copyOf(results),
                ckpt.config().raw(), prov);
    }

    private static void add(Map<String, Double> timings, String phase, long nanos) {
        timings.merge(phase, nanos / 1e9, Double::sum);
    }

    private static NullBasisStore spillingStore(AnalysisOptions options, int keep) throws IOException {
        return NullBasisStore.spilling(Set.copyOf(options.similarity().sides()), keep,
                Path.of(System.getProperty("java.io.tmpdir")));
    }

    private static List<String> selectModules(LoraCheckpoint ckpt, List<String> requested) {
        List<String> available = ckpt.moduleNames();
        if (available.isEmpty()) {
            throw new IllegalArgumentException(ckpt.adapterDir() + ": the adapter has no LoRA modules to analyse");
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

    private static List<Provenance.InputFile> hashInputs(LoraCheckpoint ckpt) {
        List<Provenance.InputFile> out = new ArrayList<>();
        List<Path> files = ckpt.inputFiles();
        for (int k = 0; k < files.size(); k++) {
            Path f = files.get(k);
            String role = k == 0 ? "adapter_config" : ckpt.adapterWeights().files().contains(f) ? "adapter_weights"
                    : "base_weights";
            try {
                out.add(new Provenance.InputFile(role, f.toAbsolutePath().normalize().toString(), Files.size(f),
                        Provenance.sha256(f)));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    private static Map<String, Object> optionsMap(AnalysisOptions o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", o.mode() == null ? "auto (paper where W0 is square, else lstsq)" : o.mode().label());
        m.put("precision", o.precision().name().toLowerCase());
        m.put("rcond", o.rcond());
        m.put("lambda", o.lambda());
        m.put("i", o.similarity().i() == 0 ? "r" : o.similarity().i());
        m.put("j", o.similarity().j() == 0 ? "r" : o.similarity().j());
        m.put("sides", o.similarity().sides().stream().map(s -> s.label()).toList());
        m.put("factors", o.similarity().factors().stream().map(f -> f.label()).toList());
        m.put("nulls", o.similarity().nulls().stream().map(n -> n.label()).sorted().toList());
        m.put("draws", o.similarity().draws());
        m.put("seed", o.similarity().seed());
        m.put("controls", o.similarity().controls().stream().sorted().toList());
        m.put("modules", o.modules().isEmpty() ? "all" : o.modules());
        m.put("backend", o.backend());
        m.put("cond", o.cond().label());
        return m;
    }
}
