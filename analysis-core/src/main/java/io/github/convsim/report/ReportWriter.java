package io.github.convsim.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.io.IoJobs;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullDistribution;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/**
 * Writes an analysis into a directory: similarity.csv, diagnostics.csv, summary.json, figures/ and report.md with
 * index.html. Call {@link AtomicOutput} to have it appear all at once.
 */
public final class ReportWriter {
    /** cond(W0) above this is flagged: an fp32 solve keeps fewer than about two correct digits. */
    public static final double ILL_CONDITIONED = 1e5;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Set<String> formats;
    private final Correction correction;
    private final Figures.Scale scale;

    /** @param formats figure formats: "png", "svg"; verdicts are Holm-corrected over the analysis' maps */
    public ReportWriter(Set<String> formats) {
        this(formats, Correction.HOLM);
    }

    /** @param correction how the verdicts' p-values are adjusted for the family of maps */
    public ReportWriter(Set<String> formats, Correction correction) {
        this(formats, correction, Figures.Scale.FITTED);
    }

    /** @param scale how the heatmaps' colours span phi: fitted to each figure set, or the paper's 0..1 */
    public ReportWriter(Set<String> formats, Correction correction, Figures.Scale scale) {
        this.correction = correction;
        this.scale = scale;
        for (String f : formats) {
            if (!f.equals("png") && !f.equals("svg")) {
                throw new IllegalArgumentException("unknown figure format '" + f + "' (png or svg)");
            }
        }
        this.formats = Set.copyOf(formats);
    }

    /**
     * Figures drawn beside the analysis, into the report's figures/ ({@link #writeFigures(ModuleResult, Path)}, while
     * later modules were being analysed): {@link #await} waits for the drawing and names the modules whose figures are
     * done.
     */
    @FunctionalInterface
    public interface DrawnFigures {
        DrawnFigures NONE = () -> Set.of();

        Set<String> await() throws IOException, InterruptedException;
    }

    /** Writes everything into {@code dir}, which must exist. */
    public void write(AnalysisResult result, Path dir) throws IOException {
        write(result, dir, DrawnFigures.NONE);
    }

    /**
     * As {@link #write(AnalysisResult, Path)}, where the figures of the modules {@code drawn} names are already in
     * {@code dir}/figures. The tables and summary.json are written first, while the last figures are still being drawn;
     * the figures of any other module are drawn here.
     */
    public void write(AnalysisResult result, Path dir, DrawnFigures drawn) throws IOException {
        Files.createDirectories(dir.resolve("figures"));
        List<MapVerdict> verdicts = Verdicts.of(result, correction);
        similarityTable(result, verdicts).write().csv(dir.resolve("similarity.csv").toFile());
        diagnosticsTable(result).write().csv(dir.resolve("diagnostics.csv").toFile());
        JSON.writeValue(dir.resolve("summary.json").toFile(), summary(result, verdicts));
        Set<String> rendered;
        try {
            rendered = drawn.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("interrupted while the figures were being drawn");
        }
        List<IoJobs.Job> jobs = new ArrayList<>();
        for (ModuleResult m : result.modules()) {
            if (!rendered.contains(m.module())) {
                jobs.addAll(figureJobs(m, dir.resolve("figures")));
            }
        }
        IoJobs.runAll(jobs, Runtime.getRuntime().availableProcessors());
        Files.writeString(dir.resolve("report.md"), MarkdownReport.markdown(result, verdicts, formats),
                StandardCharsets.UTF_8);
        MarkdownReport.html(result, verdicts, dir);
    }

    /** One row per cell of every heatmap. */
    public static Table similarityTable(AnalysisResult result) {
        return similarityTable(result, Verdicts.of(result, Correction.HOLM));
    }

    /** One row per cell of every heatmap, with its map's p, adjusted p and verdict on every row. */
    public static Table similarityTable(AnalysisResult result, List<MapVerdict> verdicts) {
        Map<Heatmap, MapVerdict> byMap = new java.util.IdentityHashMap<>();
        verdicts.forEach(v -> byMap.put(v.map(), v));
        DoubleColumn pValue = DoubleColumn.create("p_value");
        DoubleColumn pAdjusted = DoubleColumn.create("p_adjusted");
        StringColumn exceeds = StringColumn.create("exceeds_w0_null");
        StringColumn adapter = StringColumn.create("adapter");
        StringColumn module = StringColumn.create("module");
        StringColumn factor = StringColumn.create("factor");
        StringColumn side = StringColumn.create("side");
        IntColumn i = IntColumn.create("i");
        IntColumn j = IntColumn.create("j");
        IntColumn la = IntColumn.create("layer_a");
        IntColumn lb = IntColumn.create("layer_b");
        DoubleColumn phi = DoubleColumn.create("phi");
        DoubleColumn gMean = DoubleColumn.create("gaussian_mean");
        DoubleColumn gLo = DoubleColumn.create("gaussian_lo");
        DoubleColumn gHi = DoubleColumn.create("gaussian_hi");
        DoubleColumn wMean = DoubleColumn.create("w0_mean");
        DoubleColumn analytic = DoubleColumn.create("analytic");
        DoubleColumn wLo = DoubleColumn.create("w0_lo");
        DoubleColumn wHi = DoubleColumn.create("w0_hi");
        DoubleColumn grassmann = DoubleColumn.create("grassmann");
        for (ModuleResult m : result.modules()) {
            for (Heatmap h : m.heatmaps()) {
                int n = h.layers().length;
                for (int a = 0; a < n; a++) {
                    for (int b = 0; b < n; b++) {
                        adapter.append(result.adapter());
                        module.append(h.module());
                        factor.append(h.subjectLabel());
                        side.append(h.side().label());
                        i.append(h.i());
                        j.append(h.j());
                        la.append(h.layers()[a]);
                        lb.append(h.layers()[b]);
                        phi.append(h.phi()[a][b]);
                        gMean.append(cell(h.gaussian(), 0, a, b));
                        gLo.append(cell(h.gaussian(), 1, a, b));
                        gHi.append(cell(h.gaussian(), 2, a, b));
                        wMean.append(cell(h.w0(), 0, a, b));
                        analytic.append(a == b ? Double.NaN : h.analytic());
                        wLo.append(cell(h.w0(), 1, a, b));
                        wHi.append(cell(h.w0(), 2, a, b));
                        grassmann.append(h.grassmann()[a][b]);
                        MapVerdict v = byMap.get(h);
                        pValue.append(v == null ? Double.NaN : v.p());
                        pAdjusted.append(v == null ? Double.NaN : v.pAdjusted());
                        exceeds.append(v == null ? "n/a" : v.answer());
                    }
                }
            }
        }
        return Table.create("similarity", adapter, module, factor, side, i, j, la, lb, phi, gMean, gLo, gHi, wMean,
                analytic, wLo, wHi, grassmann, pValue, pAdjusted, exceeds);
    }

    private static double cell(NullDistribution n, int which, int a, int b) {
        if (n == null) {
            return Double.NaN;
        }
        return switch (which) {
            case 0 -> n.mean()[a][b];
            case 1 -> n.lo()[a][b];
            default -> n.hi()[a][b];
        };
    }

    /** One row per module and layer. */
    public static Table diagnosticsTable(AnalysisResult result) {
        StringColumn adapter = StringColumn.create("adapter");
        StringColumn module = StringColumn.create("module");
        IntColumn layer = IntColumn.create("layer");
        IntColumn rows = IntColumn.create("rows");
        IntColumn cols = IntColumn.create("cols");
        StringColumn equation = StringColumn.create("equation");
        StringColumn mode = StringColumn.create("mode");
        StringColumn precision = StringColumn.create("precision");
        DoubleColumn cond = DoubleColumn.create("cond_w0");
        StringColumn condNorm = StringColumn.create("cond_norm");
        IntColumn rank = IntColumn.create("rank");
        IntColumn solutionRank = IntColumn.create("solution_rank");
        DoubleColumn resA = DoubleColumn.create("residual_A");
        DoubleColumn resB = DoubleColumn.create("residual_B");
        DoubleColumn resDW = DoubleColumn.create("residual_dW");
        DoubleColumn gap = DoubleColumn.create("fp32_vs_fp64");
        for (ModuleResult m : result.modules()) {
            for (LayerDiagnostics d : m.diagnostics()) {
                adapter.append(result.adapter());
                module.append(d.module());
                layer.append(d.layer());
                rows.append(d.rows());
                cols.append(d.cols());
                equation.append(d.equationA() + "; " + d.equationB());
                mode.append(d.mode().label());
                precision.append(d.precision().name().toLowerCase(Locale.ROOT));
                cond.append(d.condW0());
                condNorm.append(d.condNorm());
                if (d.rank() >= 0) {
                    rank.append(d.rank());
                } else {
                    rank.appendMissing();
                }
                solutionRank.append(d.solutionRank());
                resA.append(d.residualA());
                resB.append(d.residualB());
                resDW.append(d.residualDW());
                gap.append(d.precisionGap());
            }
        }
        return Table.create("diagnostics", adapter, module, layer, rows, cols, equation, mode, precision, cond,
                condNorm, rank, solutionRank, resA, resB, resDW, gap);
    }

    /** summary.json: per heatmap the average, each null's mean and interval, effect size and verdict; provenance. */
    public static Map<String, Object> summary(AnalysisResult result, List<MapVerdict> verdicts) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("adapter", result.adapter());
        if (!verdicts.isEmpty()) {
            MapVerdict any = verdicts.get(0);
            Map<String, Object> stats = new LinkedHashMap<>();
            stats.put("test", "one-sided predictive t-test of the average against the W0 null's draws, on the log scale (log-normal fit)");
            stats.put("family", "conversion maps with a W0 null, neither degenerate nor duplicate");
            stats.put("family_size", any.familySize());
            stats.put("correction", any.correction().label());
            stats.put("alpha", any.alpha());
            stats.put("power", "per map: planted adapters sharing one conversion matrix across layers (for C_dW"
                    + " below its rank a shared C_B with each layer's Gaussian A, on its right side shared rows of A; "
                    + io.github.convsim.similarity.PlantedControl.REPETITIONS + " seeded plants per noise level), detected"
                    + " at p below " + (any.correction() == Correction.NONE ? "alpha (no correction)"
                    : "alpha / family size") + "; the largest relative noise detected in at least 80 % of plants,"
                    + " with how many were detected there and a one-sided 95 % Clopper-Pearson lower bound on the rate");
            stats.put("text", MarkdownReport.familySentence(verdicts));
            root.put("statistics", stats);
        }
        List<Map<String, Object>> maps = new ArrayList<>();
        for (MapVerdict v : verdicts) {
            {
                Heatmap h = v.map();
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("module", h.module());
                e.put("factor", h.subjectLabel());
                e.put("subject", h.subject());
                e.put("kind", h.isControl() ? "control" : "conversion");
                e.put("side", h.side().label());
                e.put("i", h.i());
                e.put("j", h.j());
                e.put("dimension", h.dimension());
                e.put("layers", h.layers());
                e.put("layer_ranks", h.ranks());
                e.put("numerical_ranks", h.subspaceRanks());
                e.put("layers_left_out", h.layersLeftOut());
                e.put("average_similarity", finite(h.average()));
                e.put("analytic", finite(h.analytic()));
                Map<String, Object> gaussian = nullSummary(h.gaussian(), h);
                if (gaussian != null && v.gaussian() != null) {
                    gaussian.put("p_adjusted", finite(v.gaussian().pAdjusted()));
                    gaussian.put("family_size", v.gaussian().familySize());
                }
                e.put("gaussian", gaussian);
                e.put("w0", nullSummary(h.w0(), h));
                e.put("effect_size_vs_w0", h.w0() == null ? null : finite(effectSize(h.w0(), h)));
                e.put("status", v.status().name().toLowerCase(java.util.Locale.ROOT));
                e.put("status_reason", v.reason().isEmpty() ? null : v.reason());
                e.put("p_value", finite(v.p()));
                e.put("p_value_monte_carlo", finite(v.pMonteCarlo()));
                e.put("p_adjusted", finite(v.pAdjusted()));
                e.put("p_value_resampled_99", pRange(v.pLow(), v.pHigh()));
                e.put("correction", v.correction().label());
                e.put("exceeds_w0_null", v.answer());
                e.put("decided_by_draws", Double.isNaN(v.pLow()) ? null : v.decided());
                e.put("verdict", "exceeds the W0 null (" + v.correction().label() + "-adjusted p < " + v.alpha() + "): "
                        + v.answer());
                e.put("power", power(v));
                e.put("interpretation", Verdicts.interpretation(v));
                e.put("figure", "figures/" + h.stem() + ".png");
                maps.add(e);
            }
        }
        root.put("heatmaps", maps);
        List<Map<String, Object>> modules = new ArrayList<>();
        for (ModuleResult m : result.modules()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("module", m.module());
            e.put("mode", m.mode().label());
            e.put("layers", m.diagnostics().size());
            e.put("max_cond_w0", finite(m.diagnostics().stream().mapToDouble(LayerDiagnostics::condW0).max().orElse(0)));
            e.put("max_residual", finite(m.diagnostics().stream().mapToDouble(d -> Math.max(d.residualA(),
                    Math.max(d.residualB(), d.residualDW()))).max().orElse(0)));
            e.put("ill_conditioned_layers", m.diagnostics().stream().filter(d -> d.condW0() > ILL_CONDITIONED)
                    .map(LayerDiagnostics::layer).toList());
            if (m.spectrum() != null) {
                Map<String, Object> sp = new LinkedHashMap<>();
                sp.put("layer", m.spectrum().layer());
                sp.put("w0_singular_values", m.spectrum().w0());
                sp.put("c_a_singular_values", m.spectrum().cA());
                sp.put("c_b_singular_values", m.spectrum().cB());
                e.put("spectrum", sp);
            }
            modules.add(e);
        }
        root.put("modules", modules);
        root.put("adapter_config", result.adapterConfig());
        root.put("provenance", result.provenance().asMap());
        return root;
    }

    private static Map<String, Object> power(MapVerdict v) {
        return power(v.power());
    }

    /** A map's power as summary.json gives it (analyze's maps, compare's maps); null where not estimated. */
    static Map<String, Object> power(io.github.convsim.similarity.PowerCurve.Detectable d) {
        return power(d, "planted_average_similarity");
    }

    /**
     * A test's power as summary.json gives it, the plants' mean statistic under {@code statistic} (condlora's:
     * planted_r2_A, ...); null where not estimated.
     */
    static Map<String, Object> power(io.github.convsim.similarity.PowerCurve.Detectable d, String statistic) {
        if (d == null) {
            return null;
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("detectable_noise", finite(d.noise()));
        m.put(statistic, finite(d.plantMean()));
        m.put("plants_per_level", d.repetitions());
        m.put("detection_threshold", d.threshold());
        m.put("detection_rate", io.github.convsim.similarity.PowerCurve.POWER);
        // at detectable_noise (at the least noise where none is detected often enough)
        m.put("detected", d.detected());
        m.put("detection_rate_lower_95", finite(d.detectionRateLowerBound()));
        return m;
    }

    /**
     * A null's draws and spread, and the map's p-values and effect size against it (none where phi is 1 or W0's alone
     * by construction).
     */
    private static Map<String, Object> nullSummary(NullDistribution n, Heatmap h) {
        if (n == null) {
            return null;
        }
        boolean noise = h.degenerate();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("draws", n.draws());
        m.put("mean", finite(n.averageMean()));
        m.put("lo", finite(n.averageLo()));
        m.put("hi", finite(n.averageHi()));
        m.put("sd", finite(n.averageSd()));
        m.put("p_value", noise ? null : finite(n.pValue(h.average())));
        m.put("p_value_monte_carlo", noise ? null : finite(n.pMonteCarlo(h.average())));
        m.put("effect_size", noise ? null : finite(n.effectSize(h.average())));
        return m;
    }

    /**
     * The map's average against a null, in the null's sd; NaN where phi is 1 or W0's alone by construction (rounding
     * over rounding).
     */
    static double effectSize(NullDistribution n, Heatmap h) {
        return h.degenerate() ? Double.NaN : n.effectSize(h.average());
    }

    /** A p range over resamplings of a null's draws ({@code p_value_resampled_99}); null where there is none. */
    static List<Double> pRange(double low, double high) {
        return Double.isNaN(low) ? null : java.util.Arrays.asList(finite(low), finite(high));
    }

    /** A number for JSON: null where it is NaN or infinite (JSON has neither). */
    static Double finite(double v) {
        return Double.isFinite(v) ? v : null;
    }

    /** {@code v} with null for each value that is not finite (JSON has no NaN). */
    static List<Double> finite(double[] v) {
        return java.util.Arrays.stream(v).mapToObj(ReportWriter::finite).toList();
    }

    /** {@code v}'s rows with null for each value that is not finite. */
    static List<List<Double>> finite(double[][] v) {
        return java.util.Arrays.stream(v).map(ReportWriter::finite).toList();
    }

    /**
     * One module's figures into {@code figures} (created if absent), rendered in parallel. Each depends on that
     * module's result alone (verdicts, which weigh every module's maps, are in the tables and pages, not in figures),
     * so they can be drawn while later modules are analysed.
     */
    public void writeFigures(ModuleResult m, Path figures) throws IOException {
        Files.createDirectories(figures);
        IoJobs.runAll(figureJobs(m, figures), Runtime.getRuntime().availableProcessors());
    }

    /** Observed heatmaps and, beside each, the null means, the panels and the spectrum. */
    private List<IoJobs.Job> figureJobs(ModuleResult m, Path dir) {
        List<IoJobs.Job> jobs = new ArrayList<>();
        if (m.spectrum() != null) {
            jobs.add(() -> SpectrumFigure.write(m, dir.resolve(m.module() + ".spectrum"), formats));
        }
        for (Heatmap h : m.heatmaps()) {
            for (Map.Entry<String, HeatmapFigure> f : Figures.of(h, scale).entrySet()) {
                jobs.add(() -> f.getValue().write(dir.resolve(f.getKey()), formats));
            }
            if (h.w0() != null && !h.isControl()) {
                jobs.add(() -> Figures.panel(h, false, scale).write(dir.resolve(h.stem() + ".panel"), formats));
            }
        }
        return jobs;
    }
}
