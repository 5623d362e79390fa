package io.github.convsim.cuda.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.api.Analysis;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.condlora.CondLoraFit;
import io.github.convsim.condlora.CondLoraSettings;
import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.conversion.ConditionMethod;
import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.cuda.CudaBackend;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.synth.ModelShape;
import io.github.convsim.synth.SyntheticCheckpoint;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The prepared GPU check (bench/gpu-check.sh). {@code reference DIR} runs on a CPU machine with the OpenBLAS backend
 * and writes DIR/reference.json; {@code run DIR OUT MODELS} runs on the GPU host with the CUDA backend alone (no
 * OpenBLAS, no ND4J), compares with the reference and writes OUT/cuda.json after each stage. Both run the same
 * analyses: the carried demo and synthetic checkpoints of real model shapes (written on each machine from the same
 * seed), each with the default options and with the authors' outputs only; and the same seeded batch of systems.
 */
public final class GpuCheck {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    /** Synthetic checkpoints analysed on both sides: shape and layers (square W0 only, and GQA's non-square k/v). */
    static final List<Object[]> MODELS = List.of(new Object[] {ModelShape.LLAMA2_7B, 8},
            new Object[] {ModelShape.LLAMA3_8B, 2});

    private GpuCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !(args[0].equals("reference") || args[0].equals("run"))) {
            System.err.println("usage: GpuCheck reference DIR [count n r] | run DIR OUT MODELS_DIR");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        if (args[0].equals("reference")) {
            reference(dir, args.length > 2 ? Integer.parseInt(args[2]) : 64, args.length > 3
                    ? Integer.parseInt(args[3]) : 4096, args.length > 4 ? Integer.parseInt(args[4]) : 16);
        } else {
            run(dir, Path.of(args[2]), Path.of(args.length > 3 ? args[3] : "/tmp/convsim-gpu-models"));
        }
    }

    /** The default analysis, and the authors' outputs only (bench/run.sh's lean configuration). */
    static Map<String, AnalysisOptions> configurations() {
        AnalysisOptions d = AnalysisOptions.defaults();
        AnalysisOptions lean = d.toBuilder().similarity(d.similarity().toBuilder().nulls(NullModel.GAUSSIAN).draws(2)
                .controls().build()).cond(ConditionMethod.ESTIMATE).build();
        Map<String, AnalysisOptions> out = new LinkedHashMap<>();
        out.put("default", d);
        out.put("lean", lean);
        return out;
    }

    private static void reference(Path dir, int count, int n, int r) throws Exception {
        try (Backends.Choice cpu = Backends.select("cpu")) {
            Map<String, Object> ref = new LinkedHashMap<>();
            ref.put("backend", cpu.backend().description());
            ref.put("demo", analyses(cpu, dir.resolve("adapter"), dir.resolve("base.safetensors"), null));
            ref.put("condlora", condlora(cpu, dir));
            long t = System.nanoTime();
            SyntheticBatch.Result res = SyntheticBatch.solve(cpu.backend(), Precision.FP64, 42, count, n, r, 2);
            ref.put("synthetic", Map.of("count", count, "n", n, "r", r, "seed", 42, "fp64_fingerprints",
                    res.fingerprints(), "cpu_seconds", res.solveSeconds(), "cpu_wall_seconds",
                    (System.nanoTime() - t) / 1e9));
            Map<String, Object> models = new LinkedHashMap<>();
            for (Object[] m : MODELS) {
                Path tmp = Files.createTempDirectory("convsim-gpu-ref");
                try {
                    SyntheticCheckpoint.Written w = synth((ModelShape) m[0], (Integer) m[1], tmp);
                    models.put(modelName(m), analyses(cpu, w.adapter(), w.base(), null));
                } finally {
                    delete(tmp);
                }
            }
            ref.put("models", models);
            JSON.writeValue(dir.resolve("reference.json").toFile(), ref);
        }
    }

    private static void run(Path dir, Path out, Path modelsDir) throws Exception {
        Files.createDirectories(out);
        JsonNode ref = JSON.readTree(dir.resolve("reference.json").toFile());
        Map<String, Object> result = new LinkedHashMap<>();
        // CONVSIM_GPU_CHECK_DRY_RUN=1: the same run on the CPU backend, to try the check on a machine without a GPU
        boolean dry = "1".equals(System.getenv("CONVSIM_GPU_CHECK_DRY_RUN"));
        try (LinalgBackend cuda = dry ? Backends.select("cpu").backend() : new CudaBackend()) {
            TimedBackend timed = new TimedBackend(cuda);
            result.put("device", cuda instanceof CudaBackend c ? c.deviceName() : "none (dry run)");
            result.put("backend", cuda.description());
            Backends.Choice choice = Backends.checked(timed, "cuda requested by the GPU check");
            result.put("self_check", choice.provenance().get("self_check"));
            timed.drain();
            result.put("demo", compare(analyses(choice, dir.resolve("adapter"), dir.resolve("base.safetensors"), timed),
                    ref.get("demo")));
            save(out, result);
            result.put("condlora", compareFits(condlora(choice, dir), ref.get("condlora")));
            save(out, result);
            result.put("synthetic", synthetic(cuda, ref.get("synthetic")));
            save(out, result);
            Map<String, Object> models = new LinkedHashMap<>();
            result.put("models", models);
            for (Object[] m : MODELS) {
                String name = modelName(m);
                Path target = modelsDir.resolve(name);
                delete(target);
                Files.createDirectories(target);
                long t = System.nanoTime();
                SyntheticCheckpoint.Written w = synth((ModelShape) m[0], (Integer) m[1], target);
                double synthSeconds = (System.nanoTime() - t) / 1e9;
                double read = readSeconds(target);
                Map<String, Object> entry = compare(analyses(choice, w.adapter(), w.base(), timed), ref.get("models")
                        .get(name));
                entry.put("files", Map.of("base", w.base().toString(), "adapter", w.adapter().toString(), "bytes",
                        w.baseBytes() + w.adapterBytes(), "synth_seconds", synthSeconds, "read_seconds", read));
                models.put(name, entry);
                save(out, result);
            }
        }
        if (!dry) {
            result.put("streams", streams(modelsDir.resolve(modelName(MODELS.get(0)))));
            save(out, result);
        }
        System.out.println("GPU check: results in " + out.resolve("cuda.json"));
    }

    /**
     * The first synthetic checkpoint analysed again on backends of 4 and then 8 lanes, timings only: whether more
     * streams pay (the JVM is warm for both).
     */
    private static Map<String, Object> streams(Path model) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        for (int lanes : new int[] {4, 8}) {
            System.setProperty("convsim.cuda.streams", Integer.toString(lanes));
            try (CudaBackend cuda = new CudaBackend()) {
                TimedBackend timed = new TimedBackend(cuda);
                Backends.Choice choice;
                try {
                    choice = Backends.checked(timed, "cuda, " + lanes + " streams");
                } catch (io.github.convsim.linalg.ArithmeticCheckException e) {
                    out.put(lanes + "_streams", Map.of("self_check_failed", e.getMessage()));
                    continue;
                }
                timed.drain();
                Map<String, Object> runs = analyses(choice, model.resolve("adapter"), model.resolve("base"), timed);
                Map<String, Object> brief = new LinkedHashMap<>();
                runs.forEach((config, run) -> {
                    Map<?, ?> r = (Map<?, ?>) run;
                    brief.put(config, Map.of("seconds", r.get("seconds"), "operations", r.get("operations")));
                });
                out.put(lanes + "_streams", brief);
            } finally {
                System.clearProperty("convsim.cuda.streams");
            }
        }
        return out;
    }

    private static void save(Path out, Map<String, Object> result) throws IOException {
        Path tmp = out.resolve("cuda.json.tmp");
        JSON.writeValue(tmp.toFile(), result);
        Files.move(tmp, out.resolve("cuda.json"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
    }

    static String modelName(Object[] m) {
        return ((ModelShape) m[0]).name() + "-" + m[1] + "-layers";
    }

    static SyntheticCheckpoint.Written synth(ModelShape shape, int layers, Path dir) throws IOException {
        return SyntheticCheckpoint.write(shape.withLayers(layers), new SyntheticCheckpoint.Options(1, 16, 32,
                SyntheticCheckpoint.Options.ATTENTION, 5_000_000_000L, Runtime.getRuntime().availableProcessors()), dir,
                ProgressListener.NONE);
    }

    /** Seconds to read every file under {@code dir} once, a file per thread: the floor of reading the checkpoint. */
    static double readSeconds(Path dir) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(dir)) {
            files = s.filter(Files::isRegularFile).toList();
        }
        long t = System.nanoTime();
        files.parallelStream().forEach(f -> {
            try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                ByteBuffer buf = ByteBuffer.allocateDirect(16 << 20);
                long pos = 0;
                int got;
                while ((got = ch.read(buf, pos)) > 0) {
                    pos += got;
                    buf.clear();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        return (System.nanoTime() - t) / 1e9;
    }

    private static Map<String, Object> synthetic(LinalgBackend cuda, JsonNode syn) throws Exception {
        int count = syn.get("count").asInt();
        int n = syn.get("n").asInt();
        int r = syn.get("r").asInt();
        double[][] expected = JSON.treeToValue(syn.get("fp64_fingerprints"), double[][].class);
        Map<String, Object> synthetic = new LinkedHashMap<>();
        synthetic.put("systems", count + " x " + n + "x" + n + ", " + r + " right-hand sides");
        for (Precision p : List.of(Precision.FP64, Precision.FP32)) {
            SyntheticBatch.Result res = SyntheticBatch.solve(cuda, p, syn.get("seed").asLong(), count, n, r, 16);
            double[] diff = new double[count];
            for (int k = 0; k < count; k++) {
                diff[k] = SyntheticBatch.difference(res.fingerprints()[k], expected[k]);
            }
            Integer[] order = new Integer[count];
            for (int k = 0; k < count; k++) {
                order[k] = k;
            }
            java.util.Arrays.sort(order, (x, y) -> Double.compare(diff[x], diff[y]));
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("max_relative_difference_to_cpu_fp64", diff[order[count - 1]]);
            m.put("median_relative_difference_to_cpu_fp64", diff[order[count / 2]]);
            if (p == Precision.FP32) {
                // what the conditioning allows: cond(A) of the worst and the median system, exact (SVD on the GPU)
                List<Map<String, Object>> cond = new ArrayList<>();
                for (int k : new int[] {order[count - 1], order[count / 2]}) {
                    double[] sv = cuda.svd(List.of(SyntheticBatch.system(syn.get("seed").asLong(), k, n)), false,
                            Precision.FP64).get(0).s();
                    cond.add(Map.of("system", k, "which", k == order[count - 1] ? "worst" : "median",
                            "relative_difference", diff[k], "cond", sv[0] / sv[sv.length - 1]));
                }
                m.put("conditioning", cond);
            }
            m.put("seconds_with_transfers", res.solveSeconds());
            synthetic.put(p.name().toLowerCase(Locale.ROOT), m);
        }
        synthetic.put("cpu_reference_seconds", syn.get("cpu_seconds").asDouble());
        return synthetic;
    }

    /** Each configuration's analysis of one checkpoint: phi of every heatmap, its nulls, every layer's diagnostics. */
    static Map<String, Object> analyses(Backends.Choice backend, Path adapter, Path base, TimedBackend timed)
            throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, AnalysisOptions> c : configurations().entrySet()) {
            Map<String, Object> one = new LinkedHashMap<>();
            long t = System.nanoTime();
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, base)) {
                AnalysisResult r = Analysis.run(ckpt, c.getValue(), backend, ProgressListener.NONE);
                one.put("seconds", (System.nanoTime() - t) / 1e9);
                Map<String, Object> maps = new LinkedHashMap<>();
                List<Map<String, Object>> diags = new ArrayList<>();
                for (ModuleResult m : r.modules()) {
                    for (Heatmap h : m.heatmaps()) {
                        Map<String, Object> e = new LinkedHashMap<>();
                        e.put("phi", h.phi());
                        e.put("average", h.average());
                        e.put("gaussian_null_mean", h.gaussian() == null ? null : h.gaussian().averageMean());
                        e.put("w0_null_mean", h.w0() == null ? null : h.w0().averageMean());
                        maps.put(h.stem(), e);
                    }
                    for (LayerDiagnostics d : m.diagnostics()) {
                        diags.add(Map.of("module", m.module(), "layer", d.layer(), "cond_w0", d.condW0(), "residual_A",
                                d.residualA(), "residual_B", d.residualB(), "fp32_vs_fp64", d.precisionGap()));
                    }
                }
                one.put("heatmaps", maps);
                one.put("diagnostics", diags);
            }
            if (timed != null) {
                one.put("operations", timed.drain());
            }
            out.put(c.getKey(), one);
        }
        return out;
    }

    /** The GPU's analyses beside the CPU's: the largest differences of phi, the nulls' means and cond(W0). */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> compare(Map<String, Object> cuda, JsonNode cpu) {
        Map<String, Object> out = new LinkedHashMap<>();
        for (Map.Entry<String, Object> c : cuda.entrySet()) {
            Map<String, Object> run = (Map<String, Object>) c.getValue();
            JsonNode ref = cpu.get(c.getKey());
            double worstPhi = 0;
            double worstNull = 0;
            Map<String, Map<String, Object>> maps = (Map<String, Map<String, Object>>) run.get("heatmaps");
            for (Map.Entry<String, Map<String, Object>> e : maps.entrySet()) {
                double[][] phi = (double[][]) e.getValue().get("phi");
                JsonNode refMap = ref.get("heatmaps").get(e.getKey());
                for (int a = 0; a < phi.length; a++) {
                    for (int b = 0; b < phi.length; b++) {
                        if (!Double.isNaN(phi[a][b])) {
                            worstPhi = Math.max(worstPhi, Math.abs(phi[a][b] - refMap.get("phi").get(a).get(b)
                                    .asDouble()));
                        }
                    }
                }
                for (String nul : List.of("gaussian_null_mean", "w0_null_mean")) {
                    Object mine = e.getValue().get(nul);
                    JsonNode theirs = refMap.get(nul);
                    if (mine != null && theirs != null && !theirs.isNull()) {
                        worstNull = Math.max(worstNull, Math.abs((Double) mine - theirs.asDouble()) / theirs.asDouble());
                    }
                }
            }
            List<Map<String, Object>> diags = (List<Map<String, Object>>) run.get("diagnostics");
            double worstCond = 0;
            for (int k = 0; k < diags.size(); k++) {
                double mine = (Double) diags.get(k).get("cond_w0");
                double theirs = ref.get("diagnostics").get(k).get("cond_w0").asDouble();
                worstCond = Math.max(worstCond, Math.abs(mine - theirs) / theirs);
            }
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("heatmaps", maps.size());
            m.put("max_abs_phi_difference_to_cpu", worstPhi);
            m.put("max_relative_null_mean_difference_to_cpu", worstNull);
            m.put("max_relative_cond_difference_to_cpu", worstCond);
            m.put("cuda_seconds", run.get("seconds"));
            m.put("cpu_seconds", ref.get("seconds").asDouble());
            m.put("operations", run.get("operations"));
            Map<String, Object> phis = new LinkedHashMap<>();
            maps.forEach((stem, e) -> phis.put(stem, e.get("phi")));
            m.put("phi", phis);
            out.put(c.getKey(), m);
        }
        return out;
    }

    /** condlora fit of the demo: R^2 of A and B, the dW error, the fitted maps W_A and W_B. */
    static Map<String, Object> condlora(Backends.Choice backend, Path dir) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        long t = System.nanoTime();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(dir.resolve("adapter"), dir.resolve("base.safetensors"))) {
            for (ModuleFit f : CondLoraFit.fit(ckpt, backend.backend(), new CondLoraSettings(0, 8, 20240322))) {
                Map<String, Object> m = new LinkedHashMap<>();
                m.put("r2_a", f.r2A());
                m.put("r2_b", f.r2B());
                m.put("dw_error", f.dwError());
                m.put("wa", f.wa() == null ? null : f.wa().data());
                m.put("wb", f.wb() == null ? null : f.wb().data());
                out.put(f.module(), m);
            }
        }
        out.put("seconds", (System.nanoTime() - t) / 1e9);
        return out;
    }

    /** The GPU's fit beside the CPU's: the largest differences of R^2 and the dW error, and of the maps (relative). */
    private static Map<String, Object> compareFits(Map<String, Object> cuda, JsonNode cpu) {
        double worstScalar = 0;
        double worstMap = 0;
        for (Map.Entry<String, Object> e : cuda.entrySet()) {
            if (!(e.getValue() instanceof Map<?, ?> m)) {
                continue;
            }
            JsonNode ref = cpu.get(e.getKey());
            for (String k : List.of("r2_a", "r2_b", "dw_error")) {
                worstScalar = Math.max(worstScalar, Math.abs((Double) m.get(k) - ref.get(k).asDouble()));
            }
            for (String k : List.of("wa", "wb")) {
                if (m.get(k) instanceof double[] mine && !ref.get(k).isNull()) {
                    double num = 0;
                    double den = 0;
                    for (int i = 0; i < mine.length; i++) {
                        double theirs = ref.get(k).get(i).asDouble();
                        num += (mine[i] - theirs) * (mine[i] - theirs);
                        den += theirs * theirs;
                    }
                    worstMap = Math.max(worstMap, Math.sqrt(num / den));
                }
            }
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("max_abs_r2_or_dw_error_difference_to_cpu", worstScalar);
        out.put("max_relative_map_difference_to_cpu", worstMap);
        out.put("cuda_seconds", cuda.get("seconds"));
        out.put("cpu_seconds", cpu.get("seconds").asDouble());
        return out;
    }

    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
