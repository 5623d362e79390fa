package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.TestData;
import io.github.convsim.conversion.Factor;
import io.github.convsim.api.Analysis;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.MultipleTesting;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    @TempDir
    Path dir;

    /** Figures drawn module by module as the analysis goes are the files a writer draws at the end. */
    @Test
    void figuresDrawnModuleByModuleEqualThoseDrawnAtTheEnd() throws Exception {
        SimilaritySettings s = SimilaritySettings.paperDefaults();
        AnalysisOptions options = AnalysisOptions.defaults().withSimilarity(new SimilaritySettings(0, 0, s.sides(),
                s.factors(), Set.of(NullModel.GAUSSIAN, NullModel.W0), 3, 5, s.controls()));
        ReportWriter writer = new ReportWriter(Set.of("png", "svg"), MultipleTesting.Correction.HOLM);
        Path early = Files.createDirectories(dir.resolve("early"));
        List<String> drawn = new ArrayList<>();
        AnalysisResult result;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            result = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, null, m -> {
                try {
                    writer.writeFigures(m, early.resolve("figures"));
                    drawn.add(m.module());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        assertEquals(result.modules().stream().map(ModuleResult::module).toList(), drawn);
        writer.write(result, early, () -> Set.copyOf(drawn));
        Path late = Files.createDirectories(dir.resolve("late"));
        writer.write(result, late);
        Map<String, byte[]> a = files(early);
        Map<String, byte[]> b = files(late);
        assertEquals(b.keySet(), a.keySet());
        assertTrue(a.keySet().stream().filter(f -> f.startsWith("figures/")).count() >= 2 * 17 * 2, a.keySet().toString());
        for (String f : a.keySet()) {
            if (f.endsWith(".png")) {
                assertArrayEquals(b.get(f), a.get(f), f);
            }
        }
    }

    /**
     * Each figure of report.md sits under the head that names what it shows, and the panel's sentence lists the panels
     * it has, whichever nulls were drawn (the heads were once fixed, putting a W0 null under "Gaussian null"); the
     * opening names the nulls drawn, and without a W0 null the verdicts' family says that nothing is tested (it once
     * read "from the null's K draws ... 0 of 0 do").
     */
    @Test
    void figureHeadsNameWhatTheFiguresBelowThemShow() throws Exception {
        for (Set<NullModel> nulls : List.of(Set.of(NullModel.W0), Set.of(NullModel.GAUSSIAN),
                Set.of(NullModel.GAUSSIAN, NullModel.W0))) {
            SimilaritySettings s = SimilaritySettings.paperDefaults();
            AnalysisOptions options = AnalysisOptions.defaults().withModules(List.of("value"))
                    .withSimilarity(new SimilaritySettings(0, 0, s.sides(), s.factors(), nulls, 3, 5, s.controls()));
            AnalysisResult result;
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
                 Backends.Choice cpu = Backends.select("cpu")) {
                result = Analysis.run(ckpt, options, cpu, ProgressListener.NONE);
            }
            Path out = Files.createDirectories(dir.resolve(nulls.stream().map(Enum::name).sorted()
                    .collect(Collectors.joining("-"))));
            new ReportWriter(Set.of("png"), MultipleTesting.Correction.HOLM).write(result, out);
            List<String> md = Files.readAllLines(out.resolve("report.md"));
            int tables = 0;
            for (int k = 0; k < md.size(); k++) {
                if (!md.get(k).startsWith("| observed")) {
                    continue;
                }
                tables++;
                List<String> heads = cells(md.get(k));
                List<String> images = cells(md.get(k + 2));
                assertEquals(heads.size(), images.size(), md.get(k) + " over " + md.get(k + 2));
                for (int c = 0; c < heads.size(); c++) {
                    String stem = images.get(c).replaceAll("^!\\[([^]]+)].*$", "$1");
                    String expected = stem.endsWith(".w0") ? "W0 null" : stem.endsWith(".gaussian") ? "Gaussian null"
                            : "observed";
                    assertEquals(expected, heads.get(c), images.get(c));
                    assertTrue(Files.exists(out.resolve("figures/" + stem + ".png")), stem);
                }
                boolean control = md.get(k - 2).endsWith("(control)");
                int expectedFigures = 1 + (nulls.contains(NullModel.GAUSSIAN) ? 1 : 0)
                        + (nulls.contains(NullModel.W0) && !control ? 1 : 0);
                assertEquals(expectedFigures, heads.size(), md.get(k - 2) + ": " + md.get(k));
            }
            assertEquals(5, tables, "C_A, C_B, C_dW and two controls");
            String text = String.join("\n", md);
            String html = Files.readString(out.resolve("index.html"));
            assertTrue(html.contains("Each map beside the mean of its nulls' draws"), nulls.toString());
            if (nulls.contains(NullModel.GAUSSIAN)) {
                assertFalse(text.contains("For a paper, observed | W0 null on"), nulls.toString());
            } else {
                assertFalse(text.contains("Gaussian null |"), nulls.toString());
                assertFalse(html.contains("observed | Gaussian null"), nulls.toString());
            }
            assertEquals(nulls.contains(NullModel.W0) ? 3 : 0, text.split("For a paper, ", -1).length - 1,
                    nulls.toString());
            // the opening and the verdicts' family say what was drawn
            assertEquals(nulls.size() == 2, text.contains("beside its Gaussian null (the paper's baseline) and the W0"
                    + " null"), nulls.toString());
            assertEquals(!nulls.contains(NullModel.W0), text.contains("the W0 null was not drawn"), nulls.toString());
            assertEquals(!nulls.contains(NullModel.GAUSSIAN), text.contains("the Gaussian null was not drawn"),
                    nulls.toString());
            assertEquals(nulls.contains(NullModel.W0), text.contains("from the null's 3 draws"), nulls.toString());
            assertEquals(!nulls.contains(NullModel.W0), text.contains("No map is tested: a verdict weighs a map"
                    + " against the W0 null, and this analysis drew none"), nulls.toString());
        }
    }

    /** The cells of one row of a Markdown table. */
    private static List<String> cells(String row) {
        return Stream.of(row.substring(1, row.length() - 1).split("\\|")).map(String::strip).toList();
    }

    /**
     * Right singular vectors at i = j = r span the whole r-dimensional space, so phi is 1 in every cell of the map and
     * of its nulls, which differ only by rounding. Such a map gets no effect size and no p-value against either null
     * (summary.json gave the demo's value C_B right an effect of 1.87 sd and a Gaussian p of 0.0), "n/a" in the
     * report's effect column, and no z-map in its panel (one had cells up to z = 4.2, drawn red as if those layers were
     * more alike than W0 makes them). The left side, tested, keeps all of them.
     */
    @Test
    void aMapThatIsOneByConstructionHasNoEffectSizeNoPValueAndNoZMap() throws Exception {
        AnalysisOptions options = AnalysisOptions.defaults().withModules(List.of("value")).withSimilarity(
                new SimilaritySettings(0, 0, List.of(Side.LEFT, Side.RIGHT), List.of(Factor.A, Factor.B),
                        Set.of(NullModel.GAUSSIAN, NullModel.W0), 4, 5, Set.of()));
        AnalysisResult result;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            result = Analysis.run(ckpt, options, cpu, ProgressListener.NONE);
        }
        Heatmap right = result.module("value").heatmap("C_B", Side.RIGHT).orElseThrow();
        Heatmap left = result.module("value").heatmap("C_B", Side.LEFT).orElseThrow();
        assertTrue(right.spansWholeSpace());
        assertFalse(left.spansWholeSpace());
        assertEquals(1.0, right.average(), 1e-12);
        assertEquals(1.0, right.w0().averageMean(), 1e-12);
        assertFalse(Figures.hasZMap(right));
        assertEquals(3, Figures.panel(right, false).panels().size(), "observed, Gaussian null, W0 null: no z-map");
        assertEquals(4, Figures.panel(left, false).panels().size(), "observed, Gaussian null, W0 null, z-map");

        Path out = Files.createDirectories(dir.resolve("report"));
        new ReportWriter(Set.of("png"), MultipleTesting.Correction.HOLM).write(result, out);
        JsonNode maps = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("heatmaps");
        int checked = 0;
        for (JsonNode m : maps) {
            if (!m.get("module").asText().equals("value") || !m.get("factor").asText().equals("B")) {
                continue;
            }
            boolean whole = m.get("side").asText().equals("right");
            for (String nullName : List.of("gaussian", "w0")) {
                JsonNode n = m.get(nullName);
                assertEquals(4, n.get("draws").asInt(), nullName);
                assertTrue(n.get("mean").isNumber(), nullName + ": the null's own spread is still reported");
                for (String stat : List.of("p_value", "p_value_monte_carlo", "effect_size")) {
                    assertEquals(whole, n.get(stat).isNull(), m.get("side") + " " + nullName + "." + stat + ": " + n);
                }
            }
            assertEquals(whole, m.get("effect_size_vs_w0").isNull(), m.toString());
            assertEquals(whole ? "degenerate" : "tested", m.get("status").asText());
            checked++;
        }
        assertEquals(2, checked, "C_B left and right");

        String md = Files.readString(out.resolve("report.md"));
        List<String> row = md.lines().filter(l -> l.startsWith("| value | C_B | right |")).map(ReportWriterTest::cells)
                .findFirst().orElseThrow();
        assertEquals("n/a", row.get(9), "the effect column: " + row);
        assertTrue(md.contains("For a paper, observed | Gaussian null | W0 null on one scale (no z-map: phi is 1 by"
                + " construction"), md);
        assertTrue(md.contains("For a paper, observed | Gaussian null | W0 null on one scale and the z-map against the"
                + " W0 null: ![panel](figures/value.B.left"), md);
        assertTrue(Files.readString(out.resolve("index.html")).contains("(no z-map: phi is 1 by construction"));
    }

    /**
     * Least squares through a wide W0 (tiny-llama's grouped-query k_proj, 16 x 64) puts C_B = W0^+ B in W0's
     * 16-dimensional row space, which r = 16 singular vectors span whole: the map is W0's alone, every W0-null draw
     * gives it to rounding. It was tested anyway (analyze: "effect 0.2 sd; p = 0.405", compare: p = 0.972, both from
     * rounding); now neither gives it a verdict, effect, p or z-map. At r = 4, where B chooses which 4 dimensions of
     * the row space C_B takes, it is tested as before.
     */
    @Test
    void aMapThatIsW0sAloneByConstructionHasNoVerdict() throws Exception {
        for (int rank : new int[] {16, 4}) {
            var written = io.github.convsim.synth.SyntheticCheckpoint.write(io.github.convsim.synth.ModelShape.TINY,
                    new io.github.convsim.synth.SyntheticCheckpoint.Options(5, rank, 2 * rank, List.of("k_proj"),
                            1L << 30, 1), Files.createDirectories(dir.resolve("tiny-r" + rank)), ProgressListener.NONE);
            AnalysisOptions options = AnalysisOptions.builder().similarity(SimilaritySettings.builder().draws(4)
                    .build()).build();
            boolean byW0 = rank == 16;
            AnalysisResult result;
            AnalysisResult gaussianOnly;
            io.github.convsim.results.ComparisonResult compared;
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(written.adapter(), written.base());
                 Backends.Choice cpu = Backends.select("cpu")) {
                result = Analysis.run(ckpt, options, cpu, ProgressListener.NONE);
                gaussianOnly = Analysis.run(ckpt, AnalysisOptions.builder().similarity(SimilaritySettings.builder()
                        .nulls(io.github.convsim.similarity.NullModel.GAUSSIAN).draws(4).build()).build(), cpu,
                        ProgressListener.NONE);
                compared = io.github.convsim.api.Comparison.run(List.of(written.adapter(), written.adapter()),
                        written.base(), options, cpu, ProgressListener.NONE);
            }
            // without the W0 null the shapes say the same: W0's row spaces are not tested against the Gaussian
            // baseline (the sentence was "Not above the Gaussian baseline (p = 0.575, ...)")
            Heatmap gb = gaussianOnly.module("k_proj").heatmap("C_B", Side.LEFT).orElseThrow();
            assertNull(gb.w0());
            io.github.convsim.similarity.MapVerdict gv = Verdicts.of(gaussianOnly, MultipleTesting.Correction.HOLM)
                    .stream().filter(x -> x.map() == gb).findFirst().orElseThrow();
            assertEquals(byW0 ? io.github.convsim.similarity.MapVerdict.Status.DEGENERATE
                    : io.github.convsim.similarity.MapVerdict.Status.NO_NULL, gv.status());
            assertEquals(!byW0, gv.gaussian() != null, "rank " + rank);
            Heatmap cb = result.module("k_proj").heatmap("C_B", Side.LEFT).orElseThrow();
            assertEquals(64, cb.dimension());
            assertFalse(cb.spansWholeSpace(), "C_B lives in R^64");
            assertEquals(byW0, cb.determinedByW0(), "rank " + rank);
            assertEquals(byW0, cb.degenerate(), "rank " + rank);
            if (byW0) {
                assertEquals(cb.w0().averageMean(), cb.average(), 1e-12, "the map is every W0-null draw's");
            }
            assertEquals(!byW0, Figures.hasZMap(cb));
            io.github.convsim.similarity.MapVerdict v = Verdicts.of(result, MultipleTesting.Correction.HOLM).stream()
                    .filter(x -> x.map() == cb).findFirst().orElseThrow();
            assertEquals(byW0 ? io.github.convsim.similarity.MapVerdict.Status.DEGENERATE
                    : io.github.convsim.similarity.MapVerdict.Status.TESTED, v.status());
            // known from the shapes; the W0 null agrees (every draw gives the map to rounding)
            assertEquals(byW0, Verdicts.interpretation(v).contains("No verdict: the map is W0's alone by construction:"
                    + " the solve uses at most 16 of W0's singular directions (its rank through a non-square W0, or"
                    + " those above the lstsq or pinv cut-off: diagnostics.csv's solution_rank), so every layer's C_B"
                    + " lies in the 16-dimensional subspace they span, which i = 16 and j = 16 singular vectors span"
                    + " whole."), v.toString());
            assertEquals(byW0, cb.w0().hasNoSpread());
            assertEquals(byW0, cb.spansW0Subspace());

            Path out = Files.createDirectories(dir.resolve("report-r" + rank));
            new ReportWriter(Set.of("png"), MultipleTesting.Correction.HOLM).write(result, out);
            JsonNode maps = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("heatmaps");
            JsonNode m = java.util.stream.StreamSupport.stream(maps.spliterator(), false).filter(x -> x.get("factor")
                    .asText().equals("B") && x.get("side").asText().equals("left")).findFirst().orElseThrow();
            assertEquals(byW0 ? "degenerate" : "tested", m.get("status").asText());
            assertEquals(byW0, m.get("w0").get("p_value").isNull(), m.toString());
            assertEquals(byW0, m.get("effect_size_vs_w0").isNull(), m.toString());
            String md = Files.readString(out.resolve("report.md"));
            assertEquals(byW0, md.contains("on one scale (no z-map: the map is W0's alone by construction, so it and"
                    + " its W0 null differ by rounding only)"), md);
            // the diagnostics flag C_A's overdetermined equation once for the module, and why; C_B's (W0 C_B = B,
            // underdetermined) is solved exactly and not flagged (it was one line per layer, "relative residual 8.70e-01
            // (lstsq mode): the conversion matrices do not solve their equations exactly")
            String flags = md.substring(md.indexOf("## Diagnostics worth a look"), md.indexOf("All layers:"));
            List<String> lines = flags.lines().filter(l -> l.startsWith("- ")).toList();
            assertEquals(1, lines.size(), flags);
            assertTrue(lines.get(0).startsWith("- k_proj C_A: W0^T C_A = A^T leaves a relative residual of "), flags);
            assertTrue(lines.get(0).endsWith(" in all 4 layers (lstsq mode): W0 is 16x64, so W0^T C_A = A^T has more"
                    + " equations than unknowns and C_A is its least-squares fit, which reproduces only the part of A^T"
                    + " in the range of W0^T"), flags);

            ComparisonVerdicts.Judgement j = ComparisonVerdicts.judge(compared, MultipleTesting.Correction.HOLM)
                    .stream().filter(x -> x.map().subject().equals("C_B")).findFirst().orElseThrow();
            assertEquals(byW0 ? "degenerate" : "tested", j.status(), j.reason());
            assertEquals(byW0, j.overall() == null);
        }
    }

    /**
     * The authors' fp32 leaves residuals of 1e-4 to 1e-3 on the demo's value module (cond(W0) up to 8.1e3): one flag per
     * conversion matrix, saying it is fp32's rounding grown by cond(W0), not that an exact solve failed.
     */
    @Test
    void fp32ResidualsAreFlaggedOncePerMatrixWithTheirCause() throws Exception {
        AnalysisOptions options = AnalysisOptions.defaults().withModules(List.of("value"))
                .withPrecision(io.github.convsim.linalg.Precision.FP32).withSimilarity(SimilaritySettings.builder()
                        .nulls(NullModel.ANALYTIC).controls().build());
        AnalysisResult result;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            result = Analysis.run(ckpt, options, cpu, ProgressListener.NONE);
        }
        double worst = result.module("value").diagnostics().stream().mapToDouble(d -> d.condW0()).max().orElseThrow();
        List<String> residuals = MarkdownReport.flags(result).stream().filter(f -> f.contains("residual")).toList();
        assertEquals(3, residuals.size(), residuals.toString());
        for (String f : residuals) {
            assertTrue(f.startsWith("value C_"), f);
            assertTrue(f.contains("in all 12 layers (paper mode): in fp32 a solve's residual grows with cond(W0) from"
                    + " fp32's rounding of 6e-8, and cond(W0) is up to " + String.format(java.util.Locale.ROOT, "%.2g",
                    worst) + " here"), f);
        }
        // in fp64 the paper's solve leaves nothing to flag; ridge (lambda 1e-3) leaves 0.1 to 0.2, and says why
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            AnalysisOptions fp64 = options.withPrecision(io.github.convsim.linalg.Precision.FP64);
            assertEquals(List.of(), MarkdownReport.flags(Analysis.run(ckpt, fp64, cpu, ProgressListener.NONE))
                    .stream().filter(f -> f.contains("residual")).toList());
            List<String> ridge = MarkdownReport.flags(Analysis.run(ckpt, fp64.withMode(
                    io.github.convsim.conversion.SolveMode.RIDGE), cpu, ProgressListener.NONE)).stream()
                    .filter(f -> f.contains("residual")).toList();
            assertEquals(3, ridge.size(), ridge.toString());
            ridge.forEach(f -> assertTrue(f.endsWith(" in all 12 layers (ridge mode): ridge shrinks W0's weak"
                    + " directions, so no layer's equation is solved exactly"), f));
        }
    }

    private static Map<String, byte[]> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            Map<String, byte[]> out = new TreeMap<>();
            for (Path p : s.filter(Files::isRegularFile).collect(Collectors.toList())) {
                out.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
            return out;
        }
    }
}
