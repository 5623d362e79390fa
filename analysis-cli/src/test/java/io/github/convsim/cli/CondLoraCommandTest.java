package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

class CondLoraCommandTest {
    @TempDir
    Path dir;

    @Test
    void fitOfTheDemoReportsR2BesideItsNulls() throws Exception {
        Path out = dir.resolve("fit");
        CliRunner.Result r = CliRunner.run("condlora", "fit", "--out", out.toString(), "--draws", "4");
        assertEquals(0, r.exit(), r.err());
        List<String> links = HtmlLinks.assertSelfContained(out);
        assertTrue(links.containsAll(List.of("fit.csv", "summary.json", "report.md",
                "figures/condlora.query.r2.png", "figures/condlora.value.r2.png")), links.toString());
        Table t = Table.read().csv(out.resolve("fit.csv").toFile());
        assertEquals(24, t.rowCount());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        JsonNode query = s.get("modules").get(0);
        assertEquals("query", query.get("module").asText());
        assertEquals(2 * 8 * 768, query.get("parameters_shared").asInt());
        assertEquals(12 * 8 * (768 + 768), query.get("parameters_lora").asInt());
        assertEquals(1.0 / 12, query.get("chance_r2").asDouble(), 1e-12);
        assertEquals(4, query.get("shuffled_null").get("draws").asInt());
        assertEquals(List.of("draws", "r2_A", "r2_B", "dW_relative_error"),
                CliRunner.fieldNames(query.get("shuffled_null")));
        assertEquals(List.of("mean", "lo", "hi"), CliRunner.fieldNames(query.get("gaussian_null").get("r2_B")));
        // the verdict covers A, B and dW, each against both nulls with their intervals, in words from the numbers
        String verdict = query.get("verdict").asText();
        assertTrue(verdict.startsWith("It explains "), verdict);
        for (String part : new String[] {" of A against ", " of B against ", "reproduces dW with relative error "}) {
            assertTrue(verdict.contains(part), part + " in " + verdict);
        }
        assertEquals(3, verdict.split("for shuffled layers \\[").length - 1, verdict);
        assertEquals(3, verdict.split("for Gaussian targets \\[").length - 1, verdict);
        // each part's words follow its test: Holm over the 6 tests of A, B and dW of both modules
        assertEquals(6, s.get("statistics").get("family_size").asInt());
        JsonNode tests = query.get("tests");
        assertEquals(List.of("r2_A", "r2_B", "dW_relative_error"), List.of(tests.get(0).get("statistic").asText(),
                tests.get(1).get("statistic").asText(), tests.get(2).get("statistic").asText()));
        String[] parts = verdict.split("\\. It");
        for (int k = 0; k < 3; k++) {
            JsonNode test = tests.get(k);
            assertEquals(Math.max(test.get("p_gaussian_null").asDouble(), test.get("p_shuffled_null").asDouble()),
                    test.get("p_value").asDouble(), 0);
            assertTrue(test.get("p_adjusted").asDouble() >= test.get("p_value").asDouble());
            assertEquals(test.get("p_adjusted").asDouble() < 0.05 ? "yes" : "no",
                    test.get("beyond_both_nulls").asText());
            assertEquals(test.get("beyond_both_nulls").asText().equals("no"),
                    parts[k].contains("no more than unrelated targets give"), parts[k]);
            // power from the plants: a planted level, at the Bonferroni bound of the family; a 'no' names it
            JsonNode power = test.get("power");
            double noise = power.get("detectable_noise").asDouble();
            assertTrue(java.util.Arrays.stream(io.github.convsim.condlora.SharedLayerPlants.NOISE)
                    .anyMatch(v -> v == noise), power.toString());
            assertTrue(noise >= 1, "the demo's tests detect a shared layer under noise at least its size: " + power);
            assertEquals(0.05 / 6, power.get("detection_threshold").asDouble(), 1e-15);
            assertEquals(8, power.get("plants_per_level").asInt());
            String named = "up to noise " + new java.math.BigDecimal(String.valueOf(noise)).stripTrailingZeros()
                    .toPlainString() + " of its size";
            assertEquals(test.get("beyond_both_nulls").asText().equals("no"), parts[k].contains(named),
                    named + " in " + parts[k]);
        }
        assertTrue(Files.isRegularFile(out.resolve("figures/condlora.value.r2.png")));
        assertTrue(Files.readString(out.resolve("report.md")).contains("about 1/L"));
    }

    @Test
    void anExportedCondLoraIsAnalysedAndItsLayersAreIdentical() throws Exception {
        Path cond = dir.resolve("cond");
        assertEquals(0, CliRunner.run("condlora", "export", "--as", "condlora", "--out", cond.toString()).exit());
        assertTrue(Files.readString(cond.resolve("adapter_config.json")).contains("CONDLORA"));
        Path report = dir.resolve("report");
        CliRunner.Result r = CliRunner.run("analyze", "--adapter", cond.toString(), "--base",
                CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out",
                report.toString(), "--nulls", "analytic", "--controls", "none");
        assertEquals(0, r.exit(), r.err());
        JsonNode s = new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        // no null sampled, nothing drawn: the provenance said 32, the default of --draws
        assertEquals(0, s.get("provenance").get("options").get("draws").asInt());
        for (JsonNode h : s.get("heatmaps")) {
            assertEquals(1.0, h.get("average_similarity").asDouble(), 1e-9, h.get("factor").asText());
        }
        // phi = 1 is built into a CondLoRA checkpoint: every output says so before its verdicts, as do fit and compare
        String note = "a CondLoRA checkpoint: every layer's factors are made from one shared layer per module";
        assertTrue(r.out().contains("note: " + note), r.out());
        String md = Files.readString(report.resolve("report.md"));
        assertTrue(md.indexOf("- Note: " + note) > 0 && md.indexOf("- Note: " + note) < md.indexOf("## Verdicts"), md);
        assertTrue(Files.readString(report.resolve("index.html")).contains("Note: a CondLoRA checkpoint:"));
        assertTrue(s.get("provenance").get("options").get("checkpoint_notes").get(0).asText().startsWith(note));
        Path fit = dir.resolve("fit");
        CliRunner.Result f = CliRunner.run("condlora", "fit", cond.toString(), "--base",
                CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out",
                fit.toString(), "--draws", "2");
        assertEquals(0, f.exit(), f.err());
        assertTrue(f.out().contains("note: " + note), f.out());
        String fitMd = Files.readString(fit.resolve("report.md"));
        assertTrue(fitMd.indexOf("- Note: " + note) > 0 && fitMd.indexOf("- Note: " + note) < fitMd.indexOf("| module"),
                fitMd);
        assertTrue(Files.readString(fit.resolve("index.html")).contains("Note: a CondLoRA checkpoint:"));
        Path compared = dir.resolve("compare");
        CliRunner.Result c = CliRunner.run("compare", CliRunner.repo().resolve(
                "data/adapters/bert-base-uncased-imdb-lora-r8").toString(), cond.toString(), "--base",
                CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out",
                compared.toString(), "--draws", "4", "--modules", "value");
        assertEquals(0, c.exit(), c.err());
        assertTrue(c.out().contains("note: cond: " + note), c.out());
        assertTrue(Files.readString(compared.resolve("report.md")).contains("- Note: cond: " + note));
        CliRunner.Result bad = CliRunner.run("condlora", "export", "--as", "onnx", "--out", dir.resolve("x").toString());
        assertEquals(2, bad.exit());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void anExportKeepsTheClassifierHeadAndOrdinaryPermissions() throws Exception {
        Path lora = dir.resolve("export-lora");
        CliRunner.Result r = CliRunner.run("condlora", "export", "--as", "lora", "--out", lora.toString());
        assertEquals(0, r.exit(), r.err());
        // and records the share of the update it reproduces: 1 - (relative error of dW)^2
        JsonNode record = new ObjectMapper().readTree(lora.resolve("convsim_export.json").toFile());
        JsonNode q = record.get("modules").get("query");
        double err = q.get("dW_relative_error").asDouble();
        assertEquals(1 - err * err, q.get("share_of_update_reproduced").asDouble(), 1e-12);
        assertTrue(r.out().contains("query: reproduces "), r.out());
        Path source = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8/adapter_model.safetensors");
        // and how it was made: the source's and the base's hashes, the options
        JsonNode prov = record.get("provenance");
        assertEquals("convsim condlora export", prov.get("tool").asText());
        assertEquals("lora", prov.get("options").get("as").asText());
        // what reading the checkpoint noted is recorded with the options: for the demo, the base's family checked
        assertEquals("[\"the base is bert (its keys), as the adapter's base_model_name_or_path 'bert-base-uncased'"
                + " says\"]", prov.get("options").get("checkpoint_notes").toString());
        java.util.Map<String, String> hashes = new java.util.HashMap<>();
        prov.get("inputs").forEach(i -> hashes.put(i.get("role").asText(), i.get("sha256").asText()));
        assertEquals(java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(java.nio.file.Files.readAllBytes(source))), hashes.get("adapter_weights"));
        assertEquals(java.util.Set.of("adapter_config", "adapter_weights", "base_weights"), hashes.keySet());
        try (var src = io.github.convsim.io.SafetensorsFile.open(source);
             var out = io.github.convsim.io.SafetensorsFile.open(lora.resolve("adapter_model.safetensors"))) {
            for (String head : java.util.List.of("base_model.model.classifier.weight", "base_model.model.classifier.bias")) {
                org.junit.jupiter.api.Assertions.assertArrayEquals(src.readDoubles(head), out.readDoubles(head), 0.0,
                        head);
            }
        }
        java.nio.file.Path ordinary = java.nio.file.Files.writeString(dir.resolve("ordinary.txt"), "x");
        var expected = java.nio.file.Files.getPosixFilePermissions(ordinary);
        for (String f : java.util.List.of("adapter_model.safetensors", "adapter_config.json")) {
            assertEquals(expected, java.nio.file.Files.getPosixFilePermissions(lora.resolve(f)), f);
        }
        // -q, as every command that writes files: the same adapter, nothing printed
        Path quiet = dir.resolve("export-quiet");
        CliRunner.Result q2 = CliRunner.run("condlora", "export", "--as", "lora", "--out", quiet.toString(), "-q");
        assertEquals(0, q2.exit(), q2.err());
        assertEquals("", q2.out());
        try (var a = io.github.convsim.io.SafetensorsFile.open(lora.resolve("adapter_model.safetensors"));
             var b = io.github.convsim.io.SafetensorsFile.open(quiet.resolve("adapter_model.safetensors"))) {
            String t = "base_model.model.bert.encoder.layer.3.attention.self.value.lora_B.weight";
            org.junit.jupiter.api.Assertions.assertArrayEquals(a.readDoubles(t), b.readDoubles(t), 0.0);
        }
    }

    /**
     * Grouped-query attention (LLaMA-3, Mistral, the synthetic tiny-llama): k_proj and v_proj have a W0 of 16x64, where
     * CondLoRA's A_l = Wa W0_l^T has no meaning but B_l = W0_l Wb^T has. The fit takes B alone there, tests it with the
     * others and says why A and dW have none; the export, which replaces every module's LoRA, refuses and writes
     * nothing.
     */
    @Test
    void groupedQueryAttentionFitsBAloneWhereW0IsNotSquare() throws Exception {
        Path model = dir.resolve("gqa");
        assertEquals(0, CliRunner.run("synth", "--shape", "tiny-llama", "--layers", "6", "--rank", "4", "--seed", "3",
                "--out", model.toString(), "-q").exit());
        String adapter = model.resolve("adapter").toString();
        String base = model.resolve("base").toString();
        Path out = dir.resolve("gqa-fit");
        CliRunner.Result r = CliRunner.run("condlora", "fit", adapter, "--base", base, "--out", out.toString(),
                "--draws", "4");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("k_proj: R^2 A n/a, B ") && r.out().contains("It fits B alone: W0 is 16x64 at"
                + " layer 0, and CondLoRA's A_l = Wa W0_l^T needs a square W0, so A and dW have no fit and no test."
                + " It explains "), r.out());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        assertEquals(4, s.get("modules").size());
        JsonNode k = s.get("modules").get(0);
        assertEquals("k_proj", k.get("module").asText());
        assertTrue(k.get("a_not_fitted").asText().contains("needs a square W0"), k.toString());
        assertTrue(k.get("r2_A").isNull() && k.get("r2_B").isNumber(), k.toString());
        // chance R^2 through a 16x64 W0 over 6 layers: 64 / (6 x 16)
        assertEquals(64.0 / 96, k.get("chance_r2").asDouble(), 1e-12);
        assertEquals(List.of("n/a", "n/a"), List.of(k.get("tests").get(0).get("beyond_both_nulls").asText(),
                k.get("tests").get(2).get("beyond_both_nulls").asText()));
        assertEquals(2 * 3 + 2, s.get("statistics").get("family_size").asInt(), "q, o: A, B, dW; k, v: B");
        assertTrue(s.get("not_fitted").isEmpty(), s.get("not_fitted").toString());
        assertTrue(Files.readString(out.resolve("report.md")).contains("It fits B alone: W0 is 16x64"));
        Path export = dir.resolve("gqa-export");
        CliRunner.Result e = CliRunner.run("condlora", "export", adapter, "--base", base, "--as", "lora", "--out",
                export.toString());
        assertEquals(2, e.exit(), e.out());
        assertTrue(e.err().contains("an export replaces every module's LoRA, but these cannot be fitted: k_proj (W0 is"
                + " 16x64 at layer 0"), e.err());
        assertFalse(Files.exists(export));
    }
}
