package io.github.convsim.model;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.linalg.Matrix;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LoraCheckpointTest {
    @TempDir
    Path dir;

    @Test
    void bundledBertPairResolvesTo24Modules() throws Exception {
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
            assertEquals(24, c.modules().size());
            assertEquals(List.of("query", "value"), c.moduleNames());
            for (LoraModule m : c.modules()) {
                assertEquals(4.0, m.scaling());
                assertEquals(8, m.rank());
                assertEquals(768, m.in());
                assertEquals(768, m.out());
                assertEquals("bert.encoder.layer." + m.layer() + ".attention.self." + m.module() + ".weight", m.baseKey());
            }
            assertEquals(List.of(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11),
                    c.layersOf("value").stream().map(LoraModule::layer).toList());
            assertEquals(2, c.skipped().size());
            assertTrue(c.skipped().get(0).reason().startsWith("modules_to_save"));
        }
    }

    @Test
    void factorsAndW0AreOrientedAsPytorchStoresThem() throws Exception {
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
             SafetensorsFile base = SafetensorsFile.open(TestData.bertBase());
             SafetensorsFile adapter = SafetensorsFile.open(TestData.bertAdapter().resolve("adapter_model.safetensors"))) {
            LoraModule q3 = c.layersOf("query").get(3);
            double[] w = base.readDoubles("bert.encoder.layer.3.attention.self.query.weight");
            Matrix w0 = c.baseWeight(q3);
            assertEquals(w[5 * 768 + 7], w0.get(5, 7), 0.0); // [out, in] row-major
            double[] b = adapter.readDoubles("base_model.model.bert.encoder.layer.3.attention.self.query.lora_B.weight");
            assertEquals(b[100 * 8 + 2], q3.b().get(100, 2), 0.0);
            double[] a = adapter.readDoubles("base_model.model.bert.encoder.layer.3.attention.self.query.lora_A.weight");
            assertEquals(a[6 * 768 + 500], q3.a().get(6, 500), 0.0);
        }
    }

    @Test
    void gpt2FusedAttentionSplitsIntoQueryKeyValue() throws Exception {
        Path base = TestData.gpt2RandomBase(dir, 11);
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.gpt2Adapter(), base);
             SafetensorsFile adapter = SafetensorsFile.open(TestData.gpt2Adapter().resolve("adapter_model.safetensors"));
             SafetensorsFile w = SafetensorsFile.open(base)) {
            assertEquals(36, c.modules().size());
            assertEquals(List.of("c_attn.k", "c_attn.q", "c_attn.v"), c.moduleNames());
            // keys without "transformer." or "gpt2" and no config.json: nothing to check the adapter's 'gpt2' against,
            // and the notes say so rather than nothing
            assertEquals(List.of("module paths matched with the prefix 'transformer.' replaced by ''",
                    "the base's model family is not known (no config.json beside it, and its keys name none), so it is"
                            + " not checked against the adapter's base_model_name_or_path 'gpt2'"), c.notes());
            for (LoraModule m : c.modules()) {
                assertEquals(2.0, m.scaling());
                assertTrue(m.baseTransposed());
            }
            LoraModule k5 = c.layersOf("c_attn.k").get(5);
            assertEquals(768, k5.outOffset());
            // B rows 768..1535 belong to k; A is shared
            double[] b = adapter.readDoubles("base_model.model.transformer.h.5.attn.c_attn.lora_B.weight");
            assertEquals(b[(768 + 10) * 8 + 3], k5.b().get(10, 3), 0.0);
            // W0 of k is rows 768..1535 of the [out, in] weight, i.e. columns of the stored [in, out] Conv1D weight
            Matrix w0 = c.baseWeight(k5);
            assertEquals(768, w0.rows());
            assertEquals(768, w0.cols());
            double[] stored = w.readDoubles("h.5.attn.c_attn.weight");
            assertEquals(stored[20 * 2304 + 768 + 10], w0.get(10, 20), 0.0);
        }
    }

    /** Read alone, an adapter gives the rows it gives against its base, but for what needs W0. */
    @Test
    void anAdapterReadAloneHasTheRowsItHasAgainstItsBase() throws Exception {
        Path base = TestData.gpt2RandomBase(dir, 11);
        AdapterAlone alone = AdapterAlone.read(TestData.gpt2Adapter());
        assertFalse(alone.condLora());
        // no base, so no prefix matched and no family checked
        assertEquals(List.of(), alone.notes());
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.gpt2Adapter(), base)) {
            List<ModuleSummary> paired = ModuleSummary.of(c);
            assertEquals(36, alone.rows().size());
            for (int k = 0; k < paired.size(); k++) {
                ModuleSummary p = paired.get(k);
                ModuleSummary a = alone.rows().get(k);
                // the fused c_attn split into q, k, v as against the base: each block's W0 768 x 768
                assertEquals(new ModuleSummary(p.module(), p.layer(), null, p.out(), p.in(), p.rank(), p.alpha(),
                        p.scaling(), p.normA(), p.normB(), Double.NaN, p.dora()), a);
            }
            assertEquals(768, alone.rows().get(0).out());
        }
        // a CondLoRA checkpoint's factors are made from W0: nothing per layer without it
        Path cond = dir.resolve("cond");
        Files.createDirectories(cond);
        Files.copy(TestData.bertAdapter().resolve("adapter_config.json"), cond.resolve("adapter_config.json"));
        new io.github.convsim.io.SafetensorsWriter()
                .add("base_model.model.query.linear_for_lora_A.weight", io.github.convsim.io.Dtype.F32,
                        new long[] {8, 768}, new double[8 * 768])
                .write(cond.resolve("adapter_model.safetensors"));
        AdapterAlone condLora = AdapterAlone.read(cond);
        assertTrue(condLora.condLora());
        assertEquals(List.of(), condLora.rows());
    }

    @Test
    void shardedBaseIsFollowedThroughItsIndex() throws Exception {
        Path shards = dir.resolve("sharded");
        Files.createDirectories(shards);
        try (SafetensorsFile base = SafetensorsFile.open(TestData.bertBase())) {
            SafetensorsWriter first = new SafetensorsWriter();
            SafetensorsWriter second = new SafetensorsWriter();
            StringBuilder map = new StringBuilder("{\"metadata\": {}, \"weight_map\": {");
            int k = 0;
            for (String name : base.names()) {
                long[] shape = base.info(name).shape();
                boolean early = name.contains("layer.0.") || name.contains("layer.1.") || name.contains("layer.2.");
                (early ? first : second).add(name, Dtype.F32, shape, base.readDoubles(name));
                map.append(k++ == 0 ? "" : ", ").append('"').append(name).append("\": \"")
                        .append(early ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors")
                        .append('"');
            }
            first.write(shards.resolve("model-00001-of-00002.safetensors"));
            second.write(shards.resolve("model-00002-of-00002.safetensors"));
            Files.writeString(shards.resolve("model.safetensors.index.json"), map.append("}}").toString());
        }
        try (LoraCheckpoint sharded = LoraCheckpoint.open(TestData.bertAdapter(), shards);
             LoraCheckpoint single = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase())) {
            assertEquals(24, sharded.modules().size());
            assertEquals(3, sharded.inputFiles().size() - 2);
            for (int m = 0; m < 24; m += 5) {
                assertArrayEquals(single.baseWeight(single.modules().get(m)).data(),
                        sharded.baseWeight(sharded.modules().get(m)).data(), 0.0);
            }
        }
        Files.writeString(shards.resolve("model.safetensors.index.json"),
                "{\"weight_map\": {\"a.weight\": \"../escape.safetensors\"}}");
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> LoraCheckpoint.open(TestData.bertAdapter(), shards));
        assertTrue(e.getMessage().contains("not a file beside the index"), e.getMessage());
    }

    @Test
    void torchBinAdapterAgainstAMatchingBase() throws Exception {
        Path adapterDir = dir.resolve("binadapter");
        Files.createDirectories(adapterDir);
        Files.copy(TestData.resource("torch/adapter_model.bin"), adapterDir.resolve("adapter_model.bin"));
        Files.writeString(adapterDir.resolve("adapter_config.json"),
                "{\"peft_type\": \"LORA\", \"r\": 2, \"lora_alpha\": 4, \"target_modules\": [\"query\"]}");
        Path base = dir.resolve("base.safetensors");
        new SafetensorsWriter().add("roberta.encoder.layer.0.attention.self.query.weight", Dtype.F32, new long[] {4, 4},
                TestData.gaussian(new Random(1), 16)).write(base);
        try (LoraCheckpoint c = LoraCheckpoint.open(adapterDir, base)) {
            LoraModule m = c.modules().get(0);
            assertEquals("query", m.module());
            assertEquals(0, m.layer());
            assertEquals(2.0, m.scaling());
            assertEquals(0.1 * 5, m.a().get(1, 1), 1e-7); // A = 0.1 * [0..7] as [2, 4]
            assertEquals(0.01 * 7, m.b().get(3, 1), 1e-8);
        }
    }

    @Test
    void aBaseOfTheWrongShapeIsRefusedWithBothShapes() throws Exception {
        Path base = dir.resolve("wrong.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < 12; l++) {
            for (String m : new String[] {"query", "value"}) {
                w.add("bert.encoder.layer." + l + ".attention.self." + m + ".weight", Dtype.F32, new long[] {64, 768},
                        new double[64 * 768]);
            }
        }
        w.write(base);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> LoraCheckpoint.open(TestData.bertAdapter(), base));
        assertTrue(e.getMessage().contains("scaling * B A is [768, 768] but W0"), e.getMessage());
        assertTrue(e.getMessage().contains("[64, 768]"), e.getMessage());
    }

    @Test
    void nonFiniteBaseWeightsAreRefusedByName() throws Exception {
        Path base = dir.resolve("nan.safetensors");
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile real = SafetensorsFile.open(TestData.bertBase())) {
            for (String name : real.names()) {
                double[] v = real.readDoubles(name);
                if (name.equals("bert.encoder.layer.4.attention.self.value.weight")) {
                    v[10] = Double.NaN;
                }
                w.add(name, Dtype.F32, real.info(name).shape(), v);
            }
        }
        w.write(base);
        try (LoraCheckpoint c = LoraCheckpoint.open(TestData.bertAdapter(), base)) {
            LoraModule v4 = c.layersOf("value").get(4);
            CheckpointException e = assertThrows(CheckpointException.class, () -> c.baseWeight(v4));
            assertTrue(e.getMessage().contains("'bert.encoder.layer.4.attention.self.value.weight' holds a non-finite"),
                    e.getMessage());
        }
    }

    @Test
    void layerIndexIsTheFirstNumberOfThePath() {
        assertEquals(7, AdapterKeys.layerOf("model.layers.7.self_attn.q_proj"));
        assertEquals(2, AdapterKeys.layerOf("encoder.block.2.layer.0.SelfAttention.q"));
        assertNull(AdapterKeys.layerOf("lm_head"));
    }
}
