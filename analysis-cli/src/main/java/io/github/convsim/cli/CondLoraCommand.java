package io.github.convsim.cli;

import io.github.convsim.api.MemoryUse;
import io.github.convsim.condlora.CondLoraExport;
import io.github.convsim.condlora.CondLoraFit;
import io.github.convsim.condlora.CondLoraSettings;
import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.AtomicOutput;
import io.github.convsim.report.CondLoraReport;
import io.github.convsim.results.Provenance;
import io.github.convsim.results.ReportedFit;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

@Command(name = "condlora", mixinStandardHelpOptions = true,
        description = {
            "CondLoRA in and out: fit one linear layer per module to any LoRA (A_l = Wa W0_l^T, B_l = W0_l "
            + "Wb^T), with nulls, and export the fit as a CondLoRA checkpoint or a PEFT LoRA adapter.",
            "CondLoRA checkpoints (<module>.linear_for_lora_A/B) are read by every command, analyze included."},
        subcommands = {CondLoraCommand.Fit.class, CondLoraCommand.Export.class, CommandLine.HelpCommand.class})
final class CondLoraCommand implements Runnable {
    @Spec
    CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a subcommand is required: fit or export");
    }

    /** Options shared by fit and export. */
    static final class Inputs {
        @Parameters(index = "0", arity = "0..1", paramLabel = "ADAPTER_DIR", description = "Adapter directory,"
                + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the demo).")
        Path adapter;

        @Option(names = "--base", paramLabel = "PATH", description = "Base weights, a path"
                + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the adapter's base_model_name_or_path; the demo's for the demo).")
        Path base;

        @Option(names = "--ridge", paramLabel = "L", defaultValue = "0",
                description = "Tikhonov parameter of the stacked least squares (default: ${DEFAULT-VALUE}).")
        double ridge;

        @Option(names = "--force", description = "Also replace a report of another convsim command at --out. convsim replaces"
            + " only what it wrote (a directory with its .convsim-output marker), never anything else.")
        boolean force;

        @Option(names = "--allow-base-mismatch", description = "Fit even against a base of another model family.")
        boolean allowBaseMismatch;

        /** The adapter and base to read, the base chosen once (Demo.baseFor may read adapter_config.json). */
        Resolved resolve() throws InputException, io.github.convsim.io.CheckpointException {
            Path given = Locations.resolve(adapter);
            return new Resolved(given != null ? given : Demo.adapter(), Demo.baseFor(given, base).path(),
                    allowBaseMismatch ? BaseMatch.BaseCheck.ALLOW_MISMATCH : BaseMatch.BaseCheck.STRICT);
        }

        /** What a report recorded, but for the adapter or base given beside --from (the inputs moved). */
        Resolved resolveMoved(ReportedFit recorded) throws InputException, io.github.convsim.io.CheckpointException {
            Path given = Locations.resolve(adapter);
            return new Resolved(given != null ? given : recorded.adapter(),
                    base != null ? Demo.baseFor(given, base).path() : recorded.base(), recorded.baseCheck());
        }

        record Resolved(Path adapter, Path base, BaseMatch.BaseCheck check) {
            /** What the command reads, which its --out may never be or contain. */
            List<Path> paths() {
                return List.of(adapter, base);
            }

            LoraCheckpoint open() throws io.github.convsim.io.CheckpointException {
                return LoraCheckpoint.open(adapter, base, check);
            }
        }
    }

    @Command(name = "fit", mixinStandardHelpOptions = true,
            description = {
                "Fit the shared Wa, Wb of every module and report R^2 per layer and overall for A, B and dW, "
                + "beside two nulls: Gaussian targets of the same norms, and layers shuffled (A of one layer "
                + "fitted with W0 of another).",
                "A shared map reaches about 1/L on unrelated targets (in / (L out) through a W0 of out x in): read "
                + "R^2 against the nulls. Where W0 is not square (grouped-query k and v) only B_l = W0_l Wb^T is "
                + "fitted.",
                "Each verdict says its power: 8 planted adapters per noise level (0.025 to 50 times the shared "
                + "part) that do share one layer are fitted too, and a 'no' names the noise up to which they are "
                + "detected."},
            footer = {"", "Outputs: fit.csv (module, layer, r2_A, r2_B, dW_relative_error), summary.json",
                "(overall R^2, nulls with 95 %% intervals, tests with p and power, verdict,",
                "provenance), figures/condlora.<module>.r2.png, report.md.",
                "", "Examples:",
                "  convsim condlora fit my-lora --base model.safetensors --out fit",
                "  # the same fit, rerun:",
                "  convsim condlora fit --from fit/summary.json --out fit-again"})
    static final class Fit implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        ProgressOptions progressOptions;

        @Mixin
        Inputs in;

        @Option(names = "--out", paramLabel = "DIR", defaultValue = "convsim-condlora",
                description = "Report directory (default: ${DEFAULT-VALUE}).")
        Path out;

        @Option(names = "--draws", paramLabel = "K", defaultValue = "32", description = "Draws of each null (default: ${DEFAULT-VALUE}).")
        int draws;

        @Option(names = "--seed", paramLabel = "S", defaultValue = "20240322", description = "Seed of the nulls and the plants (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--backend", defaultValue = "cpu", description = "cpu (default), cuda or auto: where the Gram"
                + " matrices, products and solves of the fit run.")
        String backend;

        @Mixin
        GpuMemoryOption gpuMemory;

        @Option(names = "--from", paramLabel = "SUMMARY_JSON",
                description = "Fit again what an earlier report recorded (its summary.json): the same adapter, base,"
                        + " ridge, draws, seed and backend, refused if an input file changed since. Only --out,"
                        + " --force, --quiet and --progress may be given with it, and the adapter or --base where the"
                        + " inputs have moved (another machine): their files must be the ones the report read (size"
                        + " and sha256).")
        Path from;

        @Override
        public Integer call() throws Exception {
            long t0 = System.nanoTime();
            java.util.Set<String> movable = java.util.Set.of("--base"); // the adapter is positional
            ReportedFit recorded = from == null ? null
                    : RerunOptions.read(spec, from, ReportedFit::read, java.util.Set.of(), movable);
            boolean moved = recorded != null && RerunOptions.inputsGiven(spec, movable);
            String backendName = recorded != null ? recorded.backend() : backend;
            CondLoraSettings settings = recorded != null
                    ? new CondLoraSettings(recorded.ridge(), recorded.draws(), recorded.seed())
                    : new CondLoraSettings(in.ridge, draws, seed);
            long gpuBytes = gpuMemory.bytesFor(backendName, spec.commandLine().getParseResult()
                    .hasMatchedOption("--backend") ? "" : " (condlora fit's default)");
            ReportLibraries.preload();
            MemoryUse.watch();
            Inputs.Resolved read = recorded == null ? in.resolve() : in.resolveMoved(recorded);
            try (AtomicOutput output = AtomicOutput.prepare(out, in.force, "condlora fit", read.paths());
                 LoraCheckpoint ckpt = read.open();
                 Progress progress = progressOptions.open(spec.commandLine().getErr())) {
                if (moved) {
                    recorded.verifyMovedInputs(Provenance.inputsOf(List.of(ckpt)));
                }
                Backends.Choice cpu = Backends.select(backendName, gpuBytes);
                try {
                    List<ModuleFit> fits = CondLoraFit.fit(ckpt, cpu.backend(), settings,
                            Runtime.getRuntime().maxMemory(), progress);
                    progress.close();
                    Map<String, Object> options = new LinkedHashMap<>();
                    options.put(ReportedFit.RIDGE, settings.ridge());
                    options.put(ReportedFit.DRAWS, settings.draws());
                    options.put(ReportedFit.SEED, settings.seed());
                    options.put(ReportedFit.BACKEND, backendName);
                    Provenance prov = provenance("convsim condlora fit", ckpt, cpu, options,
                            (System.nanoTime() - t0) / 1e9);
                    Map<String, String> notFitted = CondLoraFit.unfittable(ckpt);
                    Path written = output.commit(dir -> CondLoraReport.write(fits, notFitted, prov, dir));
                    var o = spec.commandLine().getOut();
                    if (!progressOptions.quiet) {
                        if (recorded != null) {
                            o.printf(Locale.ROOT, "adapter and base: %s, %s (%s %s)%n", read.adapter(), read.base(),
                                    moved ? "given, their files those recorded in" : "recorded in", from);
                        }
                        ckpt.notes().forEach(n -> o.println("note: " + n));
                        if (!notFitted.isEmpty()) {
                            o.printf(Locale.ROOT, "  %s%n", CondLoraReport.notFittedSentence(notFitted));
                        }
                        List<String> verdicts = CondLoraReport.verdicts(fits);
                        for (int k = 0; k < fits.size(); k++) {
                            ModuleFit f = fits.get(k);
                            o.printf(Locale.ROOT, "  %s: R^2 A %s, B %s, dW error %s. %s%n", f.module(),
                                    CondLoraReport.value(f.r2A()), CondLoraReport.value(f.r2B()),
                                    CondLoraReport.value(f.dwError()), verdicts.get(k));
                        }
                        o.printf(Locale.ROOT, "report: %s%n", written);
                    }
                } finally {
                    cpu.backend().close();
                }
            }
            return 0;
        }
    }

    @Command(name = "export", mixinStandardHelpOptions = true,
            description = {
                "Fit the shared layers and write them as a CondLoRA checkpoint (--as condlora: one "
                + "<module>.linear_for_lora_A/B per module, peft_type CONDLORA) or as a PEFT LoRA adapter with "
                + "every layer's factors materialised (--as lora), so the single-layer approximation runs in PEFT "
                + "unchanged."})
    static final class Export implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Inputs in;

        @Option(names = "--as", required = true, paramLabel = "FORMAT", description = "condlora or lora.")
        String as;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Directory of the new adapter.")
        Path out;

        @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors.")
        boolean quiet;

        @Override
        public Integer call() throws Exception {
            String format = as.toLowerCase(Locale.ROOT);
            if (!format.equals("condlora") && !format.equals("lora")) {
                throw new CommandLine.ParameterException(spec.commandLine(), "--as must be condlora or lora, got '" + as
                        + "'");
            }
            Inputs.Resolved read = in.resolve();
            try (AtomicOutput output = AtomicOutput.prepare(out, in.force, "condlora export", read.paths());
                 LoraCheckpoint ckpt = read.open()) {
                CondLoraExport.requireExportable(ckpt, format.equals("condlora"));
                Backends.Choice cpu = Backends.select("cpu");
                try {
                    long t0 = System.nanoTime();
                    // an export judges nothing: the fewest null draws, no plants
                    List<ModuleFit> fits = CondLoraFit.fit(ckpt, cpu.backend(),
                            new CondLoraSettings(in.ridge, 2, 0).withPower(false));
                    Map<String, Object> options = new LinkedHashMap<>();
                    options.put("as", format);
                    options.put("ridge", in.ridge);
                    Provenance prov = provenance("convsim condlora export", ckpt, cpu, options,
                            (System.nanoTime() - t0) / 1e9);
                    Path written = output.commit(dir -> {
                        if (format.equals("condlora")) {
                            CondLoraExport.writeCondLora(dir, ckpt.config(), ckpt.adapterWeights(), fits,
                                    prov.asMap());
                        } else {
                            CondLoraExport.writeLora(dir, ckpt, fits, prov.asMap());
                        }
                    });
                    if (quiet) {
                        return 0;
                    }
                    spec.commandLine().getOut().printf(Locale.ROOT, "wrote %s adapter: %s%n", format, written);
                    ckpt.notes().forEach(n -> spec.commandLine().getOut().println("note: " + n));
                    for (ModuleFit f : fits) {
                        double share = CondLoraExport.shareOfUpdate(f);
                        spec.commandLine().getOut().printf(java.util.Locale.ROOT, "  %s: %s; R^2 of A %s, of B %s;"
                                + " recorded in %s%n", f.module(), Double.isNaN(share)
                                ? "no update to reproduce, B A is zero in every layer"
                                : String.format(java.util.Locale.ROOT, "reproduces %.1f %% of the update B A (relative"
                                        + " error %.3f)", 100 * share, f.dwError()), three(f.r2A()), three(f.r2B()),
                                CondLoraExport.RECORD);
                    }
                } finally {
                    cpu.backend().close();
                }
            }
            return 0;
        }

        /** A number to 3 decimals; "n/a" where undefined (a factor zero in every layer). */
        private static String three(double v) {
            return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.3f", v);
        }
    }

    /** The run's provenance, with what reading the checkpoint noted beside the options (as analyze records it). */
    static Provenance provenance(String tool, LoraCheckpoint ckpt, Backends.Choice backend,
                                 Map<String, Object> options, double seconds) throws IOException {
        Map<String, Object> withNotes = new LinkedHashMap<>();
        withNotes.put(Provenance.CHECKPOINT_NOTES, ckpt.notes());
        withNotes.putAll(Provenance.inputsAsGiven(ckpt));
        withNotes.putAll(options);
        return Provenance.of(tool, backend, Provenance.inputsOf(List.of(ckpt)), withNotes,
                Map.of("fit", seconds), MemoryUse.resources());
    }
}
