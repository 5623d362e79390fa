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

    private CondLoraExport() {}

    /** adapter_config.json (peft_type CONDLORA) and adapter_model.safetensors with {@code <module>.linear_for_lora_A.weight}. */
    public static void writeCondLora(Path dir, PeftConfig source, WeightSource sourceWeights, List<ModuleFit> fits)
            throws IOException {
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
        writeJson(dir.resolve(RECORD), record(source, fits, "condlora"));
    }

    /**
     * A PEFT LoRA adapter with each layer's factors materialised from the fitted shared layers, A_l = Wa W0_l^T and
     * B_l = W0_l Wb^T, W0 streamed from {@code source}'s base a layer group at a time. Every module of the source
     * must have its fit: the export replaces every module's LoRA, and one left out would be silently dropped.
     */
    public static void writeLora(Path dir, LoraCheckpoint source, List<ModuleFit> fits) throws IOException {
        Set<String> fitted = new LinkedHashSet<>();
        fits.forEach(f -> fitted.add(f.module()));
        List<String> missing = source.moduleNames().stream().filter(m -> !fitted.contains(m)).toList();
        if (!missing.isEmpty()) {
            throw new IllegalArgumentException("an export replaces every module's LoRA, but " + String.join(", ",
                    missing) + (missing.size() == 1 ? " has" : " have") + " no fit (see CondLoraFit.unfittable)");
        }
        Files.createDirectories(dir);
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt").metadata("written_by", "convsim");
        keepOtherTensors(w, source.adapterWeights());
        Map<String, Double> timings = new HashMap<>();
        for (ModuleFit f : fits) {
            int group = LayerGroups.size(f.layers().get(0), Runtime.getRuntime().maxMemory());
            new LayerStream(source, Math.min(group, f.layers().size())).forEach(f.layers(), timings, g -> {
                for (int l = 0; l < g.layers().size(); l++) {
                    Matrix w0 = g.w0s().get(l);
                    String prefix = "base_model.model." + g.layers().get(l).modulePath();
                    add(w, prefix + ".lora_A.weight", f.wa().times(w0.transpose()));
                    add(w, prefix + ".lora_B.weight", w0.times(f.wb().transpose()));
                }
            });
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        ObjectNode config = baseConfig(source.config(), fits);
        config.put("peft_type", "LORA");
        writeJson(dir.resolve("adapter_config.json"), config);
        writeJson(dir.resolve(RECORD), record(source.config(), fits, "lora"));
    }

    /** The file beside an export recording what it reproduces of the source. */
    public static final String RECORD = "convsim_export.json";

    /**
     * The share of the source's update dW = B A each module's export reproduces, 1 - ||dW_fit - dW||^2 / ||dW||^2
     * (negative when the fit is worse than no update), with R^2 of A and B.
     */
    public static double shareOfUpdate(ModuleFit f) {
        return 1 - f.dwError() * f.dwError();
    }

    private static ObjectNode record(PeftConfig source, List<ModuleFit> fits, String as) {
        ObjectNode r = JSON.createObjectNode();
        r.put("written_by", "convsim condlora export");
        r.put("as", as);
        r.put("source_adapter_config", source.file().toAbsolutePath().normalize().toString());
        ObjectNode modules = r.putObject("modules");
        for (ModuleFit f : fits) {
            ObjectNode m = modules.putObject(f.module());
            m.put("share_of_update_reproduced", shareOfUpdate(f));
            m.put("dW_relative_error", f.dwError());
            m.put("r2_A", f.r2A());
            m.put("r2_B", f.r2B());
            m.put("layers", f.perLayer().size());
        }
        return r;
    }

    private static ObjectNode baseConfig(PeftConfig source, List<ModuleFit> fits) {
        ObjectNode c = source.raw();
        c.put("r", fits.get(0).wa().rows());
        c.put("lora_alpha", source.loraAlpha());
        ArrayNode targets = c.putArray("target_modules");
        Set<String> names = new LinkedHashSet<>();
        fits.forEach(f -> names.add(f.module()));
        names.forEach(targets::add);
        c.putObject("rank_pattern");
        c.putObject("alpha_pattern");
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
