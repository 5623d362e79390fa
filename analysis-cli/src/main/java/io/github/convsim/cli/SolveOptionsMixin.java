package io.github.convsim.cli;

import io.github.convsim.conversion.ConditionMethod;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.function.Supplier;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

/** How conversion matrices are solved and compared: options shared by analyze and compare. */
final class SolveOptionsMixin {
    @Spec(Spec.Target.MIXEE)
    CommandSpec spec;

    @Option(names = "--mode", paramLabel = "MODE",
            description = "paper (exact LU inverse, square W0), lstsq (minimum-norm least squares), pinv (drop singular"
                    + " values below rcond*s_max), ridge (Tikhonov). Default: paper where W0 is square, else lstsq.")
    String mode;

    // no picocli default: a value given without the mode it belongs to is refused, not silently unused
    @Option(names = "--rcond", description = "pinv cut-off, with --mode pinv (default: 1e-6).")
    Double rcond;

    @Option(names = "--lambda", description = "ridge parameter, with --mode ridge (default: 1e-3).")
    Double lambda;

    @Option(names = "--i", paramLabel = "I", defaultValue = "r",
            description = "Leading singular vectors of the first subspace: 1 to the rank r, or r (default: ${DEFAULT-VALUE}).")
    String i;

    @Option(names = "--j", paramLabel = "J", defaultValue = "r",
            description = "Leading singular vectors of the second subspace: 1 to the rank r, or r (default: ${DEFAULT-VALUE}).")
    String j;

    @Option(names = "--side", defaultValue = "left", description = "left, right or both (default: ${DEFAULT-VALUE}).")
    String side;

    @Option(names = "--factors", split = "\\s*,\\s*", splitSynopsisLabel = ",", defaultValue = "A,B,dW",
            description = "Conversion matrices to compare (default: ${DEFAULT-VALUE}).")
    List<String> factors;

    // the lists split at commas with any spaces around them: "query, value" as the user typed it
    @Option(names = "--modules", split = "\\s*,\\s*", splitSynopsisLabel = ",", paramLabel = "NAMES",
            description = "Modules to analyse (default: all).")
    List<String> modules = List.of();

    @Option(names = "--precision", defaultValue = "fp64", description = "fp64 or fp32 (default: ${DEFAULT-VALUE}).")
    String precision;

    @Option(names = "--cond", defaultValue = "auto", paramLabel = "METHOD",
            description = {"How cond(W0) is obtained: exact (2-norm from singular values: an O(n^3) SVD per layer),"
                    + " lanczos (2-norm by Lanczos from the fp64 LU factors, to 1e-6, O(n^2) per step; the steps grow"
                    + " where the top of W0's spectrum is crowded), estimate (1-norm, LAPACK gecon on the LU factors:"
                    + " O(n^2)), or auto (default): in fp64 paper mode Lanczos up to n = " + ConditionMethod.AUTO_EXACT_LIMIT
                    + ", estimated above; exact in the SVD modes; in fp32 paper mode exact up to "
                    + ConditionMethod.AUTO_EXACT_LIMIT + ", estimated above."})
    String cond;

    @Option(names = "--backend", defaultValue = "auto", description = "auto, cpu, cuda, or another backend on the class path (default: ${DEFAULT-VALUE}).")
    String backend;

    @picocli.CommandLine.Mixin
    GpuMemoryOption gpuMemory;

    @Option(names = "--format", split = "\\s*,\\s*", splitSynopsisLabel = ",", defaultValue = "png",
            description = "Figure formats: png, svg, or both (default: ${DEFAULT-VALUE}).")
    List<String> formats;

    @Option(names = "--force", description = "Also replace a report of another convsim command at --out. convsim replaces"
            + " only what it wrote (a directory with its .convsim-output marker), never anything else.")
    boolean force;

    @Option(names = "--allow-base-mismatch", description = "Analyse even when the base is shown to be of another"
            + " model family than the adapter's (its keys, or adapter_config.json's base_model_name_or_path against"
            + " the base's config.json).")
    boolean allowBaseMismatch;

    BaseMatch.BaseCheck baseCheck() {
        return allowBaseMismatch ? BaseMatch.BaseCheck.ALLOW_MISMATCH : BaseMatch.BaseCheck.STRICT;
    }

    /** The options, with the null models, draws, seed and controls of the calling command. */
    AnalysisOptions toOptions(Set<NullModel> nulls, int draws, long seed, Set<String> controls) {
        SolveMode m = mode == null ? null : parse(() -> SolveMode.parse(mode), "--mode", mode);
        requireMode(rcond, "--rcond", "pinv's cut-off", SolveMode.PINV, m);
        requireMode(lambda, "--lambda", "ridge's parameter", SolveMode.RIDGE, m);
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
        int iv = prefix("--i", i);
        int jv = prefix("--j", j);
        parse(() -> {
            Backends.requireKnown(backend);
            return backend;
        }, "--backend", backend);
        for (String f : formats) {
            if (!f.equals("png") && !f.equals("svg")) {
                throw usage("--format takes png and svg, got '" + f + "'");
            }
        }
        try {
            SimilaritySettings s = new SimilaritySettings(iv, jv, sides, fs, nulls, draws, seed, controls);
            ConditionMethod c = parse(() -> ConditionMethod.parse(cond), "--cond", cond);
            return new AnalysisOptions(m, p, rcond == null ? SolveOptions.DEFAULT_RCOND : rcond,
                    lambda == null ? SolveOptions.DEFAULT_LAMBDA : lambda, s, modules, backend, c);
        } catch (IllegalArgumentException e) {
            throw usage(e.getMessage());
        }
    }

    /** Refuses a mode's parameter given without that mode: the run would silently not use it. */
    private void requireMode(Double value, String option, String what, SolveMode needed, SolveMode given) {
        if (value != null && given != needed) {
            String name = needed.name().toLowerCase(Locale.ROOT);
            throw usage(option + " is " + what + " and does nothing " + (given == null ? "in the default mode"
                    : "with --mode " + given.name().toLowerCase(Locale.ROOT)) + ": add --mode " + name
                    + ", or leave " + option + " out");
        }
    }

    /** A prefix length: "r" (the adapter's rank, kept as 0) or a whole number from 1 (checked against r later). */
    int prefix(String option, String value) {
        if (value.trim().equalsIgnoreCase("r")) {
            return 0;
        }
        try {
            int v = Integer.parseInt(value.trim());
            if (v >= 1) {
                return v;
            }
        } catch (NumberFormatException e) {
            // below
        }
        throw usage(option + " must be a number of singular vectors from 1 to the rank r, or r; got '" + value + "'");
    }

    /** {@code parser}'s value, or a usage error naming the option and what it takes (the parser's message). */
    <T> T parse(Supplier<T> parser, String option, String value) {
        try {
            return parser.get();
        } catch (IllegalArgumentException e) {
            throw usage(option + ": " + e.getMessage());
        }
    }

    CommandLine.ParameterException usage(String message) {
        return new CommandLine.ParameterException(spec.commandLine(), message);
    }
}
