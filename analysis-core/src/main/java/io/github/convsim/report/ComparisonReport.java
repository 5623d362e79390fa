package io.github.convsim.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.results.ComparisonMap;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.PlantedPairs;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.Side;
import java.awt.BasicStroke;
import java.awt.Color;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Writes a comparison: compare.csv (phi per layer and pair of adapters), diagnostics.csv (cond(W0) per layer),
 * summary.json, an adapters x adapters heatmap per module and matrix, and for a training run trajectory.csv with its
 * line chart.
 */
public final class ComparisonReport {
    private final Correction correction;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Set<String> formats;

    public ComparisonReport(Set<String> formats) {
        this(formats, Correction.HOLM);
    }

    /** @param correction how the pair and map tests' p-values are adjusted for the comparison's family */
    public ComparisonReport(Set<String> formats, Correction correction) {
        this.formats = Set.copyOf(formats);
        this.correction = correction;
    }

    /** One sentence on a map: the mean over pairs against both nulls, the verdict, and the pairs that exceed. */
    public static String sentence(ComparisonVerdicts.Judgement j, List<String> adapters) {
        ComparisonMap m = j.map();
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%s %s (%s): mean phi between adapters %s",
                m.module(), m.subject(), m.side().label(), Figures.average(offDiagonalMean(m.mean()))));
        List<Integer> out = m.layersLeftOut();
        if (!out.isEmpty()) {
            sb.append(String.format(Locale.ROOT, " without %s where %s (left out of the null too)",
                    Verdicts.layers(out), leftOutBecause(m, out, adapters)));
        }
        List<Integer> zero = m.zeroAdapters();
        if (!zero.isEmpty() && !Double.isNaN(offDiagonalMean(m.mean()))) {
            sb.append("; ").append(zeroEverywhere(m, zero, adapters)).append(", so ")
                    .append(zero.size() == 1 ? "its" : "their").append(" pairs are not compared");
        }
        if (m.w0Null() != null) {
            sb.append(String.format(Locale.ROOT, "; unrelated adapters through the same W0 share %.4f [%.4f, %.4f]",
                    m.w0Null().averageMean(), m.w0Null().averageLo(), m.w0Null().averageHi()));
        }
        sb.append(String.format(Locale.ROOT, "; random subspaces %.4f. ", m.analytic()));
        if (j.duplicateOf() != null) {
            return sb.append(Verdicts.capitalised(j.reason())).append("; its verdict is ")
                    .append(j.duplicateOf().subject()).append("'s: ").append(j.answer()).append('.').toString();
        }
        if (!j.status().equals("tested")) {
            return sb.append("No verdict: ").append(j.reason()).append('.').toString();
        }
        String adj = Verdicts.adjusted(j.correction(), j.familySize(), "tests", j.overall().pAdjusted());
        sb.append(j.overall().exceeds() ? "The adapters share more than unrelated adapters do through W0"
                : "They share no more than unrelated adapters do through W0");
        sb.append(" (").append(Verdicts.pIs(j.overall().p())).append(", ").append(adj).append(")");
        List<ComparisonVerdicts.Test> beyond = j.pairs().stream().filter(ComparisonVerdicts.Test::exceeds).toList();
        int tested = (int) j.pairs().stream().filter(t -> !Double.isNaN(t.p())).count(); // not a zero factor's pairs
        sb.append(pairsBeyond(beyond, tested, adapters));
        if (!j.overall().exceeds() || beyond.size() < tested) {
            String whose = j.overall().exceeds() || !beyond.isEmpty() ? "the other pairs' 'no'" : "this 'no'";
            sb.append("; ").append(powerClause(j.power(), whose, m.ranksDiffer(), plantedFactors(m)));
            if (m.w0Null() != null) {
                sb.append(Verdicts.fewDraws(j.power(), m.w0Null().draws(), COMPARE_DRAWS / 2, "pairs of draws",
                        COMPARE_DRAWS));
            }
        }
        sb.append('.');
        sb.append(undecided(j));
        return sb.toString();
    }

    /**
     * Why pairs are undefined at the {@code left} layers: the adapters whose matrix there is zero or of numerical rank
     * below i (the pair's first adapter) or j (its second), as "x's C_B is zero".
     */
    static String leftOutBecause(ComparisonMap m, List<Integer> left, List<String> adapters) {
        double[][] mean = m.mean();
        java.util.SortedSet<Integer> falling = new java.util.TreeSet<>();
        java.util.IntSummaryStatistics q = new java.util.IntSummaryStatistics();
        for (int l = 0; l < m.layers().length; l++) {
            if (!left.contains(m.layers()[l])) {
                continue;
            }
            for (int a = 0; a < mean.length; a++) {
                for (int b = a + 1; b < mean.length; b++) {
                    if (Double.isNaN(m.perLayer()[l][a][b]) && !Double.isNaN(mean[a][b])) {
                        for (int[] x : new int[][] {{a, m.i()}, {b, m.j()}}) {
                            if (m.subspaceRanks()[x[0]][l] < x[1]) {
                                falling.add(x[0]);
                                q.accept(m.subspaceRanks()[x[0]][l]);
                            }
                        }
                    }
                }
            }
        }
        List<Integer> who = List.copyOf(falling);
        return io.github.convsim.similarity.MapVerdict.rankShortfall(possessive(who, adapters), who.size() == 1,
                m.subject(), q.getMin(), q.getMax(), m.i(), m.j());
    }

    /** "x's C_B is zero in every layer (lora_B is zero there, ...)" for the adapters {@code zero}. */
    static String zeroEverywhere(ComparisonMap m, List<Integer> zero, List<String> adapters) {
        return io.github.convsim.similarity.MapVerdict.rankShortfall(possessive(zero, adapters), zero.size() == 1,
                m.subject(), 0, 0, m.i(), m.j()) + " in every layer"
                + io.github.convsim.similarity.MapVerdict.zeroHint(m.subject());
    }

    /** "x's", "x's and y's", "x's, y's and z's". */
    static String possessive(List<Integer> who, List<String> adapters) {
        List<String> names = who.stream().map(a -> adapters.get(a) + "'s").toList();
        return names.size() == 1 ? names.get(0) : String.join(", ", names.subList(0, names.size() - 1)) + " and "
                + names.get(names.size() - 1);
    }

    /**
     * The pairs that exceed the W0 null, each with its mean phi and adjusted p: all of them up to {@link #LISTED_PAIRS},
     * else how many and the strongest (smallest adjusted p, then largest phi), as 18 adapters make 153 pairs.
     */
    static String pairsBeyond(List<ComparisonVerdicts.Test> beyond, int pairs, List<String> adapters) {
        if (beyond.isEmpty()) {
            return "; no pair exceeds the W0 null";
        }
        java.util.function.Function<ComparisonVerdicts.Test, String> named = t -> adapters.get(t.a()) + " & "
                + adapters.get(t.b()) + " (" + String.format(Locale.ROOT, "%.4f", t.statistic()) + ", adjusted p "
                + Verdicts.p(t.pAdjusted()) + ")";
        if (beyond.size() <= LISTED_PAIRS) {
            return "; pairs beyond it: " + String.join(", ", beyond.stream().map(named).toList());
        }
        List<String> strongest = beyond.stream().sorted(java.util.Comparator.comparingDouble(
                        ComparisonVerdicts.Test::pAdjusted).thenComparing(java.util.Comparator.comparingDouble(
                        ComparisonVerdicts.Test::statistic).reversed())).limit(LISTED_PAIRS).map(named).toList();
        return String.format(Locale.ROOT, "; %s exceed it (summary.json and compare.csv give every pair), the strongest"
                + " %s", beyond.size() == pairs ? "all " + pairs + " pairs" : beyond.size() + " of " + pairs + " pairs",
                String.join(", ", strongest));
    }

    /** compare's default --draws: 8 pairs of W0-null draws. */
    public static final int COMPARE_DRAWS = 16;

    /** How many pairs beyond the W0 null a sentence names one by one. */
    static final int LISTED_PAIRS = 5;

    /**
     * What a map's planted pairs agree in: their factors; for C_dW below its rank their C_B, each adapter with its own
     * A; for C_dW on the right their A, whose row space it has (PlantedPairs).
     */
    static String plantedFactors(ComparisonMap m) {
        if (!m.subject().equals("C_dW")) {
            return "factors";
        }
        if (m.side() == Side.RIGHT) {
            return "A (C_dW's right singular vectors are A's row space whatever W0 is; each adapter's B Gaussian)";
        }
        return Math.min(m.i(), m.j()) < m.largestRank() ? "C_B (in C_dW = C_B A, each adapter with its own Gaussian A)"
                : "factors";
    }

    /**
     * What a 'no' rules out ({@code whose}: "this 'no'", or the other pairs' where some pairs exceed): the most
     * different pair the tests still detect, from the planted pairs, whose {@code factors} agree.
     */
    static String powerClause(PowerCurve.Detectable d, String whose, boolean ranksDiffer, String factors) {
        if (d == null) {
            return "its power was not estimated, so " + whose + " says no shared conversion matrix was detected, not"
                    + " that there is none";
        }
        if (d.none()) {
            return String.format(Locale.ROOT, "even a pair of adapters whose %s agree up to noise %s of their size"
                    + " is detected in %s, so %s rules out nothing", factors,
                    Verdicts.noise(PlantedPairs.NOISE[0]), Verdicts.detected(d), whose);
        }
        // adapters of different ranks: each pair's plants have its ranks, the lower-rank one a prefix of the other
        String ranks = ranksDiffer ? " (of each pair's ranks, the lower-rank adapter taking the other's first"
                + " columns)" : "";
        return String.format(Locale.ROOT, "it detects a pair of adapters%s whose %s agree up to noise %s of"
                + " their size%s (plants averaging phi %.4f) in %s, so %s rules out pairs that alike", ranks, factors,
                Verdicts.noise(d.noise()), Verdicts.largestPlanted(d.noise(), PlantedPairs.NOISE), d.plantMean(),
                Verdicts.detected(d), whose);
    }

    public void write(ComparisonResult r, Path dir) throws IOException {
        Path figures = Files.createDirectories(dir.resolve("figures"));
        List<ComparisonVerdicts.Judgement> judged = ComparisonVerdicts.judge(r, correction);
        pairTable(r, judged).write().csv(dir.resolve("compare.csv").toFile());
        if (r.isTrajectory()) {
            trajectoryTable(r).write().csv(dir.resolve("trajectory.csv").toFile());
        }
        if (!r.conditions().isEmpty()) {
            ConditionReport.table(r.conditions()).write().csv(dir.resolve("diagnostics.csv").toFile());
        }
        StringBuilder md = new StringBuilder("# convsim compare\n\nAdapters: " + String.join(", ", r.adapters())
                + "\n\nphi between adapters at the same layer, averaged over layers. Random subspaces give the analytic"
                + " value; the W0 null is what two unrelated adapters share because their conversion matrices pass"
                + " through the same W0^-1, which amplifies the same few directions.\n\n");
        MarkdownReport.notes(md, r.notes());
        if (!r.conditions().isEmpty()) {
            md.append("## W0\n\nThe adapters share the base, so each layer's conversion matrices are solved through one"
                    + " W0, whose conditioning bounds how many digits they keep:\n\n");
            ConditionReport.sentences(r.conditions()).forEach(c -> md.append("- ").append(c).append('\n'));
            md.append("\nAll layers: `diagnostics.csv`.\n\n");
        }
        for (ComparisonVerdicts.Judgement j : judged) {
            ComparisonMap m = j.map();
            String[] labels = r.adapters().toArray(String[]::new);
            double avg = offDiagonalMean(m.mean());
            HeatmapFigure.ColourScale fitted = HeatmapFigure.ColourScale.fitted("phi(i=" + m.i() + ", j=" + m.j()
                    + "), mean over layers", m.mean());
            double nullAvg = m.w0Null() == null ? Double.NaN : m.w0Null().averageMean();
            // the pair null's level belongs on the colour bar: a map at that level shows nothing beyond W0
            HeatmapFigure.ColourScale scale = Double.isFinite(nullAvg) ? new HeatmapFigure.ColourScale(
                    Math.min(fitted.min(), nullAvg), Math.max(fitted.max(), nullAvg), fitted.label(), true) : fitted;
            HeatmapFigure fig = new HeatmapFigure(String.format(Locale.ROOT, "%s %s, %s vectors, i=%d, j=%d",
                    m.module(), m.subject(), m.side().label(), m.i(), m.j()),
                    String.format(Locale.ROOT, "Each cell: phi between two adapters at the same layer, mean over %d"
                            + " layers. Average over adapter pairs: %s; random subspaces %.4f", m.layers().length,
                            Figures.average(avg), m.analytic())
                    + (m.w0Null() == null ? "." : String.format(Locale.ROOT, "; W0 null for a pair of unrelated"
                            + " adapters %.4f. Exceeds the W0 null: %s.", nullAvg, j.answer())),
                    "adapter", "adapter", labels, m.mean(), scale);
            String stem = "compare." + m.stem();
            fig.write(figures.resolve(stem), formats);
            md.append("## ").append(m.module()).append(" · ").append(m.subject()).append(" · ")
                    .append(m.side().label()).append("\n\n")
                    .append(sentence(j, r.adapters())).append("\n\n")
                    .append("![").append(stem).append("](figures/").append(stem).append(".png)\n\n");
            if (r.isTrajectory()) {
                XYChart chart = trajectoryChart(r, m);
                String tstem = "trajectory." + m.stem();
                if (formats.contains("png")) {
                    PngWriter.write(chart, figures.resolve(tstem + ".png"));
                }
                if (formats.contains("svg")) {
                    VectorGraphicsEncoder.saveVectorGraphic(chart, figures.resolve(tstem + ".svg").toString(),
                            VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
                }
                md.append("![").append(tstem).append("](figures/").append(tstem).append(".png)\n\n");
            }
        }
        JSON.writeValue(dir.resolve("summary.json").toFile(), summary(r, judged));
        md.append(MarkdownProvenance.of(r.provenance()));
        Files.writeString(dir.resolve("report.md"), md.toString(), StandardCharsets.UTF_8);
        html(r, judged, dir);
    }

    /** index.html: one row per map with the pair null and verdict, the figures with captions, every file, provenance. */
    private static void html(ComparisonResult r, List<ComparisonVerdicts.Judgement> judged, Path dir)
            throws IOException {
        HtmlPage page = new HtmlPage("convsim compare: " + String.join(", ", r.adapters()));
        page.paragraph("phi between adapters at the same layer, averaged over layers. Random subspaces give the"
                + " analytic value; the W0 null is what two unrelated adapters share because their conversion"
                + " matrices pass through the same W0^-1.");
        page.notes(r.notes());
        List<List<String>> rows = new ArrayList<>();
        for (ComparisonVerdicts.Judgement j : judged) {
            ComparisonMap m = j.map();
            rows.add(List.of(m.module(), m.subject(), m.side().label(), String.valueOf(m.i()), String.valueOf(m.j()),
                    String.format(Locale.ROOT, "%.4f", offDiagonalMean(m.mean())),
                    String.format(Locale.ROOT, "%.4f", m.analytic()),
                    m.w0Null() == null ? "" : String.format(Locale.ROOT, "%.4f [%.4f, %.4f]", m.w0Null().averageMean(),
                            m.w0Null().averageLo(), m.w0Null().averageHi()),
                    // where phi is 1 or W0's alone by construction the map and its null differ by rounding only: no effect size
                    m.w0Null() == null ? "" : "degenerate".equals(j.status()) ? "n/a" : String.format(Locale.ROOT,
                            "%.2f", m.w0Null().effectSize(offDiagonalMean(m.mean()))),
                    j.overall() == null ? "" : Verdicts.p(j.overall().p()),
                    j.overall() == null ? "" : Verdicts.p(j.overall().pAdjusted()), j.answer()));
        }
        page.heading("Verdicts").table(List.of("module", "matrix", "side", "i", "j", "average over pairs", "analytic",
                "W0 null for pairs [95 %]", "effect (pair null sd)", "p", "p adjusted (" + (judged.isEmpty() ? "holm"
                        : judged.get(0).correction().label()) + ")", "exceeds W0 null"), rows, 3);
        page.list(judged.stream().map(j -> sentence(j, r.adapters())).toList());
        if (!r.conditions().isEmpty()) {
            page.heading("W0").list(ConditionReport.sentences(r.conditions()));
        }
        page.heading("Figures");
        for (ComparisonVerdicts.Judgement j : judged) {
            ComparisonMap m = j.map();
            List<String> files = new ArrayList<>(List.of("figures/compare." + m.stem() + ".png"));
            List<String> captions = new ArrayList<>(List.of(m.module() + " " + m.subject() + " (" + m.side().label()
                    + "): phi between every pair of adapters, mean over layers"));
            if (r.isTrajectory()) {
                files.add("figures/trajectory." + m.stem() + ".png");
                captions.add("phi to the final checkpoint and to the previous one, by step");
            }
            page.figures(files, captions);
        }
        page.files(dir).provenance(r.provenance()).write(dir.resolve("index.html"));
    }

    /** One row per module, matrix, side, layer and ordered pair of adapters (pair verdicts Holm-adjusted). */
    public static Table pairTable(ComparisonResult r) {
        return pairTable(r, ComparisonVerdicts.judge(r, Correction.HOLM));
    }

    /**
     * One row per module, matrix, side, layer and ordered pair of adapters, with the pair's test (over layers: the
     * same p, adjusted p and verdict on each of its layers' rows).
     */
    public static Table pairTable(ComparisonResult r, List<ComparisonVerdicts.Judgement> judged) {
        Map<ComparisonMap, ComparisonVerdicts.Judgement> byMap = new java.util.IdentityHashMap<>();
        judged.forEach(j -> byMap.put(j.map(), j));
        DoubleColumn pValue = DoubleColumn.create("pair_p_value");
        DoubleColumn pAdjusted = DoubleColumn.create("pair_p_adjusted");
        StringColumn exceeds = StringColumn.create("pair_exceeds_w0_null");
        StringColumn module = StringColumn.create("module");
        StringColumn factor = StringColumn.create("factor");
        StringColumn side = StringColumn.create("side");
        IntColumn layer = IntColumn.create("layer");
        StringColumn a = StringColumn.create("adapter_a");
        StringColumn b = StringColumn.create("adapter_b");
        IntColumn stepA = IntColumn.create("step_a");
        IntColumn stepB = IntColumn.create("step_b");
        DoubleColumn phi = DoubleColumn.create("phi");
        DoubleColumn analytic = DoubleColumn.create("analytic");
        DoubleColumn w0 = DoubleColumn.create("w0_null_mean");
        DoubleColumn w0Lo = DoubleColumn.create("w0_null_lo");
        DoubleColumn w0Hi = DoubleColumn.create("w0_null_hi");
        for (ComparisonMap m : r.maps()) {
            for (int l = 0; l < m.layers().length; l++) {
                for (int p = 0; p < r.adapters().size(); p++) {
                    for (int q = 0; q < r.adapters().size(); q++) {
                        module.append(m.module());
                        factor.append(m.factor());
                        side.append(m.side().label());
                        layer.append(m.layers()[l]);
                        a.append(r.adapters().get(p));
                        b.append(r.adapters().get(q));
                        if (r.isTrajectory()) {
                            stepA.append(r.steps().get(p));
                            stepB.append(r.steps().get(q));
                        } else {
                            stepA.appendMissing();
                            stepB.appendMissing();
                        }
                        phi.append(m.perLayer()[l][p][q]);
                        analytic.append(m.analytic());
                        NullDistribution n = p == q ? m.w0Null() : m.pairNull(p, q);
                        w0.append(n == null ? Double.NaN : n.mean()[l][l]);
                        w0Lo.append(n == null ? Double.NaN : n.lo()[l][l]);
                        w0Hi.append(n == null ? Double.NaN : n.hi()[l][l]);
                        ComparisonVerdicts.Test t = pairTest(byMap.get(m), p, q);
                        pValue.append(t == null ? Double.NaN : t.p());
                        pAdjusted.append(t == null ? Double.NaN : t.pAdjusted());
                        exceeds.append(t == null || Double.isNaN(t.p()) ? "n/a" : t.exceeds() ? "yes" : "no");
                    }
                }
            }
        }
        return Table.create("compare", module, factor, side, layer, a, b, stepA, stepB, phi, analytic, w0, w0Lo,
                w0Hi, pValue, pAdjusted, exceeds);
    }

    /** The test of the unordered pair {p, q} in a judged map; null for p = q or a map without tests. */
    private static ComparisonVerdicts.Test pairTest(ComparisonVerdicts.Judgement j, int p, int q) {
        if (j == null || p == q) {
            return null;
        }
        int lo = Math.min(p, q);
        int hi = Math.max(p, q);
        return j.pairs().stream().filter(t -> t.a() == lo && t.b() == hi).findFirst().orElse(null);
    }

    /** Per checkpoint: phi to the final checkpoint and to the previous one, averaged over layers. */
    public static Table trajectoryTable(ComparisonResult r) {
        StringColumn module = StringColumn.create("module");
        StringColumn factor = StringColumn.create("factor");
        StringColumn side = StringColumn.create("side");
        IntColumn step = IntColumn.create("step");
        StringColumn adapter = StringColumn.create("adapter");
        DoubleColumn toFinal = DoubleColumn.create("phi_to_final");
        DoubleColumn toPrev = DoubleColumn.create("phi_to_previous");
        for (ComparisonMap m : r.maps()) {
            double[] f = m.toFinal();
            double[] p = m.toPrevious();
            for (int k = 0; k < f.length; k++) {
                module.append(m.module());
                factor.append(m.factor());
                side.append(m.side().label());
                step.append(r.steps().get(k));
                adapter.append(r.adapters().get(k));
                toFinal.append(f[k]);
                toPrev.append(p[k]);
            }
        }
        return Table.create("trajectory", module, factor, side, step, adapter, toFinal, toPrev);
    }

    private static XYChart trajectoryChart(ComparisonResult r, ComparisonMap m) {
        XYChart chart = new XYChartBuilder().width(760).height(440)
                .title(m.module() + " · " + m.subject() + " · " + m.side().label() + ": similarity along training")
                .xAxisTitle("step").yAxisTitle("phi (mean over layers)").build();
        var s = chart.getStyler();
        s.setYAxisMin(0.0);
        s.setYAxisMax(1.0);
        s.setChartBackgroundColor(Color.WHITE);
        // below the plot: inside, the legend hid the last steps of the run
        s.setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        s.setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        s.setMarkerSize(7);
        double[] steps = r.steps().stream().mapToDouble(Integer::doubleValue).toArray();
        // the final checkpoint against itself is phi = 1 by definition, not a step of the run: not drawn
        XYSeries fin = chart.addSeries("to final checkpoint", Arrays.copyOf(steps, steps.length - 1),
                Arrays.copyOf(m.toFinal(), steps.length - 1));
        fin.setLineColor(Viridis.at(0.25));
        fin.setMarkerColor(Viridis.at(0.25));
        fin.setMarker(SeriesMarkers.CIRCLE);
        double[] prev = m.toPrevious();
        XYSeries consecutive = chart.addSeries("to previous checkpoint", Arrays.copyOfRange(steps, 1, steps.length),
                Arrays.copyOfRange(prev, 1, prev.length));
        consecutive.setLineColor(Viridis.at(0.7));
        consecutive.setMarkerColor(Viridis.at(0.7));
        consecutive.setMarker(SeriesMarkers.DIAMOND);
        if (m.w0Null() != null) {
            double[] w0 = new double[steps.length];
            Arrays.fill(w0, m.w0NullMean());
            XYSeries unrelated = chart.addSeries("unrelated adapters (W0 null)", steps, w0);
            unrelated.setLineColor(Color.DARK_GRAY);
            unrelated.setLineStyle(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10,
                    new float[] {2, 3}, 0));
            unrelated.setMarker(SeriesMarkers.NONE);
        }
        double[] flat = new double[steps.length];
        Arrays.fill(flat, m.analytic());
        XYSeries chance = chart.addSeries("random subspaces", steps, flat);
        chance.setLineColor(Color.GRAY);
        chance.setLineStyle(new BasicStroke(1.2f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4},
                0));
        chance.setMarker(SeriesMarkers.NONE);
        return chart;
    }

    /**
     * The sentence that says where the W0 null's draws do not decide an answer (empty where they do): the map's, with
     * its p's range over resamplings of the draws, and how many pairs'.
     */
    private static String undecided(ComparisonVerdicts.Judgement j) {
        ComparisonVerdicts.Test o = j.overall();
        long pairs = j.pairs().stream().filter(t -> !t.decided()).count();
        if (o.decided() && pairs == 0) {
            return "";
        }
        String what = o.decided()
                ? "over resamplings of them, " + pairs + (pairs == 1 ? " pair's answer differs between the two ends of"
                        + " its p's range" : " pairs' answers differ between the two ends of their p's ranges")
                : "over resamplings of them the map's p lies between " + Verdicts.p(o.pLow()) + " and "
                        + Verdicts.p(o.pHigh()) + ", and its answer differs between the two ends"
                        + (pairs == 0 ? "" : "; so do " + pairs + (pairs == 1 ? " pair's" : " pairs'"));
        return String.format(Locale.ROOT, " Not decided by the W0 null's %d pairs of draws: %s; rerun with more"
                + " --draws before relying on %s.", j.map().w0Null().draws(), what, o.decided()
                ? (pairs == 1 ? "that pair's answer" : "those pairs' answers") : "it");
    }

    /** Mean of the cells off the diagonal, skipping undefined ones. */
    public static double offDiagonalMean(double[][] m) {
        double s = 0;
        int n = 0;
        for (int a = 0; a < m.length; a++) {
            for (int b = 0; b < m.length; b++) {
                if (a != b && !Double.isNaN(m[a][b])) {
                    s += m[a][b];
                    n++;
                }
            }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    private static Map<String, Object> summary(ComparisonResult r, List<ComparisonVerdicts.Judgement> judged) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("adapters", r.adapters());
        root.put("steps", r.steps());
        root.put("notes", r.notes());
        if (!judged.isEmpty()) {
            Map<String, Object> stats = new LinkedHashMap<>();
            stats.put("test", "each pair's mean phi over layers, and each map's mean over pairs, against the W0 null for"
                    + " pairs (pairs of independent W0-null draws) fitted as log-normal; one-sided predictive t-test");
            stats.put("family", "every pair and map test of the conversion maps, neither degenerate nor duplicate"
                    + " (with two adapters a map's test is its one pair's, counted once)");
            stats.put("family_size", judged.get(0).familySize());
            stats.put("correction", judged.get(0).correction().label());
            stats.put("alpha", MapVerdict.ALPHA);
            stats.put("power", "per map: planted pairs of adapters whose factors agree up to relative noise eps (for"
                    + " C_dW below a rank their C_B, each with its own Gaussian A; on its right side their A; "
                    + PlantedPairs.REPETITIONS + " seeded pairs per level, through the same W0), detected at p below "
                    + (judged.get(0).correction() == Correction.NONE ? "alpha (no correction)"
                    : "alpha / family size") + "; the largest eps detected in at least 80 % of pairs");
            root.put("statistics", stats);
        }
        List<Map<String, Object>> maps = new ArrayList<>();
        for (ComparisonVerdicts.Judgement j : judged) {
            ComparisonMap m = j.map();
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("module", m.module());
            e.put("factor", m.factor());
            e.put("kind", m.isControl() ? "control" : "conversion");
            e.put("status", j.status());
            e.put("status_reason", j.reason().isEmpty() ? null : j.reason());
            if (j.overall() != null) {
                e.put("p_value", ReportWriter.finite(j.overall().p()));
                e.put("p_adjusted", ReportWriter.finite(j.overall().pAdjusted()));
                e.put("p_value_resampled_99", ReportWriter.pRange(j.overall().pLow(), j.overall().pHigh()));
            }
            e.put("exceeds_w0_null", j.answer());
            e.put("decided_by_draws", j.overall() == null ? null : j.overall().decided());
            e.put("power", ReportWriter.power(j.power()));
            if (m.w0Null() != null) {
                Map<String, Object> w0 = new LinkedHashMap<>();
                w0.put("mean", m.w0Null().averageMean());
                w0.put("lo", m.w0Null().averageLo());
                w0.put("hi", m.w0Null().averageHi());
                w0.put("draws", m.w0Null().draws());
                e.put("w0_null_for_pairs", w0);
            }
            List<Map<String, Object>> pairs = new ArrayList<>();
            for (ComparisonVerdicts.Test t : j.pairs()) {
                Map<String, Object> pe = new LinkedHashMap<>();
                pe.put("adapter_a", r.adapters().get(t.a()));
                pe.put("adapter_b", r.adapters().get(t.b()));
                pe.put("mean_phi", ReportWriter.finite(t.statistic()));
                pe.put("p_value", ReportWriter.finite(t.p()));
                pe.put("p_adjusted", ReportWriter.finite(t.pAdjusted()));
                pe.put("p_value_resampled_99", ReportWriter.pRange(t.pLow(), t.pHigh()));
                pe.put("exceeds_w0_null", Double.isNaN(t.p()) ? "n/a" : t.exceeds() ? "yes" : "no");
                pe.put("decided_by_draws", Double.isNaN(t.p()) ? null : t.decided());
                pairs.add(pe);
            }
            e.put("pairs", pairs);
            e.put("interpretation", sentence(j, r.adapters()));
            e.put("side", m.side().label());
            e.put("i", m.i());
            e.put("j", m.j());
            e.put("layers", m.layers());
            e.put("layer_ranks", m.ranks()); // [adapter][layer], adapters in the order of "adapters"
            e.put("numerical_ranks", m.subspaceRanks()); // [adapter][layer]: phi is undefined below i or j
            e.put("layers_left_out", m.layersLeftOut());
            e.put("mean_phi", ReportWriter.finite(m.mean()));
            e.put("average_over_pairs", ReportWriter.finite(offDiagonalMean(m.mean())));
            e.put("analytic", ReportWriter.finite(m.analytic()));
            e.put("w0_null_mean", ReportWriter.finite(m.w0NullMean()));
            e.put("w0_null_per_layer", ReportWriter.finite(m.w0NullPerLayer()));
            if (r.isTrajectory()) {
                e.put("phi_to_final", ReportWriter.finite(m.toFinal()));
                e.put("phi_to_previous", ReportWriter.finite(m.toPrevious()));
            }
            maps.add(e);
        }
        root.put("maps", maps);
        root.put("modules", ConditionReport.summary(r.conditions()));
        root.put("provenance", r.provenance().asMap());
        return root;
    }
}
