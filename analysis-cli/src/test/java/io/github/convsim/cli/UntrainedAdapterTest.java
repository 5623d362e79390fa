package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.io.TensorInfo;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An untrained adapter (every lora_B zero, as PEFT initialises it): undefined maps are n/a, and every command works. */
class UntrainedAdapterTest {
    @TempDir
    static Path dir;
    static Path untrained;
    static Path oneZero;

    @BeforeAll
    static void zeroEveryB() throws Exception {
        untrained = withZeroB("untrained", name -> name.contains("lora_B"));
        oneZero = withZeroB("one-zero-layer", name -> name.contains("layer.5.attention.self.query.lora_B"));
    }

    /** The demo adapter with the tensors {@code zero} names set to zero. */
    private static Path withZeroB(String name, java.util.function.Predicate<String> zero) throws Exception {
        Path real = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
        Path out = Files.createDirectories(dir.resolve(name));
        Files.copy(real.resolve("adapter_config.json"), out.resolve("adapter_config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(real.resolve("adapter_model.safetensors"))) {
            for (String t : f.names()) {
                TensorInfo i = f.info(t);
                w.add(t, i.dtype(), i.shape(), zero.test(t) ? new double[(int) i.numel()] : f.readDoubles(t));
            }
        }
        w.write(out.resolve("adapter_model.safetensors"));
        return out;
    }

    /** condlora export of an untrained adapter records no share of an update that is zero (it wrote "NaN"). */
    @Test
    void condloraExportRecordsNoShareOfAZeroUpdate() throws Exception {
        Path out = dir.resolve("export");
        CliRunner.Result r = succeeds("condlora", "export", untrained.toString(), "--base", base(), "--as", "lora",
                "--out", out.toString());
        assertTrue(r.out().contains("query: no update to reproduce, B A is zero in every layer; R^2 of A 0.085, of B"
                + " n/a"), r.out());
        com.fasterxml.jackson.databind.JsonNode rec = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("convsim_export.json").toFile()).get("modules").get("query");
        assertTrue(rec.get("share_of_update_reproduced").isNull() && rec.get("r2_B").isNull(), rec.toString());
        assertEquals(0.0848, rec.get("r2_A").asDouble(), 1e-4);
    }

    @Test
    void analyzeLeavesALayerWhoseBIsZeroOutAndSaysSo() throws Exception {
        Path out = dir.resolve("report-one");
        CliRunner.Result r = succeeds("analyze", oneZero.toString(), "--base", base(), "--out", out.toString(),
                "--draws", "4", "--modules", "query");
        assertTrue(r.out().contains("query C_B (left, i=8, j=8): average 0.0114 without layer 5 (its C_B is zero; left"
                + " out of the nulls too)"), r.out());
        com.fasterxml.jackson.databind.JsonNode maps = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("summary.json").toFile()).get("heatmaps");
        for (com.fasterxml.jackson.databind.JsonNode h : maps) {
            boolean b = h.get("subject").asText().matches("C_B|C_dW|B");
            assertEquals(b ? "[5]" : "[]", h.get("layers_left_out").toString(), h.get("subject").asText());
            assertEquals(b ? 0 : 8, h.get("numerical_ranks").get(5).asInt(), h.get("subject").asText());
            assertEquals(8, h.get("numerical_ranks").get(4).asInt(), h.get("subject").asText());
        }
    }

    @Test
    void inspectNamesALayerWhoseBIsZero() {
        CliRunner.Result i = succeeds("inspect", oneZero.toString(), "--base", base());
        assertTrue(i.out().contains("note: lora_B of module query is zero in layer 5: C_B and C_dW are undefined"
                + " there, and its pairs are left out of the maps and their nulls"), i.out());
        assertFalse(i.out().contains("module value is zero"), i.out());
    }

    /** One layer's B zero: that layer has no R^2 for B (n/a, left out of the chart); the module's is defined. */
    @Test
    void condloraFitLeavesALayerWithoutBOutOfItsChart() throws Exception {
        Path out = dir.resolve("fit-one");
        // it failed drawing R^2 = -infinity
        CliRunner.Result r = succeeds("condlora", "fit", oneZero.toString(), "--base", base(), "--out",
                out.toString(), "--draws", "4");
        tech.tablesaw.api.Table t = tech.tablesaw.api.Table.read().csv(out.resolve("fit.csv").toFile());
        for (int row = 0; row < t.rowCount(); row++) {
            boolean zero = t.stringColumn("module").get(row).equals("query") && t.intColumn("layer").get(row) == 5;
            assertEquals(zero, t.doubleColumn("r2_B").isMissing(row), "row " + row);
            assertEquals(zero, t.doubleColumn("dW_relative_error").isMissing(row), "row " + row);
        }
        assertTrue(r.out().contains("query: R^2 A 0.0848, B 0."), r.out());
        assertTrue(Files.size(out.resolve("figures/condlora.query.r2.png")) > 1000);
    }

    /**
     * condlora fit on an untrained adapter: B and dW are zero, so nothing to fit and no test; A is fitted and tested.
     * It failed drawing its chart ("Character N is neither a decimal digit ...") from R^2 = 0 / 0.
     */
    @Test
    void condloraFitSaysThereIsNothingToFitInB() throws Exception {
        Path out = dir.resolve("fit");
        CliRunner.Result r = succeeds("condlora", "fit", untrained.toString(), "--base", base(), "--out",
                out.toString(), "--draws", "4");
        assertTrue(r.out().contains("query: R^2 A 0.0848, B n/a, dW error n/a. It explains 8.5 % of A"), r.out());
        assertTrue(r.out().contains("It has nothing to fit in B: B is zero in every layer (an untrained adapter), so no"
                + " test. It has nothing to fit in dW: dW = B A is zero in every layer"), r.out());
        assertFalse(r.out().contains("NaN"), r.out());
        com.fasterxml.jackson.databind.JsonNode s = new com.fasterxml.jackson.databind.ObjectMapper()
                .readTree(out.resolve("summary.json").toFile());
        assertEquals(2, s.get("statistics").get("family_size").asInt(), "only A is tested, in two modules");
        com.fasterxml.jackson.databind.JsonNode b = s.get("modules").get(0).get("tests").get(1);
        assertTrue(b.get("observed").isNull() && b.get("p_value").isNull(), b.toString());
        assertEquals("n/a", b.get("beyond_both_nulls").asText());
        assertFalse(Files.readString(out.resolve("summary.json")).contains("NaN"));
        assertTrue(Files.size(out.resolve("figures/condlora.query.r2.png")) > 1000);
    }

    /**
     * compare of three adapters, one untrained: its pairs have no C_B, and the sentence says why instead of reporting
     * the other pair's phi as the adapters' mean without a word. Such a pair has no test (JSON null, "n/a"; it wrote
     * "NaN" strings and "no"), and the one pair left is the map's test, counted once (the family counted it twice).
     */
    @Test
    void compareNamesTheAdapterWhosePairsHaveNoPhi() throws Exception {
        Path demo = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
        Path out = dir.resolve("cmp3");
        CliRunner.Result c = succeeds("compare", demo.toString(), untrained.toString(), demo.toString(), "--base",
                base(), "--out", out.toString(), "--modules", "query");
        assertTrue(c.out().contains("query C_B (left): mean phi between adapters 1.0000; untrained's C_B is zero in"
                + " every layer (lora_B is zero there, as PEFT initialises it: an untrained adapter?), so its pairs are"
                + " not compared;"), c.out());
        String json = Files.readString(out.resolve("summary.json"));
        assertFalse(json.contains("NaN"), "JSON has no NaN: undefined values are null");
        com.fasterxml.jackson.databind.JsonNode s = new com.fasterxml.jackson.databind.ObjectMapper().readTree(json);
        // C_A: the map and its 3 pairs; C_B: its one defined pair, which is the map's test; C_dW is C_B's twin
        assertEquals(5, s.get("statistics").get("family_size").asInt());
        com.fasterxml.jackson.databind.JsonNode b = null;
        for (com.fasterxml.jackson.databind.JsonNode m : s.get("maps")) {
            b = b == null && m.get("factor").asText().equals("B") ? m : b;
        }
        for (com.fasterxml.jackson.databind.JsonNode pair : b.get("pairs")) {
            boolean withUntrained = pair.get("adapter_b").asText().equals("untrained")
                    || pair.get("adapter_a").asText().equals("untrained");
            assertEquals(withUntrained ? "n/a" : "yes", pair.get("exceeds_w0_null").asText(), pair.toString());
            assertEquals(withUntrained, pair.get("p_value").isNull(), pair.toString());
        }
        assertEquals(b.get("p_value").asDouble(), b.get("pairs").get(1).get("p_value").asDouble(), 0);
        assertEquals(0, b.get("numerical_ranks").get(1).get(0).asInt());
        tech.tablesaw.api.Table csv = tech.tablesaw.api.Table.read().csv(out.resolve("compare.csv").toFile());
        for (tech.tablesaw.api.Row row : csv) {
            if (row.getString("factor").equals("B") && !row.getString("adapter_a").equals(row.getString("adapter_b"))) {
                boolean withUntrained = row.getString("adapter_a").equals("untrained")
                        || row.getString("adapter_b").equals("untrained");
                assertEquals(withUntrained ? "n/a" : "yes", row.getString("pair_exceeds_w0_null"), row.toString());
            }
        }
        assertEquals(8, b.get("numerical_ranks").get(0).get(0).asInt());
    }

    /** Runs convsim and asserts it exits 0. */
    private static CliRunner.Result succeeds(String... args) {
        CliRunner.Result r = CliRunner.run(args);
        assertEquals(0, r.exit(), r.err());
        return r;
    }

    private static String base() {
        return CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString();
    }

    @Test
    void analyzeSucceedsWithNaPanels() throws Exception {
        Path out = dir.resolve("report");
        CliRunner.Result r = succeeds("analyze", "--adapter", untrained.toString(), "--base", base(), "--out",
                out.toString(), "--draws", "2");
        assertTrue(r.out().contains("query C_B (left): no similarity: phi is undefined: C_B is zero in every layer"
                + " (lora_B is zero there, as PEFT initialises it: an untrained adapter?)."), r.out());
        assertTrue(r.out().contains("query C_A (left, i=8, j=8): average 0.0112"), "A is still analysed: " + r.out());
        BufferedImage img = ImageIO.read(out.resolve("figures/query.B.left.i8-j8.png").toFile());
        int grey = 0;
        for (int y = 0; y < img.getHeight(); y += 3) {
            for (int x = 0; x < img.getWidth(); x += 3) {
                grey += img.getRGB(x, y) == (0xFF000000 | 0xD9D9D9) ? 1 : 0;
            }
        }
        assertTrue(grey > 10_000, "an n/a panel of grey cells: " + grey);
    }

    @Test
    void compareSaysNaAndInspectWarns() {
        CliRunner.Result c = CliRunner.run("compare", CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8")
                .toString(), untrained.toString(), "--base", base(), "--out", dir.resolve("cmp").toString(), "--draws", "4");
        assertEquals(0, c.exit(), c.err());
        assertTrue(c.out().contains("query C_B (left): mean phi between adapters n/a (undefined"), c.out());
        assertFalse(c.out().contains("NaN"), c.out());
        // no verdict for a map with no defined cell (it read 'They share no more than unrelated adapters', p n/a)
        assertTrue(c.out().contains("No verdict: phi is undefined: untrained's C_B is zero in every layer (lora_B is"
                + " zero there, as PEFT initialises it: an untrained adapter?)."), c.out());
        assertFalse(c.out().contains("p = n/a"), c.out());
        CliRunner.Result i = CliRunner.run("inspect", untrained.toString(), "--base", base());
        assertEquals(0, i.exit(), i.err());
        assertTrue(i.out().contains("warning: lora_B of module query is zero in every layer (an untrained adapter)"),
                i.out());
    }
}
