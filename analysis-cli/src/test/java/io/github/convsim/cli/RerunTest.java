package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `analyze`, `compare` and `condlora fit --from REPORT/summary.json` rerun exactly what the report recorded, and nothing else. */
class RerunTest {
    @TempDir
    Path dir;

    @Test
    void aRerunFromTheSummaryEqualsTheOriginal() throws Exception {
        Path first = dir.resolve("first");
        CliRunner.Result r = CliRunner.run("analyze", "--out", first.toString(), "--modules", "value", "--draws", "6",
                "--seed", "7", "--side", "both", "--i", "4", "--j", "8", "--factors", "A,dW", "--nulls", "w0,analytic",
                "--controls", "W0", "--correction", "bh", "--mode", "lstsq", "-q");
        assertEquals(0, r.exit(), r.err());
        Path again = dir.resolve("again");
        // --scale changes the figures only, so it may accompany --from
        CliRunner.Result r2 = CliRunner.run("analyze", "--from", first.resolve("summary.json").toString(), "--out",
                again.toString(), "--scale", "paper");
        assertEquals(0, r2.exit(), r2.err());
        Path figure = Path.of("figures", "value.A.left.i4-j8.png");
        assertFalse(java.util.Arrays.equals(Files.readAllBytes(first.resolve(figure)),
                Files.readAllBytes(again.resolve(figure))), "the paper's 0..1 scale draws other colours");
        assertTrue(r2.out().contains("recorded in " + first.resolve("summary.json")), r2.out());
        JsonNode a = comparable(first);
        JsonNode b = comparable(again);
        assertEquals(a, b);
        // what was recorded is what was asked, not the defaults
        JsonNode opts = a.get("provenance").get("options");
        assertEquals(7, opts.get("seed").asLong());
        assertEquals(6, opts.get("draws").asInt());
        assertEquals("lstsq", opts.get("mode").asText());
        assertEquals("bh", a.get("statistics").get("correction").asText());
        assertEquals(Files.readString(first.resolve("similarity.csv")), Files.readString(again.resolve("similarity.csv")));
        assertEquals(Files.readString(first.resolve("diagnostics.csv")),
                Files.readString(again.resolve("diagnostics.csv")));
    }

    @Test
    void aChangedInputOrAnOptionBesideFromIsRefused() throws Exception {
        Path adapter = copyOfTheDemoAdapter();
        Path first = dir.resolve("first");
        CliRunner.Result r = CliRunner.run("analyze", "--adapter", adapter.toString(), "--base", CliRunner.repo()
                .resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out", first.toString(),
                "--modules", "query", "--draws", "2", "--nulls", "w0", "-q");
        assertEquals(0, r.exit(), r.err());
        String summary = first.resolve("summary.json").toString();

        CliRunner.Result scale = CliRunner.run("analyze", "--from", summary, "--out", dir.resolve("x").toString(),
                "--scale", "log");
        assertEquals(Main.EXIT_USAGE, scale.exit());
        assertTrue(scale.err().contains("--scale takes fitted or paper, got 'log'"), scale.err());
        assertFalse(Files.exists(dir.resolve("x")));

        CliRunner.Result extra = CliRunner.run("analyze", "--from", summary, "--out", dir.resolve("x").toString(),
                "--draws", "8");
        assertEquals(Main.EXIT_USAGE, extra.exit());
        assertTrue(extra.err().contains("--draws cannot be given with it"), extra.err());

        // inputs given beside --from are read in place of the recorded ones where their files are the same
        Path moved = Files.createDirectories(dir.resolve("moved"));
        Path base = Files.copy(CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors"),
                moved.resolve("base.safetensors"));
        Path elsewhere = dir.resolve("elsewhere");
        CliRunner.Result m = CliRunner.run("analyze", "--from", summary, adapter.toString(), "--base", base.toString(),
                "--out", elsewhere.toString(), "-q");
        assertEquals(0, m.exit(), m.err());
        assertEquals(Files.readString(first.resolve("similarity.csv")),
                Files.readString(elsewhere.resolve("similarity.csv")));
        CliRunner.Result other = CliRunner.run("analyze", "--from", summary, "--adapter", CompareCommandTest
                .derivedIn(dir, "other", 0.5, false, 1).toString(), "--out", dir.resolve("y").toString());
        assertEquals(Main.EXIT_INPUT, other.exit());
        assertTrue(other.err().startsWith("convsim: " + dir.resolve("other/adapter_model.safetensors")
                + ": not the adapter_weights file the report read there"), other.err());

        Files.writeString(adapter.resolve("adapter_config.json"), " ", StandardOpenOption.APPEND);
        CliRunner.Result changed = CliRunner.run("analyze", "--from", summary, "--out", dir.resolve("y").toString());
        assertEquals(Main.EXIT_INPUT, changed.exit());
        assertTrue(changed.err().contains(adapter.resolve("adapter_config.json").toAbsolutePath().normalize()
                .toString()) && changed.err().contains("changed since"), changed.err());
        assertFalse(Files.exists(dir.resolve("y")), "nothing written");

        Path notASummary = Files.writeString(dir.resolve("other.json"), "{\"provenance\": {\"tool\": \"convsim compare\"}}");
        CliRunner.Result wrong = CliRunner.run("analyze", "--from", notASummary.toString(), "--out",
                dir.resolve("z").toString());
        assertEquals(Main.EXIT_INPUT, wrong.exit());
        assertTrue(wrong.err().startsWith("convsim: " + notASummary), wrong.err());

        // a summary that is missing, a directory or broken JSON: one line naming the file and what is wrong
        Path broken = Files.writeString(dir.resolve("broken.json"), "{\"provenance\":\n");
        String[][] cases = {{dir.resolve("absent.json").toString(), "no such file or directory"},
            {dir.toString(), "not a regular file (it is a directory)"},
            {broken.toString(), "not valid JSON: Unexpected end-of-input"}};
        for (String[] c : cases) {
            CliRunner.Result bad = CliRunner.run("analyze", "--from", c[0], "--out", dir.resolve("w").toString());
            assertEquals(Main.EXIT_INPUT, bad.exit(), bad.err());
            assertTrue(bad.err().startsWith("convsim: " + c[0] + ": " + c[1]), bad.err());
            assertEquals(1, bad.err().strip().lines().count(), bad.err());
            assertFalse(bad.err().contains("REDACTED"), bad.err());
        }
        CliRunner.Result at = CliRunner.run("analyze", "--from", broken.toString(), "--out", dir.resolve("w").toString());
        assertTrue(at.err().strip().endsWith("(line 2, column 1)"), at.err());
    }

    /**
     * `compare --from` reruns the adapters the report recorded, in its order: a run's checkpoints as they were, not as
     * the run directory holds them later.
     */
    @Test
    void aComparisonRerunFromItsSummaryEqualsTheOriginal() throws Exception {
        Path run = Files.createDirectories(dir.resolve("run"));
        Path c20 = CompareCommandTest.derivedIn(run, "checkpoint-20", 0.3, true, 2);
        Path c10 = CompareCommandTest.derivedIn(run, "checkpoint-10", 0.3, true, 1);
        Path first = dir.resolve("first");
        CliRunner.Result r = CliRunner.run("compare", run.toString(), "--base", CliRunner.repo()
                .resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out", first.toString(),
                "--modules", "value", "--draws", "4", "--seed", "5", "--correction", "bh", "--side", "both", "--i", "4",
                "--factors", "A,dW", "--mode", "lstsq", "-q");
        assertEquals(0, r.exit(), r.err());
        CompareCommandTest.derivedIn(run, "checkpoint-30", 0.3, true, 3); // the run went on after the report
        Path again = dir.resolve("again");
        CliRunner.Result r2 = CliRunner.run("compare", "--from", first.resolve("summary.json").toString(), "--out",
                again.toString());
        assertEquals(0, r2.exit(), r2.err());
        assertTrue(r2.out().contains("recorded in " + first.resolve("summary.json"))
                && r2.out().contains("convsim compare: 2 adapters (a training run, ordered by step)"), r2.out());
        JsonNode a = comparable(first);
        assertEquals(a, comparable(again));
        JsonNode opts = a.get("provenance").get("options");
        assertEquals(List.of(c10.toString(), c20.toString()), new ObjectMapper().convertValue(opts.get("adapters"),
                List.class), "the adapters as compared, ordered by step");
        assertEquals(5, opts.get("seed").asLong());
        assertEquals(4, opts.get("i").asInt());
        assertEquals("smallest rank", opts.get("j").asText());
        assertEquals("bh", a.get("statistics").get("correction").asText());
        for (String csv : List.of("compare.csv", "trajectory.csv")) {
            assertEquals(Files.readString(first.resolve(csv)), Files.readString(again.resolve(csv)), csv);
        }

        String summary = first.resolve("summary.json").toString();
        CliRunner.Result extra = CliRunner.run("compare", "--from", summary, "--side", "left", "--out",
                dir.resolve("x").toString());
        assertEquals(Main.EXIT_USAGE, extra.exit());
        assertTrue(extra.err().startsWith("convsim: --from reruns the options the report recorded; --side cannot be"
                + " given with it"), extra.err());
        // the run moved (another machine): the same files rerun it, another adapter in a checkpoint's place is refused
        Path moved = Files.createDirectories(dir.resolve("moved"));
        for (Path c : List.of(c10, c20)) {
            Path to = Files.createDirectories(moved.resolve(c.getFileName()));
            for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
                Files.copy(c.resolve(f), to.resolve(f));
            }
        }
        Path elsewhere = dir.resolve("elsewhere");
        CliRunner.Result m = CliRunner.run("compare", "--from", summary, moved.toString(), "--out",
                elsewhere.toString(), "-q");
        assertEquals(0, m.exit(), m.err());
        assertEquals(Files.readString(first.resolve("compare.csv")), Files.readString(elsewhere.resolve("compare.csv")));
        Path demo = CompareCommandTest.demo();
        CliRunner.Result other = CliRunner.run("compare", "--from", summary, moved.resolve("checkpoint-10")
                .toString(), demo.toString(), "--out", dir.resolve("x").toString());
        assertEquals(Main.EXIT_INPUT, other.exit());
        assertTrue(other.err().startsWith("convsim: " + demo.resolve("adapter_model.safetensors").toAbsolutePath()
                .normalize() + ": not the adapter_weights file the report read there ("
                + c20.resolve("adapter_model.safetensors")), other.err());
        CliRunner.Result analyze = CliRunner.run("analyze", "--from", summary, "--out", dir.resolve("x").toString());
        assertEquals(Main.EXIT_INPUT, analyze.exit());
        assertTrue(analyze.err().startsWith("convsim: " + summary + ": not the summary.json of a `convsim analyze`"
                + " report (`convsim compare` wrote it)"), analyze.err());
        Path older = Files.writeString(dir.resolve("older.json"), "{\"provenance\": {\"tool\": \"convsim compare\","
                + " \"options\": {\"draws\": 4}}}");
        CliRunner.Result old = CliRunner.run("compare", "--from", older.toString(), "--out", dir.resolve("x").toString());
        assertEquals(Main.EXIT_INPUT, old.exit());
        assertTrue(old.err().startsWith("convsim: " + older + ": records no adapters and base"), old.err());

        Files.writeString(c10.resolve("adapter_config.json"), " ", StandardOpenOption.APPEND);
        CliRunner.Result changed = CliRunner.run("compare", "--from", summary, "--out", dir.resolve("y").toString());
        assertEquals(Main.EXIT_INPUT, changed.exit());
        assertTrue(changed.err().contains(c10.resolve("adapter_config.json").toString())
                && changed.err().contains("changed since"), changed.err());
        assertFalse(Files.exists(dir.resolve("x")) || Files.exists(dir.resolve("y")), "nothing written");
    }

    /** `condlora fit --from` fits again with the recorded adapter, base, ridge, draws, seed and backend. */
    @Test
    void aFitRerunFromItsSummaryEqualsTheOriginal() throws Exception {
        Path adapter = copyOfTheDemoAdapter();
        Path first = dir.resolve("first");
        CliRunner.Result r = CliRunner.run("condlora", "fit", adapter.toString(), "--base", CliRunner.repo()
                .resolve("data/bert-base-uncased.query-value.safetensors").toString(), "--out", first.toString(),
                "--draws", "4", "--seed", "3", "--ridge", "0.01", "-q");
        assertEquals(0, r.exit(), r.err());
        Path again = dir.resolve("again");
        String summary = first.resolve("summary.json").toString();
        CliRunner.Result r2 = CliRunner.run("condlora", "fit", "--from", summary, "--out", again.toString());
        assertEquals(0, r2.exit(), r2.err());
        assertTrue(r2.out().contains("(recorded in " + summary + ")"), r2.out());
        JsonNode a = comparable(first);
        assertEquals(a, comparable(again));
        JsonNode opts = a.get("provenance").get("options");
        assertEquals(adapter.toString(), opts.get("adapter").asText());
        assertEquals(0.01, opts.get("ridge").asDouble());
        assertEquals(4, opts.get("draws").asInt());
        assertEquals(3, opts.get("seed").asLong());
        assertEquals("cpu", opts.get("backend").asText());
        assertEquals(Files.readString(first.resolve("fit.csv")), Files.readString(again.resolve("fit.csv")));

        Path base = Files.copy(CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors"),
                dir.resolve("base.safetensors"));
        CliRunner.Result moved = CliRunner.run("condlora", "fit", "--from", summary, "--base", base.toString(),
                "--out", dir.resolve("moved").toString());
        assertEquals(0, moved.exit(), moved.err());
        assertTrue(moved.out().contains(base + " (given, their files those recorded in " + summary + ")"),
                moved.out());
        assertEquals(Files.readString(first.resolve("fit.csv")), Files.readString(dir.resolve("moved/fit.csv")));
        CliRunner.Result extra = CliRunner.run("condlora", "fit", "--from", summary, "--ridge", "1", "--out",
                dir.resolve("x").toString());
        assertEquals(Main.EXIT_USAGE, extra.exit());
        assertTrue(extra.err().startsWith("convsim: --from reruns the options the report recorded; --ridge cannot be"
                + " given with it"), extra.err());
        Files.writeString(adapter.resolve("adapter_config.json"), " ", StandardOpenOption.APPEND);
        CliRunner.Result changed = CliRunner.run("condlora", "fit", "--from", summary, "--out",
                dir.resolve("y").toString());
        assertEquals(Main.EXIT_INPUT, changed.exit());
        assertTrue(changed.err().contains(adapter.resolve("adapter_config.json").toString())
                && changed.err().contains("changed since"), changed.err());
        assertFalse(Files.exists(dir.resolve("x")) || Files.exists(dir.resolve("y")), "nothing written");
    }

    /** The demo adapter's two files in a directory of the test's own, which it may change. */
    private Path copyOfTheDemoAdapter() throws Exception {
        Path adapter = Files.createDirectories(dir.resolve("adapter"));
        for (String f : List.of("adapter_config.json", "adapter_model.safetensors")) {
            Files.copy(CompareCommandTest.demo().resolve(f), adapter.resolve(f));
        }
        return adapter;
    }

    /** summary.json without what differs between two runs of the same analysis: times, dates, memory used. */
    private static JsonNode comparable(Path report) throws Exception {
        ObjectNode root = (ObjectNode) new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        ObjectNode prov = (ObjectNode) root.get("provenance");
        prov.remove("created");
        prov.remove("timings_seconds");
        prov.remove("resources");
        ((ObjectNode) prov.get("arithmetic").get("self_check")).remove("milliseconds");
        return root;
    }
}
