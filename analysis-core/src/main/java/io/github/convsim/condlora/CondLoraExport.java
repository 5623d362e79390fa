package io.github.convsim.condlora;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.convsim.io.AtomicFile;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.pipeline.LayerStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Writes a fitted single linear layer both ways: as a CondLoRA checkpoint in the authors' layout (one shared Wa, Wb
 * per module name) and as a standard PEFT LoRA adapter whose per-layer factors are materialised (A_l = Wa W0_l^T,
 * B_l = W0_l Wb^T), so the approximation can be evaluated in PEFT unchanged. Every other tensor of the source adapter
 * (a classifier head kept by modules_to_save, ...) is copied, so the export loads and predicts like the source.
 */
public final class CondLoraExport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT)
            .disable(com.fasterxml.jackson.core.JsonGenerator.Feature.AUTO_CLOSE_TARGET);
    /** The LoRA tensors the export replaces; DoRA magnitudes go too (the export is plain LoRA, use_dora false). */
    private static final java.util.regex.Pattern LORA_TENSOR = java.util.regex.Pattern.compile(
            "\\.(lora_A|lora_B|lora_magnitude_vector|linear_for_lora_A|linear_for_lora_B)(\\.|$)");

    /** The module of a LoRA factor's tensor: the path segment before lora_A or lora_B. */
    private static final java.util.regex.Pattern LORA_MODULE = java.util.regex.Pattern.compile(
            "([^.]+)\\.(lora_A|lora_B)(\\.|$)");

    private CondLoraExport() {}

    /**
     * adapter_config.json (peft_type CONDLORA) and adapter_model.safetensors with {@code <module>.linear_for_lora_A.weight}.
     * Every module with LoRA tensors in {@code sourceWeights} must have its fit (see {@link #writeLora}).
     */
    public static void writeCondLora(Path dir, PeftConfig source, WeightSource sourceWeights, List<ModuleFit> fits)
            throws IOException {
        writeCondLora(dir, source, sourceWeights, fits, null);
    }

    /**
     * As {@link #writeCondLora(Path, PeftConfig, WeightSource, List)}, with {@code provenance} (a run's
     * {@code Provenance.asMap()}, or null) in the record.
     */
    public static void writeCondLora(Path dir, PeftConfig source, WeightSource sourceWeights, List<ModuleFit> fits,
                                     Map<String, Object> provenance) throws IOException {
        requireFitOfA(fits);
        requireUnfused(fits.stream().flatMap(f -> f.layers().stream()).toList());
        Set<String> fitted = new LinkedHashSet<>();
        fits.forEach(f -> fitted.add(f.module()));
        Set<String> unfitted = new LinkedHashSet<>();
        for (String name : sourceWeights.names()) {
            java.util.regex.Matcher m = LORA_MODULE.matcher(name);
            if (m.find() && !fitted.contains(m.group(1))) {
                unfitted.add(m.group(1));
            }
        }
        requireEvery(unfitted);
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt").metadata("written_by", "convsim");
        keepOtherTensors(w, sourceWeights);
        for (ModuleFit f : fits) {
            add(w, f.module() + ".linear_for_lora_A.weight", f.wa());
            add(w, f.module() + ".linear_for_lora_B.weight", f.wb());
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        ObjectNode config = baseConfig(source, fits);
        config.put("peft_type", PeftConfig.CONDLORA);
        writeJson(dir.resolve("adapter_config.json"), config);
        writeJson(dir.resolve(RECORD), record(source, fits, "condlora", provenance));
    }

    /**
     * A PEFT LoRA adapter with each layer's factors materialised from the fitted shared layers, A_l = Wa W0_l^T and
     * B_l = W0_l Wb^T, W0 streamed from {@code source}'s base a layer group at a time. Every module of the source
     * must have its fit: the export replaces every module's LoRA, and one left out would be silently dropped. Fused
     * projections (GPT-2's c_attn: q, k and v under one LoRA), each fitted on its own, become one LoRA of their summed
     * rank on the fused layer: lora_A stacks the projections' A_l, lora_B places each B_l in its rows and columns
     * (block-diagonal), so B A is each projection's B_l A_l in its rows; alpha_pattern keeps PEFT's scaling.
     */
    public static void writeLora(Path dir, LoraCheckpoint source, List<ModuleFit> fits) throws IOException {
        writeLora(dir, source, fits, null);
    }

    /**
     * As {@link #writeLora(Path, LoraCheckpoint, List)}, with {@code provenance} (a run's {@code Provenance.asMap()},
     * or null) in the record.
     */
    public static void writeLora(Path dir, LoraCheckpoint source, List<ModuleFit> fits, Map<String, Object> provenance)
            throws IOException {
        Set<String> fitted = new LinkedHashSet<>();
        fits.forEach(f -> fitted.add(f.module()));
        requireEvery(new LinkedHashSet<>(source.moduleNames().stream().filter(m -> !fitted.contains(m)).toList()));
        requireFitOfA(fits);
        Map<String, List<LoraModule>> slicesOf = fusedSlices(source.modules());
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt").metadata("written_by", "convsim");
        keepOtherTensors(w, source.adapterWeights());
        Map<String, Double> timings = new HashMap<>();
        // a fused layer's projections are fitted apart: their factors wait, by first output row, until all are in
        Map<String, java.util.TreeMap<Integer, Matrix[]>> held = new HashMap<>();
        for (ModuleFit f : fits) {
            int group = LayerGroups.size(f.layers().get(0), Runtime.getRuntime().maxMemory());
            new LayerStream(source, Math.min(group, f.layers().size())).forEach(f.layers(), timings, g -> {
                for (int l = 0; l < g.layers().size(); l++) {
                    Matrix w0 = g.w0s().get(l);
                    LoraModule m = g.layers().get(l);
                    String prefix = "base_model.model." + m.modulePath();
                    Matrix a = f.wa().times(w0.transpose());
                    Matrix b = w0.times(f.wb().transpose());
                    int fused = slicesOf.get(m.modulePath()).size();
                    if (fused == 1) {
                        add(w, prefix + ".lora_A.weight", a);
                        add(w, prefix + ".lora_B.weight", b);
                        continue;
                    }
                    var parts = held.computeIfAbsent(m.modulePath(), k -> new java.util.TreeMap<>());
                    parts.put(m.outOffset(), new Matrix[] {a, b});
                    if (parts.size() == fused) {
                        Matrix[] ab = fusedFactors(parts);
                        add(w, prefix + ".lora_A.weight", ab[0]);
                        add(w, prefix + ".lora_B.weight", ab[1]);
                        held.remove(m.modulePath());
                    }
                }
            });
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        ObjectNode config = baseConfig(source.config(), fits);
        fusedPatterns(config, source.config(), slicesOf);
        config.put("fan_in_fan_out", source.modules().stream().anyMatch(LoraModule::baseTransposed));
        config.put("peft_type", "LORA");
        writeJson(dir.resolve("adapter_config.json"), config);
        writeJson(dir.resolve(RECORD), record(source.config(), fits, "lora", provenance));
    }

    /** Each adapted layer's modules (one, or a fused layer's projections) by module path. */
    private static Map<String, List<LoraModule>> fusedSlices(List<LoraModule> modules) {
        Map<String, List<LoraModule>> out = new java.util.LinkedHashMap<>();
        for (LoraModule m : modules) {
            out.computeIfAbsent(m.modulePath(), k -> new java.util.ArrayList<>()).add(m);
        }
        return out;
    }

    /** PEFT's name of a module's layer, the last part of its path: a fused layer's (c_attn), not a projection's. */
    private static String peftName(LoraModule m) {
        return m.modulePath().substring(m.modulePath().lastIndexOf('.') + 1);
    }

    /**
     * One LoRA on a fused layer from its projections' factors {A_p, B_p} by first output row: lora_A [sum r, in] stacks
     * the A_p, lora_B [sum out, sum r] holds B_p at the projection's rows and its own columns, zero elsewhere.
     */
    private static Matrix[] fusedFactors(java.util.SortedMap<Integer, Matrix[]> parts) {
        int rank = parts.values().stream().mapToInt(p -> p[0].rows()).sum();
        int in = parts.values().iterator().next()[0].cols();
        int out = parts.values().stream().mapToInt(p -> p[1].rows()).sum();
        Matrix a = Matrix.zeros(rank, in);
        Matrix b = Matrix.zeros(out, rank);
        int col = 0;
        for (Map.Entry<Integer, Matrix[]> e : parts.entrySet()) {
            Matrix pa = e.getValue()[0];
            Matrix pb = e.getValue()[1];
            for (int i = 0; i < pa.rows(); i++) {
                for (int j = 0; j < in; j++) {
                    a.set(col + i, j, pa.get(i, j));
                }
            }
            for (int i = 0; i < pb.rows(); i++) {
                for (int j = 0; j < pb.cols(); j++) {
                    b.set(e.getKey() + i, col + j, pb.get(i, j));
                }
            }
            col += pa.rows();
        }
        return new Matrix[] {a, b};
    }

    /**
     * rank_pattern and alpha_pattern entries for each fused layer's module (GPT-2's c_attn), ahead of the source's own
     * (PEFT takes the first key that matches): the summed rank, and lora_alpha scaled so that PEFT's scaling, alpha / r
     * (alpha / sqrt(r) with use_rslora), is the source's.
     */
    private static void fusedPatterns(ObjectNode config, PeftConfig source, Map<String, List<LoraModule>> slicesOf) {
        Map<String, Integer> ranks = new java.util.LinkedHashMap<>();
        Map<String, Double> alphas = new java.util.LinkedHashMap<>();
        for (List<LoraModule> slices : slicesOf.values()) {
            if (slices.size() == 1) {
                continue;
            }
            LoraModule first = slices.get(0);
            String name = peftName(first);
            int rank = slices.stream().mapToInt(LoraModule::rank).sum();
            double k = (double) rank / first.rank();
            double alpha = source.alphaFor(first.modulePath()) * (source.useRslora() ? Math.sqrt(k) : k);
            Double before = alphas.put(name, alpha);
            Integer rankBefore = ranks.put(name, rank);
            if (before != null && (before != alpha || rankBefore != rank)) {
                throw new IllegalArgumentException("fused module " + name + " has another rank or lora_alpha at "
                        + first.modulePath() + " than at its other layers: one pattern entry cannot hold both");
            }
        }
        ObjectNode rankPattern = JSON.createObjectNode();
        ranks.forEach(rankPattern::put);
        ObjectNode alphaPattern = JSON.createObjectNode();
        alphas.forEach(alphaPattern::put);
        config.set("rank_pattern", ahead(rankPattern, config.path("rank_pattern")));
        config.set("alpha_pattern", ahead(alphaPattern, config.path("alpha_pattern")));
    }

    /** {@code first}'s entries, then those of {@code rest} whose keys {@code first} does not have. */
    private static ObjectNode ahead(ObjectNode first, com.fasterxml.jackson.databind.JsonNode rest) {
        ObjectNode merged = first.deepCopy();
        rest.fields().forEachRemaining(e -> {
            if (!merged.has(e.getKey())) {
                merged.set(e.getKey(), e.getValue());
            }
        });
        return merged;
    }

    /** The file beside an export recording what it reproduces of the source, and how it was made (provenance). */
    public static final String RECORD = "convsim_export.json";

    /**
     * The share of the source's update dW = B A each module's export reproduces, 1 - ||dW_fit - dW||^2 / ||dW||^2
     * (negative when the fit is worse than no update), with R^2 of A and B.
     */
    public static double shareOfUpdate(ModuleFit f) {
        return 1 - f.dwError() * f.dwError();
    }

    private static ObjectNode record(PeftConfig source, List<ModuleFit> fits, String as,
                                     Map<String, Object> provenance) {
        ObjectNode r = JSON.createObjectNode();
        r.put("written_by", "convsim condlora export");
        r.put("as", as);
        r.put("source_adapter_config", source.file().toAbsolutePath().normalize().toString());
        ObjectNode modules = r.putObject("modules");
        for (ModuleFit f : fits) {
            ObjectNode m = modules.putObject(f.module());
            // undefined (a factor zero in every layer: an untrained adapter) as null; JSON has no NaN
            putNumber(m, "share_of_update_reproduced", shareOfUpdate(f));
            putNumber(m, "dW_relative_error", f.dwError());
            putNumber(m, "r2_A", f.r2A());
            putNumber(m, "r2_B", f.r2B());
            m.put("layers", f.perLayer().size());
        }
        if (provenance != null) {
            r.set("provenance", JSON.valueToTree(provenance));
        }
        return r;
    }

    private static void putNumber(ObjectNode node, String name, double v) {
        if (Double.isFinite(v)) {
            node.put(name, v);
        } else {
            node.putNull(name);
        }
    }

    /**
     * The source's config as the export's: its r, lora_alpha, rank_pattern and alpha_pattern stay (each module keeps
     * its rank, which the fit has, and its scaling, by which PEFT multiplies the materialised B A), targets are the
     * fitted modules' layers, and the rest says plain LoRA for inference.
     */
    private static ObjectNode baseConfig(PeftConfig source, List<ModuleFit> fits) {
        ObjectNode c = source.raw();
        c.put("r", source.r());
        c.put("lora_alpha", source.loraAlpha());
        ArrayNode targets = c.putArray("target_modules");
        Set<String> names = new LinkedHashSet<>();
        fits.forEach(f -> f.layers().forEach(m -> names.add(peftName(m))));
        names.forEach(targets::add);
        c.put("use_dora", false);
        c.put("init_lora_weights", true);
        c.put("inference_mode", true);
        c.put("fan_in_fan_out", false);
        return c;
    }

    private static void add(SafetensorsWriter w, String name, Matrix m) {
        // row-major [rows, cols] as PyTorch stores it: the column-major data of the transpose
        w.add(name, Dtype.F32, new long[] {m.rows(), m.cols()}, m.transpose().data());
    }

    private static void writeJson(Path file, ObjectNode node) throws IOException {
        AtomicFile.write(file, out -> JSON.writeValue(out, node));
    }

    /**
     * Refuses, before anything is fitted, an adapter the export cannot hold: a module {@link CondLoraFit#unfittable}
     * names (an export replaces every module's LoRA), or, in the CondLoRA layout ({@code asCondLora}), fused
     * projections ({@link #requireUnfused}).
     *
     * @throws IllegalArgumentException naming the modules and why
     */
    public static void requireExportable(LoraCheckpoint source, boolean asCondLora) {
        Map<String, String> unfittable = new java.util.LinkedHashMap<>(CondLoraFit.unfittable(source));
        for (String module : source.moduleNames()) {
            String noA = CondLoraFit.aNotFitted(source.layersOf(module));
            if (noA != null) {
                unfittable.putIfAbsent(module, noA.replace(" (B_l = W0_l Wb^T is fitted alone)", ""));
            }
        }
        if (!unfittable.isEmpty()) {
            throw new IllegalArgumentException("an export replaces every module's LoRA, but these cannot be fitted: "
                    + CondLoraFit.describe(unfittable));
        }
        if (asCondLora) {
            requireUnfused(source.modules());
        }
    }

    /** Refuses fits of B alone (W0 not square): an export needs every module's A_l from a fitted Wa. */
    private static void requireFitOfA(List<ModuleFit> fits) {
        List<String> bOnly = fits.stream().filter(f -> f.aNotFitted() != null).map(ModuleFit::module).toList();
        if (!bOnly.isEmpty()) {
            throw new IllegalArgumentException("an export replaces every module's LoRA, but " + String.join(", ", bOnly)
                    + (bOnly.size() == 1 ? " has" : " have") + " no fit of A (W0 not square)");
        }
    }

    /**
     * Refuses fused projections (GPT-2's c_attn: q, k and v under one LoRA of one layer) in the CondLoRA layout. The fit
     * gives each projection its own shared layer, which the authors' layout (one linear_for_lora_A per target module)
     * cannot hold; the LoRA export holds them as one LoRA of the summed rank.
     *
     * @throws IllegalArgumentException naming the projections and the layer they share
     */
    public static void requireUnfused(List<LoraModule> modules) {
        for (Map.Entry<String, List<LoraModule>> e : fusedSlices(modules).entrySet()) {
            if (e.getValue().size() > 1) {
                throw new IllegalArgumentException("the CondLoRA layout cannot hold fused projections: "
                        + String.join(", ", e.getValue().stream().map(LoraModule::module).toList()) + " share one LoRA"
                        + " on " + e.getKey() + ", and the fit gives each its own shared layer; export them with --as"
                        + " lora");
            }
        }
    }

    /** Refuses an export that would drop the LoRA of {@code unfitted} modules. */
    private static void requireEvery(Set<String> unfitted) {
        if (!unfitted.isEmpty()) {
            throw new IllegalArgumentException("an export replaces every module's LoRA, but " + String.join(", ",
                    unfitted) + (unfitted.size() == 1 ? " has" : " have") + " no fit (see CondLoraFit.unfittable)");
        }
    }

    /** Every tensor of the source adapter that is not a LoRA factor (a classifier head in modules_to_save, ...). */
    private static void keepOtherTensors(SafetensorsWriter w, WeightSource source) throws IOException {
        for (String name : source.names()) {
            if (LORA_TENSOR.matcher(name).find()) {
                continue;
            }
            w.addCopy(source, name);
        }
    }
}
