package io.github.convsim.cuda.check;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.api.Analysis;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.cuda.CudaBackend;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.Heatmap;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The prepared GPU check (bench/gpu-check.sh). {@code reference DIR} runs on a CPU machine with the OpenBLAS backend
 * and writes DIR/reference.json; {@code run DIR OUT} runs on the GPU host with the CUDA backend alone (no OpenBLAS, no
 * ND4J), compares with the reference and writes OUT/cuda.json. Both run the same demo analysis and the same seeded
 * synthetic batch.
 */
public final class GpuCheck {
    static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private GpuCheck() {}

    public static void main(String[] args) throws Exception {
        if (args.length < 2 || !(args[0].equals("reference") || args[0].equals("run"))) {
            System.err.println("usage: GpuCheck reference DIR [count n r] | run DIR OUT");
            System.exit(2);
        }
        Path dir = Path.of(args[1]);
        if (args[0].equals("reference")) {
            int count = args.length > 2 ? Integer.parseInt(args[2]) : 128;
            int n = args.length > 3 ? Integer.parseInt(args[3]) : 4096;
            int r = args.length > 4 ? Integer.parseInt(args[4]) : 16;
            Backends.Choice cpu = Backends.select("cpu");
            try {
                Map<String, Object> ref = new LinkedHashMap<>();
                ref.put("backend", cpu.backend().description());
                ref.put("demo", demo(cpu, dir));
                long t = System.nanoTime();
                SyntheticBatch.Result res = SyntheticBatch.solve(cpu.backend(), Precision.FP64, 42, count, n, r, 2);
                ref.put("synthetic", Map.of("count", count, "n", n, "r", r, "seed", 42, "fp64_fingerprints",
                        res.fingerprints(), "cpu_seconds", res.solveSeconds(), "cpu_wall_seconds",
                        (System.nanoTime() - t) / 1e9));
                JSON.writeValue(dir.resolve("reference.json").toFile(), ref);
            } finally {
                cpu.backend().close();
            }
            return;
        }
        Path out = Path.of(args[2]);
        Files.createDirectories(out);
        JsonNode ref = JSON.readTree(dir.resolve("reference.json").toFile());
        Map<String, Object> result = new LinkedHashMap<>();
        try (CudaBackend cuda = new CudaBackend()) {
            result.put("device", cuda.deviceName());
            result.put("backend", cuda.description());
            Backends.Choice choice = Backends.checked(cuda, "cuda requested by the GPU check");
            result.put("self_check", choice.provenance().get("self_check"));
            result.put("demo", compareDemo(demo(choice, dir), ref.get("demo")));
            JsonNode syn = ref.get("synthetic");
            int count = syn.get("count").asInt();
            int n = syn.get("n").asInt();
            int r = syn.get("r").asInt();
            double[][] expected = JSON.treeToValue(syn.get("fp64_fingerprints"), double[][].class);
            Map<String, Object> synthetic = new LinkedHashMap<>();
            synthetic.put("systems", count + " x " + n + "x" + n + ", " + r + " right-hand sides");
            for (Precision p : List.of(Precision.FP64, Precision.FP32)) {
                double before = cuda.computeSeconds();
                SyntheticBatch.Result res = SyntheticBatch.solve(cuda, p, syn.get("seed").asLong(), count, n, r, 32);
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
                m.put("device_compute_seconds", cuda.computeSeconds() - before);
                m.put("seconds_with_transfers", res.solveSeconds());
                synthetic.put(p.name().toLowerCase(Locale.ROOT), m);
            }
            synthetic.put("cpu_reference_seconds", syn.get("cpu_seconds").asDouble());
            result.put("synthetic", synthetic);
        }
        JSON.writeValue(out.resolve("cuda.json").toFile(), result);
        System.out.println(JSON.writeValueAsString(result));
    }

    /** The demo analysis on the carried data: phi of every heatmap and every layer's diagnostics. */
    static Map<String, Object> demo(Backends.Choice backend, Path dir) throws Exception {
        Map<String, Object> out = new LinkedHashMap<>();
        AnalysisOptions options = AnalysisOptions.defaults();
        long t = System.nanoTime();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(dir.resolve("adapter"), dir.resolve("base.safetensors"))) {
            AnalysisResult r = Analysis.run(ckpt, options, backend, ProgressListener.NONE);
            out.put("seconds", (System.nanoTime() - t) / 1e9);
            Map<String, Object> maps = new LinkedHashMap<>();
            List<Map<String, Object>> diags = new ArrayList<>();
            for (ModuleResult m : r.modules()) {
                for (Heatmap h : m.heatmaps()) {
                    Map<String, Object> e = new LinkedHashMap<>();
                    e.put("phi", h.phi());
                    e.put("average", h.average());
                    e.put("w0_null_mean", h.w0() == null ? null : h.w0().averageMean());
                    maps.put(h.stem(), e);
                }
                for (LayerDiagnostics d : m.diagnostics()) {
                    diags.add(Map.of("layer", d.layer(), "cond_w0", d.condW0(), "residual_A", d.residualA(),
                            "residual_B", d.residualB(), "fp32_vs_fp64", d.precisionGap()));
                }
            }
            out.put("heatmaps", maps);
            out.put("diagnostics", diags);
        }
        return out;
    }

    private static Map<String, Object> compareDemo(Map<String, Object> cuda, JsonNode cpu) {
        Map<String, Object> out = new LinkedHashMap<>();
        double worstPhi = 0;
        double worstNull = 0;
        @SuppressWarnings("unchecked")
        Map<String, Map<String, Object>> maps = (Map<String, Map<String, Object>>) cuda.get("heatmaps");
        for (Map.Entry<String, Map<String, Object>> e : maps.entrySet()) {
            double[][] phi = (double[][]) e.getValue().get("phi");
            JsonNode ref = cpu.get("heatmaps").get(e.getKey()).get("phi");
            for (int a = 0; a < phi.length; a++) {
                for (int b = 0; b < phi.length; b++) {
                    if (!Double.isNaN(phi[a][b])) {
                        worstPhi = Math.max(worstPhi, Math.abs(phi[a][b] - ref.get(a).get(b).asDouble()));
                    }
                }
            }
            Object w0 = e.getValue().get("w0_null_mean");
            JsonNode refW0 = cpu.get("heatmaps").get(e.getKey()).get("w0_null_mean");
            if (w0 != null && !refW0.isNull()) {
                worstNull = Math.max(worstNull, Math.abs((Double) w0 - refW0.asDouble()) / refW0.asDouble());
            }
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> diags = (List<Map<String, Object>>) cuda.get("diagnostics");
        double worstCond = 0;
        for (int k = 0; k < diags.size(); k++) {
            double c = (Double) diags.get(k).get("cond_w0");
            double rc = cpu.get("diagnostics").get(k).get("cond_w0").asDouble();
            worstCond = Math.max(worstCond, Math.abs(c - rc) / rc);
        }
        out.put("heatmaps", maps.size());
        out.put("max_abs_phi_difference_to_cpu", worstPhi);
        out.put("max_relative_w0_null_difference_to_cpu", worstNull);
        out.put("max_relative_cond_difference_to_cpu", worstCond);
        out.put("cuda_seconds", cuda.get("seconds"));
        out.put("cpu_seconds", cpu.get("seconds").asDouble());
        return out;
    }

}
