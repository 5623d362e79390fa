package io.github.convsim;

import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;

/** Paths of the bundled data and helpers that make small checkpoints. */
public final class TestData {
    private TestData() {}

    /** The repository's data/ directory (tests run in a module directory). */
    public static Path data() {
        Path p = Path.of("..", "data").toAbsolutePath().normalize();
        if (!Files.isDirectory(p)) {
            throw new IllegalStateException("bundled data not found at " + p);
        }
        return p;
    }

    public static Path bertAdapter() {
        return data().resolve("adapters/bert-base-uncased-imdb-lora-r8");
    }

    public static Path bertBase() {
        return data().resolve("bert-base-uncased.query-value.safetensors");
    }

    public static Path gpt2Adapter() {
        return data().resolve("adapters/gpt2-reviews-lora-r8");
    }

    public static Path resource(String name) {
        return Path.of("src", "test", "resources").resolve(name).toAbsolutePath();
    }

    public static double[] gaussian(Random rng, int n) {
        double[] d = new double[n];
        for (int i = 0; i < n; i++) {
            d[i] = rng.nextGaussian();
        }
        return d;
    }

    /** A random GPT-2-shaped base: h.N.attn.c_attn.weight stored [in=768, out=2304] as GPT-2's Conv1D keeps it. */
    public static Path gpt2RandomBase(Path dir, long seed) throws IOException {
        Random rng = new Random(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        for (int l = 0; l < 12; l++) {
            w.add("h." + l + ".attn.c_attn.weight", Dtype.F32, new long[] {768, 2304}, gaussian(rng, 768 * 2304));
            w.add("h." + l + ".attn.c_attn.bias", Dtype.F32, new long[] {2304}, gaussian(rng, 2304));
        }
        Path file = dir.resolve("gpt2-random.safetensors");
        w.write(file);
        return file;
    }
}
