package io.github.convsim.results;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.io.CheckpointException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** ReportDiff on small summaries shaped as analyze's: what it matches, what it sorts where, what it leaves out. */
class ReportDiffTest {
    @TempDir
    Path dir;

    private static final String MAP = "{\"module\": \"query\", \"factor\": \"A\", \"subject\": \"C_A\", \"side\":"
            + " \"left\", \"i\": 8, \"j\": 8, \"average_similarity\": %s, \"w0\": {\"mean\": 0.0115, \"draws\": 32},"
            + " \"exceeds_w0_null\": \"%s\", \"interpretation\": \"average %s\"}";
    private static final String OTHER = "{\"module\": \"value\", \"factor\": \"A\", \"subject\": \"C_A\", \"side\":"
            + " \"left\", \"i\": 8, \"j\": 8, \"average_similarity\": 0.0186, \"exceeds_w0_null\": \"no\"}";

    private Path report(String name, String maps, String seed, String created, double seconds) throws Exception {
        Path d = Files.createDirectories(dir.resolve(name));
        Files.writeString(d.resolve("summary.json"), "{\"heatmaps\": [" + maps + "], \"provenance\": {\"tool\":"
                + " \"convsim\", \"created\": \"" + created + "\", \"timings_seconds\": {\"solve\": " + seconds + "},"
                + " \"options\": {\"seed\": " + seed + ", \"sides\": [\"left\"]}, \"inputs\": [{\"role\":"
                + " \"base_weights\", \"path\": \"/a/base.safetensors\", \"sha256\": \"aa\"}]}}");
        return d;
    }

    @Test
    void aRerunDiffersOnlyInWhenItRanAndHowLong() throws Exception {
        String maps = String.format(MAP, "0.0112", "no", "0.0112") + ", " + OTHER;
        Path a = report("a", maps, "7", "2026-12-05T10:00:00Z", 1.5);
        Path b = report("b", maps, "7", "2026-12-05T11:00:00Z", 2.5);
        ReportDiff d = ReportDiff.of(a, b.resolve("summary.json"));
        assertEquals("convsim", d.tool());
        assertEquals(List.of(), d.provenance());
        assertEquals(List.of(), d.verdicts());
        assertEquals(List.of(), d.numbers());
        assertEquals(List.of(), d.other());
        assertNull(d.largestNumberChange());
        // average, w0.mean, w0.draws, i, j of the first map; average, i, j of the second
        assertEquals(8, d.numbersCompared());
    }

    @Test
    void entriesAreMatchedByWhatTheyAreNotWhereTheyStand() throws Exception {
        Path a = report("a", String.format(MAP, "0.0112", "no", "0.0112") + ", " + OTHER, "7", "x", 1);
        Path b = report("b", OTHER + ", " + String.format(MAP, "0.0112", "no", "0.0112"), "7", "x", 1);
        ReportDiff d = ReportDiff.of(a, b);
        assertTrue(d.numbers().isEmpty() && d.other().isEmpty(), d.toString());
    }

    @Test
    void aMovedNumberAVerdictAndAnOptionAreEachSortedTheirWay() throws Exception {
        Path a = report("a", String.format(MAP, "0.0112", "no", "0.0112") + ", " + OTHER, "7", "x", 1);
        Path b = report("b", String.format(MAP, "0.0140", "yes", "0.0140"), "8", "x", 1);
        ReportDiff d = ReportDiff.of(a, b);
        assertEquals(1, d.provenance().size());
        assertEquals("provenance.options.seed", d.provenance().get(0).path());
        assertEquals(1, d.verdicts().size());
        ReportDiff.Difference v = d.verdicts().get(0);
        assertEquals("heatmaps[query C_A left i=8 j=8].exceeds_w0_null", v.path());
        assertEquals("no", v.a().asText());
        assertEquals("yes", v.b().asText());
        assertEquals(1, d.numbers().size());
        ReportDiff.Difference n = d.largestNumberChange();
        assertEquals("heatmaps[query C_A left i=8 j=8].average_similarity", n.path());
        assertEquals((0.0140 - 0.0112) / 0.0140, n.relative(), 1e-15);
        assertEquals(1, d.numbersBeyond(0.1).size());
        assertEquals(0, d.numbersBeyond(0.25).size());
        assertEquals(1, d.sentences(), "the interpretation follows the number, counted, not listed");
        // the value map is in the first report only
        assertEquals(1, d.other().size());
        assertEquals("heatmaps[value C_A left i=8 j=8]", d.other().get(0).path());
        assertNull(d.other().get(0).b());
    }

    @Test
    void csvRowsAreMatchedByTheirKeysAndEachCellCompared() throws Exception {
        Path a = report("a", OTHER, "7", "x", 1);
        Path b = report("b", OTHER, "7", "x", 1);
        String header = "adapter,module,factor,side,i,j,layer_a,layer_b,phi,analytic,exceeds_w0_null\n";
        Files.writeString(a.resolve("similarity.csv"), header
                + "one,value,A,left,8,8,0,1,0.0186,,no\n"
                + "one,value,A,left,8,8,1,0,0.0186,,no\n");
        // rows in another order, another adapter's name and verdict (both compared in summary.json), one phi moved
        Files.writeString(b.resolve("similarity.csv"), header
                + "two,value,A,left,8,8,1,0,0.0190,,yes\n"
                + "two,value,A,left,8,8,0,1,0.0186,,yes\n");
        Files.writeString(a.resolve("diagnostics.csv"), "module,layer,cond_w0\nvalue,0,861.0\n");
        Files.writeString(a.resolve("fit.csv"), "module,layer,r2_A\nvalue,0,NaN\n");
        Files.writeString(b.resolve("fit.csv"), "module,layer,r2_A\nvalue,0,0.08\n");
        ReportDiff d = ReportDiff.of(a, b);
        assertEquals(1, d.numbers().size(), d.toString());
        ReportDiff.Difference n = d.numbers().get(0);
        assertEquals("similarity.csv[value A left i=8 j=8 layer_a=1 layer_b=0].phi", n.path());
        assertEquals(0.0190, n.b().asDouble());
        // summary.json's map: average, i, j; each row's phi (i, j and the layers are its key, empty cells absent), and
        // the NaN against 0.08
        assertEquals(3 + 2 + 1, d.numbersCompared());
        assertEquals(2, d.other().size());
        assertEquals("fit.csv[value layer=0].r2_A", d.other().get(1).path(), "NaN against a number: no relative"
                + " difference, so not among the numbers");
        assertEquals("diagnostics.csv", d.other().get(0).path());
        assertNull(d.other().get(0).b(), "in the first report only");
        assertEquals(List.of(), d.verdicts());
    }

    @Test
    void reportsOfTwoCommandsOrNoReportAreRefusedNamingTheFile() throws Exception {
        Path a = report("a", OTHER, "7", "x", 1);
        Path c = Files.createDirectories(dir.resolve("c"));
        Files.writeString(c.resolve("summary.json"), "{\"provenance\": {\"tool\": \"convsim compare\"}}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> ReportDiff.of(a, c));
        assertEquals(c.resolve("summary.json"), e.file());
        assertTrue(e.getMessage().contains("a report of `convsim compare`, and " + a.resolve("summary.json")
                + " one of `convsim analyze`"), e.getMessage());
        Path x = Files.writeString(dir.resolve("x.json"), "{\"heatmaps\": []}");
        e = assertThrows(CheckpointException.class, () -> ReportDiff.of(x, a));
        assertEquals(x, e.file());
        assertTrue(e.getMessage().contains("not the summary.json of a convsim report"), e.getMessage());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        e = assertThrows(CheckpointException.class, () -> ReportDiff.of(a, empty));
        assertEquals(empty.resolve("summary.json"), e.file());
    }
}
