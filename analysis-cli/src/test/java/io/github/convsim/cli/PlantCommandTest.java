package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A planted positive control is found when its noise is below the detectable level, and not far above it. */
class PlantCommandTest {
    @TempDir
    Path dir;

    private static final String BASE = CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors")
            .toString();

    private JsonNode plantAndAnalyse(double noise) throws Exception {
        Path planted = dir.resolve("planted-" + noise);
        CliRunner.Result p = CliRunner.run("plant", "--noise", String.valueOf(noise), "--seed", "3", "--out",
                planted.toString());
        assertEquals(0, p.exit(), p.err());
        Path report = dir.resolve("report-" + noise);
        CliRunner.Result a = CliRunner.run("analyze", "--adapter", planted.toString(), "--base", BASE, "--out",
                report.toString(), "--draws", "16", "--controls", "none", "-q");
        assertEquals(0, a.exit(), a.err());
        return new ObjectMapper().readTree(report.resolve("summary.json").toFile());
    }

    private static JsonNode map(JsonNode summary, String module, String factor) {
        for (JsonNode h : summary.get("heatmaps")) {
            if (h.get("module").asText().equals(module) && h.get("factor").asText().equals(factor)) {
                return h;
            }
        }
        throw new AssertionError(module + " " + factor);
    }

    @Test
    void aPlantBelowTheDetectableNoiseIsFoundAndOneFarAboveIsNot() throws Exception {
        JsonNode low = plantAndAnalyse(0.05);
        for (String module : new String[] {"query", "value"}) {
            JsonNode a = map(low, module, "A");
            assertEquals("yes", a.get("exceeds_w0_null").asText(), a.toString());
            assertTrue(a.get("power").get("detectable_noise").asDouble() >= 0.05, a.toString());
            // B was not planted: the real adapter's C_B is still within the W0 null
            assertEquals("no", map(low, module, "B").get("exceeds_w0_null").asText());
        }
        JsonNode high = plantAndAnalyse(20);
        for (String module : new String[] {"query", "value"}) {
            assertEquals("no", map(high, module, "A").get("exceeds_w0_null").asText());
        }
    }

    /** -q, as every command that writes files takes it: nothing on stdout, the adapter written. */
    @Test
    void quietPrintsNothing() throws Exception {
        Path out = dir.resolve("quiet");
        CliRunner.Result r = CliRunner.run("plant", "--out", out.toString(), "-q");
        assertEquals(0, r.exit(), r.err());
        assertEquals("", r.out());
        assertTrue(java.nio.file.Files.isRegularFile(out.resolve("adapter_model.safetensors")));
        // beside it, how it was made: noise, seed and the hashes of the adapter and base it came from
        JsonNode record = new ObjectMapper().readTree(out.resolve("convsim_plant.json").toFile());
        assertEquals(0.1, record.get("noise").asDouble());
        assertEquals(1, record.get("seed").asLong());
        java.util.Map<String, String> hashes = new java.util.HashMap<>();
        record.get("provenance").get("inputs").forEach(i -> hashes.put(i.get("role").asText(),
                i.get("sha256").asText()));
        assertEquals(sha256(java.nio.file.Path.of(BASE)), hashes.get("base_weights"));
        assertEquals(java.util.Set.of("adapter_config", "adapter_weights", "base_weights"), hashes.keySet());
        CliRunner.Result loud = CliRunner.run("plant", "--out", out.toString());
        assertTrue(loud.out().startsWith("planted adapter (noise 0.100, seed 1, 2 modules): "), loud.out());
    }

    private static String sha256(java.nio.file.Path file) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256")
                .digest(java.nio.file.Files.readAllBytes(file)));
    }

    @Test
    void badNoiseIsAUsageError() {
        CliRunner.Result r = CliRunner.run("plant", "--noise", "-1", "--out", dir.resolve("x").toString());
        assertEquals(2, r.exit(), r.err());
        assertTrue(r.err().contains("--noise must be a non-negative number"), r.err());
    }
}
