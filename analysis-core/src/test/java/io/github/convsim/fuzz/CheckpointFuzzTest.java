package io.github.convsim.fuzz;

import static org.junit.jupiter.api.Assertions.*;

import com.code_intelligence.jazzer.api.FuzzedDataProvider;
import com.code_intelligence.jazzer.junit.FuzzTest;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.convsim.api.Analysis;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.IllConditionedException;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.AtomicOutput;
import io.github.convsim.report.ReportWriter;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Fuzzing past the readers: a small adapter and base built from the input (config flags PEFT reads, key prefixes,
 * base names, and values that are NaN, zero, repeated or singular) go through module matching, the whole analysis
 * and the report writer. Each input must end in a report, or in a refusal of the input (CheckpointException,
 * IllConditionedException) naming a file or a module; any other exception, or a hang, is a finding.
 */
class CheckpointFuzzTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static Path dir;
    private static Backends.Choice cpu;
    private static int run;

    @BeforeAll
    static void setUp() throws IOException {
        dir = Files.createTempDirectory("convsim-fuzz-ckpt");
        cpu = Backends.select("cpu");
    }

    @AfterAll
    static void tearDown() throws IOException {
        cpu.backend().close();
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    @FuzzTest(maxDuration = "40s")
    void checkpointToReport(FuzzedDataProvider data) throws IOException {
        ReaderFuzzTest.withinFiveSeconds(() -> input(data));
    }

    private static double value(FuzzedDataProvider data) {
        return switch (data.consumeInt(0, 9)) {
            case 0 -> 0;
            case 1 -> Double.NaN;
            case 2 -> 1;
            default -> data.consumeRegularDouble(-2, 2);
        };
    }

    private static double[] values(FuzzedDataProvider data, int n, boolean zero) {
        double[] v = new double[n];
        for (int i = 0; i < n && !zero; i++) {
            v[i] = data.remainingBytes() > 0 ? value(data) : Math.sin(i + 1);
        }
        return v;
    }

    private static void input(FuzzedDataProvider data) throws IOException {
        Path work = Files.createDirectories(dir.resolve("run-" + run++));
        int n = data.consumeInt(2, 6);
        int r = data.consumeInt(1, n);
        int layers = data.consumeInt(1, 3);
        String basePrefix = data.pickValue(new String[] {"bert.", "", "roberta.", "model."});
        String adapterPrefix = data.pickValue(new String[] {"base_model.model.bert.", "base_model.model.",
            "base_model.model.roberta.", "base_model.model.model."});
        String module = data.pickValue(new String[] {"query", "c_attn", "q_proj"});
        SafetensorsWriter base = new SafetensorsWriter();
        SafetensorsWriter lora = new SafetensorsWriter();
        boolean zeroB = data.consumeBoolean();
        for (int l = 0; l < layers; l++) {
            String path = "encoder.layer." + l + ".attention.self." + module;
            base.add(basePrefix + path + ".weight", Dtype.F32, new long[] {n, n}, values(data, n * n, false));
            lora.add(adapterPrefix + path + ".lora_A.weight", Dtype.F32, new long[] {r, n}, values(data, r * n, false));
            lora.add(adapterPrefix + path + ".lora_B.weight", Dtype.F32, new long[] {n, r}, values(data, n * r, zeroB));
        }
        Path basePath = work.resolve("base.safetensors");
        base.write(basePath);
        Path adapter = Files.createDirectories(work.resolve("adapter"));
        lora.write(adapter.resolve("adapter_model.safetensors"));
        ObjectNode c = JSON.createObjectNode();
        c.put("peft_type", "LORA");
        c.put("r", r);
        c.put("lora_alpha", data.consumeInt(1, 64));
        c.putArray("target_modules").add(data.consumeBoolean() ? module : "value");
        c.put("fan_in_fan_out", data.consumeBoolean());
        c.put("use_dora", data.consumeInt(0, 7) == 0);
        if (data.consumeBoolean()) {
            c.putArray("layers_to_transform").add(data.consumeInt(-1, 3));
        }
        if (data.consumeBoolean()) {
            c.put("layers_pattern", data.pickValue(new String[] {"layer", "layers", "h"}));
        }
        c.put("base_model_name_or_path", data.pickValue(new String[] {"bert-base-uncased", "roberta-base",
            "TinyLlama/TinyLlama-1.1B", "/no/such/base"}));
        JSON.writeValue(adapter.resolve("adapter_config.json").toFile(), c);
        BaseMatch.BaseCheck check = data.consumeBoolean() ? BaseMatch.BaseCheck.STRICT
                : BaseMatch.BaseCheck.ALLOW_MISMATCH;
        Set<String> formats = data.consumeInt(0, 7) == 0 ? Set.of("png") : Set.of();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, basePath, check)) {
            AnalysisResult result = Analysis.run(ckpt, AnalysisOptions.defaults(), cpu, ProgressListener.NONE);
            try (AtomicOutput out = AtomicOutput.prepare(work.resolve("report"), false, "analyze",
                    List.of(adapter, basePath))) {
                Path written = out.commit(d -> new ReportWriter(formats).write(result, d));
                assertTrue(Files.isRegularFile(written.resolve("summary.json")));
            }
        } catch (CheckpointException refused) {
            String m = refused.getMessage();
            assertTrue(m.startsWith(work.toString()) || m.contains(" layer ") || m.contains("module"), m);
        } catch (IllConditionedException refused) {
            assertTrue(refused.getMessage().contains("module"), refused.getMessage());
        }
    }
}
