package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** synth writes a checkpoint analyze can read, GQA and all-linear included, and refuses to overwrite. */
class SynthCommandTest {
    @TempDir
    Path dir;

    @Test
    void synthThenAnalyzeAllLinearWithGroupedQueryAttention() throws Exception {
        Path model = dir.resolve("model");
        CliRunner.Result s = CliRunner.run("synth", "--shape", "tiny-llama", "--layers", "3", "--rank", "4",
                "--targets", "all-linear", "--shard-size", "100KB", "--seed", "9", "--out", model.toString());
        assertEquals(0, s.exit(), s.err());
        assertTrue(s.out().contains("tiny-llama-3l, seed 9, r = 4"), s.out());
        JsonNode cfg = new ObjectMapper().readTree(model.resolve("adapter/adapter_config.json").toFile());
        assertEquals(7, cfg.get("target_modules").size());
        assertEquals("../base", cfg.get("base_model_name_or_path").asText());

        Path report = dir.resolve("report");
        CliRunner.Result a = CliRunner.run("analyze", "--adapter", model.resolve("adapter").toString(), "--base",
                model.resolve("base").toString(), "--out", report.toString(), "--draws", "4");
        assertEquals(0, a.exit(), a.err());
        assertTrue(a.out().matches("(?s).*report: .*; heap peak [0-9.]+ GiB of [0-9.]+, resident peak [0-9.]+ GiB\\).*"),
                a.out());
        String diagnostics = Files.readString(report.resolve("diagnostics.csv"));
        // 7 modules x 3 layers; k/v (16 x 64) and gate/up/down are not square: lstsq; q/o paper mode
        assertEquals(1 + 21, diagnostics.strip().split("\n").length);
        assertTrue(diagnostics.contains(",k_proj,0,16,64,W0^T C_A = A^T; W0 C_B = B,lstsq,"), diagnostics);
        assertTrue(diagnostics.contains(",q_proj,2,64,64,W0 C_A = A^T; W0 C_B = B,paper,"), diagnostics);
        assertTrue(diagnostics.contains(",down_proj,1,64,172,"), diagnostics);
        JsonNode summary = new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        assertEquals(3, summary.at("/provenance/resources/modules/q_proj/layers_per_group").asInt());
        assertTrue(summary.at("/provenance/resources/peak_heap_bytes").asLong() > 0);

        // its own earlier output is replaced without --force; an analysis report there needs --force
        CliRunner.Result again = CliRunner.run("synth", "--shape", "tiny-llama", "--out", model.toString(), "-q");
        assertEquals(0, again.exit(), again.err());
        CliRunner.Result overReport = CliRunner.run("synth", "--shape", "tiny-llama", "--out", report.toString());
        assertEquals(4, overReport.exit());
        assertTrue(overReport.err().contains("holds a report of `convsim analyze`; use --force"), overReport.err());
    }
}
