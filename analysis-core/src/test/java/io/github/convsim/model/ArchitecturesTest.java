package io.github.convsim.model;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Key layouts of other model families, on small made-up checkpoints with their real key names and shapes' ratios. */
class ArchitecturesTest {
    @TempDir
    Path dir;

    private Path adapter(String config, SafetensorsWriter weights) throws Exception {
        Path a = Files.createDirectories(dir.resolve("adapter"));
        Files.writeString(a.resolve("adapter_config.json"), config);
        weights.write(a.resolve("adapter_model.safetensors"));
        return a;
    }

    private static double[] zeros(long n) {
        return new double[(int) n];
    }

    @Test
    void llamaWithGroupedQueryAttentionHasNonSquareKeyValue() throws Exception {
        int hidden = 16;
        int kv = 4;
        int r = 2;
        SafetensorsWriter base = new SafetensorsWriter();
        SafetensorsWriter lora = new SafetensorsWriter();
        for (int l = 0; l < 2; l++) {
            for (String m : List.of("q_proj", "k_proj", "v_proj", "o_proj")) {
                int out = m.equals("k_proj") || m.equals("v_proj") ? kv : hidden;
                base.add("model.layers." + l + ".self_attn." + m + ".weight", Dtype.BF16, new long[] {out, hidden},
                        zeros((long) out * hidden));
                String p = "base_model.model.model.layers." + l + ".self_attn." + m;
                lora.add(p + ".lora_A.weight", Dtype.F32, new long[] {r, hidden}, zeros(r * hidden));
                lora.add(p + ".lora_B.weight", Dtype.F32, new long[] {out, r}, zeros((long) out * r));
            }
        }
        Path b = dir.resolve("llama.safetensors");
        base.write(b);
        Path a = adapter("{\"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"q_proj\", \"k_proj\", \"v_proj\","
                + " \"o_proj\"]}", lora);
        try (LoraCheckpoint c = LoraCheckpoint.open(a, b)) {
            assertEquals(List.of("k_proj", "o_proj", "q_proj", "v_proj"), c.moduleNames());
            LoraModule k1 = c.layersOf("k_proj").get(1);
            assertEquals(kv, k1.out());
            assertEquals(hidden, k1.in());
            assertEquals("model.layers.1.self_attn.k_proj.weight", k1.baseKey());
            assertEquals(kv, c.baseWeight(k1).rows());
        }
    }

    @Test
    void t5EncoderAndDecoderModulesGetDistinctNames() throws Exception {
        SafetensorsWriter base = new SafetensorsWriter();
        SafetensorsWriter lora = new SafetensorsWriter();
        String[] paths = {"encoder.block.%d.layer.0.SelfAttention.q", "decoder.block.%d.layer.0.SelfAttention.q",
            "decoder.block.%d.layer.1.EncDecAttention.q"};
        for (int l = 0; l < 2; l++) {
            for (String p : paths) {
                String path = String.format(p, l);
                base.add(path + ".weight", Dtype.F32, new long[] {8, 8}, zeros(64));
                lora.add("base_model.model." + path + ".lora_A.weight", Dtype.F32, new long[] {2, 8}, zeros(16));
                lora.add("base_model.model." + path + ".lora_B.weight", Dtype.F32, new long[] {8, 2}, zeros(16));
            }
        }
        Path b = dir.resolve("t5.safetensors");
        base.write(b);
        Path a = adapter("{\"r\": 2, \"lora_alpha\": 2, \"target_modules\": [\"q\"]}", lora);
        try (LoraCheckpoint c = LoraCheckpoint.open(a, b)) {
            assertEquals(List.of("EncDecAttention.q", "decoder.block.layer.0.SelfAttention.q",
                    "encoder.block.layer.0.SelfAttention.q"), c.moduleNames());
            assertEquals(2, c.layersOf("EncDecAttention.q").size());
        }
    }

    @Test
    void distilbertAndRobertaPrefixesAreMatched() throws Exception {
        SafetensorsWriter base = new SafetensorsWriter();
        SafetensorsWriter lora = new SafetensorsWriter();
        base.add("distilbert.transformer.layer.0.attention.q_lin.weight", Dtype.F32, new long[] {4, 4}, zeros(16));
        lora.add("base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_A.default.weight", Dtype.F32,
                new long[] {1, 4}, zeros(4));
        lora.add("base_model.model.distilbert.transformer.layer.0.attention.q_lin.lora_B.default.weight", Dtype.F32,
                new long[] {4, 1}, zeros(4));
        Path b = dir.resolve("distil.safetensors");
        base.write(b);
        Path a = adapter("{\"r\": 1, \"lora_alpha\": 1, \"target_modules\": [\"q_lin\"]}", lora);
        try (LoraCheckpoint c = LoraCheckpoint.open(a, b)) {
            assertEquals(List.of("q_lin"), c.moduleNames());
        }
        // a base saved without the model-type prefix (as AutoModel writes it) is matched by suffix
        SafetensorsWriter bare = new SafetensorsWriter();
        bare.add("transformer.layer.0.attention.q_lin.weight", Dtype.F32, new long[] {4, 4}, zeros(16));
        Path b2 = dir.resolve("bare.safetensors");
        bare.write(b2);
        try (LoraCheckpoint c = LoraCheckpoint.open(a, b2)) {
            assertEquals("transformer.layer.0.attention.q_lin.weight", c.modules().get(0).baseKey());
        }
        // a rank that disagrees with the config is refused, naming both
        Files.writeString(a.resolve("adapter_config.json"), "{\"r\": 4, \"target_modules\": [\"q_lin\"]}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> LoraCheckpoint.open(a, b));
        assertTrue(e.getMessage().contains("r=4 but lora_A has 1 rows"), e.getMessage());
    }
}
