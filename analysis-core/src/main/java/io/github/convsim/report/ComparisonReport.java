package io.github.convsim.report;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.api.ComparisonMap;
import io.github.convsim.api.ComparisonResult;
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
import org.knowm.xchart.BitmapEncoder;
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
 * Writes a comparison: compare.csv (phi per layer and pair of adapters), summary.json, an adapters x adapters heatmap
 * per module and matrix, and for a training run trajectory.csv with its line chart.
 */
public final class ComparisonReport {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private final Set<String> formats;

    public ComparisonReport(Set<String> formats) {
        this.formats = Set.copyOf(formats);
    }

    public void write(ComparisonResult r, Path dir) throws IOException {
        Path figures = Files.createDirectories(dir.resolve("figures"));
        pairTable(r).write().csv(dir.resolve("compare.csv").toFile());
        if (r.isTrajectory()) {
            trajectoryTable(r).write().csv(dir.resolve("trajectory.csv").toFile());
        }
        StringBuilder md = new StringBuilder("# convsim compare\n\nAdapters: " + String.join(", ", r.adapters())
                + "\n\nphi between adapters at the same layer, averaged over layers. Random subspaces give the analytic"
                + " value; the W0 null is what two unrelated adapters share because their conversion matrices pass"
                + " through the same W0^-1, which amplifies the same few directions.\n\n");
        for (ComparisonMap m : r.maps()) {
            String[] labels = r.adapters().toArray(String[]::new);
            double avg = offDiagonalMean(m.mean());
            HeatmapFigure fig = new HeatmapFigure("Average Similarity = " + Figures.average(avg),
                    String.format(Locale.ROOT, "%s · %s · %s · i=%d, j=%d · mean over %d layers", m.module(),
                            m.subject(), m.side().label(), m.i(), m.j(), m.layers().length), "adapter", "adapter",
                    labels, m.mean());
            String stem = "compare." + m.stem();
            fig.write(figures.resolve(stem), formats);
            md.append("## ").append(m.module()).append(" · ").append(m.subject()).append(" · ")
                    .append(m.side().label()).append("\n\n")
                    .append(String.format(Locale.ROOT, "Average over pairs of adapters %.4f; random subspaces %.4f;"
                            + " two unrelated adapters through the same W0 (W0 null) %.4f.%n%n", avg, m.analytic(),
                            m.w0NullMean()))
                    .append("![").append(stem).append("](figures/").append(stem).append(".png)\n\n");
            if (r.isTrajectory()) {
                XYChart chart = trajectoryChart(r, m);
                String tstem = "trajectory." + m.stem();
                if (formats.contains("png")) {
                    BitmapEncoder.saveBitmap(chart, figures.resolve(tstem + ".png").toString(),
                            BitmapEncoder.BitmapFormat.PNG);
                }
                if (formats.contains("svg")) {
                    VectorGraphicsEncoder.saveVectorGraphic(chart, figures.resolve(tstem + ".svg").toString(),
                            VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
                }
                md.append("![").append(tstem).append("](figures/").append(tstem).append(".png)\n\n");
            }
        }
        JSON.writeValue(dir.resolve("summary.json").toFile(), summary(r));
        md.append("## Provenance\n\n");
        md.append("Arithmetic: ").append(r.provenance().arithmeticSentence()).append(".\n\n");
        r.provenance().asMap().forEach((k, v) -> md.append("- **").append(k).append("**: ").append(v).append('\n'));
        Files.writeString(dir.resolve("report.md"), md.toString(), StandardCharsets.UTF_8);
    }

    /** One row per module, matrix, side, layer and ordered pair of adapters. */
    public static Table pairTable(ComparisonResult r) {
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
                        factor.append(m.subject().substring(2));
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
                        w0.append(m.w0Null() == null ? Double.NaN : m.w0Null().mean()[l][l]);
                        w0Lo.append(m.w0Null() == null ? Double.NaN : m.w0Null().lo()[l][l]);
                        w0Hi.append(m.w0Null() == null ? Double.NaN : m.w0Null().hi()[l][l]);
                    }
                }
            }
        }
        return Table.create("compare", module, factor, side, layer, a, b, stepA, stepB, phi, analytic, w0, w0Lo,
                w0Hi);
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
                factor.append(m.subject().substring(2));
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
        s.setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.InsideNE);
        s.setMarkerSize(7);
        double[] steps = r.steps().stream().mapToDouble(Integer::doubleValue).toArray();
        XYSeries fin = chart.addSeries("to final checkpoint", steps, m.toFinal());
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

    private static Map<String, Object> summary(ComparisonResult r) {
        Map<String, Object> root = new LinkedHashMap<>();
        root.put("adapters", r.adapters());
        root.put("steps", r.steps());
        List<Map<String, Object>> maps = new ArrayList<>();
        for (ComparisonMap m : r.maps()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("module", m.module());
            e.put("factor", m.subject().substring(2));
            e.put("side", m.side().label());
            e.put("i", m.i());
            e.put("j", m.j());
            e.put("layers", m.layers());
            e.put("mean_phi", m.mean());
            e.put("average_over_pairs", offDiagonalMean(m.mean()));
            e.put("analytic", m.analytic());
            e.put("w0_null_mean", m.w0NullMean());
            e.put("w0_null_per_layer", m.w0NullPerLayer());
            if (r.isTrajectory()) {
                e.put("phi_to_final", m.toFinal());
                e.put("phi_to_previous", m.toPrevious());
            }
            maps.add(e);
        }
        root.put("maps", maps);
        root.put("provenance", r.provenance().asMap());
        return root;
    }
}
