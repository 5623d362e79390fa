package io.github.convsim.report;

import io.github.convsim.results.ModuleResult;
import io.github.convsim.results.ModuleSpectrum;
import java.awt.Color;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Set;
import org.knowm.xchart.VectorGraphicsEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.markers.SeriesMarkers;

/**
 * One module's spectra: the singular values of its first layer's W0 (index 1..n) and of that layer's C_A and C_B
 * (index 1..r), on a log scale. C = W0^-1 X draws its largest singular values from W0's smallest, which is why W0
 * alone makes conversion matrices of different layers similar.
 */
final class SpectrumFigure {
    private SpectrumFigure() {}

    static XYChart chart(ModuleResult m) {
        ModuleSpectrum s = m.spectrum();
        XYChart chart = new XYChartBuilder().width(760).height(480)
                .title(String.format(Locale.ROOT, "%s layer %d: singular values of W0 and of its conversion matrices",
                        m.module(), s.layer()))
                .xAxisTitle("index (descending; log scale)").yAxisTitle("singular value").build();
        var st = chart.getStyler();
        st.setYAxisLogarithmic(true);
        st.setYAxisDecimalPattern("0E0"); // every decade alike: XChart mixed "1E-4" with "0.001"
        // on a linear axis XChart labelled every 32nd of 768 indices and the labels ran together; on a log axis the
        // decades are labelled, and the r values of C_A and C_B spread over the first one instead of one corner
        st.setXAxisLogarithmic(true);
        st.setChartBackgroundColor(Color.WHITE);
        st.setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        st.setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        if (s.w0() != null) {
            XYSeries w = chart.addSeries(String.format(Locale.ROOT, "W0 (cond %.3g)", s.w0()[0] / s.w0()[s.w0().length - 1]),
                    index(s.w0().length), positive(s.w0()));
            w.setMarker(SeriesMarkers.NONE);
            w.setLineColor(Color.DARK_GRAY);
        }
        series(chart, "C_A = W0^-1 A^T", s.cA(), Viridis.at(0.2), SeriesMarkers.CIRCLE);
        series(chart, "C_B = W0^-1 B", s.cB(), Viridis.at(0.65), SeriesMarkers.DIAMOND);
        return chart;
    }

    private static void series(XYChart chart, String name, double[] v, Color c,
                               org.knowm.xchart.style.markers.Marker marker) {
        XYSeries s = chart.addSeries(name, index(v.length), positive(v));
        s.setLineColor(c);
        s.setMarkerColor(c);
        s.setMarker(marker);
    }

    private static double[] index(int n) {
        double[] x = new double[n];
        for (int i = 0; i < n; i++) {
            x[i] = i + 1;
        }
        return x;
    }

    /** Zero singular values cannot sit on a log axis: they are drawn at the smallest positive one's tenth. */
    private static double[] positive(double[] v) {
        double floor = Double.MAX_VALUE;
        for (double x : v) {
            if (x > 0) {
                floor = Math.min(floor, x);
            }
        }
        double[] out = v.clone();
        for (int i = 0; i < out.length; i++) {
            if (!(out[i] > 0)) {
                out[i] = floor == Double.MAX_VALUE ? 1e-300 : floor / 10;
            }
        }
        return out;
    }

    static void write(ModuleResult m, Path stem, Set<String> formats) throws IOException {
        XYChart chart = chart(m);
        if (formats.contains("png")) {
            PngWriter.write(chart, stem.resolveSibling(stem.getFileName() + ".png"));
        }
        if (formats.contains("svg")) {
            VectorGraphicsEncoder.saveVectorGraphic(chart, stem.toString() + ".svg",
                    VectorGraphicsEncoder.VectorGraphicsFormat.SVG);
        }
    }
}
