package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InspectCommandTest {
    @TempDir
    Path dir;

    /**
     * Where r reaches W0's smaller side (tiny-llama's grouped-query k_proj, 16 x 64, at r = 16), inspect says before
     * any analysis that C_A's and C_B's maps at i = j = r will have no verdict, and why; analyze then agrees. q_proj
     * (64 x 64 at r = 16) gets no such note.
     */
    @Test
    void aRankThatReachesW0sSmallerSideIsNamedBeforeTheAnalysis() throws Exception {
        Path model = dir.resolve("model");
        CliRunner.Result s = CliRunner.run("synth", "--shape", "tiny-llama", "--layers", "3", "--rank", "16", "--out",
                model.toString(), "-q");
        assertEquals(0, s.exit(), s.err());
        String adapter = model.resolve("adapter").toString();
        String base = model.resolve("base").toString();
        CliRunner.Result i = CliRunner.run("inspect", adapter, "--base", base);
        assertEquals(0, i.exit(), i.err());
        assertTrue(i.out().contains("note: module k_proj has r = 16, the smaller side of its 16x64 W0: at i = j = r"
                + " C_A's left vectors span all of R^16 (phi 1) and C_B's span W0's row space (the map is W0's alone),"
                + " so neither has a verdict; --i and --j below 16 test them\n"), i.out());
        assertFalse(i.out().contains("note: module q_proj"), i.out());

        Path report = dir.resolve("report");
        CliRunner.Result a = CliRunner.run("analyze", adapter, "--base", base, "--out", report.toString(), "--modules",
                "k_proj", "--draws", "4", "-q");
        assertEquals(0, a.exit(), a.err());
        Map<String, String> status = new HashMap<>();
        for (JsonNode h : new ObjectMapper().readTree(report.resolve("summary.json").toFile()).get("heatmaps")) {
            status.put(h.get("factor").asText(), h.get("status").asText());
        }
        assertEquals("degenerate", status.get("A"));
        assertEquals("degenerate", status.get("B"));
    }
}
