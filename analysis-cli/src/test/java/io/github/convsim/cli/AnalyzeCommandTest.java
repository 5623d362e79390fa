package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.report.Viridis;
import io.github.convsim.results.Provenance;
import java.awt.Color;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import tech.tablesaw.api.Table;

/** End to end on the bundled demo: the files, their schema and values, provenance, figures. */
class AnalyzeCommandTest {
    /** The demo's report alone: tests that write other outputs take a directory of their own. */
    @TempDir
    static Path dir;
    static Path report;
    static CliRunner.Result run;

    @BeforeAll
    static void analyseTheDemo() {
        report = dir.resolve("report");
        run = CliRunner.run("analyze", "--out", report.toString(), "--draws", "8", "--format", "png,svg");
    }

    @Test
    void writesEveryOutput() {
        assertEquals(0, run.exit(), run.err());
        for (String f : List.of("similarity.csv", "diagnostics.csv", "summary.json", "report.md", "index.html")) {
            assertTrue(Files.isRegularFile(report.resolve(f)), f);
        }
        for (String stem : List.of("query.A.left.i8-j8", "value.dW.left.i8-j8", "query.raw-B.left.i8-j8")) {
            assertTrue(Files.isRegularFile(report.resolve("figures/" + stem + ".png")), stem);
            assertTrue(Files.isRegularFile(report.resolve("figures/" + stem + ".svg")), stem);
            assertTrue(Files.isRegularFile(report.resolve("figures/" + stem + ".gaussian.png")), stem);
        }
        assertTrue(Files.isRegularFile(report.resolve("figures/query.A.left.i8-j8.w0.png")));
        assertTrue(run.out().contains("query C_A (left, i=8, j=8): average 0.011"), run.out());
        try (Stream<Path> s = Files.list(dir)) {
            assertEquals(1, s.count(), "no temporary directory is left beside the report");
        } catch (java.io.IOException e) {
            fail(e);
        }
    }

    @Test
    void similarityCsvIsTidyAndAgreesWithTheSummary() throws Exception {
        Table t = Table.read().csv(report.resolve("similarity.csv").toFile());
        assertEquals(List.of("adapter", "module", "factor", "side", "i", "j", "layer_a", "layer_b", "phi",
                "gaussian_mean", "gaussian_lo", "gaussian_hi", "w0_mean", "analytic", "w0_lo", "w0_hi", "grassmann",
                "p_value", "p_adjusted", "exceeds_w0_null"), t.columnNames());
        // 2 modules x (A, B, dW, raw-A, raw-B) x 12 x 12 cells
        assertEquals(2 * 5 * 144, t.rowCount());
        JsonNode summary = new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        for (JsonNode h : summary.get("heatmaps")) {
            String module = h.get("module").asText();
            String factor = h.get("factor").asText();
            Table cells = t.where(t.stringColumn("module").isEqualTo(module).and(t.stringColumn("factor")
                    .isEqualTo(factor)));
            double sum = 0;
            int n = 0;
            for (int r = 0; r < cells.rowCount(); r++) {
                if (cells.intColumn("layer_a").get(r) < cells.intColumn("layer_b").get(r)) {
                    sum += cells.doubleColumn("phi").get(r);
                    n++;
                }
            }
            assertEquals(66, n);
            assertEquals(h.get("average_similarity").asDouble(), sum / n, 1e-12, module + " " + factor);
        }
    }

    @Test
    void diagnosticsHaveOneRowPerLayerWithTheRealCondition() throws Exception {
        Table d = Table.read().csv(report.resolve("diagnostics.csv").toFile());
        assertEquals(List.of("adapter", "module", "layer", "rows", "cols", "equation", "mode", "precision", "cond_w0",
                "cond_norm", "rank", "solution_rank", "residual_A", "residual_B", "residual_dW", "fp32_vs_fp64"),
                d.columnNames());
        assertEquals(24, d.rowCount());
        assertEquals(2.5e5, d.doubleColumn("cond_w0").get(0), 0.1e5);
        assertEquals("paper", d.stringColumn("mode").get(0));
        assertEquals("2-norm (Lanczos)", d.stringColumn("cond_norm").get(0)); // auto in fp64 paper mode
        assertEquals(768, d.intColumn("rank").get(0));
        assertEquals(768, d.intColumn("solution_rank").get(0)); // paper mode: the LU uses every direction
        assertTrue(d.doubleColumn("residual_A").max() < 1e-9);
    }

    @Test
    void provenanceHashesAreTheFilesRealHashes() throws Exception {
        JsonNode prov = new ObjectMapper().readTree(report.resolve("summary.json").toFile()).get("provenance");
        JsonNode inputs = prov.get("inputs");
        assertEquals(3, inputs.size());
        for (JsonNode in : inputs) {
            Path p = Path.of(in.get("path").asText());
            assertEquals(Provenance.sha256(p), in.get("sha256").asText());
            assertEquals(Files.size(p), in.get("bytes").asLong());
        }
        assertEquals("f007d7f7184519489a0ac0b20dec7468879809fd452c08d3bc75321581928b9e",
                inputs.get(2).get("sha256").asText());
        assertEquals(8, prov.get("options").get("draws").asInt());
        assertEquals(20240322L, prov.get("options").get("seed").asLong());
        assertTrue(prov.get("java").asText().length() > 3);
        // the arithmetic: CPU, OpenBLAS kernels, the self-check, and the guard inside every solve
        JsonNode arithmetic = prov.get("arithmetic");
        assertEquals(io.github.convsim.linalg.CpuIdentity.current().model(), arithmetic.get("cpu_model").asText());
        assertTrue(arithmetic.get("cpu_flags").isArray());
        assertTrue(arithmetic.get("openblas_version").asText().startsWith("OpenBLAS 0.3.31"), arithmetic.toString());
        assertEquals(io.github.convsim.linalg.OpenBlasIdentity.current().core(), arithmetic.get("openblas_core").asText());
        assertTrue(arithmetic.get("openblas_config").asText().contains("core="), arithmetic.toString());
        assertEquals(Runtime.getRuntime().availableProcessors(), arithmetic.get("threads").asInt());
        assertTrue(arithmetic.get("self_check").get("passed").asBoolean());
        assertEquals(30, arithmetic.get("self_check").get("cases").asInt());
        assertTrue(arithmetic.get("self_check").get("milliseconds").asDouble() > 0);
        assertTrue(arithmetic.get("self_check").get("worst_error_fraction_of_bound").asDouble() < 0.1);
        JsonNode guard = prov.get("resources").get("modules").get("query").get("solve_guard");
        assertTrue(guard.get("checks").asLong() >= 12 * 2, guard.toString());
        assertTrue(guard.get("worst_error_over_n_eps").asDouble() < 1, guard.toString());
        assertEquals(List.of("checks", "worst_error_over_n_eps", "bound_over_n_eps"), CliRunner.fieldNames(guard));
        // auto met the tests' deliberately wrong backend first, refused it after its self-check, and says so
        assertTrue(prov.get("backend_reason").asText().startsWith("cpu (perturbed-lu: OpenBLAS"),
                prov.get("backend_reason").asText());
        assertTrue(prov.get("backend_reason").asText().contains("failed convsim's arithmetic self-check"));
        assertTrue(Files.readString(report.resolve("report.md")).contains("self-check passed"));
        assertTrue(prov.get("timings_seconds").has("solve"));
        assertTrue(prov.get("timings_seconds").has("factor"));
        assertEquals(12, prov.at("/resources/modules/query/layers_per_group").asInt());
        assertTrue(prov.at("/resources/peak_rss_bytes").asLong() > 0);
    }

    @Test
    void eachModuleHasItsSpectraAndTheyAgreeWithCondW0() throws Exception {
        JsonNode s = new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        Table diag = Table.read().csv(report.resolve("diagnostics.csv").toFile());
        for (JsonNode m : s.get("modules")) {
            JsonNode sp = m.get("spectrum");
            assertEquals(0, sp.get("layer").asInt());
            JsonNode w0 = sp.get("w0_singular_values");
            assertEquals(768, w0.size());
            for (int k = 1; k < w0.size(); k++) {
                assertTrue(w0.get(k).asDouble() <= w0.get(k - 1).asDouble(), "descending");
            }
            double cond = diag.where(diag.stringColumn("module").isEqualTo(m.get("module").asText())
                    .and(diag.intColumn("layer").isEqualTo(0))).doubleColumn("cond_w0").get(0);
            assertEquals(cond, w0.get(0).asDouble() / w0.get(767).asDouble(), 1e-6 * cond,
                    "the spectrum's s_max / s_min is the cond(W0) of the diagnostics");
            assertEquals(8, sp.get("c_a_singular_values").size());
            assertEquals(8, sp.get("c_b_singular_values").size());
            assertTrue(Files.isRegularFile(report.resolve("figures/" + m.get("module").asText() + ".spectrum.png")));
        }
    }

    @Test
    void theHtmlReportIsSelfContainedAndLinksEveryFile() throws Exception {
        assertEquals(0, run.exit(), run.err());
        List<String> links = HtmlLinks.assertSelfContained(report);
        assertTrue(links.containsAll(List.of("similarity.csv", "diagnostics.csv", "summary.json", "report.md",
                "figures/value.A.left.i8-j8.png", "figures/value.A.left.i8-j8.w0.png",
                "figures/value.A.left.i8-j8.svg")), links.toString());
        String html = Files.readString(report.resolve("index.html"));
        assertTrue(html.contains("effect (W0 null sd)") && html.contains("p adjusted (holm)"), "verdict table");
        assertTrue(html.contains("<figcaption>W0 null: random A and B"), "captions");
    }

    @Test
    void aMapAndItsNullsShareOneFittedScaleAndMaskTheDiagonal() throws Exception {
        BufferedImage observed = ImageIO.read(report.resolve("figures/value.A.left.i8-j8.png").toFile());
        BufferedImage w0 = ImageIO.read(report.resolve("figures/value.A.left.i8-j8.w0.png").toFile());
        assertTrue(observed.getWidth() > 400 && observed.getHeight() > 400);
        int top = 0;
        int bottom = 0;
        for (BufferedImage img : List.of(observed, w0)) {
            int grey = 0;
            int plotRight = img.getWidth() - 120; // the colour bar's room
            for (int y = 0; y < img.getHeight(); y++) {
                for (int x = 0; x < plotRight; x++) {
                    Color c = new Color(img.getRGB(x, y));
                    grey += close(c, new Color(0xD9D9D9)) ? 1 : 0;
                    top += close(c, Viridis.at(1.0)) ? 1 : 0;
                    bottom += close(c, Viridis.at(0.0)) ? 1 : 0;
                }
            }
            // 12 masked diagonal cells of 44 x 44 pixels
            assertTrue(grey > 12 * 40 * 40, "masked diagonal: " + grey);
        }
        // one scale for the set, fitted to it: its largest off-diagonal value (here in the W0 null) and its smallest
        // (in the observed map) are cells at the two ends of the colour bar, not lost in the dark end of 0..1
        assertTrue(top > 1000 && bottom > 1000, "top " + top + ", bottom " + bottom);
    }

    private static boolean close(Color a, Color b) {
        return Math.abs(a.getRed() - b.getRed()) + Math.abs(a.getGreen() - b.getGreen())
                + Math.abs(a.getBlue() - b.getBlue()) < 12;
    }

    @Test
    void verdictsAreJudgedAsOneFamilyWithTheirStatistics() throws Exception {
        JsonNode s = new ObjectMapper().readTree(report.resolve("summary.json").toFile());
        JsonNode stats = s.get("statistics");
        assertEquals("holm", stats.get("correction").asText());
        assertEquals(4, stats.get("family_size").asInt(), "A and B of query and value; dW is B's duplicate");
        assertEquals(0.05, stats.get("alpha").asDouble());
        for (JsonNode h : s.get("heatmaps")) {
            String status = h.get("status").asText();
            switch (h.get("factor").asText()) {
                case "A", "B" -> {
                    assertEquals("tested", status, h.toString());
                    assertTrue(h.get("p_adjusted").asDouble() >= h.get("p_value").asDouble(), h.toString());
                    assertEquals(h.get("p_adjusted").asDouble() < 0.05 ? "yes" : "no",
                            h.get("exceeds_w0_null").asText());
                }
                case "dW" -> assertEquals("duplicate", status, h.toString());
                default -> assertEquals("control", status, h.toString());
            }
        }
        assertTrue(Files.readString(report.resolve("report.md")).contains("| p | p adjusted | exceeds W0 null |"));
    }

    @Test
    void aDirectoryConvsimDidNotWriteIsRefusedEvenWithForceAndKeptIntact(@TempDir Path own) throws Exception {
        Path thesis = own.resolve("thesis");
        Files.createDirectories(thesis);
        Files.writeString(thesis.resolve("chapter1.tex"), "years of work");
        for (String[] args : List.of(new String[] {"analyze", "--out", thesis.toString()},
                new String[] {"analyze", "--out", thesis.toString(), "--force"})) {
            CliRunner.Result r = CliRunner.run(args);
            assertEquals(4, r.exit(), r.err());
            assertTrue(r.err().contains("did not write (it has no .convsim-output marker)"), r.err());
        }
        assertEquals("years of work", Files.readString(thesis.resolve("chapter1.tex")));
        try (Stream<Path> s = Files.list(thesis)) {
            assertEquals(1, s.count());
        }
    }

    /** A list typed with spaces after its commas ("value, query") is the list without them. */
    @Test
    void listsMayHaveSpacesAfterTheirCommas(@TempDir Path own) throws Exception {
        Path out = own.resolve("spaced");
        CliRunner.Result r = CliRunner.run("analyze", "--out", out.toString(), "--modules", "value, query", "--factors",
                "A, B", "--nulls", "gaussian, analytic", "--controls", "none", "--format", "png, svg", "--draws", "2",
                "-q");
        assertEquals(0, r.exit(), r.err());
        JsonNode options = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("provenance")
                .get("options");
        assertEquals("[\"value\",\"query\"]", options.get("modules").toString());
        assertEquals("[\"A\",\"B\"]", options.get("factors").toString());
        assertTrue(Files.isRegularFile(out.resolve("figures/value.A.left.i8-j8.svg")));
    }

    @Test
    void rerunningOverItsOwnReportReplacesItWithoutForce(@TempDir Path own) throws Exception {
        Path first = own.resolve("rerun");
        assertEquals(0, CliRunner.run("analyze", "--out", first.toString(), "--draws", "2", "-q").exit());
        Files.writeString(first.resolve("stale.txt"), "from the first run");
        CliRunner.Result again = CliRunner.run("analyze", "--out", first.toString(), "--draws", "2", "-q");
        assertEquals(0, again.exit(), again.err());
        assertFalse(Files.exists(first.resolve("stale.txt")), "the earlier report was replaced as a whole");
        assertTrue(Files.isRegularFile(first.resolve(".convsim-output")));
    }
}
