package io.github.convsim.report;

import io.github.convsim.results.LayerCondition;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import tech.tablesaw.api.DoubleColumn;
import tech.tablesaw.api.IntColumn;
import tech.tablesaw.api.StringColumn;
import tech.tablesaw.api.Table;

/** cond(W0) of the layers a comparison solved: a sentence per module, diagnostics.csv and summary.json's entries. */
final class ConditionReport {
    private ConditionReport() {
    }

    /** The layers by module, in the order solved. */
    private static Map<String, List<LayerCondition>> byModule(List<LayerCondition> conditions) {
        Map<String, List<LayerCondition>> out = new LinkedHashMap<>();
        conditions.forEach(c -> out.computeIfAbsent(c.module(), k -> new ArrayList<>()).add(c));
        return out;
    }

    private static double cond(LayerCondition c) {
        return c.conditioning().value();
    }

    /**
     * One sentence per module: its range of cond(W0), and the layers above {@link ReportWriter#ILL_CONDITIONED} with
     * the digits a solve loses there.
     */
    static List<String> sentences(List<LayerCondition> conditions) {
        List<String> out = new ArrayList<>();
        for (List<LayerCondition> layers : byModule(conditions).values()) {
            LayerCondition lo = layers.get(0);
            LayerCondition hi = layers.get(0);
            for (LayerCondition c : layers) {
                lo = cond(c) < cond(lo) ? c : lo;
                hi = cond(c) > cond(hi) ? c : hi;
            }
            LayerCondition first = layers.get(0);
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%s (%d layer%s, %d x %d, %s mode, %s):"
                    + " cond(W0) from %.3g (layer %d) to %.3g (layer %d), %s", first.module(), layers.size(),
                    layers.size() == 1 ? "" : "s",
                    first.rows(), first.cols(), first.mode().label(), first.precision().name().toLowerCase(Locale.ROOT),
                    cond(lo), lo.layer(), cond(hi), hi.layer(), first.conditioning().norm()));
            String limit = String.format(Locale.ROOT, "%.0e", ReportWriter.ILL_CONDITIONED).replaceAll("e\\+0*", "e");
            List<LayerCondition> ill = layers.stream().filter(c -> cond(c) > ReportWriter.ILL_CONDITIONED
                    && Double.isFinite(cond(c))).toList();
            List<LayerCondition> singular = layers.stream().filter(c -> Double.isInfinite(cond(c))).toList();
            if (ill.isEmpty() && singular.isEmpty()) {
                s.append("; none above ").append(limit);
            }
            if (!ill.isEmpty()) {
                double lost = ill.stream().mapToDouble(LayerCondition::digitsLost).max().orElseThrow();
                s.append(String.format(Locale.ROOT, "; ill-conditioned (above %s) at %s, where a solve loses up to"
                        + " %.1f digits (%s keeps about %.0f)", limit, layerList(ill), lost,
                        first.precision().name().toLowerCase(Locale.ROOT), first.precision().digitsKept(lost)));
            }
            if (!singular.isEmpty()) {
                // least squares through a singular W0 keeps what of each factor lies in W0's range
                s.append("; singular at ").append(layerList(singular)).append(", where the ")
                        .append(first.mode().label()).append(" solve keeps only the part of each factor in W0's range");
            }
            int full = Math.min(first.rows(), first.cols());
            // the cut-off of lstsq or pinv dropped directions (solution_rank in diagnostics.csv)
            if (layers.stream().anyMatch(c -> c.solutionRank() < full)) {
                s.append(String.format(Locale.ROOT, "; the %s solve keeps %s of W0's %d singular directions",
                        first.mode().label(), range(layers.stream().mapToInt(LayerCondition::solutionRank)), full));
            }
            s.append('.');
            out.add(s.toString());
        }
        return out;
    }

    /** Counts over layers as a range: "8", or "8 to 10". */
    static String range(java.util.stream.IntStream counts) {
        java.util.IntSummaryStatistics c = counts.summaryStatistics();
        return c.getMin() == c.getMax() ? String.valueOf(c.getMin()) : c.getMin() + " to " + c.getMax();
    }

    private static String layerList(List<LayerCondition> layers) {
        return (layers.size() == 1 ? "layer " : "layers ") + String.join(", ", layers.stream()
                .map(c -> String.valueOf(c.layer())).toList());
    }

    /** diagnostics.csv: one row per module and layer. */
    static Table table(List<LayerCondition> conditions) {
        StringColumn module = StringColumn.create("module");
        IntColumn layer = IntColumn.create("layer");
        IntColumn rows = IntColumn.create("rows");
        IntColumn cols = IntColumn.create("cols");
        StringColumn mode = StringColumn.create("mode");
        StringColumn precision = StringColumn.create("precision");
        DoubleColumn cond = DoubleColumn.create("cond_w0");
        StringColumn norm = StringColumn.create("cond_norm");
        IntColumn rank = IntColumn.create("rank");
        IntColumn solutionRank = IntColumn.create("solution_rank");
        for (LayerCondition c : conditions) {
            module.append(c.module());
            layer.append(c.layer());
            rows.append(c.rows());
            cols.append(c.cols());
            mode.append(c.mode().label());
            precision.append(c.precision().name().toLowerCase(Locale.ROOT));
            cond.append(cond(c));
            norm.append(c.conditioning().norm());
            if (c.conditioning().rank() >= 0) {
                rank.append(c.conditioning().rank());
            } else {
                rank.appendMissing();
            }
            solutionRank.append(c.solutionRank());
        }
        return Table.create("diagnostics", module, layer, rows, cols, mode, precision, cond, norm, rank, solutionRank);
    }

    /** summary.json's "modules": per module its layers, mode, largest cond(W0) and ill-conditioned layers. */
    static List<Map<String, Object>> summary(List<LayerCondition> conditions) {
        List<Map<String, Object>> out = new ArrayList<>();
        for (List<LayerCondition> layers : byModule(conditions).values()) {
            Map<String, Object> e = new LinkedHashMap<>();
            e.put("module", layers.get(0).module());
            e.put("mode", layers.get(0).mode().label());
            e.put("layers", layers.size());
            e.put("max_cond_w0", ReportWriter.finite(layers.stream().mapToDouble(ConditionReport::cond).max()
                    .orElseThrow()));
            e.put("cond_norm", layers.get(0).conditioning().norm());
            e.put("ill_conditioned_layers", layers.stream().filter(c -> cond(c) > ReportWriter.ILL_CONDITIONED)
                    .map(LayerCondition::layer).toList());
            out.add(e);
        }
        return out;
    }
}
