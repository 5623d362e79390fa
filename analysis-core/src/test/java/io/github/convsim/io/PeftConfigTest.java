package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PeftConfigTest {
    @TempDir
    Path dir;

    private PeftConfig config(String json) throws Exception {
        Path p = dir.resolve("adapter_config.json");
        Files.writeString(p, json);
        return PeftConfig.read(p);
    }

    @Test
    void bundledBertConfig() throws Exception {
        PeftConfig c = PeftConfig.read(TestData.bertAdapter().resolve("adapter_config.json"));
        assertEquals(8, c.r());
        assertEquals(32.0, c.loraAlpha());
        assertEquals(4.0, c.scalingFor("bert.encoder.layer.0.attention.self.query", 8));
        assertTrue(c.targets("bert.encoder.layer.3.attention.self.value"));
        assertFalse(c.targets("bert.encoder.layer.3.attention.self.key"));
        assertEquals(java.util.List.of("classifier", "score"), c.modulesToSave());
        assertFalse(c.fanInFanOut());
    }

    @Test
    void missingFieldsTakePeftDefaults() throws Exception {
        PeftConfig c = config("{\"peft_type\": \"LORA\"}");
        assertEquals(8, c.r());
        assertEquals(8.0, c.loraAlpha());
        assertEquals(1.0, c.scalingFor("x", 8));
        assertFalse(c.useRslora());
        assertFalse(c.useDora());
    }

    @Test
    void rsloraScalesByTheSquareRootOfTheRank() throws Exception {
        PeftConfig c = config("{\"r\": 16, \"lora_alpha\": 8, \"use_rslora\": true}");
        assertEquals(2.0, c.scalingFor("q", 16), 1e-15);
    }

    @Test
    void rankAndAlphaPatternsUsePeftKeyMatching() throws Exception {
        PeftConfig c = config("{\"r\": 8, \"lora_alpha\": 16, \"rank_pattern\": {\"layers.0.self_attn.q_proj\": 4,"
                + " \"v_proj\": 2}, \"alpha_pattern\": {\"^model.layers.1.*\": 3}}");
        assertEquals(4, c.rankFor("model.layers.0.self_attn.q_proj"));
        assertEquals(8, c.rankFor("model.layers.10.self_attn.q_proj"));
        assertEquals(2, c.rankFor("model.layers.5.self_attn.v_proj"));
        assertEquals(8, c.rankFor("model.layers.5.self_attn.xv_proj"));
        assertEquals(3.0, c.alphaFor("model.layers.1.mlp.up_proj"));
        assertEquals(16.0, c.alphaFor("model.layers.2.mlp.up_proj"));
    }

    @Test
    void targetModulesAsRegexMatchesTheWholePath() throws Exception {
        PeftConfig c = config("{\"target_modules\": \".*\\\\.(q|v)_proj\"}");
        assertTrue(c.targets("model.layers.0.self_attn.q_proj"));
        assertFalse(c.targets("model.layers.0.self_attn.k_proj"));
        assertTrue(config("{\"target_modules\": \"all-linear\"}").targets("anything.at.all"));
    }

    @Test
    void refusesInitialisationsThatRewriteTheBase() {
        for (String init : new String[] {"pissa", "pissa_niter_16", "olora", "loftq", "corda"}) {
            CheckpointException e = assertThrows(CheckpointException.class,
                    () -> config("{\"init_lora_weights\": \"" + init + "\"}"));
            assertTrue(e.getMessage().contains("rewrites the base"), e.getMessage());
        }
    }

    @Test
    void refusesOtherPeftTypesAndBadValues() {
        assertThrows(CheckpointException.class, () -> config("{\"peft_type\": \"IA3\"}"));
        assertThrows(CheckpointException.class, () -> config("{\"r\": 0}"));
        assertThrows(CheckpointException.class, () -> config("{\"r\": \"eight\"}"));
        assertThrows(CheckpointException.class, () -> config("[1]"));
        assertThrows(CheckpointException.class, () -> config("{\"rank_pattern\": {\"(\": 4}}"));
        CheckpointException e = assertThrows(CheckpointException.class, () -> config("{not json"));
        assertFalse(e.getMessage().contains("\n"));
    }

    @Test
    void aBacktrackingPatternIsStoppedNotLeftToHang() throws Exception {
        PeftConfig c = config("{\"rank_pattern\": {\"((a+)+)+b\": 4}}"); // 2 s on 26 characters unguarded
        long t = System.nanoTime();
        PatternTimeoutException e = assertThrows(PatternTimeoutException.class,
                () -> c.rankFor("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"));
        assertTrue((System.nanoTime() - t) / 1e9 < 2, "gave up in time");
        assertTrue(e.getMessage().contains("((a+)+)+b"), e.getMessage());
    }
}
