package io.github.convsim.api;

import io.github.convsim.common.ProgressListener;
import io.github.convsim.condlora.CondLoraFit;
import io.github.convsim.condlora.CondLoraSettings;
import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.W0System;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.model.ModuleSummary;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.pipeline.LayerStream;
import io.github.convsim.report.Figures;
import io.github.convsim.report.ReportWriter;
import io.github.convsim.report.Verdicts;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SubspaceBasis;
import io.github.convsim.similarity.SubspaceSimilarity;
import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import tech.tablesaw.api.Table;

/**
 * The one-stop facade for notebooks and scripts: the same pipeline as the CLI, returning figures as images and tables
 * as Tablesaw tables (which print as text). A Convsim owns its checkpoint and backend; close it (try-with-resources).
 *
 * <pre>{@code
 * try (Convsim cs = Convsim.open(adapterDir, baseWeights)) {
 *     AnalysisResult r = cs.analyze(AnalysisOptions.builder().modules("value").build());
 *     BufferedImage fig = Convsim.figure(r, "value", Factor.A);
 *     BufferedImage w0Null = Convsim.nullFigure(r, "value", Factor.A, NullModel.W0);
 *     Table verdicts = Convsim.verdicts(r);
 * }
 * ComparisonResult tasks = Convsim.compare(List.of(loraSst2, loraMnli), baseWeights, AnalysisOptions.defaults());
 * List<ModuleFit> fits = Convsim.fitCondLora(adapterDir, baseWeights, CondLoraSettings.defaults());
 * }</pre>
 */
public final class Convsim implements AutoCloseable {
    private final LoraCheckpoint checkpoint;
    private final Backends.Choice backend;

    private Convsim(LoraCheckpoint checkpoint, Backends.Choice backend) {
        this.checkpoint = checkpoint;
        this.backend = backend;
    }

    /** Opens an adapter against its base with the best available backend ("auto"). */
    public static Convsim open(Path adapter, Path base) throws CheckpointException {
        return open(adapter, base, "auto");
    }

    /** Opens an adapter against its base with the backend named ("auto", "cpu" or "cuda"). */
    public static Convsim open(Path adapter, Path base, String backend) throws CheckpointException {
        LoraCheckpoint c = LoraCheckpoint.open(adapter, base);
        try {
            return new Convsim(c, Backends.select(backend));
        } catch (RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** The bundled demo, found under a convsim checkout ({@code repo}/data). */
    public static Convsim openDemo(Path repo) throws CheckpointException {
        return open(repo.resolve("data/adapters/bert-base-uncased-imdb-lora-r8"),
                repo.resolve("data/bert-base-uncased.query-value.safetensors"));
    }

    public LoraCheckpoint checkpoint() {
        return checkpoint;
    }

    public String backendDescription() {
        return backend.backend().name() + " (" + backend.reason() + ")";
    }

    /** What {@code convsim inspect} prints: one row per module and layer. */
    public Table moduleTable() throws CheckpointException {
        List<ModuleSummary> rows = ModuleSummary.of(checkpoint);
        Table t = Table.create("modules");
        t.addColumns(tech.tablesaw.api.StringColumn.create("module", rows.stream().map(ModuleSummary::module)),
                tech.tablesaw.api.IntColumn.create("layer", rows.stream().mapToInt(ModuleSummary::layer).toArray()),
                tech.tablesaw.api.StringColumn.create("W0 [out,in]", rows.stream().map(r -> r.out() + "x" + r.in())),
                tech.tablesaw.api.IntColumn.create("r", rows.stream().mapToInt(ModuleSummary::rank).toArray()),
                tech.tablesaw.api.DoubleColumn.create("scaling", rows.stream().mapToDouble(ModuleSummary::scaling)),
                tech.tablesaw.api.DoubleColumn.create("|dW|/|W0|",
                        rows.stream().mapToDouble(ModuleSummary::relativeDelta)));
        fixed(t, 4);
        return t;
    }

    /** The analysis of this adapter with {@code options} (the backend is this Convsim's, not options.backend()). */
    public AnalysisResult analyze(AnalysisOptions options) throws CheckpointException {
        return Analysis.run(checkpoint, options, backend, ProgressListener.NONE);
    }

    /**
     * As {@link #analyze(AnalysisOptions)}, taking what depends on the base alone from {@code cache} and leaving
     * there what this analysis derives: analysing several adapters on one base, open the cache once, e.g.
     * {@code BaseCache.open(BaseCache.defaultDirectory(System.getenv(), System.getProperty("user.home")),
     * BaseCache.DEFAULT_MAX_BYTES)}. The numbers are the same as without it.
     */
    public AnalysisResult analyze(AnalysisOptions options, io.github.convsim.cache.BaseCache cache)
            throws CheckpointException {
        return Analysis.run(checkpoint, options, backend, ProgressListener.NONE, cache);
    }

    /** CondLoRA's shared layer fitted to this adapter, beside its nulls, on this Convsim's backend. */
    public List<ModuleFit> fitCondLora(CondLoraSettings settings) throws CheckpointException {
        return CondLoraFit.fit(checkpoint, backend.backend(), settings);
    }

    /** CondLoRA's shared layer fitted to an adapter on its base; the checkpoint and a CPU backend are closed after. */
    public static List<ModuleFit> fitCondLora(Path adapter, Path base, CondLoraSettings settings)
            throws CheckpointException {
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapter, base); Backends.Choice cpu = Backends.select("cpu")) {
            return CondLoraFit.fit(ckpt, cpu.backend(), settings);
        }
    }

    /**
     * Adapters on one base compared (phi between every pair at each layer, against the W0 null for pairs), on the
     * backend {@code options} names, which is closed after. A directory of checkpoint-N adapters is a training run.
     */
    public static ComparisonResult compare(List<Path> adapters, Path base, AnalysisOptions options)
            throws CheckpointException {
        try (Backends.Choice b = Backends.select(options.backend())) {
            return Comparison.run(Comparison.expand(adapters), base, options, b, ProgressListener.NONE);
        }
    }

    /** The paper's figure of one conversion matrix's heatmap, left singular vectors, as an image. */
    public static BufferedImage figure(AnalysisResult r, String module, Factor factor) {
        return figure(r, module, factor, Side.LEFT);
    }

    /** The paper's figure of one conversion matrix's heatmap on the given side, as an image. */
    public static BufferedImage figure(AnalysisResult r, String module, Factor factor, Side side) {
        return figure(r, module, factor, side, Figures.Scale.FITTED);
    }

    /**
     * One conversion matrix's heatmap on the given side and colour scale, as an image: {@code Figures.Scale.PAPER} is
     * the paper's fixed 0..1 with the diagonal shown, for a figure beside the paper's own.
     */
    public static BufferedImage figure(AnalysisResult r, String module, Factor factor, Side side, Figures.Scale scale) {
        return Figures.observed(heatmap(r, module, factor, side), scale).toImage();
    }

    /**
     * The figure for a paper, left singular vectors: observed | Gaussian null (where drawn) | W0 null on one colour
     * scale, and the z-map against the W0 null (none where phi is 1 by construction); the nulls as the mean of their
     * draws, or as one draw when {@code oneDraw}.
     */
    public static BufferedImage panel(AnalysisResult r, String module, Factor factor, boolean oneDraw) {
        return Figures.panel(heatmap(r, module, factor, Side.LEFT), oneDraw).toImage();
    }

    /** The figure of a heatmap's Gaussian or W0 null (the mean of its draws), left singular vectors, as an image. */
    public static BufferedImage nullFigure(AnalysisResult r, String module, Factor factor, NullModel model) {
        Heatmap h = heatmap(r, module, factor, Side.LEFT);
        var n = switch (model) {
            case GAUSSIAN -> h.gaussian();
            case W0 -> h.w0();
            case ANALYTIC -> throw new IllegalArgumentException("the analytic null is one number ("
                    + h.analytic() + "), not a figure");
        };
        if (n == null) {
            throw new IllegalArgumentException("the " + model.label() + " null was not computed (see"
                    + " SimilaritySettings.nulls)");
        }
        return Figures.nullFigure(h, model == NullModel.W0 ? "W0 null" : "Gaussian null", n.mean(), n.averageMean(),
                n.draws()).toImage();
    }

    static Heatmap heatmap(AnalysisResult r, String module, Factor factor, Side side) {
        String subject = "C_" + factor.label();
        return r.module(module).heatmap(subject, side).orElseThrow(
                () -> new IllegalArgumentException("no " + side.label() + " heatmap of " + subject + " for " + module));
    }

    /**
     * The verdict table: one row per heatmap with its average, nulls, p, Holm-adjusted p over the analysis' maps, and
     * verdict.
     */
    public static Table verdicts(AnalysisResult r) {
        Table t = Table.create("verdicts");
        List<io.github.convsim.similarity.MapVerdict> judged = Verdicts.of(r,
                io.github.convsim.similarity.MultipleTesting.Correction.HOLM);
        List<Heatmap> maps = judged.stream().map(io.github.convsim.similarity.MapVerdict::map).toList();
        t.addColumns(tech.tablesaw.api.StringColumn.create("module", maps.stream().map(Heatmap::module)),
                tech.tablesaw.api.StringColumn.create("matrix", maps.stream().map(Heatmap::subject)),
                tech.tablesaw.api.StringColumn.create("side", maps.stream().map(h -> h.side().label())),
                tech.tablesaw.api.StringColumn.create("i, j", maps.stream().map(h -> h.i() + ", " + h.j())),
                tech.tablesaw.api.DoubleColumn.create("average", maps.stream().mapToDouble(Heatmap::average)),
                tech.tablesaw.api.DoubleColumn.create("analytic", maps.stream().mapToDouble(Heatmap::analytic)),
                tech.tablesaw.api.DoubleColumn.create("gaussian", maps.stream()
                        .mapToDouble(h -> h.gaussian() == null ? Double.NaN : h.gaussian().averageMean())),
                tech.tablesaw.api.DoubleColumn.create("w0 null", maps.stream()
                        .mapToDouble(h -> h.w0() == null ? Double.NaN : h.w0().averageMean())),
                tech.tablesaw.api.DoubleColumn.create("p", judged.stream().mapToDouble(v -> v.p())),
                tech.tablesaw.api.DoubleColumn.create("p (Holm)", judged.stream().mapToDouble(v -> v.pAdjusted())),
                tech.tablesaw.api.StringColumn.create("exceeds W0 null", judged.stream().map(v -> v.answer())));
        fixed(t, 4);
        return t;
    }

    /**
     * A table as an HTML table, each cell as the table prints it (its columns' formats), every row: for a notebook,
     * {@code display("text/html", Convsim.html(table))}.
     */
    public static String html(Table t) {
        StringBuilder h = new StringBuilder("<table><thead><tr>");
        for (String name : t.columnNames()) {
            h.append("<th>").append(escape(name)).append("</th>");
        }
        h.append("</tr></thead><tbody>");
        for (int r = 0; r < t.rowCount(); r++) {
            h.append("<tr>");
            for (int c = 0; c < t.columnCount(); c++) {
                h.append("<td>").append(escape(t.column(c).getString(r))).append("</td>");
            }
            h.append("</tr>");
        }
        return h.append("</tbody></table>").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }

    /** Prints every double column of {@code t} with {@code digits} decimals. */
    private static void fixed(Table t, int digits) {
        for (var c : t.columns()) {
            if (c instanceof tech.tablesaw.api.DoubleColumn d) {
                d.setPrintFormatter(tech.tablesaw.columns.numbers.NumberColumnFormatter.fixedWithGrouping(digits));
            }
        }
    }

    /** One sentence per conversion-matrix heatmap, computed from the numbers (the maps judged as one family, Holm). */
    public static List<String> interpretation(AnalysisResult r) {
        List<String> out = new ArrayList<>();
        Verdicts.of(r, io.github.convsim.similarity.MultipleTesting.Correction.HOLM).stream()
                .filter(v -> !v.map().isControl()).forEach(v -> out.add(Verdicts.interpretation(v)));
        return out;
    }

    /** Per layer diagnostics of every module (cond(W0), residuals, fp32 gap), printed in scientific notation. */
    public static Table diagnostics(AnalysisResult r) {
        Table t = ReportWriter.diagnosticsTable(r);
        var sci = new tech.tablesaw.columns.numbers.NumberColumnFormatter(
                new java.text.DecimalFormat("0.000E0", java.text.DecimalFormatSymbols.getInstance(Locale.ROOT)));
        for (String c : List.of("cond_w0", "residual_A", "residual_B", "residual_dW", "fp32_vs_fp64")) {
            t.doubleColumn(c).setPrintFormatter(sci);
        }
        return t;
    }

    /** Singular values of W0 of one module and layer (double precision, descending). */
    public double[] w0Spectrum(String module, int layer) throws CheckpointException {
        Matrix w0 = checkpoint.baseWeight(layer(module, layer));
        return backend.backend().svd(List.of(w0), false, Precision.FP64).get(0).s();
    }

    /** Singular values of one layer's conversion matrix (C_A, C_B or C_dW), solved in the default mode. */
    public double[] conversionSpectrum(String module, int layer, Factor factor) throws CheckpointException {
        LoraModule m = layer(module, layer);
        return bases(List.of(m), factor).get(0).singularValues();
    }

    /**
     * The average similarity (pairs a < b) for every prefix pair: grid[i-1][j-1] = average phi(i, j) of one conversion
     * matrix's left singular vectors, i, j = 1..r (the smallest rank where layers' ranks differ).
     */
    public double[][] phiGrid(String module, Factor factor) throws CheckpointException {
        List<LoraModule> layers = checkpoint.layersOf(module);
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("no module '" + module + "' (have " + checkpoint.moduleNames() + ")");
        }
        List<SubspaceBasis> bases = bases(layers, factor);
        int r = io.github.convsim.similarity.SimilarityAnalysis.heatmapRank(layers);
        double[][] grid = new double[r][r];
        for (int i = 1; i <= r; i++) {
            for (int j = 1; j <= r; j++) {
                grid[i - 1][j - 1] = SubspaceSimilarity.averageOffDiagonal(SubspaceSimilarity.phi(backend.backend(),
                        bases.stream().map(SubspaceBasis::vectors).toList(),
                        bases.stream().mapToInt(SubspaceBasis::rank).toArray(), i, j));
            }
        }
        return grid;
    }

    /** A grid as aligned text, rows i and columns j. */
    public static String format(double[][] grid) {
        StringBuilder sb = new StringBuilder("i\\j");
        for (int j = 1; j <= grid[0].length; j++) {
            sb.append(String.format(Locale.ROOT, "%8d", j));
        }
        sb.append('\n');
        for (int i = 0; i < grid.length; i++) {
            sb.append(String.format(Locale.ROOT, "%3d", i + 1));
            for (double v : grid[i]) {
                sb.append(String.format(Locale.ROOT, "%8.4f", v));
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /**
     * The left bases of one conversion matrix at the given layers of a module, solved in the default mode with W0
     * streamed a layer group at a time (the pipeline of {@code analyze}): only the n x r conversion matrices stay.
     */
    private List<SubspaceBasis> bases(List<LoraModule> layers, Factor factor) throws CheckpointException {
        boolean square = layers.stream().allMatch(m -> m.out() == m.in());
        ConversionSolver solver = new ConversionSolver(backend.backend(), AnalysisOptions.defaults().solveOptions(square));
        List<SubspaceBasis> out = new ArrayList<>();
        int group = Math.min(layers.size(), LayerGroups.size(layers.get(0), Runtime.getRuntime().maxMemory()));
        new LayerStream(checkpoint, group).forEach(layers, new java.util.HashMap<>(), g -> {
            List<W0System> systems = solver.factor(g.layers(), g.w0s());
            Equation eqA = ConversionSolver.equationForA(systems.get(0));
            List<Matrix> cA = factor == Factor.A
                    ? solver.solve(systems, g.layers().stream().map(m -> m.a().transpose()).toList(), eqA) : null;
            List<Matrix> cB = factor == Factor.A ? null
                    : solver.solve(systems, g.layers().stream().map(LoraModule::b).toList(), Equation.W0_X);
            List<FactorBases.Pair> pairs = FactorBases.ofFactor(backend.backend(), factor, cA, cB,
                    g.layers().stream().map(LoraModule::a).toList());
            pairs.forEach(p -> out.add(p.left()));
        });
        return out;
    }

    private LoraModule layer(String module, int layer) {
        return checkpoint.layersOf(module).stream().filter(m -> m.layer() == layer).findFirst().orElseThrow(
                () -> new IllegalArgumentException("no layer " + layer + " of module '" + module + "'"));
    }

    @Override
    public void close() {
        checkpoint.close();
        backend.close();
    }
}
