package io.github.convsim.api;

import io.github.convsim.common.ProgressListener;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.results.ReportedRun;
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
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The analysis pipeline: each module streamed through the base layer group by layer group ({@link ModulePass}), its
 * layers compared against the nulls; input files hashed for provenance while the numbers are computed, and the time
 * and memory spent recorded with them.
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
        ModulePass pass = new ModulePass(ckpt, options, backend.backend(), similarity, memory);
        for (int k = 0; k < modules.size(); k++) {
            ModulePass.Outcome outcome = pass.run(modules.get(k), timings,
                    n -> progress.progress("solve layers", layersDone[0] += n, totalLayers));
            progress.progress("similarity", k + 1, modules.size());
            results.add(outcome.result());
            streaming.put(modules.get(k), outcome.streaming());
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
        ModulePass.add(timings, "hash_wait", System.nanoTime() - h0);
        Map<String, Object> resources = new LinkedHashMap<>();
        resources.put("max_heap_bytes", Runtime.getRuntime().maxMemory());
        resources.put("peak_heap_bytes", MemoryUse.peakHeapBytes());
        resources.put("peak_live_heap_after_gc_bytes", MemoryUse.peakLiveHeapBytes());
        resources.put("peak_live_heap_after_full_gc_bytes", MemoryUse.peakLiveAfterFullGcBytes());
        resources.put("peak_rss_bytes", MemoryUse.peakResidentBytes());
        resources.put("modules", streaming);
        Provenance prov = new Provenance("convsim", Provenance.currentToolVersion(), Provenance.currentJava(),
                Provenance.currentOs(), backend.backend().name() + ": " + backend.backend().description(), backend.reason(),
                backend.provenance(), Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), inputs, optionsMap(options, ckpt), timings,
                resources);
        return new AnalysisResult(ckpt.adapterDir().getFileName().toString(), options, List.copyOf(results),
                ckpt.config().raw(), prov);
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

    /** The options as {@link ReportedRun} reads them back, with the inputs as given and how they were read. */
    private static Map<String, Object> optionsMap(AnalysisOptions o, LoraCheckpoint ckpt) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("checkpoint_notes", ckpt.notes());
        m.put(ReportedRun.ADAPTER, ckpt.adapterDir().toAbsolutePath().normalize().toString());
        m.put(ReportedRun.BASE, ckpt.base().location().toAbsolutePath().normalize().toString());
        m.put(ReportedRun.BASE_CHECK, ckpt.baseCheck().name().toLowerCase(java.util.Locale.ROOT));
        m.putAll(o.toMap());
        return m;
    }
}
