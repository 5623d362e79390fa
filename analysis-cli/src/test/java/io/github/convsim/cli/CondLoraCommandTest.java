package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
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
        Table t = Table.read().csv(out.resolve("fit.csv").toFile());
        assertEquals(24, t.rowCount());
        JsonNode s = new ObjectMapper().readTree(out.resolve("summary.json").toFile());
        JsonNode query = s.get("modules").get(0);
        assertEquals("query", query.get("module").asText());
        assertEquals(2 * 8 * 768, query.get("parameters_shared").asInt());
        assertEquals(12 * 8 * (768 + 768), query.get("parameters_lora").asInt());
        assertEquals(1.0 / 12, query.get("chance_r2").asDouble(), 1e-12);
        assertEquals(4, query.get("shuffled_null").get("draws").asInt());
        assertTrue(query.get("verdict").asText().contains("no more"), query.get("verdict").asText());
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
                report.toString(), "--draws", "2", "--nulls", "analytic", "--controls", "none");
        assertEquals(0, r.exit(), r.err());
        JsonNode s = new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        for (JsonNode h : s.get("heatmaps")) {
            assertEquals(1.0, h.get("average_similarity").asDouble(), 1e-9, h.get("factor").asText());
        }
        CliRunner.Result bad = CliRunner.run("condlora", "export", "--as", "onnx", "--out", dir.resolve("x").toString());
        assertEquals(2, bad.exit());
        assertFalse(Files.exists(dir.resolve("x")));
    }

    @Test
    void anExportKeepsTheClassifierHeadAndOrdinaryPermissions() throws Exception {
        Path lora = dir.resolve("export-lora");
        CliRunner.Result r = CliRunner.run("condlora", "export", "--as", "lora", "--out", lora.toString());
        assertEquals(0, r.exit(), r.err());
        Path source = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8/adapter_model.safetensors");
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
    }
}
