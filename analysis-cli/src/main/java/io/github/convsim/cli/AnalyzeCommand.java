package io.github.convsim.cli;

import io.github.convsim.api.Analysis;
import io.github.convsim.api.AnalysisOptions;
import io.github.convsim.api.AnalysisResult;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.AtomicOutput;
import io.github.convsim.report.ReportWriter;
import io.github.convsim.report.Verdicts;
import io.github.convsim.similarity.Heatmap;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.Side;
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
import picocli.CommandLine.Spec;

@Command(name = "analyze", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Solve every layer's conversion matrices and compare layers, against null models; write a report.",
            "With no arguments, analyses the bundled demo (BERT-Base + IMDB LoRA) into ./convsim-report/.",
            "Defaults follow the paper: paper mode where W0 is square, i = j = r, left singular vectors, A, B, dW."},
        footer = {"", "Outputs (written to a temporary directory, then moved into place):",
            "  similarity.csv   one row per heatmap cell: phi, the nulls' mean and 95 % interval, the analytic value",
            "  diagnostics.csv  one row per module and layer: cond(W0), rank, residuals, fp32 against fp64",
            "  summary.json     averages, nulls, effect sizes, verdicts and provenance (input hashes, options, seeds)",
            "  figures/         <module>.<factor>.<side>.i<I>-j<J>.png beside .gaussian.png and .w0.png",
            "  report.md, index.html",
            "", "Examples:",
            "  convsim analyze",
            "  convsim analyze --adapter my-lora --base model.safetensors --out report --side both --i 4 --j 8",
            "  convsim analyze --adapter llama-lora --base llama/ --mode lstsq --modules q_proj,v_proj"})
final class AnalyzeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ProgressOptions progressOptions;

    @Option(names = "--adapter", paramLabel = "DIR", description = "PEFT adapter directory (default: the bundled demo).")
    Path adapter;

    @Option(names = "--base", paramLabel = "PATH",
            description = "Base weights: .safetensors/.bin file, sharded index or model directory (default: the demo's).")
    Path base;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "convsim-report",
            description = "Report directory (default: ${DEFAULT-VALUE}); a non-empty one is refused without --force.")
    Path out;

    @Option(names = "--force", description = "Replace a non-empty --out.")
    boolean force;

    @Option(names = "--mode", paramLabel = "MODE",
            description = "paper (exact LU inverse, square W0), lstsq (minimum-norm least squares), pinv (drop singular"
                    + " values below rcond*s_max), ridge (Tikhonov). Default: paper where W0 is square, else lstsq.")
    String mode;

    @Option(names = "--rcond", defaultValue = "1e-6", description = "pinv cut-off (default: ${DEFAULT-VALUE}).")
    double rcond;

    @Option(names = "--lambda", defaultValue = "1e-3", description = "ridge parameter (default: ${DEFAULT-VALUE}).")
    double lambda;

    @Option(names = "--i", paramLabel = "I", defaultValue = "0",
            description = "Leading singular vectors of layer a (default: r).")
    int i;

    @Option(names = "--j", paramLabel = "J", defaultValue = "0",
            description = "Leading singular vectors of layer b (default: r).")
    int j;

    @Option(names = "--side", defaultValue = "left", description = "left, right or both (default: ${DEFAULT-VALUE}).")
    String side;

    @Option(names = "--factors", split = ",", defaultValue = "A,B,dW",
            description = "Conversion matrices to compare (default: ${DEFAULT-VALUE}).")
    List<String> factors;

    @Option(names = "--modules", split = ",", paramLabel = "NAMES", description = "Modules to analyse (default: all).")
    List<String> modules = List.of();

    @Option(names = "--nulls", split = ",", defaultValue = "gaussian,w0,analytic",
            description = "Null models (default: ${DEFAULT-VALUE}).")
    List<String> nulls;

    @Option(names = "--controls", split = ",", defaultValue = "A,B",
            description = "Raw matrices compared on the same grid: A (A^T), B, W0 (default: ${DEFAULT-VALUE}; 'none').")
    List<String> controls;

    @Option(names = "--draws", paramLabel = "K", defaultValue = "32",
            description = "Draws of each sampled null (default: ${DEFAULT-VALUE}).")
    int draws;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "20240322", description = "Seed of every null draw.")
    long seed;

    @Option(names = "--precision", defaultValue = "fp64", description = "fp64 or fp32 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, cpu or cuda (default: ${DEFAULT-VALUE}).")
    String backend;

    @Option(names = "--format", split = ",", defaultValue = "png", description = "Figure formats: png, svg.")
    List<String> formats;

    @Override
    public Integer call() throws Exception {
        AnalysisOptions options = options();
        ReportWriter writer = new ReportWriter(new LinkedHashSet<>(formats));
        Path adapterDir = adapter != null ? adapter : Demo.adapter();
        Path basePath = base != null ? base : Demo.base();
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        try (AtomicOutput output = AtomicOutput.prepare(out, force);
             Progress progress = progressOptions.open(spec.commandLine().getErr())) {
            Backends.Choice choice = Backends.select(options.backend());
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapterDir, basePath)) {
                AnalysisResult result = Analysis.run(ckpt, options, choice, progress);
                progress.progress("write report", 0, 1);
                Path written = output.commit(dir -> writer.write(result, dir));
                progress.progress("write report", 1, 1);
                progress.close();
                if (!progressOptions.quiet) {
                    report(o, result, written, (System.nanoTime() - t0) / 1e9, choice);
                }
            } finally {
                choice.backend().close();
            }
        }
        return 0;
    }

    private void report(PrintWriter o, AnalysisResult result, Path written, double seconds, Backends.Choice choice) {
        o.printf("convsim analyze: %s, %d modules, backend %s%n", result.adapter(), result.modules().size(),
                choice.reason());
        for (var m : result.modules()) {
            for (Heatmap h : m.heatmaps()) {
                if (!h.isControl()) {
                    o.println("  " + Verdicts.interpretation(h));
                }
            }
        }
        o.printf(Locale.ROOT, "report: %s (%.2f s)%n", written, seconds);
    }

    AnalysisOptions options() {
        SolveMode m = mode == null ? null : parse(() -> SolveMode.parse(mode), "--mode", mode);
        Precision p = switch (precision.toLowerCase(Locale.ROOT)) {
            case "fp64", "float64", "double" -> Precision.FP64;
            case "fp32", "float32", "float" -> Precision.FP32;
            default -> throw usage("--precision must be fp64 or fp32, got '" + precision + "'");
        };
        List<Side> sides = switch (side.toLowerCase(Locale.ROOT)) {
            case "left" -> List.of(Side.LEFT);
            case "right" -> List.of(Side.RIGHT);
            case "both" -> List.of(Side.LEFT, Side.RIGHT);
            default -> throw usage("--side must be left, right or both, got '" + side + "'");
        };
        List<Factor> fs = factors.stream().map(f -> parse(() -> Factor.parse(f), "--factors", f)).distinct().toList();
        Set<NullModel> ns = new LinkedHashSet<>();
        for (String n : nulls) {
            if (!n.equalsIgnoreCase("none")) {
                ns.add(parse(() -> NullModel.parse(n), "--nulls", n));
            }
        }
        Set<String> cs = new LinkedHashSet<>();
        for (String c : controls) {
            if (!c.equalsIgnoreCase("none")) {
                cs.add(c.trim().toUpperCase(Locale.ROOT).equals("W0") ? "W0" : c.trim().toUpperCase(Locale.ROOT));
            }
        }
        if (i < 0 || j < 0) {
            throw usage("--i and --j must be positive");
        }
        if (!List.of("auto", "cpu", "cuda").contains(backend.toLowerCase(Locale.ROOT))) {
            throw usage("--backend must be auto, cpu or cuda, got '" + backend + "'");
        }
        try {
            SimilaritySettings s = new SimilaritySettings(i, j, sides, fs, ns, draws, seed, cs);
            new SolveOptions(m == null ? SolveMode.PAPER : m, p, rcond, lambda);
            return new AnalysisOptions(m, p, rcond, lambda, s, modules, backend);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    private <T> T parse(java.util.function.Supplier<T> parser, String option, String value) {
        try {
            return parser.get();
        } catch (IllegalArgumentException e) {
            throw usage(option + ": unknown value '" + value + "'");
        }
    }

    private picocli.CommandLine.ParameterException usage(String message) {
        return new picocli.CommandLine.ParameterException(spec.commandLine(), message);
    }
}
