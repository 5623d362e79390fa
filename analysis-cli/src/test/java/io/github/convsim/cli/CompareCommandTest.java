package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/** compare on adapters derived from the demo: copies, reparametrisations, and a run of checkpoints. */
class CompareCommandTest {
    @TempDir
    Path dir;

    static Path demo() {
        return CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
    }

    /** A copy of the demo adapter whose lora_B (and lora_A if {@code alsoA}) are replaced by a mix with noise. */
    Path derived(String name, double noise, boolean alsoA, long seed) throws Exception {
        return derivedIn(dir, name, noise, alsoA, seed);
    }

    /** As {@link #derived}, in {@code parent}. */
    static Path derivedIn(Path parent, String name, double noise, boolean alsoA, long seed) throws Exception {
        Path out = Files.createDirectories(parent.resolve(name));
        Files.copy(demo().resolve("adapter_config.json"), out.resolve("adapter_config.json"));
        Random rng = new Random(seed);
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(demo().resolve("adapter_model.safetensors"))) {
            for (String t : f.names()) {
                double[] v = f.readDoubles(t);
                boolean mix = t.contains("lora_B") || (alsoA && t.contains("lora_A"));
                if (mix) {
                    double scale = Math.sqrt(java.util.Arrays.stream(v).map(x -> x * x).average().orElse(1));
                    for (int k = 0; k < v.length; k++) {
                        v[k] = (1 - noise) * v[k] + noise * scale * rng.nextGaussian();
                    }
                }
                w.add(t, Dtype.F32, f.info(t).shape(), v);
            }
        }
        w.write(out.resolve("adapter_model.safetensors"));
        return out;
    }

    /**
     * --draws 0 skips the W0 null: no verdict, the provenance records no draws (it recorded 2, the placeholder the
     * options carry), and --seed and --correction, which would do nothing, are refused.
     */
    @Test
    void noDrawsRecordsNoneAndRefusesWhatOnlyDrawsUse() throws Exception {
        Path other = derived("other", 0.5, false, 3);
        Path out = dir.resolve("no-draws");
        CliRunner.Result r = CliRunner.run("compare", demo().toString(), other.toString(), "--modules", "query",
                "--draws", "0", "--out", out.toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("No verdict: the W0 null was not computed (--draws 0)."), r.out());
        assertTrue(r.out().startsWith("base: ") && r.out().lines().findFirst().orElseThrow().endsWith(
                "bert-base-uncased.query-value.safetensors (the bundled demo base, for the bundled demo adapter)"),
                "the base chosen from the first adapter, and why: " + r.out());
        var opts = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("summary.json").toFile())
                .get("provenance").get("options");
        assertEquals(0, opts.get("draws").asInt(), opts.toString());
        assertEquals(0, opts.get("w0_null_draws").asInt(), opts.toString());
        assertFalse(opts.has("seed"), "nothing drawn, no seed recorded: " + opts);
        for (String option : List.of("--seed", "--correction")) {
            CliRunner.Result refused = CliRunner.run("compare", demo().toString(), other.toString(), "--draws", "0",
                    option, option.equals("--seed") ? "5" : "bh", "--out", dir.resolve("refused").toString());
            assertEquals(2, refused.exit(), refused.err());
            assertTrue(refused.err().startsWith("convsim: " + option + " is for the W0 null's draws and the tests"
                    + " against them, and --draws 0 skips both: leave " + option + " out, or --draws at 4 or more"),
                    refused.err());
            assertFalse(Files.exists(dir.resolve("refused")));
        }
    }

    /**
     * Three copies of one adapter share everything, yet 4 draws (2 pairs) leave the fitted null's p too large for a
     * verdict over the family of 8 tests: the 'no' that rules out nothing says so, and the default 16 draws give the 'yes' it suggested.
     */
    @Test
    void tooFewDrawsSayWhatToDo() {
        Path out = dir.resolve("few");
        String d = demo().toString();
        CliRunner.Result few = CliRunner.run("compare", d, d, d, "--out", out.toString(), "--modules", "query",
                "--draws", "4");
        assertEquals(0, few.exit(), few.err());
        assertTrue(few.out().contains("query C_A (left): mean phi between adapters 1.0000;")
                && few.out().contains("so this 'no' rules out nothing (the W0 null has only 2 pairs of draws, too few"
                + " for a small p: more --draws, 16 by default, sharpen the test)."), few.out());
        CliRunner.Result usual = CliRunner.run("compare", d, d, d, "--out", dir.resolve("usual").toString(),
                "--modules", "query");
        assertEquals(0, usual.exit(), usual.err());
        assertTrue(usual.out().contains("The adapters share more than unrelated adapters do through W0"), usual.out());
        assertFalse(usual.out().contains("too few for a small p"), usual.out());
    }

    @Test
    void theSameAdapterTwiceGivesOneAndNoiseLowersIt() throws Exception {
        Path out = dir.resolve("out");
        Path noisy = derived("noisy", 1.0, true, 1);
        CliRunner.Result r = CliRunner.run("compare", demo().toString(), demo().toString(), noisy.toString(), "--out",
                out.toString(), "--modules", "value");
        assertEquals(0, r.exit(), r.err());
        List<String> links = HtmlLinks.assertSelfContained(out);
        assertTrue(links.contains("figures/compare.value.A.left.png") && links.contains("compare.csv"), links.toString());
        Table t = Table.read().csv(out.resolve("compare.csv").toFile());
        assertEquals(List.of("module", "factor", "side", "layer", "adapter_a", "adapter_b", "step_a", "step_b", "phi",
                "analytic", "w0_null_mean", "w0_null_lo", "w0_null_hi", "pair_p_value", "pair_p_adjusted",
                "pair_exceeds_w0_null"), t.columnNames());
        // A, B, dW and the raw-factor controls A^T, B x 12 layers x 3 x 3 adapters
        assertEquals(5 * 12 * 9, t.rowCount());
        assertEquals(java.util.Set.of("A", "B", "dW", "raw-A", "raw-B"),
                new java.util.HashSet<>(t.stringColumn("factor").asList()));
        String first = t.stringColumn("adapter_a").get(0);
        String second = t.stringColumn("adapter_a").get(3);
        assertNotEquals(first, second, "same directory name twice is made unique");
        double noiseSum = 0;
        int noiseRows = 0;
        for (int row = 0; row < t.rowCount(); row++) {
            if (t.stringColumn("factor").get(row).startsWith("raw-")) {
                continue; // the raw-factor controls: checked below through their status
            }
            String a = t.stringColumn("adapter_a").get(row);
            String b = t.stringColumn("adapter_b").get(row);
            double phi = t.doubleColumn("phi").get(row);
            if (!a.equals("noisy") && !b.equals("noisy")) {
                assertEquals(1.0, phi, 1e-10, "identical adapters at row " + row);
            } else if (!a.equals(b)) {
                // unrelated factors can still share directions that W0^-1 amplifies (the W0 null), never all of them
                assertTrue(phi < 0.99, "pure noise against the demo: " + phi);
                noiseSum += phi;
                noiseRows++;
            }
        }
        // and what they share is what the W0 null predicts for unrelated adapters
        double w0Null = t.doubleColumn("w0_null_mean").mean();
        assertEquals(w0Null, noiseSum / noiseRows, 0.1, "pure noise against the demo vs the W0 null");
        assertTrue(w0Null > 0.2 && w0Null < 0.9, "W0 null " + w0Null);
        // verdicts per pair: the identical pair exceeds the W0 null for pairs after Holm, noise against the demo not
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("summary.json").toFile());
        assertEquals("holm", summary.get("statistics").get("correction").asText());
        com.fasterxml.jackson.databind.JsonNode mapB = null;
        for (com.fasterxml.jackson.databind.JsonNode m : summary.get("maps")) {
            if (!m.get("kind").asText().equals("conversion")) {
                assertEquals("control", m.get("status").asText());
                // only lora_A starts from a random draw that checkpoints of one run share; B starts at zero
                assertEquals(m.get("factor").asText().equals("raw-A"),
                        m.get("status_reason").asText().contains("share lora_A's initialisation"), m.toString());
                continue;
            }
            if (m.get("factor").asText().equals("B")) {
                mapB = m;
            }
            if (m.get("factor").asText().equals("dW")) {
                // counted once, with C_B's tests and verdict (as analyze's duplicates)
                assertEquals("duplicate", m.get("status").asText(), m.toString());
                assertEquals(mapB.get("exceeds_w0_null").asText(), m.get("exceeds_w0_null").asText());
                assertEquals(mapB.get("p_adjusted").asDouble(), m.get("p_adjusted").asDouble());
                assertEquals(mapB.get("pairs").size(), m.get("pairs").size());
                assertTrue(m.get("interpretation").asText().endsWith("counted once; its verdict is C_B's: "
                        + mapB.get("exceeds_w0_null").asText() + "."), m.get("interpretation").asText());
                continue;
            }
            assertEquals(3, m.get("pairs").size());
            assertEquals(List.of("mean", "lo", "hi", "draws"), CliRunner.fieldNames(m.get("w0_null_for_pairs")));
            for (com.fasterxml.jackson.databind.JsonNode pair : m.get("pairs")) {
                boolean identical = !pair.get("adapter_a").asText().equals("noisy")
                        && !pair.get("adapter_b").asText().equals("noisy");
                assertEquals(identical ? "yes" : "no", pair.get("exceeds_w0_null").asText(), pair.toString());
                assertTrue(pair.get("p_adjusted").asDouble() >= pair.get("p_value").asDouble());
            }
        }
        assertTrue(Files.isRegularFile(out.resolve("figures/compare.value.A.left.png")));
        assertFalse(Files.exists(out.resolve("trajectory.csv")));
    }

    /**
     * Two adapters make one pair per map, whose test is the map's: the family counts it once (A and B of one module:
     * 2 tests, not 4), and the pair's p and adjusted p are the map's.
     */
    /** The demo adapter with its adapter_config.json edited (the weights as they are). */
    private Path configured(String name,
                            java.util.function.Consumer<com.fasterxml.jackson.databind.node.ObjectNode> edit)
            throws Exception {
        Path out = Files.createDirectories(dir.resolve(name));
        com.fasterxml.jackson.databind.ObjectMapper json = new com.fasterxml.jackson.databind.ObjectMapper();
        var config = (com.fasterxml.jackson.databind.node.ObjectNode) json.readTree(
                demo().resolve("adapter_config.json").toFile());
        edit.accept(config);
        json.writeValue(out.resolve("adapter_config.json").toFile(), config);
        Files.copy(demo().resolve("adapter_model.safetensors"), out.resolve("adapter_model.safetensors"));
        return out;
    }

    /** What only some adapters adapt is left out, and the console, report.md and summary.json say what and why. */
    @Test
    void modulesAndLayersNotEveryAdapterAdaptsAreNamed() throws Exception {
        Path half = configured("half", c -> c.putArray("layers_to_transform").add(0).add(1).add(2));
        Path queryOnly = configured("query-only", c -> c.putArray("target_modules").add("query"));
        Path out = dir.resolve("partial");
        CliRunner.Result r = CliRunner.run("compare", demo().toString(), half.toString(), queryOnly.toString(),
                "--out", out.toString(), "--draws", "4");
        assertEquals(0, r.exit(), r.err());
        String layers = "query: layers 3, 4, 5, 6, 7, 8, 9, 10, 11 are left out (half does not adapt layers 3, 4, 5,"
                + " 6, 7, 8, 9, 10, 11); its maps compare the 3 layers every adapter adapts";
        String module = "module value is left out: only bert-base-uncased-imdb-lora-r8, half adapt it";
        assertTrue(r.out().contains("note: " + layers) && r.out().contains("note: " + module), r.out());
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("- Note: " + layers) && md.contains("- Note: " + module), md);
        var summary = new com.fasterxml.jackson.databind.ObjectMapper().readTree(out.resolve("summary.json").toFile());
        // first what reading the adapters noted, once where every adapter noted it (analyze's report says it first)
        String base = "every adapter: the base is bert (its keys), as the adapter's base_model_name_or_path"
                + " 'bert-base-uncased' says";
        assertEquals(List.of(base, module, layers), java.util.stream.StreamSupport.stream(summary.get("notes")
                .spliterator(), false).map(com.fasterxml.jackson.databind.JsonNode::asText).toList());
        for (var m : summary.get("maps")) {
            assertEquals("query", m.get("module").asText());
            assertEquals("[0,1,2]", m.get("layers").toString());
            assertEquals("[[8,8,8],[8,8,8],[8,8,8]]", m.get("layer_ranks").toString(), "per adapter, the compared layers");
        }
    }

    /**
     * An adapter against itself gives phi = 1 in every map, but C_A and C_B meet different W0 nulls: each is its own
     * test, and only C_dW (C_B's span, C_B's null) answers as its twin.
     */
    @Test
    void identicalAdaptersTestEveryMapAgainstItsOwnNull() throws Exception {
        Path out = dir.resolve("same");
        CliRunner.Result r = CliRunner.run("compare", demo().toString(), demo().toString(), "--out", out.toString(),
                "--modules", "value", "--draws", "4", "-q");
        assertEquals(0, r.exit(), r.err());
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("summary.json").toFile());
        java.util.Map<String, String> status = new java.util.HashMap<>();
        for (com.fasterxml.jackson.databind.JsonNode m : summary.get("maps")) {
            status.put(m.get("factor").asText(), m.get("status").asText());
        }
        assertEquals("tested", status.get("A"));
        assertEquals("tested", status.get("B"), "equal cells, another null: another test");
        assertEquals("duplicate", status.get("dW"));
        assertEquals(2, summary.get("statistics").get("family_size").asInt());
        // and the report says the two are one directory
        String note = summary.get("notes").get(1).asText();
        String name = "adapters/bert-base-uncased-imdb-lora-r8";
        assertTrue(note.startsWith(name + " and " + name + "' are the same directory ("
                + demo().toAbsolutePath().normalize() + ")"), note);
    }

    @Test
    void twoAdaptersMakeOneTestPerMap() throws Exception {
        Path out = dir.resolve("two");
        Path noisy = derived("noisy", 0.5, false, 3);
        CliRunner.Result r = CliRunner.run("compare", demo().toString(), noisy.toString(), "--out", out.toString(),
                "--modules", "value", "--draws", "4");
        assertEquals(0, r.exit(), r.err());
        com.fasterxml.jackson.databind.JsonNode summary = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("summary.json").toFile());
        assertEquals(2, summary.get("statistics").get("family_size").asInt(), "C_A and C_B; C_dW is C_B's duplicate");
        double[] p = new double[2];
        int k = 0;
        for (com.fasterxml.jackson.databind.JsonNode m : summary.get("maps")) {
            if (!m.get("status").asText().equals("tested")) {
                continue;
            }
            assertEquals(1, m.get("pairs").size());
            com.fasterxml.jackson.databind.JsonNode pair = m.get("pairs").get(0);
            assertEquals(m.get("p_value").asDouble(), pair.get("p_value").asDouble(), 0, m.toString());
            assertEquals(m.get("p_adjusted").asDouble(), pair.get("p_adjusted").asDouble(), 0, m.toString());
            assertEquals(m.get("exceeds_w0_null").asText(), pair.get("exceeds_w0_null").asText());
            // power from planted pairs, at the Bonferroni bound of the family; a 'no' names it
            com.fasterxml.jackson.databind.JsonNode power = m.get("power");
            assertEquals(0.05 / 2, power.get("detection_threshold").asDouble(), 1e-15);
            assertEquals(8, power.get("plants_per_level").asInt());
            double noise = power.get("detectable_noise").asDouble();
            assertTrue(java.util.Arrays.stream(io.github.convsim.similarity.PlantedPairs.NOISE)
                    .anyMatch(v -> v == noise), power.toString());
            assertTrue(power.get("planted_average_similarity").asDouble() > m.get("w0_null_for_pairs").get("hi")
                    .asDouble(), "plants detected lie beyond the pair null: " + m);
            String words = m.get("interpretation").asText();
            assertEquals(m.get("exceeds_w0_null").asText().equals("no"), words.contains("it detects a pair of"
                    + " adapters whose factors agree up to noise "), words);
            p[k++] = m.get("p_value").asDouble();
        }
        assertEquals(2, k);
        // Holm over two tests: the smaller p doubled (capped at 1)
        com.fasterxml.jackson.databind.JsonNode first = null;
        for (com.fasterxml.jackson.databind.JsonNode m : summary.get("maps")) {
            if (m.get("status").asText().equals("tested") && m.get("p_value").asDouble() == Math.min(p[0], p[1])) {
                first = m;
            }
        }
        assertNotNull(first);
        assertEquals(Math.min(1, 2 * Math.min(p[0], p[1])), first.get("p_adjusted").asDouble(), 1e-15);
    }

    @Test
    void aRunOfCheckpointsIsOrderedByStepAndTracedToTheFinalOne() throws Exception {
        Path run = Files.createDirectories(dir.resolve("run"));
        Files.move(derived("a", 0.9, false, 2), run.resolve("checkpoint-1000"));
        Files.move(derived("b", 0.5, false, 3), run.resolve("checkpoint-200"));
        Files.move(derived("c", 0.0, false, 4), run.resolve("checkpoint-3000"));
        Path out = dir.resolve("traj");
        CliRunner.Result r = CliRunner.run("compare", run.toString(), "--base", CliRunner.repo()
                .resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out", out.toString(),
                "--modules", "query",
                "--factors", "B");
        assertEquals(0, r.exit(), r.err());
        Table all = Table.read().csv(out.resolve("trajectory.csv").toFile());
        // the conversion matrix's trajectory; the raw-factor controls have rows of their own
        assertEquals(java.util.Set.of("B", "raw-A", "raw-B"), new java.util.HashSet<>(all.stringColumn("factor").asList()));
        Table t = all.where(all.stringColumn("factor").isEqualTo("B"));
        assertEquals(List.of(200, 1000, 3000), t.intColumn("step").asList());
        double[] toFinal = t.doubleColumn("phi_to_final").asDoubleArray();
        assertEquals(1.0, toFinal[2], 1e-10);
        assertTrue(toFinal[0] > toFinal[1], "less noise, closer to the final checkpoint: " + toFinal[0] + " vs "
                + toFinal[1]);
        assertTrue(t.doubleColumn("phi_to_previous").isMissing(0));
        assertTrue(Files.isRegularFile(out.resolve("figures/trajectory.query.B.left.png")));
    }

    @Test
    void oneAdapterIsAUsageError() {
        CliRunner.Result r = CliRunner.run("compare", demo().toString(), "--out", dir.resolve("x").toString());
        assertEquals(2, r.exit());
        assertTrue(r.err().contains("at least two adapters"), r.err());
        assertFalse(Files.exists(dir.resolve("x")));
        // a run directory that does not exist is named as missing, not counted as one adapter
        Path missing = dir.resolve("no-such-run");
        CliRunner.Result m = CliRunner.run("compare", missing.toString(), "--out", dir.resolve("x").toString());
        assertEquals(3, m.exit(), m.err());
        assertEquals("convsim: " + missing + ": no such file or directory", m.err().strip());
        // two or three draws make one pair of the W0 null: no spread, no p, so no decidable test
        for (String draws : List.of("2", "3")) {
            CliRunner.Result d = CliRunner.run("compare", demo().toString(), demo().toString(), "--out",
                    dir.resolve("x").toString(), "--draws", draws);
            assertEquals(2, d.exit(), d.err());
            assertTrue(d.err().contains("--draws must be 0 or at least 4"), d.err());
            assertFalse(Files.exists(dir.resolve("x")));
        }
    }
}
