package io.github.convsim;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

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

    /**
     * The demo adapter with the modules whose path matches {@code paths} cut to rank {@code r} (the first r rows of
     * lora_A, columns of lora_B): declared by rank_pattern, or by the config's r where {@code asR}.
     */
    public static Path cutCopy(Path out, String paths, int r, boolean asR) throws Exception {
        Files.createDirectories(out);
        ObjectMapper json = new ObjectMapper();
        ObjectNode config = (ObjectNode) json.readTree(bertAdapter().resolve("adapter_config.json").toFile());
        ObjectNode pattern = config.putObject("rank_pattern");
        if (asR) {
            config.put("r", r);
        }
        Pattern factor = Pattern.compile("(?:base_model\\.model\\.)?(?<path>" + paths
                + ")\\.lora_(?<factor>[AB])\\.weight");
        var w = new SafetensorsWriter();
        try (var f = SafetensorsFile.open(bertAdapter().resolve("adapter_model.safetensors"))) {
            for (String t : f.names()) {
                double[] v = f.readDoubles(t);
                long[] shape = f.info(t).shape();
                Matcher m = factor.matcher(t);
                if (m.matches()) {
                    if (!asR) {
                        pattern.put(m.group("path").replaceFirst("^.*?(layer\\.)", "$1"), r);
                    }
                    int rows = (int) shape[0];
                    int cols = (int) shape[1];
                    boolean isA = m.group("factor").equals("A");
                    int keepRows = isA ? r : rows;
                    int keepCols = isA ? cols : r;
                    double[] cut = new double[keepRows * keepCols];
                    for (int q = 0; q < keepRows; q++) {
                        System.arraycopy(v, q * cols, cut, q * keepCols, keepCols);
                    }
                    v = cut;
                    shape = new long[] {keepRows, keepCols};
                }
                w.add(t, Dtype.F32, shape, v);
            }
        }
        w.write(out.resolve("adapter_model.safetensors"));
        json.writeValue(out.resolve("adapter_config.json").toFile(), config);
        return out;
    }
}
