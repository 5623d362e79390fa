package io.github.convsim.api;

import io.github.convsim.conversion.ConversionAnalysis;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.report.Provenance;
import io.github.convsim.similarity.Heatmap;
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
 * The analysis pipeline: per module, read W0 of every layer, solve the conversion matrices, then compare layers
 * against the nulls. Input files are hashed for provenance while the numbers are computed.
 */
public final class Analysis {
    private Analysis() {}

    public static AnalysisResult run(LoraCheckpoint ckpt, AnalysisOptions options, Backends.Choice backend,
                                     ProgressListener progress) throws CheckpointException {
        CompletableFuture<List<Provenance.InputFile>> hashes = CompletableFuture.supplyAsync(() -> hashInputs(ckpt));
        List<String> modules = selectModules(ckpt, options.modules());
        Map<String, Double> timings = new LinkedHashMap<>();
        SimilarityAnalysis similarity = new SimilarityAnalysis(backend.backend(), options.similarity());
        List<ModuleResult> results = new ArrayList<>();
        int step = 0;
        int steps = modules.size() * 3;
        for (String name : modules) {
            List<LoraModule> layers = ckpt.layersOf(name);
            long t0 = System.nanoTime();
            List<Matrix> w0s = new ArrayList<>(layers.size());
            for (LoraModule m : layers) {
                w0s.add(ckpt.baseWeight(m));
            }
            progress.progress("analyse", ++step, steps);
            long t1 = System.nanoTime();
            boolean square = w0s.stream().allMatch(w -> w.rows() == w.cols());
            SolveOptions solveOptions = options.solveOptions(square);
            ConversionSolver solver = new ConversionSolver(backend.backend(), solveOptions);
            ModuleConversion conv = ConversionAnalysis.convert(solver, layers, w0s);
            progress.progress("analyse", ++step, steps);
            long t2 = System.nanoTime();
            List<Heatmap> maps = similarity.analyze(solver, conv);
            progress.progress("analyse", ++step, steps);
            long t3 = System.nanoTime();
            timings.merge("read_w0", (t1 - t0) / 1e9, Double::sum);
            timings.merge("solve", (t2 - t1) / 1e9, Double::sum);
            timings.merge("similarity_and_nulls", (t3 - t2) / 1e9, Double::sum);
            results.add(new ModuleResult(name, solveOptions.mode(), conv.diagnostics(), maps));
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
        timings.put("hash_wait", (System.nanoTime() - h0) / 1e9);
        Provenance prov = new Provenance("convsim", Provenance.currentToolVersion(), Provenance.currentJava(),
                Provenance.currentOs(), backend.backend().name() + ": " + backend.backend().description(), backend.reason(),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), inputs, optionsMap(options), timings);
        return new AnalysisResult(ckpt.adapterDir().getFileName().toString(), options, List.copyOf(results),
                ckpt.config().raw(), prov);
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
        return m;
    }
}
