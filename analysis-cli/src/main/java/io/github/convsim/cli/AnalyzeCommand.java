package io.github.convsim.cli;

import io.github.convsim.api.Analysis;
import io.github.convsim.cache.BaseCache;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.AtomicOutput;
import io.github.convsim.report.Figures;
import io.github.convsim.report.ReportWriter;
import io.github.convsim.report.Verdicts;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.results.ReportedRun;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

@Command(name = "analyze", aliases = "analyse", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Solve every layer's conversion matrices and compare layers, against null models; write a report.",
            "With no arguments, analyses the bundled demo (BERT-Base + IMDB LoRA) into convsim-report/ (in the "
            + "current directory). Defaults follow the paper: paper mode where W0 is square, i = j = r, left singular "
            + "vectors, A, B, dW."},
        footer = {"", "Outputs (written to a temporary directory, then moved into place):",
            "  similarity.csv   one row per heatmap cell: phi, the nulls' mean and",
            "                   95 %% interval, the analytic value",
            "  diagnostics.csv  one row per module and layer: cond(W0), rank, the",
            "                   directions the solve kept (solution_rank), residuals,",
            "                   fp32 against fp64",
            "  summary.json     averages, nulls, effect sizes, verdicts and provenance",
            "                   (input hashes, options, seeds)",
            "  figures/         <module>.<factor>.<side>.i<I>-j<J>.png beside .gaussian.png",
            "                   and .w0.png",
            "  report.md, index.html",
            "", "Examples:",
            "  convsim analyze",
            "  convsim analyze my-lora --base model.safetensors --out report \\",
            "      --side both --i 4 --j 4",
            "  convsim analyze --adapter llama-lora --base llama/ --mode lstsq \\",
            "      --modules q_proj,v_proj",
            "  # the same analysis, rerun:",
            "  convsim analyze --from report/summary.json --out report-again"})
final class AnalyzeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ProgressOptions progressOptions;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter directory, or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the"
                    + " bundled demo).")
    Path adapter;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ADAPTER_DIR",
            description = "The adapter, as every other command takes it; the same as --adapter.")
    Path positionalAdapter;

    @Option(names = "--base", paramLabel = "PATH",
            description = "Base weights: .safetensors/.bin file, sharded index, model directory or ORG/NAME[@REVISION]"
                    + " in the Hugging Face hub cache (default: the adapter's base_model_name_or_path, looked up as a"
                    + " path and in the hub cache; the demo's for the demo).")
    Path base;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "convsim-report",
            description = "Report directory (default: ${DEFAULT-VALUE}): absent, empty, or an earlier report of convsim, which is replaced.")
    Path out;

    @Mixin
    SolveOptionsMixin solve;

    @Option(names = "--nulls", split = "\\s*,\\s*", splitSynopsisLabel = ",",
            defaultValue = "gaussian,w0,analytic",
            description = "Null models (default: ${DEFAULT-VALUE}; 'none').")
    List<String> nulls;

    @Option(names = "--controls", split = "\\s*,\\s*", splitSynopsisLabel = ",", defaultValue = "A,B",
            description = "Raw matrices compared on the same grid: A (A^T), B, W0 (default: ${DEFAULT-VALUE}; 'none').")
    List<String> controls;

    @Option(names = "--draws", paramLabel = "K", defaultValue = "32",
            description = "Draws of each sampled null, gaussian and w0 (default: ${DEFAULT-VALUE}).")
    int draws;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "20240322", description = "Seed of every draw of the sampled nulls (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--correction", paramLabel = "C", defaultValue = "holm",
            description = "How the maps' p-values are adjusted, judged as one family: holm (family-wise error rate),"
                    + " bh (Benjamini-Hochberg false discovery rate) or none (default: ${DEFAULT-VALUE}). The maps are"
                    + " tested against the sampled nulls, so only with one.")
    String correction;

    @Option(names = "--scale", paramLabel = "SCALE", defaultValue = "fitted",
            description = "Colour scale of the heatmaps: fitted (from the smallest to the largest off-diagonal phi of"
                    + " a map and its nulls, so that phi of 0.01 to 0.05 is not lost in the dark; the diagonal"
                    + " masked) or paper (the paper's fixed 0 to 1, the diagonal shown) (default: ${DEFAULT-VALUE}).")
    String scale;

    @Option(names = "--from", paramLabel = "SUMMARY_JSON",
            description = "Rerun the analysis an earlier report recorded (its summary.json): the same adapter, base,"
                    + " options, seeds and correction, refused if an input file changed since. Only --out, --force,"
                    + " --format, --scale, --quiet and --progress may be given with it, and the adapter or --base where"
                    + " the inputs have moved (another machine): their files must be the ones the report read (size"
                    + " and sha256).")
    Path from;

    @Mixin
    CacheOptions cacheOptions;

    @Override
    public Integer call() throws Exception {
        if (adapter != null && positionalAdapter != null) {
            throw new ParameterException(spec.commandLine(), "the adapter is given twice (" + positionalAdapter
                    + " and --adapter " + adapter + "): give it once");
        }
        if (adapter == null) {
            adapter = positionalAdapter;
        }
        cacheOptions.check(spec);
        ReportedRun recorded = from == null ? null
                : RerunOptions.read(spec, from, ReportedRun::read, Set.of("--scale"), MOVABLE);
        boolean moved = recorded != null && RerunOptions.inputsGiven(spec, MOVABLE);
        adapter = Locations.resolve(adapter);
        AnalysisOptions options = recorded != null ? recorded.options() : options();
        long gpuBytes = solve.gpuMemory.bytesFor(options.backend(), "");
        Correction c = recorded != null ? recorded.correction()
                : solve.parse(() -> Correction.parse(correction), "--correction", correction);
        Figures.Scale figureScale;
        try {
            figureScale = Figures.Scale.parse(scale);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--scale takes fitted or paper, got '" + scale + "'");
        }
        ReportWriter writer = new ReportWriter(new LinkedHashSet<>(solve.formats), c, figureScale);
        Path adapterDir = adapter != null ? adapter : recorded != null ? recorded.adapter() : Demo.adapter();
        Demo.Choice baseChoice = recorded == null ? Demo.baseFor(adapter, base)
                : base == null ? new Demo.Choice(recorded.base(), "recorded in " + from)
                : new Demo.Choice(Demo.baseFor(adapter, base).path(), "--base, its files those recorded in " + from);
        BaseMatch.BaseCheck baseCheck = recorded != null ? recorded.baseCheck() : solve.baseCheck();
        Path basePath = baseChoice.path();
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        ReportLibraries.preload();
        try (AtomicOutput output = AtomicOutput.prepare(out, solve.force, "analyze", List.of(adapterDir, basePath));
             Progress progress = progressOptions.open(spec.commandLine().getErr())) {
            Backends.Choice choice = Backends.select(options.backend(), gpuBytes);
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapterDir, basePath, baseCheck)) {
                if (moved) {
                    recorded.verifyMovedInputs(Provenance.inputsOf(List.of(ckpt)));
                }
                BaseCache cache = cacheOptions.open();
                Path written;
                AnalysisResult result;
                try (EarlyFigures figures = new EarlyFigures(writer, output.staging().resolve("figures"))) {
                    result = Analysis.run(ckpt, options, choice, progress, cache, figures);
                    progress.progress("write report", 0, 1);
                    written = output.commit(dir -> writer.write(result, dir, figures::finished));
                    progress.progress("write report", 1, 1);
                }
                progress.close();
                CacheOptions.printNotes(cache, spec.commandLine().getErr());
                if (!progressOptions.quiet) {
                    o.printf(Locale.ROOT, "base: %s (%s)%n", basePath, baseChoice.why());
                    ckpt.notes().forEach(n -> o.println("note: " + n));
                    report(o, result, written, (System.nanoTime() - t0) / 1e9, choice, c);
                }
            } finally {
                choice.backend().close();
            }
        }
        return 0;
    }

    /** The options that read the recorded inputs from another place, beside --from. */
    private static final Set<String> MOVABLE = Set.of("--adapter", "--base");

    private void report(PrintWriter o, AnalysisResult result, Path written, double seconds, Backends.Choice choice,
                        Correction c) {
        o.printf(Locale.ROOT, "convsim analyze: %s, %d modules, backend %s%n", result.adapter(),
                result.modules().size(), choice.reason());
        for (MapVerdict v : Verdicts.of(result, c)) {
            if (!v.map().isControl()) {
                o.println("  " + Verdicts.interpretation(v));
            }
        }
        var res = result.provenance().resources();
        o.printf(Locale.ROOT, "report: %s (%.2f s; heap peak %.2f GiB of %.2f, resident peak %.2f GiB)%n", written,
                seconds, gib(res.get("peak_heap_bytes")), gib(res.get("max_heap_bytes")), gib(res.get("peak_rss_bytes")));
    }

    private static double gib(Object bytes) {
        return bytes instanceof Number n ? n.doubleValue() / (1L << 30) : Double.NaN;
    }

    AnalysisOptions options() {
        Set<NullModel> ns = new LinkedHashSet<>();
        for (String n : nulls) {
            if (!n.equalsIgnoreCase("none")) {
                ns.add(solve.parse(() -> NullModel.parse(n), "--nulls", n));
            }
        }
        boolean sampled = ns.stream().anyMatch(NullModel::isSampled);
        if (!sampled) {
            refuseUnused();
        }
        Set<String> cs = new LinkedHashSet<>();
        for (String c : controls) {
            String name = c.trim().toUpperCase(Locale.ROOT);
            if (name.equals("NONE")) {
                continue;
            }
            if (!SimilaritySettings.CONTROLS.contains(name)) {
                throw solve.usage("--controls: unknown control '" + c + "' (expected A, B, W0 or none)");
            }
            cs.add(name);
        }
        // where no null is sampled nothing is drawn, and the report records 0 draws (it recorded the default 32)
        return solve.toOptions(ns, sampled ? draws : 0, seed, cs);
    }

    /**
     * Refuses --draws (but for 0), --seed and --correction where no null is sampled: they set the draws and the tests
     * against them, so the run would not use them, and its report would record them as if it had.
     */
    private void refuseUnused() {
        for (String o : List.of("--draws", "--seed", "--correction")) {
            boolean noDraws = o.equals("--draws") && draws == 0;
            if (!noDraws && spec.commandLine().getParseResult().hasMatchedOption(o)) {
                throw solve.usage(o + " is for the sampled nulls (gaussian, w0) and does nothing with --nulls "
                        + String.join(",", nulls) + ": add one of them to --nulls, or leave " + o + " out");
            }
        }
    }
}
