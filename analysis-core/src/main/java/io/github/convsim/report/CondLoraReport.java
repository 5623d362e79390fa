package io.github.convsim.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.condlora.CondLoraFit;
import io.github.convsim.condlora.LayerFit;
import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.condlora.R2Null;
import io.github.convsim.condlora.SharedLayerPlants;
import io.github.convsim.results.Provenance;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.PowerCurve;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** The report of a CondLoRA fit: fit.csv per layer, summary.json with nulls and provenance, R^2 charts, report.md. */
public final class CondLoraReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private static final String TESTS_SENTENCE = "Each of R^2 of A, R^2 of B and the relative error of dW is tested"
            + " against both nulls' draws fitted as log-normal (one-sided predictive t-tests); p is the larger of the"
            + " two, and is adjusted by Holm over every module's three tests. A part is beyond both nulls when its"
            + " adjusted p is below 0.05. Power: with the adapter, " + SharedLayerPlants.REPETITIONS + " planted"
            + " adapters per noise level that do share one layer (A_l^T = W0_l Ma + noise, B_l = W0_l Mb + noise, the"
            + " noise " + noiseRange() + " times the shared part's size) are fitted and tested against the same nulls at"
            + " p below 0.05 over the family size; a 'no more than unrelated targets give' names the largest noise up to"
            + " which at least 80 % of them are detected: a shared layer that strong is ruled out, a weaker one is not.";

    private CondLoraReport() {}

    /**
     * Writes the report of {@code fits}; {@code notFitted} names each module of the adapter left out and why
     * ({@link CondLoraFit#unfittable}), said in report.md, index.html and summary.json.
     */
    public static void write(List<ModuleFit> fits, Map<String, String> notFitted, Provenance provenance, Path dir)
            throws IOException {
        Path figures = Files.createDirectories(dir.resolve("figures"));
        table(fits).write().csv(dir.resolve("fit.csv").toFile());
        List<CondLoraVerdicts.Test> tests = CondLoraVerdicts.judge(fits, Correction.HOLM);
        List<String> verdicts = verdicts(fits, tests);
        JSON.writeValue(dir.resolve("summary.json").toFile(), summary(fits, notFitted, tests, verdicts, provenance));
        StringBuilder md = new StringBuilder("# CondLoRA fit\n\nFor each module, one linear layer shared by all"
                + " layers (A_l = Wa W0_l^T, B_l = W0_l Wb^T) fitted by stacked least squares to the adapter's factors."
                + " R^2 = 1 - ||fit - target||^2 / ||target||^2.\n\n**Read R^2 against the nulls.** With a square,"
                + " full-rank W0, a shared map can reproduce any targets of one layer exactly, so on L unrelated layers"
                + " it still reaches about 1/L (in / (L out) through a W0 of out x in, the chance column): that much"
                + " R^2 is no evidence of shared structure. Where W0 is not square (grouped-query attention's k and v),"
                + " A_l = Wa W0_l^T has no fit and only B is fitted.\n\n"
                + TESTS_SENTENCE + "\n\n");
        MarkdownReport.notes(md, provenance.checkpointNotes());
        md.append("| module | layers | R^2 A | R^2 B | dW error | chance | Gaussian targets: R^2 A [95 %] |"
                + " shuffled layers: R^2 A [95 %] | shuffled: R^2 B [95 %] |\n|---|---|---|---|---|---|---|---|---|\n");
        for (ModuleFit f : fits) {
            md.append(String.format(Locale.ROOT, "| %s | %d | %s | %s | %s | %.4f | %s | %s | %s |%n",
                    f.module(), f.perLayer().size(), value(f.r2A()), value(f.r2B()), value(f.dwError()), f.chanceR2(),
                    interval(f.gaussian().r2A()), interval(f.shuffled().r2A()), interval(f.shuffled().r2B())));
        }
        md.append('\n');
        if (!notFitted.isEmpty()) {
            md.append(notFittedSentence(notFitted)).append("\n\n");
        }
        for (int k = 0; k < fits.size(); k++) {
            ModuleFit f = fits.get(k);
            XYChart chart = chart(f);
            String stem = "condlora." + f.module() + ".r2";
            PngWriter.write(chart, figures.resolve(stem + ".png"));
            md.append("- ").append(f.module()).append(": ").append(verdicts.get(k)).append('\n');
            md.append("\n![").append(stem).append("](figures/").append(stem).append(".png)\n\n");
        }
        md.append(MarkdownProvenance.of(provenance));
        Files.writeString(dir.resolve("report.md"), md.toString(), StandardCharsets.UTF_8);
        html(fits, verdicts, notFitted, provenance, dir);
    }

    /** "Not fitted: k_proj (W0 is 16x64 ...); v_proj (...)." */
    public static String notFittedSentence(Map<String, String> notFitted) {
        return "Not fitted: " + CondLoraFit.describe(notFitted) + ".";
    }

    /** index.html: the fits beside their nulls, the verdicts, the charts with captions, every file, provenance. */
    static void html(List<ModuleFit> fits, List<String> verdicts, Map<String, String> notFitted, Provenance provenance,
                     Path dir) throws IOException {
        HtmlPage page = new HtmlPage("convsim condlora fit");
        page.paragraph("For each module, one linear layer shared by all layers (A_l = Wa W0_l^T, B_l = W0_l Wb^T)"
                + " fitted by stacked least squares to the adapter's factors; R^2 = 1 - ||fit - target||^2 /"
                + " ||target||^2. Read R^2 against the nulls: with a square, full-rank W0 a shared map reaches about"
                + " 1/L on L unrelated layers (in / (L out) through a W0 of out x in, the chance column). Where W0 is"
                + " not square (grouped-query attention's k and v) only B is fitted.");
        page.notes(provenance.checkpointNotes());
        List<List<String>> rows = new ArrayList<>();
        for (ModuleFit f : fits) {
            rows.add(List.of(f.module(), String.valueOf(f.perLayer().size()), value(f.r2A()),
                    interval(f.gaussian().r2A()), interval(f.shuffled().r2A()),
                    value(f.r2B()), interval(f.gaussian().r2B()),
                    interval(f.shuffled().r2B()), value(f.dwError()),
                    String.format(Locale.ROOT, "%.4f", f.chanceR2())));
        }
        page.heading("Fits").table(List.of("module", "layers", "R^2 A", "Gaussian targets [95 %]",
                "shuffled layers [95 %]", "R^2 B", "Gaussian targets [95 %]", "shuffled layers [95 %]",
                "dW relative error", "chance"), rows, 1);
        if (!notFitted.isEmpty()) {
            page.paragraph(notFittedSentence(notFitted));
        }
        page.heading("Verdicts").paragraph(TESTS_SENTENCE).list(java.util.stream.IntStream.range(0, fits.size())
                .mapToObj(k -> fits.get(k).module() + ": " + verdicts.get(k)).toList());
        page.heading("Figures");
        page.figures(fits.stream().map(f -> "figures/condlora." + f.module() + ".r2.png").toList(),
                fits.stream().map(f -> f.module() + ": R^2 of A and B per layer, beside the nulls' intervals")
                        .toList());
        page.files(dir).provenance(provenance).write(dir.resolve("index.html"));
    }

    /**
     * The verdicts on every module's A, B and dW, judged as one family ({@link CondLoraVerdicts}, Holm): one sentence
     * per module, in order, each part naming how much the shared layer explains, what it explains of unrelated
     * targets with the 95 % interval, and the test's p and adjusted p.
     */
    public static List<String> verdicts(List<ModuleFit> fits) {
        return verdicts(fits, CondLoraVerdicts.judge(fits, Correction.HOLM));
    }

    private static List<String> verdicts(List<ModuleFit> fits, List<CondLoraVerdicts.Test> tests) {
        return fits.stream().map(f -> verdict(f, CondLoraVerdicts.of(tests, f.module()))).toList();
    }

    /** One module's fit judged alone (its A, B and dW the family): for a notebook. */
    public static String verdict(ModuleFit f) {
        return verdicts(List.of(f)).get(0);
    }

    private static String verdict(ModuleFit f, List<CondLoraVerdicts.Test> tests) {
        if (f.fitsAnyTargets()) {
            io.github.convsim.model.LoraModule first = f.layers().get(0);
            return String.format(Locale.ROOT, (f.aNotFitted() == null ? "" : "It fits B alone (W0 is not square). ")
                    + "It fits any targets exactly: its %d stacked W0 have %d rows, no more than"
                    + " the %d unknowns of each column of the shared layer, so R^2 is 1 for the adapter and every null"
                    + " alike and there is no test.", f.layers().size(), (long) f.layers().size() * first.out(),
                    first.in());
        }
        if (f.aNotFitted() != null) {
            return "It fits B alone: " + f.aNotFitted().replace(" (B_l = W0_l Wb^T is fitted alone)", "") + ", so A and"
                    + " dW have no fit and no test. " + part("B", f.r2B(), f.gaussian().r2B(), f.shuffled().r2B(), true,
                    tests.get(1));
        }
        return String.join(" ", part("A", f.r2A(), f.gaussian().r2A(), f.shuffled().r2A(), true, tests.get(0)),
                part("B", f.r2B(), f.gaussian().r2B(), f.shuffled().r2B(), true, tests.get(1)),
                part("dW", f.dwError(), f.gaussian().dwError(), f.shuffled().dwError(), false, tests.get(2)));
    }

    private static String part(String factor, double observed, double[] gaussian, double[] shuffled,
                               boolean higherIsBetter, CondLoraVerdicts.Test test) {
        if (Double.isNaN(observed)) {
            return "It has nothing to fit in " + factor + ": " + factor + (factor.equals("dW") ? " = B A" : "")
                    + " is zero in every layer (an untrained adapter), so no test.";
        }
        String what = higherIsBetter ? "explains " + pct(observed) + " of " + factor
                : "reproduces " + factor + " with relative error " + pct(observed);
        String nulls = String.format(Locale.ROOT, "against %s for shuffled layers [%s, %s] and %s for Gaussian targets"
                + " [%s, %s]", pct(R2Null.mean(shuffled)), pct(R2Null.lo(shuffled)), pct(R2Null.hi(shuffled)),
                pct(R2Null.mean(gaussian)), pct(R2Null.lo(gaussian)), pct(R2Null.hi(gaussian)));
        double nearest = CondLoraVerdicts.closerNullMean(gaussian, shuffled, higherIsBetter);
        double excess = higherIsBetter ? observed - nearest : nearest - observed;
        String p = Verdicts.pIs(test.p()) + " against both nulls, "
                + Verdicts.adjusted(test.correction(), test.familySize(), "tests", test.pAdjusted());
        String judgement;
        if (!test.beyond()) {
            judgement = "no more than unrelated targets give (" + p + "); " + powerClause(factor, higherIsBetter,
                    test.power());
        } else if (excess < 0.05) {
            judgement = String.format(Locale.ROOT, "beyond both nulls, by a small margin (%.1f points beyond the closer"
                    + " null; %s)", 100 * excess, p);
        } else {
            judgement = String.format(Locale.ROOT, "well beyond both nulls (%.1f points; %s)", 100 * excess, p);
        }
        String undecided = test.decided() ? "" : Verdicts.undecided("the nulls'", Math.min(gaussian.length,
                shuffled.length), test.pLow(), test.pHigh());
        return "It " + what + " " + nulls + ": " + judgement + "." + undecided;
    }

    /** What a 'no more than' rules out: the strongest shared layer the test detects, from the plants. */
    static String powerClause(String factor, boolean higherIsBetter, PowerCurve.Detectable power) {
        if (power == null) {
            return "its power was not estimated, so this says no shared layer was detected, not that there is none";
        }
        if (power.none()) {
            return String.format(Locale.ROOT, "even a layer shared by all layers with noise %s of its size is"
                    + " detected in %s, so this rules out nothing", Verdicts.noise(SharedLayerPlants.NOISE[0]),
                    Verdicts.detected(power));
        }
        String largest = Verdicts.largestPlanted(power.noise(), SharedLayerPlants.NOISE);
        String reached = higherIsBetter ? "explaining " + pct(power.plantMean()) + " of " + factor
                : "reproducing " + factor + " with relative error " + pct(power.plantMean());
        return String.format(Locale.ROOT, "it detects a layer shared by all layers up to noise %s of its size%s"
                + " (plants %s) in %s, so this rules out a shared layer that strong",
                Verdicts.noise(power.noise()), largest, reached, Verdicts.detected(power));
    }

    private static String noiseRange() {
        double[] grid = SharedLayerPlants.NOISE;
        return Verdicts.noise(grid[0]) + " to " + Verdicts.noise(grid[grid.length - 1]);
    }

    private static String pct(double v) {
        return String.format(Locale.ROOT, "%.1f %%", 100 * v);
    }

    /** A fit's R^2 or error to 4 decimals; "n/a" where undefined (a factor zero in every layer). */
    public static String value(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String interval(double[] v) {
        if (Double.isNaN(R2Null.mean(v))) {
            return "n/a";
        }
        return String.format(Locale.ROOT, "%.4f [%.4f, %.4f]", R2Null.mean(v), R2Null.lo(v), R2Null.hi(v));
    }

    public static Table table(List<ModuleFit> fits) {
        StringColumn module = StringColumn.create("module");
        IntColumn layer = IntColumn.create("layer");
        DoubleColumn r2A = DoubleColumn.create("r2_A");
        DoubleColumn r2B = DoubleColumn.create("r2_B");
        DoubleColumn dw = DoubleColumn.create("dW_relative_error");
        for (ModuleFit f : fits) {
            for (LayerFit l : f.perLayer()) {
                module.append(f.module());
                layer.append(l.layer());
                r2A.append(l.r2A());
                r2B.append(l.r2B());
                dw.append(l.dwError());
            }
        }
        return Table.create("fit", module, layer, r2A, r2B, dw);
    }

    private static Map<String, Object> summary(List<ModuleFit> fits, Map<String, String> notFitted,
                                               List<CondLoraVerdicts.Test> tests, List<String> verdicts,
                                               Provenance provenance) {
        Map<String, Object> root = new LinkedHashMap<>();
        List<Map<String, Object>> modules = new ArrayList<>();
        for (int k = 0; k < fits.size(); k++) {
            ModuleFit f = fits.get(k);
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("module", f.module());
            m.put("layers", f.perLayer().size());
            m.put("rank", f.wb().rows());
            m.put("parameters_shared", (f.wa() == null ? 1L : 2L) * f.wb().rows() * f.wb().cols());
            m.put("a_not_fitted", f.aNotFitted());
            m.put("parameters_lora", f.layers().stream().mapToLong(l -> (long) l.rank() * (l.in() + l.out())).sum());
            m.put("ridge", f.ridge());
            m.put("r2_A", ReportWriter.finite(f.r2A()));
            m.put("r2_B", ReportWriter.finite(f.r2B()));
            m.put("dW_relative_error", ReportWriter.finite(f.dwError()));
            m.put("chance_r2", f.chanceR2());
            m.put("gaussian_null", nul(f.gaussian()));
            m.put("shuffled_null", nul(f.shuffled()));
            List<Map<String, Object>> judged = new ArrayList<>();
            for (CondLoraVerdicts.Test t : CondLoraVerdicts.of(tests, f.module())) {
                Map<String, Object> j = new LinkedHashMap<>();
                j.put("statistic", t.factor().equals("dW") ? "dW_relative_error" : "r2_" + t.factor());
                boolean undefined = Double.isNaN(t.observed());
                j.put("observed", ReportWriter.finite(t.observed()));
                j.put("p_gaussian_null", ReportWriter.finite(t.pGaussian()));
                j.put("p_shuffled_null", ReportWriter.finite(t.pShuffled()));
                j.put("p_value", ReportWriter.finite(t.p()));
                j.put("p_adjusted", ReportWriter.finite(t.pAdjusted()));
                j.put("p_value_resampled_99", ReportWriter.pRange(t.pLow(), t.pHigh()));
                // a factor zero in every layer has nothing to fit: no test
                j.put("beyond_both_nulls", undefined ? "n/a" : t.beyond() ? "yes" : "no");
                j.put("decided_by_draws", undefined ? null : t.decided());
                if (t.power() != null && !undefined) {
                    j.put("power", ReportWriter.power(t.power(), "planted_" + j.get("statistic")));
                }
                judged.add(j);
            }
            m.put("tests", judged);
            m.put("verdict", verdicts.get(k));
            modules.add(m);
        }
        root.put("modules", modules);
        root.put("not_fitted", notFitted);
        Map<String, Object> stats = new LinkedHashMap<>();
        stats.put("test", "R^2 of A and B (upper tail) and dW's relative error (lower tail) against each null's draws"
                + " fitted as log-normal, one-sided predictive t-test; p is the larger of the two nulls' p");
        stats.put("family", "A, B and dW of every module");
        stats.put("family_size", tests.isEmpty() ? 0 : tests.get(0).familySize());
        stats.put("correction", Correction.HOLM.label());
        stats.put("alpha", MapVerdict.ALPHA);
        stats.put("power", "per test, the largest relative noise up to which at least 80 % of "
                + SharedLayerPlants.REPETITIONS + " planted adapters sharing one layer (noise " + noiseRange()
                + " times the shared part) beat both nulls at p below alpha / family size, and the plants' mean"
                + " statistic there");
        root.put("statistics", stats);
        root.put("provenance", provenance.asMap());
        return root;
    }

    private static Map<String, Object> nul(R2Null n) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("draws", n.r2A().length);
        m.put("r2_A", summaryOf(n.r2A()));
        m.put("r2_B", summaryOf(n.r2B()));
        m.put("dW_relative_error", summaryOf(n.dwError()));
        return m;
    }

    private static Map<String, Object> summaryOf(double[] draws) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mean", ReportWriter.finite(R2Null.mean(draws)));
        m.put("lo", ReportWriter.finite(R2Null.lo(draws)));
        m.put("hi", ReportWriter.finite(R2Null.hi(draws)));
        return m;
    }

    /** The chart of one module's fit (R^2 per layer beside the nulls), as an image for a notebook. */
    public static java.awt.image.BufferedImage figure(ModuleFit f) {
        return BitmapEncoder.getBufferedImage(chart(f));
    }

    /**
     * R^2 of A and B per layer, and for each the upper end of the nulls' 95 % intervals (the larger of Gaussian
     * targets and shuffled layers: above it, a layer is explained better than unrelated targets would be), on a
     * y-range fitted to these values so that their difference shows; the legend below the plot.
     */
    private static XYChart chart(ModuleFit f) {
        XYChart chart = new XYChartBuilder().width(760).height(500)
                .title(f.module() + ": R^2 of one shared linear layer, per layer").xAxisTitle("layer")
                .yAxisTitle("R^2").build();
        var st = chart.getStyler();
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        st.setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        double[] x = f.perLayer().stream().mapToDouble(LayerFit::layer).toArray();
        double[] r2a = f.perLayer().stream().mapToDouble(LayerFit::r2A).toArray();
        double[] r2b = f.perLayer().stream().mapToDouble(LayerFit::r2B).toArray();
        double nullA = Math.max(R2Null.hi(f.shuffled().r2A()), R2Null.hi(f.gaussian().r2A()));
        double nullB = Math.max(R2Null.hi(f.shuffled().r2B()), R2Null.hi(f.gaussian().r2B()));
        Color colourA = Viridis.at(0.2);
        Color colourB = Viridis.at(0.65);
        line(chart, "A", x, r2a, colourA, SeriesMarkers.CIRCLE, null);
        line(chart, "B", x, r2b, colourB, SeriesMarkers.DIAMOND, null);
        BasicStroke dashed = new BasicStroke(1.4f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
                new float[] {6, 4}, 0);
        line(chart, "nulls' 95 % bound of the overall R^2, A", x, constant(nullA, x.length), colourA,
                SeriesMarkers.NONE, dashed);
        line(chart, "nulls' 95 % bound of the overall R^2, B", x, constant(nullB, x.length), colourB,
                SeriesMarkers.NONE, dashed);
        double[] shown = {nullA, nullB, min(r2a), min(r2b), max(r2a), max(r2b)};
        double lo = min(shown);
        double hi = max(shown);
        if (Double.isNaN(lo)) {
            lo = 0;
            hi = 1;
        }
        double pad = Math.max(0.01, 0.1 * (hi - lo));
        st.setYAxisMin(lo - pad);
        st.setYAxisMax(Math.min(1, hi + pad));
        return chart;
    }

    /** A series of the points where y is defined (a layer with a zero factor has no R^2); none where none is. */
    private static void line(XYChart chart, String name, double[] x, double[] y, Color colour,
                             org.knowm.xchart.style.markers.Marker marker, BasicStroke stroke) {
        int[] defined = java.util.stream.IntStream.range(0, y.length).filter(k -> Double.isFinite(y[k])).toArray();
        if (defined.length == 0) {
            return;
        }
        XYSeries s = chart.addSeries(name, java.util.Arrays.stream(defined).mapToDouble(k -> x[k]).toArray(),
                java.util.Arrays.stream(defined).mapToDouble(k -> y[k]).toArray());
        s.setLineColor(colour);
        s.setMarkerColor(colour);
        s.setMarker(marker);
        if (stroke != null) {
            s.setLineStyle(stroke);
        }
    }

    private static double[] constant(double v, int n) {
        double[] d = new double[n];
        java.util.Arrays.fill(d, v);
        return d;
    }

    private static double min(double[] v) {
        return java.util.Arrays.stream(v).filter(Double::isFinite).min().orElse(Double.NaN);
    }

    private static double max(double[] v) {
        return java.util.Arrays.stream(v).filter(Double::isFinite).max().orElse(Double.NaN);
    }
}
