package io.github.convsim.report;

import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** report.md and index.html: figures beside their nulls, the verdicts, the diagnostics worth a look, provenance. */
final class MarkdownReport {
    private MarkdownReport() {}

    static String markdown(AnalysisResult r, List<MapVerdict> verdicts, Set<String> formats) {
        StringBuilder md = new StringBuilder();
        md.append("# convsim report: ").append(r.adapter()).append("\n\n");
        md.append("Conversion matrices C = W0^-1 A^T, W0^-1 B, W0^-1 BA per layer (CondLoRA, arXiv:2403.14946), "
                + "compared across layers with the subspace similarity phi(i, j) = ||U_a[:, :i]^T U_b[:, :j]||_F^2 / "
                + "min(i, j) (Hu et al. 2021). Each map is shown beside its Gaussian null (the paper's baseline) and "
                + "the W0 null (random factors of the same norms through the same W0: what the frozen weights alone "
                + "produce).\n\n");
        md.append("## Verdicts\n\n");
        md.append(familySentence(verdicts)).append("\n\n");
        md.append("| module | matrix | side | i | j | average | analytic | Gaussian null [95 %] | W0 null [95 %] | "
                + "effect (sd) | p | p adjusted | exceeds W0 null |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
        for (MapVerdict v : verdicts) {
            Heatmap h = v.map();
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s |%n",
                    h.module(), h.subject(), h.side().label(), h.i(), h.j(), num(h.average()), num(h.analytic()),
                    h.gaussian() == null ? "" : Verdicts.interval(h.gaussian()),
                    h.w0() == null ? "" : Verdicts.interval(h.w0()),
                    h.w0() == null ? "" : String.format(Locale.ROOT, "%.2f", h.w0().effectSize(h.average())),
                    Verdicts.p(v.p()), Verdicts.p(v.pAdjusted()), answer(v)));
        }
        md.append("\n");
        for (MapVerdict v : verdicts) {
            if (!v.map().isControl()) {
                md.append("- ").append(Verdicts.interpretation(v)).append('\n');
            }
        }
        md.append("\n## Figures\n\n");
        String ext = formats.contains("png") ? "png" : "svg";
        for (Heatmap h : heatmaps(r)) {
            md.append("### ").append(h.module()).append(" · ").append(h.subject()).append(" · ")
                    .append(h.side().label()).append(h.isControl() ? " (control)" : "").append("\n\n");
            List<String> cells = new ArrayList<>();
            for (String stem : Figures.of(h).keySet()) {
                cells.add("![" + stem + "](figures/" + stem + "." + ext + ")");
            }
            md.append("| observed | Gaussian null | W0 null |\n|---|---|---|\n| ")
                    .append(String.join(" | ", cells)).append(" |\n\n");
        }
        md.append("## Diagnostics worth a look\n\n");
        List<String> flags = flags(r);
        if (flags.isEmpty()) {
            md.append("Nothing flagged: every W0 is well conditioned and every residual is small.\n");
        }
        flags.forEach(f -> md.append("- ").append(f).append('\n'));
        md.append("\nAll layers: `diagnostics.csv`. Every cell of every map: `similarity.csv`.\n\n");
        md.append("## Provenance\n\n");
        md.append("Arithmetic: ").append(r.provenance().arithmeticSentence()).append(".\n\n");
        for (Map.Entry<String, Object> e : r.provenance().asMap().entrySet()) {
            md.append("- **").append(e.getKey()).append("**: ").append(e.getValue()).append('\n');
        }
        return md.toString();
    }

    static String html(AnalysisResult r, List<MapVerdict> verdicts) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>convsim: ")
                .append(esc(r.adapter())).append("</title><style>body{font-family:sans-serif;margin:2em;max-width:1900px}"
                        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
                        + "text-align:right}th{background:#f3f3f3}.figs{display:flex;gap:8px;flex-wrap:wrap}"
                        + ".figs img{width:32%;min-width:380px}.no{color:#555}.yes{color:#070;font-weight:bold}"
                        + "code{background:#f5f5f5}</style></head><body>");
        h.append("<h1>convsim report: ").append(esc(r.adapter())).append("</h1>");
        h.append("<h2>Verdicts</h2><p>").append(esc(familySentence(verdicts))).append("</p>");
        h.append("<table><tr><th>module</th><th>matrix</th><th>side</th><th>i</th><th>j</th>"
                + "<th>average</th><th>analytic</th><th>Gaussian null [95 %]</th><th>W0 null [95 %]</th>"
                + "<th>p</th><th>p adjusted</th><th>exceeds W0 null</th></tr>");
        for (MapVerdict verdict : verdicts) {
            Heatmap m = verdict.map();
            String v = answer(verdict);
            h.append("<tr><td>").append(esc(m.module())).append("</td><td>").append(esc(m.subject())).append("</td><td>")
                    .append(m.side().label()).append("</td><td>").append(m.i()).append("</td><td>").append(m.j())
                    .append("</td><td>").append(num(m.average())).append("</td><td>").append(num(m.analytic()))
                    .append("</td><td>").append(m.gaussian() == null ? "" : Verdicts.interval(m.gaussian()))
                    .append("</td><td>").append(m.w0() == null ? "" : Verdicts.interval(m.w0()))
                    .append("</td><td>").append(Verdicts.p(verdict.p())).append("</td><td>")
                    .append(Verdicts.p(verdict.pAdjusted())).append("</td><td class=\"").append(verdict.answer())
                    .append("\">").append(esc(v)).append("</td></tr>");
        }
        h.append("</table><ul>");
        for (MapVerdict verdict : verdicts) {
            if (!verdict.map().isControl()) {
                h.append("<li>").append(esc(Verdicts.interpretation(verdict))).append("</li>");
            }
        }
        h.append("</ul><h2>Figures</h2>");
        for (Heatmap m : heatmaps(r)) {
            h.append("<h3>").append(esc(m.module() + " · " + m.subject() + " · " + m.side().label()))
                    .append(m.isControl() ? " (control)" : "").append("</h3><div class=\"figs\">");
            for (String stem : Figures.of(m).keySet()) {
                h.append("<img src=\"figures/").append(esc(stem)).append(".png\" alt=\"").append(esc(stem)).append("\">");
            }
            h.append("</div>");
        }
        h.append("<h2>Diagnostics worth a look</h2><ul>");
        List<String> flags = flags(r);
        if (flags.isEmpty()) {
            h.append("<li>Nothing flagged.</li>");
        }
        flags.forEach(f -> h.append("<li>").append(esc(f)).append("</li>"));
        h.append("</ul><h2>Provenance</h2><p>Arithmetic: ").append(esc(r.provenance().arithmeticSentence()))
                .append(".</p><table>");
        for (Map.Entry<String, Object> e : r.provenance().asMap().entrySet()) {
            h.append("<tr><th>").append(esc(e.getKey())).append("</th><td style=\"text-align:left\"><code>")
                    .append(esc(String.valueOf(e.getValue()))).append("</code></td></tr>");
        }
        return h.append("</table></body></html>\n").toString();
    }

    /** Layers whose numbers deserve suspicion: ill-conditioned W0, large residuals, fp32 far from fp64. */
    static List<String> flags(AnalysisResult r) {
        List<String> out = new ArrayList<>();
        for (ModuleResult m : r.modules()) {
            for (LayerDiagnostics d : m.diagnostics()) {
                if (d.condW0() > ReportWriter.ILL_CONDITIONED) {
                    out.add(String.format(Locale.ROOT, "%s layer %d: cond(W0) = %.3g (%s), ill-conditioned: a solve "
                            + "loses about %.1f digits (fp64 keeps about %.0f, fp32 about %.0f)", d.module(), d.layer(),
                            d.condW0(), d.condNorm(), d.digitsLost(), Math.max(0, 15.95 - d.digitsLost()),
                            Math.max(0, 7.2 - d.digitsLost())));
                }
                double res = Math.max(d.residualA(), Math.max(d.residualB(), d.residualDW()));
                if (res > 1e-6) {
                    out.add(String.format(Locale.ROOT, "%s layer %d: relative residual %.2e (%s mode): the conversion "
                            + "matrices do not solve their equations exactly", d.module(), d.layer(), res,
                            d.mode().label()));
                }
                if (d.precisionGap() > 1e-3) {
                    out.add(String.format(Locale.ROOT, "%s layer %d: fp32 and fp64 conversion matrices differ by %.2e"
                            + " (relative): fp32, as the authors computed, is not reliable here", d.module(),
                            d.layer(), d.precisionGap()));
                }
            }
        }
        return out;
    }

    /** The verdict, with its status where there is none ("n/a (degenerate)"). */
    private static String answer(MapVerdict v) {
        return switch (v.status()) {
            case TESTED -> v.answer();
            case DUPLICATE -> v.answer() + " (as " + v.duplicateOf().subject() + ")";
            default -> "n/a (" + v.status().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ")";
        };
    }

    /** What the family is and how its p-values were adjusted. */
    static String familySentence(List<MapVerdict> verdicts) {
        if (verdicts.isEmpty()) {
            return "";
        }
        MapVerdict any = verdicts.get(0);
        long yes = verdicts.stream().filter(v -> v.status() == MapVerdict.Status.TESTED && v.exceeds()).count();
        return String.format(Locale.ROOT, "Each conversion map is tested against the W0 null: p is one-sided, from the"
                + " null's %s draws fitted as log-normal (a predictive t-test on the log scale; the Monte Carlo p is in"
                + " summary.json). The"
                + " family is the %d maps with a W0 null that are neither degenerate nor duplicates; %s; a map exceeds"
                + " the W0 null when its adjusted p is below %s. %d of %d do.", any.map().w0() == null ? "K"
                : String.valueOf(any.map().w0().draws()), any.familySize(), any.correction() == Correction.NONE
                ? "p is not adjusted" : "p is adjusted by " + Verdicts.correctionName(any.correction())
                + (any.correction() == Correction.HOLM ? " (family-wise error rate)" : " (false discovery rate)"),
                any.alpha(), yes, any.familySize());
    }

    private static List<Heatmap> heatmaps(AnalysisResult r) {
        List<Heatmap> all = new ArrayList<>();
        r.modules().forEach(m -> all.addAll(m.heatmaps()));
        return all;
    }

    private static String num(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.4f", v);
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
