package io.github.convsim.cli;

import io.github.convsim.linalg.Backends;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.AtomicOutput;
import io.github.convsim.results.Provenance;
import io.github.convsim.synth.PlantedAdapter;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code convsim plant}: a positive control, an adapter whose layers do share one conversion matrix. */
@Command(name = "plant", mixinStandardHelpOptions = true,
        description = {
            "Write a positive control: the adapter with every layer's lora_A replaced by op(W0_l) M plus noise, "
            + "one Gaussian M per module shared by all its layers, at each layer's own ||A||.",
            "Its C_A is shared across layers by construction, so `convsim analyze` must say 'yes' for C_A when "
            + "--noise is below the detectable noise its report gives for that module, and 'no' far above it."},
        footer = {"", "Example:",
            "  convsim plant --noise 0.1 --out planted",
            "  convsim analyze --adapter planted \\",
            "      --base data/bert-base-uncased.query-value.safetensors"})
final class PlantCommand implements Callable<Integer> {
    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Parameters(index = "0", arity = "0..1", paramLabel = "ADAPTER_DIR", description = "Adapter directory,"
            + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the demo).")
    Path adapter;

    @Option(names = "--base", paramLabel = "PATH", description = "Base weights, a path"
            + " or ORG/NAME[@REVISION] in the Hugging Face hub cache (default: the adapter's base).")
    Path base;

    @Option(names = "--noise", paramLabel = "EPS", defaultValue = "0.1",
            description = "Noise relative to the shared part op(W0_l) M (default: ${DEFAULT-VALUE}).")
    double noise;

    @Option(names = "--seed", paramLabel = "S", defaultValue = "1", description = "Seed of M and the noise"
            + " (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", paramLabel = "DIR", required = true, description = "Directory of the planted adapter.")
    Path out;

    @Option(names = "--force", description = "Also replace an output of another convsim command at --out.")
    boolean force;

    @Option(names = {"-q", "--quiet"}, description = "Print nothing but errors.")
    boolean quiet;

    @Override
    public Integer call() throws Exception {
        if (!(noise >= 0) || Double.isInfinite(noise)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--noise must be a non-negative"
                    + " number, got " + noise);
        }
        adapter = Locations.resolve(adapter);
        Path adapterDir = adapter != null ? adapter : Demo.adapter();
        Path basePath = Demo.baseFor(adapter, base).path();
        Backends.Choice cpu = Backends.select("cpu");
        try (AtomicOutput output = AtomicOutput.prepare(out, force, "plant", List.of(adapterDir, basePath));
             LoraCheckpoint ckpt = LoraCheckpoint.open(adapterDir, basePath, BaseMatch.BaseCheck.STRICT)) {
            Map<String, Object> options = new LinkedHashMap<>();
            options.put("adapter", adapterDir.toAbsolutePath().normalize().toString());
            options.put("base", basePath.toAbsolutePath().normalize().toString());
            options.put("noise", noise);
            options.put("seed", seed);
            Provenance provenance = Provenance.of("convsim plant", cpu, Provenance.inputsOf(List.of(ckpt)), options,
                    Map.of(), Map.of());
            Path written = output.commit(d -> PlantedAdapter.write(ckpt, cpu.backend(), noise, seed, d, provenance));
            if (!quiet) {
                spec.commandLine().getOut().printf(Locale.ROOT, "planted adapter (noise %.3g, seed %d, %d modules):"
                        + " %s%n", noise, seed, ckpt.moduleNames().size(), written);
            }
        } finally {
            cpu.backend().close();
        }
        return 0;
    }
}
