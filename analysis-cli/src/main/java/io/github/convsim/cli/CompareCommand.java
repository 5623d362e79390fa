package io.github.convsim.cli;

import io.github.convsim.api.Comparison;
import io.github.convsim.cache.BaseCache;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.AtomicOutput;
import io.github.convsim.report.ComparisonReport;
import io.github.convsim.report.ComparisonVerdicts;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.results.Provenance;
import io.github.convsim.results.ReportedComparison;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullModel;
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
import picocli.CommandLine.Spec;

@Command(name = "compare", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Compare adapters trained on one base: phi between their conversion matrices, layer by layer.",
            "Give several adapter directories (tasks, seeds, ranks), or the checkpoint-N directories of one run "
            + "(or the run directory holding them): checkpoints are ordered by step and also compared with the "
            + "final one and with their predecessor, as a line chart.",
            "Each pair and each map is tested against the W0 null for pairs (two unrelated adapters through the same "
            + "W0); a 'no' says its power, from planted pairs whose lora_A agree up to a relative noise."},
        footer = {"", "Outputs:",
            "  compare.csv     module, factor, side, layer, adapter_a, adapter_b,",
            "                  step_a, step_b, phi, analytic",
            "  trajectory.csv  for a run of checkpoints",
            "  diagnostics.csv cond(W0) of every layer of the shared base (--cond says how)",
            "                  and the directions the solve kept (solution_rank)",
            "  summary.json    tests, power, cond(W0) per module and provenance",
            "  figures/        compare.<module>.<factor>.<side>.png (adapters x adapters,",
            "                  mean over layers) and trajectory.*.png",
            "  report.md",
            "", "Examples:",
            "  convsim compare lora-sst2 lora-mnli lora-qnli --base model.safetensors",
            "  # runs/imdb/checkpoint-500, checkpoint-1000, ...:",
            "  convsim compare runs/imdb --base model.safetensors",
            "  # the same comparison, rerun:",
            "  convsim compare --from convsim-compare/summary.json --out compare-again"})
final class CompareCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ProgressOptions progressOptions;

    @Mixin
    SolveOptionsMixin solve;

    @Mixin
    CacheOptions cacheOptions;

    @Parameters(arity = "0..*", paramLabel = "ADAPTER_DIR", description = "Adapters (directories,"
            + " or ORG/NAME[@REVISION] in the Hugging Face hub cache), or a run of checkpoint-N adapters.")
    List<Path> adapters = List.of();

    @Option(names = "--base", paramLabel = "PATH", description = "Base weights shared by all adapters, a path"
            + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the first adapter's base_model_name_or_path; the demo's for the demo).")
    Path base;

    @Option(names = "--out", paramLabel = "DIR", defaultValue = "convsim-compare",
            description = "Report directory (default: ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--draws", paramLabel = "K", defaultValue = "" + ComparisonReport.COMPARE_DRAWS,
            description = "Draws of the W0 null: random factors through the same W0, compared in pairs, say what two"
                    + " unrelated adapters share (default: ${DEFAULT-VALUE}; at least 4; 0 to skip).")
    int draws;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "20240322", description = "Seed of the null draws (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--correction", paramLabel = "C", defaultValue = "holm",
            description = "How the pair and map tests' p-values are adjusted: holm, bh or none (default: ${DEFAULT-VALUE}).")
    String correction;

    @Option(names = "--from", paramLabel = "SUMMARY_JSON",
            description = "Rerun the comparison an earlier report recorded (its summary.json): the same adapters (a"
                    + " run's checkpoints as they were then), base, options, seed and correction, refused if an input"
                    + " file changed since. Only --out, --force, --format, --quiet and --progress may be given with"
                    + " it, and the adapters or --base where the inputs have moved (another machine): their files must"
                    + " be the ones the report read, in its order (size and sha256).")
    Path from;

    @Override
    public Integer call() throws Exception {
        cacheOptions.check(spec);
        ReportedComparison recorded = from == null ? null
                : RerunOptions.read(spec, from, ReportedComparison::read, Set.of(), MOVABLE);
        boolean moved = recorded != null && RerunOptions.inputsGiven(spec, MOVABLE);
        if (recorded == null) {
            checkDraws();
        }
        AnalysisOptions options = recorded != null ? recorded.options()
                : solve.toOptions(draws == 0 ? Set.of() : Set.of(NullModel.W0), Math.max(2, draws), seed, Set.of());
        Correction c = recorded != null ? recorded.correction()
                : solve.parse(() -> Correction.parse(correction), "--correction", correction);
        long gpuBytes = solve.gpuMemory.bytesFor(options.backend(), "");
        List<Path> dirs = recorded != null && adapters.isEmpty() ? recorded.adapters()
                : Comparison.expand(Locations.resolveAll(adapters));
        if (dirs.size() < 2) {
            throw solve.usage("compare needs at least two adapters (found " + dirs.size() + ")"
                    + (adapters.isEmpty() ? ", or --from with a comparison's summary.json" : ""));
        }
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        ReportLibraries.preload();
        Demo.Choice baseChoice = recorded == null ? Demo.baseFor(base == null ? dirs.get(0) : null, base)
                : base == null ? new Demo.Choice(recorded.base(), "recorded in " + from)
                : new Demo.Choice(Demo.baseFor(null, base).path(), "--base, its files those recorded in " + from);
        BaseMatch.BaseCheck baseCheck = recorded != null ? recorded.baseCheck() : solve.baseCheck();
        Path basePath = baseChoice.path();
        List<Path> inputs = new java.util.ArrayList<>(dirs);
        inputs.add(basePath);
        try (AtomicOutput output = AtomicOutput.prepare(out, solve.force, "compare", inputs);
             Progress progress = progressOptions.open(spec.commandLine().getErr())) {
            if (moved) {
                recorded.verifyMovedInputs(inputsOf(dirs, basePath, baseCheck));
            }
            Backends.Choice choice = Backends.select(options.backend(), gpuBytes);
            try {
                BaseCache cache = cacheOptions.open();
                ComparisonResult result = Comparison.run(dirs, basePath, baseCheck, options, choice, progress,
                        cache);
                Path written = output.commit(dir -> new ComparisonReport(new LinkedHashSet<>(solve.formats), c)
                        .write(result, dir));
                progress.close();
                CacheOptions.printNotes(cache, spec.commandLine().getErr());
                if (!progressOptions.quiet) {
                    o.printf(Locale.ROOT, "base: %s (%s)%n", basePath, baseChoice.why());
                    o.printf(Locale.ROOT, "convsim compare: %d adapters%s%n", result.adapters().size(),
                            result.isTrajectory() ? " (a training run, ordered by step)" : "");
                    result.notes().forEach(n -> o.println("note: " + n));
                    for (ComparisonVerdicts.Judgement j : ComparisonVerdicts.judge(result, c)) {
                        o.println("  " + ComparisonReport.sentence(j, result.adapters()));
                    }
                    o.printf(Locale.ROOT, "report: %s (%.2f s)%n", written, (System.nanoTime() - t0) / 1e9);
                }
            } finally {
                choice.backend().close();
            }
        }
        return 0;
    }

    /** The option that reads the recorded base from another place, beside --from (the adapters are positional). */
    private static final Set<String> MOVABLE = Set.of("--base");

    /** The files the adapters and base at these places give, as a comparison's provenance lists them. */
    private static List<Provenance.InputFile> inputsOf(List<Path> dirs, Path base, BaseMatch.BaseCheck check)
            throws CheckpointException {
        List<LoraCheckpoint> ckpts = new java.util.ArrayList<>();
        try {
            for (Path d : dirs) {
                ckpts.add(LoraCheckpoint.open(d, base, check));
            }
            return Provenance.inputsOf(ckpts);
        } finally {
            ckpts.forEach(LoraCheckpoint::close);
        }
    }

    private void checkDraws() {
        if ((draws > 0 && draws < Comparison.MIN_W0_NULL_DRAWS) || draws < 0) {
            throw solve.usage("--draws must be 0 or at least " + Comparison.MIN_W0_NULL_DRAWS + " (the W0 null compares"
                    + " draws in pairs, and a test needs at least two pairs), got " + draws);
        }
        for (String o : List.of("--seed", "--correction")) {
            if (draws == 0 && spec.commandLine().getParseResult().hasMatchedOption(o)) {
                throw solve.usage(o + " is for the W0 null's draws and the tests against them, and --draws 0 skips"
                        + " both: leave " + o + " out, or --draws at 4 or more");
            }
        }
    }
}
