package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** diff on real reports of the demo: a rerun is equal in every number, another seed moves the nulls only. */
class DiffCommandTest {
    @TempDir
    Path dir;

    private Path analyze(String name, String seed) {
        Path out = dir.resolve(name);
        CliRunner.Result r = CliRunner.run("analyze", "--out", out.toString(), "--modules", "value", "--draws", "4",
                "--seed", seed, "--controls", "none", "-q");
        assertEquals(0, r.exit(), r.err());
        return out;
    }

    @Test
    void aRerunIsEqualAndAnotherSeedMovesTheNullsOnly() throws Exception {
        Path first = analyze("first", "1");
        Path again = analyze("again", "1");
        Path seed2 = analyze("seed2", "2");
        CliRunner.Result same = CliRunner.run("diff", first.toString(), again.resolve("summary.json").toString());
        assertEquals(0, same.exit(), same.err());
        assertTrue(same.out().contains("provenance: the same inputs, options, versions and arithmetic\n"
                + "verdicts: none changed\n"), same.out());
        assertTrue(same.out().matches("(?s).*numbers: [1-9][0-9]+ compared, every one equal\n.*"), same.out());

        CliRunner.Result other = CliRunner.run("diff", first.toString(), seed2.toString(), "--tolerance", "0",
                "--limit", "0");
        assertEquals(0, other.exit(), other.err());
        String out = other.out();
        assertTrue(out.contains("provenance: 1 differs:\n  options.seed: 1 -> 2\n"), out);
        // whether 4 draws decide a verdict is the seed's too: that is listed with the verdicts, not as other
        assertTrue(out.contains("numbers: "), out);
        // the observed maps do not depend on the seed; their nulls, p-values and power do
        assertFalse(out.contains("].average_similarity:"), out);
        assertTrue(out.contains("heatmaps[value C_A left i=8 j=8].w0.mean: "), out);
        assertTrue(out.contains("heatmaps[value C_A left i=8 j=8].gaussian.mean: "), out);
        // every cell of every map (similarity.csv) is compared: phi is the seed's to no cell, the nulls' to all
        assertFalse(out.contains("].phi:"), out);
        assertTrue(out.contains("similarity.csv[value A left i=8 j=8 layer_a=0 layer_b=1].w0_mean: "), out);
        assertFalse(out.contains("diagnostics.csv"), "cond(W0) and the residuals do not depend on the seed");
        assertTrue(out.contains("other: nothing else differs"), out);
        assertFalse(out.contains("check:"), "no verdict on the whole without --check: " + out);

        // --check: the rerun agrees (exit 0), another seed's nulls do not (exit 6), whatever the provenance says
        CliRunner.Result agree = CliRunner.run("diff", "--check", first.toString(), again.toString());
        assertEquals(0, agree.exit(), agree.out());
        assertTrue(agree.out().endsWith("check: the reports agree (verdicts, numbers within the tolerance, and what"
                + " they hold)\n"), agree.out());
        CliRunner.Result differ = CliRunner.run("diff", "--check", first.toString(), seed2.toString());
        assertEquals(Main.EXIT_DIFFERENT, differ.exit(), differ.out());
        assertTrue(differ.out().endsWith("check: the reports differ (exit code 6)\n"), differ.out());
    }

    @Test
    void badInputsAreOneLineErrors() throws Exception {
        Path missing = dir.resolve("absent");
        CliRunner.Result r = CliRunner.run("diff", missing.toString(), missing.toString());
        assertEquals(Main.EXIT_INPUT, r.exit());
        assertTrue(r.err().startsWith("convsim: " + missing + ": no such file or directory"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        Path x = Files.writeString(dir.resolve("x.json"), "{\"provenance\": {\"tool\": \"convsim\"}}");
        CliRunner.Result tol = CliRunner.run("diff", x.toString(), x.toString(), "--tolerance", "-1");
        assertEquals(Main.EXIT_USAGE, tol.exit());
        assertTrue(tol.err().startsWith("convsim: --tolerance must be a finite non-negative number, got -1.0"),
                tol.err());
    }
}
