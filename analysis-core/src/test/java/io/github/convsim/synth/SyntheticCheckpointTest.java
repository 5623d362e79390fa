package io.github.convsim.synth;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.results.Provenance;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SyntheticCheckpointTest {
    static final ObjectMapper JSON = new ObjectMapper();

    private static long parameters(ModelShape s) {
        return s.tensors().stream().mapToLong(ModelShape.Tensor::elements).sum();
    }

    @Test
    void presetsHaveThePublishedParameterCounts() {
        // Meta's model cards: LLaMA-2-7B 6,738,415,616 parameters; LLaMA-3-8B 8,030,261,248
        assertEquals(6_738_415_616L, parameters(ModelShape.LLAMA2_7B));
        assertEquals(8_030_261_248L, parameters(ModelShape.LLAMA3_8B));
        assertArrayEquals(new long[] {1024, 4096}, ModelShape.LLAMA3_8B.linear("k_proj"));
        assertArrayEquals(new long[] {4096, 11008}, ModelShape.LLAMA2_7B.linear("down_proj"));
        assertEquals(32 * 9 + 3, ModelShape.LLAMA2_7B.tensors().size());
    }

    @Test
    void irwinHallValuesHaveTheRequestedMoments() {
        var values = SyntheticCheckpoint.normalish(new SplittableRandom(7), 0.02);
        int n = 1 << 20;
        float[] x = new float[n];
        values.fill(x, n);
        double sum = 0;
        double sq = 0;
        double fourth = 0;
        for (float v : x) {
            sum += v;
            sq += (double) v * v;
        }
        double mean = sum / n;
        double var = sq / n - mean * mean;
        for (float v : x) {
            fourth += Math.pow((v - mean) / Math.sqrt(var), 4);
        }
        assertEquals(0, mean, 0.02 * 5 / Math.sqrt(n));
        assertEquals(0.02, Math.sqrt(var), 0.02 * 0.005);
        // Irwin-Hall of 4 has kurtosis 3 - 6/20 = 2.7 (a normal has 3)
        assertEquals(2.7, fourth / n, 0.02);
    }

    @Test
    void shardsSplitAtTheLimitAndTheIndexNamesEveryTensor(@TempDir Path dir) throws Exception {
        ModelShape shape = ModelShape.TINY;
        long limit = 40_000;
        var written = SyntheticCheckpoint.write(shape, options(3, limit), dir, ProgressListener.NONE);
        JsonNode index = JSON.readTree(dir.resolve("base/model.safetensors.index.json").toFile());
        Set<String> seen = new HashSet<>();
        long total = 0;
        try (Stream<Path> files = Files.list(dir.resolve("base"))) {
            List<Path> shards = files.filter(f -> f.toString().endsWith(".safetensors")).sorted().toList();
            assertEquals(written.shards(), shards.size());
            assertTrue(shards.size() > 3);
            for (Path f : shards) {
                try (SafetensorsFile st = SafetensorsFile.open(f)) {
                    long bytes = 0;
                    for (String name : st.names()) {
                        assertTrue(seen.add(name), name);
                        assertEquals(f.getFileName().toString(), index.get("weight_map").get(name).asText());
                        assertEquals("BF16", st.info(name).dtype().name());
                        bytes += st.info(name).numel() * 2;
                    }
                    // a shard exceeds the limit only when one tensor alone does (the 256 x 64 embeddings: 32 KiB fit)
                    assertTrue(bytes <= limit, f + " holds " + bytes);
                    total += bytes;
                }
            }
        }
        assertEquals(shape.tensors().size(), seen.size());
        assertEquals(total, index.get("metadata").get("total_size").asLong());
        JsonNode config = JSON.readTree(dir.resolve("base/config.json").toFile());
        assertEquals(2, config.get("num_key_value_heads").asInt());
    }

    @Test
    void sameSeedSameBytesOtherSeedOtherBytes(@TempDir Path dir) throws Exception {
        SyntheticCheckpoint.write(ModelShape.TINY, options(11, 1 << 30), dir.resolve("a"), ProgressListener.NONE);
        SyntheticCheckpoint.write(ModelShape.TINY, options(11, 50_000), dir.resolve("b"), ProgressListener.NONE);
        SyntheticCheckpoint.write(ModelShape.TINY, options(12, 1 << 30), dir.resolve("c"), ProgressListener.NONE);
        String adapterA = Provenance.sha256(dir.resolve("a/adapter/adapter_model.safetensors"));
        // the configs too, byte for byte from run to run: their fields in one order
        var json = new com.fasterxml.jackson.databind.ObjectMapper();
        for (String config : new String[] {"a/adapter/adapter_config.json", "a/base/config.json"}) {
            List<String> fields = new java.util.ArrayList<>();
            json.readTree(dir.resolve(config).toFile()).get("convsim_synthetic").fieldNames()
                    .forEachRemaining(fields::add);
            assertEquals(List.of("seed", "shape"), fields.subList(0, 2), config);
        }
        assertEquals(adapterA, Provenance.sha256(dir.resolve("b/adapter/adapter_model.safetensors")));
        assertNotEquals(adapterA, Provenance.sha256(dir.resolve("c/adapter/adapter_model.safetensors")));
        // a tensor's values do not depend on the sharding
        try (LoraCheckpoint a = LoraCheckpoint.open(dir.resolve("a/adapter"), dir.resolve("a/base"));
             LoraCheckpoint b = LoraCheckpoint.open(dir.resolve("b/adapter"), dir.resolve("b/base"));
             LoraCheckpoint c = LoraCheckpoint.open(dir.resolve("c/adapter"), dir.resolve("c/base"))) {
            LoraModule q = a.layersOf("q_proj").get(3);
            assertArrayEquals(a.baseWeight(q).data(), b.baseWeight(b.layersOf("q_proj").get(3)).data());
            assertFalse(java.util.Arrays.equals(a.baseWeight(q).data(), c.baseWeight(c.layersOf("q_proj").get(3))
                    .data()));
        }
    }

    @Test
    void theAdapterPairsWithTheBaseAsPeftWould(@TempDir Path dir) throws Exception {
        SyntheticCheckpoint.write(ModelShape.TINY, options(5, 1 << 30), dir, ProgressListener.NONE);
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(dir.resolve("adapter"), dir.resolve("base"))) {
            assertEquals(List.of("k_proj", "o_proj", "q_proj", "v_proj"), ckpt.moduleNames());
            LoraModule k = ckpt.layersOf("k_proj").get(2);
            assertEquals(2, k.layer());
            assertEquals(16, k.out()); // GQA: 2 key/value heads of 8
            assertEquals(64, k.in());
            assertEquals(4, k.rank());
            assertEquals(2.0, k.scaling(), 0); // alpha 8 / r 4
            Matrix w = ckpt.baseWeight(k);
            double sq = 0;
            for (double v : w.data()) {
                sq += v * v;
            }
            assertEquals(0.02, Math.sqrt(sq / w.data().length), 0.004);
            double bound = 1 / Math.sqrt(64);
            for (double v : k.a().data()) {
                assertTrue(Math.abs(v) <= bound, "A within PEFT's Kaiming-uniform bound");
            }
        }
    }

    private static SyntheticCheckpoint.Options options(long seed, long shardBytes) {
        return new SyntheticCheckpoint.Options(seed, 4, 8, SyntheticCheckpoint.Options.ATTENTION, shardBytes, 2);
    }
}
