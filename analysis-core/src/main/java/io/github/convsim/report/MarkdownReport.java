package io.github.convsim.report;

import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.linalg.Precision;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/** report.md and index.html: figures beside their nulls, the verdicts, the diagnostics worth a look, provenance. */
final class MarkdownReport {
    private MarkdownReport() {}

    static String markdown(AnalysisResult r, List<MapVerdict> verdicts, Set<String> formats) {
        StringBuilder md = new StringBuilder();
        md.append("# convsim report: ").append(r.adapter()).append("\n\n");
        md.append("Conversion matrices C = W0^-1 A^T, W0^-1 B, W0^-1 BA per layer (CondLoRA, arXiv:2403.14946), "
                + "compared across layers with the subspace similarity phi(i, j) = ||U_a[:, :i]^T U_b[:, :j]||_F^2 / "
                + "min(i, j) (Hu et al. 2021). ").append(nullsSentence(r)).append("\n\n");
        notes(md, r.provenance().checkpointNotes());
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
                    h.w0() == null ? "" : num2(ReportWriter.effectSize(h.w0(), h)),
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
            List<String> heads = new ArrayList<>();
            List<String> cells = new ArrayList<>();
            for (String stem : Figures.of(h).keySet()) {
                heads.add(Figures.shows(h, stem));
                cells.add("![" + stem + "](figures/" + stem + "." + ext + ")");
            }
            md.append("| ").append(String.join(" | ", heads)).append(" |\n|")
                    .append("---|".repeat(heads.size())).append("\n| ")
                    .append(String.join(" | ", cells)).append(" |\n\n");
            if (h.w0() != null && !h.isControl()) {
                md.append("For a paper, ").append(Figures.panelCaption(h)).append(": ![panel](figures/")
                        .append(h.stem()).append(".panel.").append(ext).append(")\n\n");
            }
        }
        md.append("## Spectra\n\nSingular values of each module's first W0 and of its conversion matrices (C = W0^-1 X"
                + " takes its largest singular values from W0's smallest directions):\n\n");
        for (ModuleResult m : r.modules()) {
            if (m.spectrum() != null) {
                md.append("![").append(m.module()).append(" spectrum](figures/").append(m.module())
                        .append(".spectrum.").append(ext).append(")\n\n");
            }
        }
        md.append("## Diagnostics worth a look\n\n");
        List<String> flags = flags(r);
        if (flags.isEmpty()) {
            md.append("Nothing flagged: every W0 is well conditioned and every residual is small.\n");
        }
        flags.forEach(f -> md.append("- ").append(f).append('\n'));
        md.append("\nAll layers: `diagnostics.csv`. Every cell of every map: `similarity.csv`.\n\n");
        md.append(MarkdownProvenance.of(r.provenance()));
        return md.toString();
    }

    /** index.html: the verdict table with effect sizes, the figures with captions, every file, provenance. */
    static void html(AnalysisResult r, List<MapVerdict> verdicts, Path dir) throws IOException {
        HtmlPage page = new HtmlPage("convsim analyze: " + r.adapter());
        page.notes(r.provenance().checkpointNotes());
        page.heading("Verdicts").paragraph(familySentence(verdicts));
        List<List<String>> rows = new ArrayList<>();
        for (MapVerdict verdict : verdicts) {
            Heatmap m = verdict.map();
            rows.add(List.of(m.module(), m.subject(), m.side().label(), String.valueOf(m.i()), String.valueOf(m.j()),
                    num(m.average()), num(m.analytic()),
                    m.gaussian() == null ? "" : Verdicts.interval(m.gaussian()),
                    m.w0() == null ? "" : Verdicts.interval(m.w0()),
                    m.w0() == null ? "" : num2(ReportWriter.effectSize(m.w0(), m)),
                    Verdicts.p(verdict.p()), Verdicts.p(verdict.pAdjusted()), answer(verdict)));
        }
        page.table(List.of("module", "matrix", "side", "i", "j", "average", "analytic", "Gaussian null [95 %]",
                "W0 null [95 %]", "effect (W0 null sd)", "p", "p adjusted (" + (verdicts.isEmpty() ? "holm"
                : verdicts.get(0).correction().label()) + ")", "exceeds W0 null"), rows, 3);
        page.list(verdicts.stream().filter(v -> !v.map().isControl()).map(Verdicts::interpretation).toList());
        boolean drawn = heatmaps(r).stream().anyMatch(h -> h.gaussian() != null || h.w0() != null);
        page.heading("Figures").paragraph((drawn ? "Each map beside the mean of its nulls' draws, on one colour scale"
                + " fitted to the set" : "Each map on its own colour scale (no null was drawn)") + "; the diagonal (a"
                + " layer against itself) is masked.");
        for (Heatmap m : heatmaps(r)) {
            page.subheading(m.module() + " · " + m.subject() + " · " + m.side().label()
                    + (m.isControl() ? " (control)" : ""));
            List<String> files = new ArrayList<>();
            List<String> captions = new ArrayList<>();
            for (String stem : Figures.of(m).keySet()) {
                files.add(figureFile(dir, stem));
                captions.add(switch (Figures.shows(m, stem)) {
                    case "W0 null" -> "W0 null: random A and B of the same shapes through the same W0";
                    case "Gaussian null" -> "Gaussian null: random subspaces of the same dimension";
                    default -> "observed: average " + num(m.average()) + " over layer pairs a != b";
                });
            }
            page.figures(files, captions);
            if (m.w0() != null && !m.isControl()) {
                page.figures(List.of(figureFile(dir, m.stem() + ".panel")), List.of("for a paper: "
                        + (Figures.hasZMap(m) ? Figures.panelLayout(m) + " on one scale, and z = (observed - W0 null"
                        + " mean) / W0 null sd per cell" : Figures.panelCaption(m))));
            }
        }
        page.heading("Spectra").paragraph("Singular values of each module's first W0 and of its conversion matrices:"
                + " C = W0^-1 X takes its largest singular values from W0's smallest directions, which W0 shares across"
                + " layers.");
        page.figures(r.modules().stream().filter(m -> m.spectrum() != null)
                        .map(m -> figureFile(dir, m.module() + ".spectrum")).toList(),
                r.modules().stream().filter(m -> m.spectrum() != null)
                        .map(m -> m.module() + " layer " + m.spectrum().layer() + ": W0, C_A and C_B").toList());
        List<String> flags = flags(r);
        page.heading("Diagnostics worth a look").list(flags.isEmpty() ? List.of("Nothing flagged.") : flags);
        page.files(dir).provenance(r.provenance()).write(dir.resolve("index.html"));
    }

    /** A figure's file relative to the report: the PNG where one was written, else the SVG. */
    private static String figureFile(Path dir, String stem) {
        String png = "figures/" + stem + ".png";
        return java.nio.file.Files.exists(dir.resolve(png)) ? png : "figures/" + stem + ".svg";
    }

    /** Layers whose numbers deserve suspicion: ill-conditioned W0, large residuals, fp32 far from fp64. */
    static List<String> flags(AnalysisResult r) {
        List<String> out = new ArrayList<>();
        for (ModuleResult m : r.modules()) {
            for (LayerDiagnostics d : m.diagnostics()) {
                if (Double.isInfinite(d.condW0())) {
                    out.add(String.format(Locale.ROOT, "%s layer %d: W0 is singular (%s), so the %s solve keeps only"
                            + " the part of each factor in W0's range", d.module(), d.layer(), d.condNorm(),
                            d.mode().label()));
                } else if (d.condW0() > ReportWriter.ILL_CONDITIONED) {
                    out.add(String.format(Locale.ROOT, "%s layer %d: cond(W0) = %.3g, %s, ill-conditioned: a solve "
                            + "loses about %.1f digits (fp64 keeps about %.0f, fp32 about %.0f)", d.module(), d.layer(),
                            d.condW0(), d.condNorm(), d.digitsLost(),
                            Precision.FP64.digitsKept(d.digitsLost()), Precision.FP32.digitsKept(d.digitsLost())));
                }
                if (d.precisionGap() > 1e-3) {
                    out.add(String.format(Locale.ROOT, "%s layer %d: fp32 and fp64 conversion matrices differ by %.2e"
                            + " (relative): fp32, as the authors computed, is not reliable here", d.module(),
                            d.layer(), d.precisionGap()));
                }
            }
            residualFlag(m, "C_A", m.diagnostics().get(0).equationA(), LayerDiagnostics::residualA).ifPresent(out::add);
            residualFlag(m, "C_B", m.diagnostics().get(0).equationB(), LayerDiagnostics::residualB).ifPresent(out::add);
            residualFlag(m, "C_dW", "W0 C_dW = B A", LayerDiagnostics::residualDW).ifPresent(out::add);
        }
        return out;
    }

    /** Relative residuals above this are flagged: a solve in fp64 leaves far less, unless the system has no solution. */
    static final double RESIDUAL = 1e-6;

    /**
     * One line per module and conversion matrix whose equation some layers leave a residual in: the range, the layers,
     * and why. An overdetermined system (least squares through a W0 that is not square: more equations than unknowns)
     * has no exact solution, and its conversion matrix reproduces only the part of the factor in the range of op(W0);
     * a square one in paper mode should not leave one.
     */
    private static java.util.Optional<String> residualFlag(ModuleResult m, String matrix, String equation,
                                                           java.util.function.ToDoubleFunction<LayerDiagnostics> residual) {
        List<LayerDiagnostics> all = m.diagnostics();
        List<LayerDiagnostics> high = all.stream().filter(d -> residual.applyAsDouble(d) > RESIDUAL).toList();
        if (high.isEmpty()) {
            return java.util.Optional.empty();
        }
        double lo = high.stream().mapToDouble(residual).min().orElseThrow();
        double hi = high.stream().mapToDouble(residual).max().orElseThrow();
        LayerDiagnostics d = high.get(0);
        String range = lo == hi ? String.format(Locale.ROOT, "%.2e", lo)
                : String.format(Locale.ROOT, "%.2e to %.2e", lo, hi);
        String where = high.size() == all.size() ? "all " + all.size() + " layers" : "layers " + String.join(", ",
                high.stream().map(x -> Integer.toString(x.layer())).toList()) + " of " + all.size();
        String target = equation.substring(equation.indexOf("= ") + 2);
        // W0 X = T has more equations than unknowns where W0 is tall; W0^T X = T where W0 is wide
        boolean overdetermined = equation.startsWith("W0^T") ? d.rows() < d.cols() : d.rows() > d.cols();
        String why = overdetermined ? "W0 is " + d.rows() + "x" + d.cols() + ", so " + equation + " has more equations"
                + " than unknowns and " + matrix + " is its least-squares fit, which reproduces only the part of "
                + target + " in the range of " + (equation.startsWith("W0^T") ? "W0^T" : "W0")
                : d.mode() == io.github.convsim.conversion.SolveMode.RIDGE ? "ridge shrinks W0's weak directions, so"
                + " no layer's equation is solved exactly"
                : d.mode() != io.github.convsim.conversion.SolveMode.PAPER ? "the " + d.mode().label() + " solve"
                + " keeps " + ConditionReport.range(high.stream().mapToInt(LayerDiagnostics::solutionRank))
                + " of W0's " + Math.min(d.rows(), d.cols()) + " singular directions, those above its cut-off, and"
                + " drops the rest (solution_rank in diagnostics.csv)"
                : d.precision() == Precision.FP32 ? "in fp32 a solve's residual grows with cond(W0)"
                + " from fp32's rounding of 6e-8, and cond(W0) is up to " + String.format(Locale.ROOT, "%.2g",
                all.stream().mapToDouble(LayerDiagnostics::condW0).max().orElseThrow()) + " here"
                : "an fp64 solve leaves far less: see cond(W0) in diagnostics.csv";
        return java.util.Optional.of(String.format(Locale.ROOT, "%s %s: %s leaves a relative residual of %s in %s (%s"
                + " mode): %s", m.module(), matrix, equation, range, where, d.mode().label(), why));
    }

    /** What a report says before its results, as "- Note: ..." lines and a blank line; nothing where there are none. */
    static void notes(StringBuilder md, List<String> notes) {
        notes.forEach(n -> md.append("- Note: ").append(n).append('\n'));
        if (!notes.isEmpty()) {
            md.append('\n');
        }
    }

    /** The verdict, with its status where there is none ("n/a (degenerate)"). */
    private static String answer(MapVerdict v) {
        return switch (v.status()) {
            case TESTED -> v.answer() + (v.decided() ? "" : " (undecided)");
            case DUPLICATE -> v.answer() + " (as " + v.duplicateOf().subject() + (v.decided() ? "" : ", undecided") + ")";
            default -> "n/a (" + v.status().name().toLowerCase(Locale.ROOT).replace('_', ' ') + ")";
        };
    }

    /** The nulls each map is shown beside, as far as this analysis drew them. */
    private static String nullsSentence(AnalysisResult r) {
        List<Heatmap> maps = heatmaps(r);
        boolean gaussian = maps.stream().anyMatch(h -> h.gaussian() != null);
        boolean w0 = maps.stream().anyMatch(h -> h.w0() != null);
        String g = "its Gaussian null (the paper's baseline)";
        String w = "the W0 null (Gaussian factors of the same shapes through the same W0: what the frozen weights alone"
                + " produce)";
        if (gaussian && w0) {
            return "Each map is shown beside " + g + " and " + w + ".";
        }
        if (gaussian || w0) {
            return "Each map is shown beside " + (gaussian ? g : w) + "; the " + (gaussian ? "W0" : "Gaussian")
                    + " null was not drawn.";
        }
        return "No null was drawn: the maps are shown alone.";
    }

    /** What the family is and how its p-values were adjusted. */
    static String familySentence(List<MapVerdict> verdicts) {
        if (verdicts.isEmpty()) {
            return "";
        }
        MapVerdict any = verdicts.get(0);
        java.util.OptionalInt draws = verdicts.stream().filter(v -> v.map().w0() != null)
                .mapToInt(v -> v.map().w0().draws()).findFirst();
        if (draws.isEmpty()) {
            String gaussian = verdicts.stream().filter(v -> v.gaussian() != null).findFirst()
                    .map(v -> " Each map's comparison with the Gaussian baseline is " + (v.correction()
                            == Correction.NONE ? "uncorrected" : Verdicts.correctionName(v.correction())
                            + "-adjusted over the " + v.gaussian().familySize() + " maps compared with it")
                            + "; it says nothing about W0.").orElse("");
            return "No map is tested: a verdict weighs a map against the W0 null, and this analysis drew none (its"
                    + " nulls did not include w0)." + gaussian;
        }
        if (any.familySize() == 0) {
            return "No map is tested: every map with a W0 null is degenerate, undefined or a duplicate of another.";
        }
        long yes = verdicts.stream().filter(v -> v.status() == MapVerdict.Status.TESTED && v.exceeds()).count();
        return String.format(Locale.ROOT, "Each conversion map is tested against the W0 null: p is one-sided, from the"
                + " null's %d draws fitted as log-normal (a predictive t-test on the log scale; the Monte Carlo p is in"
                + " summary.json). The"
                + " family is the %d maps with a W0 null that are neither degenerate nor duplicates; %s; a map exceeds"
                + " the W0 null when its adjusted p is below %s. %d of %d do.", draws.getAsInt(), any.familySize(),
                any.correction() == Correction.NONE
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

    private static String num2(double v) {
        return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", v);
    }
}
