package io.github.convsim.cli;

import io.github.convsim.io.PeftConfig;
import io.github.convsim.model.AdapterAlone;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.ModuleSummary;
import io.github.convsim.model.SkippedTensor;
import io.github.convsim.report.Verdicts;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "inspect", mixinStandardHelpOptions = true,
        description = {
            "Show how an adapter pairs with its base: one row per module and layer, then what was skipped.",
            "With no arguments, inspects the bundled demo (BERT-Base + an IMDB LoRA, r=8)."},
        footer = {"", "Columns: W0 is [out, in]; scaling = alpha/r (alpha/sqrt(r) with rsLoRA);",
            "|dW|/|W0| = ||scaling * B A||_F / ||W0||_F, the size of the update relative to",
            "the frozen weight.",
            "", "Example:", "  convsim inspect path/to/adapter --base path/to/model.safetensors"})
final class InspectCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ADAPTER_DIR",
            description = "PEFT adapter directory (adapter_config.json + adapter_model.safetensors|.bin),"
                    + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the demo).")
    Path adapter;

    @Option(names = "--base", paramLabel = "PATH",
            description = "Base weights: a .safetensors or .bin file, a sharded index, a model directory,"
                    + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the adapter's base_model_name_or_path).")
    Path base;

    @Option(names = "--allow-base-mismatch", description = "Read the adapter even against a base of another model"
            + " family.")
    boolean allowBaseMismatch;

    @Override
    public Integer call() throws Exception {
        adapter = Locations.resolve(adapter);
        Path adapterDir = adapter != null ? adapter : Demo.adapter();
        Demo.Choice baseChoice;
        try {
            baseChoice = Demo.baseFor(adapter, base);
        } catch (Demo.NoBaseException noBase) {
            // no --base and none found: the adapter alone is still worth showing, the first thing one looks at
            return adapterAlone(adapterDir, noBase.reason());
        }
        Path basePath = baseChoice.path();
        PrintWriter out = spec.commandLine().getOut();
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(adapterDir, basePath, allowBaseMismatch
                ? BaseMatch.BaseCheck.ALLOW_MISMATCH : BaseMatch.BaseCheck.STRICT)) {
            out.printf(Locale.ROOT, "adapter %s%nbase    %s (%s)%n", describe(adapterDir, ckpt.config()), basePath,
                    baseChoice.why());
            ckpt.notes().forEach(n -> out.println("note: " + n));
            table(out, ModuleSummary.of(ckpt), ckpt.skipped());
        }
        return 0;
    }

    /** The adapter's own facts where its base is not at hand, and what the base would add. */
    private int adapterAlone(Path adapterDir, String whyNoBase) throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        AdapterAlone alone = AdapterAlone.read(adapterDir);
        out.printf(Locale.ROOT, "adapter %s%nbase    not at hand: %s%n", describe(adapterDir, alone.config()),
                whyNoBase);
        alone.notes().forEach(n -> out.println("note: " + n));
        if (alone.condLora()) {
            out.println();
            out.println("a CondLoRA checkpoint: its per-layer factors are made from each layer's W0, so there is"
                    + " nothing per layer to show without the base");
            return 0;
        }
        table(out, alone.rows(), alone.skipped());
        out.println();
        out.println("without the base: W0's shape is the factors' [out, in], and its keys, |dW|/|W0| and whether it is"
                + " the adapter's model are unknown; pass it with --base");
        return 0;
    }

    private static String describe(Path adapterDir, PeftConfig config) {
        return String.format(Locale.ROOT, "%s (r=%d, alpha=%s%s)", adapterDir, config.r(), fmt(config.loraAlpha()),
                config.useRslora() ? ", rsLoRA" : "");
    }

    /**
     * One row per module and layer (ordered by module, then layer), the warnings and notes per module, then what was
     * skipped.
     */
    private static void table(PrintWriter out, List<ModuleSummary> rows, List<SkippedTensor> skipped) {
        List<String> moduleNames = rows.stream().map(ModuleSummary::module).distinct().toList();
        out.println();
        String header = String.format(Locale.ROOT, "%-12s %5s  %-52s %-11s %4s %7s %8s %9s %9s %10s", "module",
                "layer", "base key", "W0 [o,i]", "r", "alpha", "scaling", "||A||", "||B||", "|dW|/|W0|");
        out.println(header);
        for (ModuleSummary r : rows) {
            out.printf(Locale.ROOT, "%-12s %5d  %-52s %-11s %4d %7s %8s %9.4f %9.4f %10s%s%n", r.module(),
                    r.layer(), r.baseKey() == null ? "-" : r.baseKey(), r.out() + "x" + r.in(), r.rank(),
                    fmt(r.alpha()), fmt(r.scaling()), r.normA(), r.normB(), Double.isNaN(r.relativeDelta()) ? "n/a"
                            : String.format(Locale.ROOT, "%.3e", r.relativeDelta()), r.dora() ? "  DoRA" : "");
        }
        out.printf(Locale.ROOT, "%n%d adapted weights: %s in %d layers%n", rows.size(), String.join(", ", moduleNames),
                rows.stream().mapToInt(ModuleSummary::layer).distinct().count());
        for (String module : moduleNames) {
            List<ModuleSummary> of = rows.stream().filter(r -> r.module().equals(module)).toList();
            if (of.stream().allMatch(r -> r.normB() == 0)) {
                out.printf(Locale.ROOT, "warning: lora_B of module %s is zero in every layer (an untrained"
                        + " adapter): C_B, C_dW and the similarity of B and dW are undefined and reported as n/a%n",
                        module);
            } else {
                zeroLayers(out, module, "lora_B", "C_B and C_dW", of.stream().filter(r -> r.normB() == 0));
            }
            fullRank(out, module, of);
            if (of.stream().allMatch(r -> r.normA() == 0)) {
                out.printf(Locale.ROOT, "warning: lora_A of module %s is zero in every layer: C_A, C_dW and the"
                        + " similarity of A and dW are undefined and reported as n/a%n", module);
            } else {
                zeroLayers(out, module, "lora_A", "C_A and C_dW", of.stream().filter(r -> r.normA() == 0));
            }
        }
        if (!skipped.isEmpty()) {
            out.printf(Locale.ROOT, "%nskipped %d tensors:%n", skipped.size());
            for (SkippedTensor s : skipped) {
                out.printf(Locale.ROOT, "  %s: %s%n", s.name(), s.reason());
            }
        }
    }

    /**
     * A note where r reaches W0's smaller side: at i = j = r each conversion matrix's left vectors then span a space
     * fixed before training (all of it, or W0's row or column space under least squares), so those maps get no
     * verdict in analyze and compare; smaller --i and --j test them.
     */
    private static void fullRank(PrintWriter out, String module, List<ModuleSummary> layers) {
        ModuleSummary first = layers.get(0);
        int dim = Math.min(first.out(), first.in());
        if (layers.stream().noneMatch(r -> r.rank() >= Math.min(r.out(), r.in()))) {
            return;
        }
        String spans = first.out() == first.in() ? "C_A's and C_B's left vectors span all of R^" + dim + " (phi 1)"
                : first.out() < first.in() ? "C_A's left vectors span all of R^" + dim + " (phi 1) and C_B's span W0's"
                        + " row space (the map is W0's alone)"
                        : "C_A's left vectors span W0's column space (the map is W0's alone) and C_B's span all of R^"
                        + dim + " (phi 1)";
        out.printf(Locale.ROOT, "note: module %s has r = %d, the smaller side of its %dx%d W0: at i = j = r %s, so"
                + " neither has a verdict; --i and --j below %d test them%n", module, dim, first.out(), first.in(),
                spans, dim);
    }

    /** A note naming the layers whose factor is zero, where others are not: their pairs are left out. */
    private static void zeroLayers(PrintWriter out, String module, String factor, String maps,
                                   java.util.stream.Stream<ModuleSummary> zero) {
        List<Integer> layers = zero.map(ModuleSummary::layer).toList();
        if (!layers.isEmpty()) {
            out.printf(Locale.ROOT, "note: %s of module %s is zero in %s: %s are undefined there, and %s pairs are"
                    + " left out of the maps and their nulls%n", factor, module, Verdicts.layers(layers), maps,
                    layers.size() == 1 ? "its" : "their");
        }
    }

    private static String fmt(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e9 ? String.valueOf((long) v)
                : String.format(Locale.ROOT, "%.4g", v);
    }
}
