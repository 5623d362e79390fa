package io.github.convsim.cli;

import io.github.convsim.bench.SolveThroughput;
import io.github.convsim.bench.SolveThroughput.Rate;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "bench", mixinStandardHelpOptions = true,
        description = {
            "Measure the solve phase's throughput as a fraction of this machine's DGEMM throughput, both in "
            + "this process on the same backend: on the demo's 24 query/value W0 (768x768, r=8) and on random n x "
            + "n systems with r right-hand sides per factor.",
            "Timings are the best of --reps."},
        footer = {"", "Example:", "  convsim bench --n 4096 --count 4 --rank 16"})
final class BenchCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--n", defaultValue = "4096", description = "Size of the synthetic systems (default: ${DEFAULT-VALUE}).")
    int n;

    @Option(names = "--count", defaultValue = "4", description = "Synthetic systems per batch (default: ${DEFAULT-VALUE}).")
    int count;

    @Option(names = "--rank", defaultValue = "16", description = "LoRA rank of the synthetic systems (default: ${DEFAULT-VALUE}).")
    int rank;

    @Option(names = "--reps", defaultValue = "3", description = "Repetitions; the best is kept (default: ${DEFAULT-VALUE}).")
    int reps;

    @Option(names = "--backend", defaultValue = "cpu", description = "cpu, cuda or auto (default: ${DEFAULT-VALUE}).")
    String backend;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        if (n < 1 || count < 1 || reps < 1) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--n, --count and --reps must be at least 1,"
                    + " got " + n + ", " + count + " and " + reps);
        }
        if (rank < 1 || rank > n) {
            throw new CommandLine.ParameterException(spec.commandLine(), "--rank must be from 1 to --n (" + n
                    + "), got " + rank);
        }
        Backends.Choice choice = Backends.select(backend);
        try {
            out.printf(Locale.ROOT, "backend: %s (%s)%n", choice.backend().description(), choice.reason());
            out.printf(Locale.ROOT, "self-check: %s, %d cases in %.1f ms, worst error %.2g of its bound%n",
                    choice.selfCheck().passed() ? "passed" : "failed", choice.selfCheck().cases(),
                    choice.selfCheck().millis(), choice.selfCheck().worstFractionOfBound());
            List<LoraModule> layers;
            List<Matrix> w0s = new ArrayList<>();
            try (LoraCheckpoint demo = LoraCheckpoint.open(Demo.adapter(), Demo.base())) {
                layers = demo.modules();
                for (LoraModule m : layers) {
                    w0s.add(demo.baseWeight(m));
                }
            }
            report(out, SolveThroughput.dgemm(choice.backend(), 768, layers.size(), reps),
                    SolveThroughput.solve(choice.backend(), layers, w0s, reps));
            List<LoraModule> synthetic = SolveThroughput.randomModules(count, n, rank);
            List<Matrix> sw0 = SolveThroughput.random(count, n, n, 7);
            report(out, SolveThroughput.dgemm(choice.backend(), n, count, reps),
                    SolveThroughput.solve(choice.backend(), synthetic, sw0, reps));
        } finally {
            choice.backend().close();
        }
        return 0;
    }

    private static void report(PrintWriter out, Rate dgemm, Rate solve) {
        out.printf(Locale.ROOT, "%-28s %8.3f s %9.1f GFLOP/s%n", dgemm.what(), dgemm.seconds(), dgemm.gflops());
        out.printf(Locale.ROOT, "%-28s %8.3f s %9.1f GFLOP/s   ratio to dgemm %.2f%n", solve.what(), solve.seconds(),
                solve.gflops(), solve.gflops() / dgemm.gflops());
    }
}
