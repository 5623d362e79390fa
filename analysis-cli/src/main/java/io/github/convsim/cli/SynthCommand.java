package io.github.convsim.cli;

import io.github.convsim.report.AtomicOutput;
import io.github.convsim.synth.ModelShape;
import io.github.convsim.synth.SyntheticCheckpoint;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "synth", mixinStandardHelpOptions = true, sortOptions = false,
        description = {
            "Write a synthetic, correctly shaped base model and PEFT LoRA adapter, reproducible from a seed: "
            + "bf16 safetensors shards with model.safetensors.index.json and config.json in OUT/base, "
            + "adapter_config.json and adapter_model.safetensors (fp32) in OUT/adapter.",
            "For measuring convsim at 7B scale without downloading a model; the values carry no structure."},
        footer = {"", "Shapes:",
            "  llama-2-7b   32 layers; q, k, v, o 4096x4096; gate, up 11008x4096;",
            "               down 4096x11008 (13.5 GB)",
            "  llama-3-8b   32 layers; q, o 4096x4096; k, v 1024x4096 (GQA);",
            "               gate, up 14336x4096 (16.1 GB)",
            "  tiny-llama   4 layers; 64 hidden, GQA k, v 16x64 (for trying the pipeline)",
            "", "Examples:",
            "  convsim synth --shape llama-2-7b --out /data/llama2-synth --seed 1",
            "  convsim analyze --adapter /data/llama2-synth/adapter \\",
            "      --base /data/llama2-synth/base --out report"})
final class SynthCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ProgressOptions progressOptions;

    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "llama-2-7b, llama-3-8b or tiny-llama.")
    String shape;

    @Option(names = "--layers", paramLabel = "N", description = "Override the number of layers (default: the shape's).")
    Integer layers;

    @Option(names = "--out", required = true, paramLabel = "DIR",
            description = "Output directory: absent, empty, or an earlier convsim output, which is replaced.")
    Path out;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of every value (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--rank", defaultValue = "16", description = "LoRA rank r (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--alpha", defaultValue = "32", description = "LoRA alpha (default: ${DEFAULT-VALUE}).")
    double alpha;

    @Option(names = "--targets", defaultValue = "attention", paramLabel = "SET",
            description = "attention (q, k, v, o) or all-linear (also gate, up, down) (default: ${DEFAULT-VALUE}).")
    String targets;

    @Option(names = "--shard-size", defaultValue = "5GB", paramLabel = "SIZE",
            description = "Largest base shard, e.g. 5GB, 500MB (default: ${DEFAULT-VALUE}).")
    String shardSize;

    @Option(names = "--force", description = "Also replace a report of another convsim command at --out. convsim replaces"
            + " only what it wrote (a directory with its .convsim-output marker), never anything else.")
    boolean force;

    @Override
    public Integer call() throws Exception {
        ModelShape s;
        SyntheticCheckpoint.Options options;
        try {
            s = ModelShape.preset(shape);
            if (layers != null) {
                s = s.withLayers(layers);
            }
            var set = switch (targets.toLowerCase(Locale.ROOT)) {
                case "attention" -> SyntheticCheckpoint.Options.ATTENTION;
                case "all-linear" -> SyntheticCheckpoint.Options.ALL_LINEAR;
                default -> throw new IllegalArgumentException("--targets must be attention or all-linear, got '"
                        + targets + "'");
            };
            options = new SyntheticCheckpoint.Options(seed, rank, alpha, set, parseSize("--shard-size", shardSize),
                    Runtime.getRuntime().availableProcessors());
        } catch (IllegalArgumentException e) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), e.getMessage());
        }
        PrintWriter o = spec.commandLine().getOut();
        long t0 = System.nanoTime();
        ModelShape shapeToWrite = s;
        SyntheticCheckpoint.Written[] written = new SyntheticCheckpoint.Written[1];
        try (AtomicOutput output = AtomicOutput.prepare(out, force, "synth", List.of());
             Progress progress = progressOptions.open(spec.commandLine().getErr())) {
            Path dir = output.commit(d -> written[0] = SyntheticCheckpoint.write(shapeToWrite, options, d, progress));
            progress.close();
            if (!progressOptions.quiet) {
                o.printf(Locale.ROOT, "convsim synth: %s, seed %d, r = %d on %s: %d shards, %.2f GB base, %.1f MB adapter"
                        + " in %s (%.1f s)%n", shapeToWrite.name(), seed, rank, String.join(",", options.targets()),
                        written[0].shards(), written[0].baseBytes() / 1e9, written[0].adapterBytes() / 1e6, dir,
                        (System.nanoTime() - t0) / 1e9);
            }
        }
        return 0;
    }

    /** "5GB", "500MB", "64KiB" or bytes, given to {@code option}. */
    static long parseSize(String option, String s) {
        String t = s.trim().toUpperCase(Locale.ROOT);
        long unit = 1;
        for (String[] u : new String[][] {{"GIB", "1073741824"}, {"MIB", "1048576"}, {"KIB", "1024"},
                {"GB", "1000000000"}, {"MB", "1000000"}, {"KB", "1000"}, {"B", "1"}}) {
            if (t.endsWith(u[0])) {
                unit = Long.parseLong(u[1]);
                t = t.substring(0, t.length() - u[0].length()).trim();
                break;
            }
        }
        try {
            double v = Double.parseDouble(t);
            if (!(v > 0)) {
                throw new NumberFormatException();
            }
            return (long) (v * unit);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(option + ": cannot read '" + s + "' as a size (e.g. 5GB, 500MB)");
        }
    }
}
