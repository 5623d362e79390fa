package io.github.convsim.bench;

import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.conversion.W0System;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The solve phase's throughput as a fraction of the machine's DGEMM throughput, both measured in the same process on
 * the same backend: the number that says whether the solver runs at the speed of the hardware.
 *
 * <p>Solve phase: LU of every W0 (2/3 n^3 flops each) and the solves of C_A and C_B (2 n^2 per right-hand side
 * each). The backend's cond(W0) and the fp32 comparison are not counted: they are diagnostics.
 */
public final class SolveThroughput {
    /** One measurement: flops done, seconds taken (best of the repetitions). */
    public record Rate(String what, double flops, double seconds) {
        public double gflops() {
            return flops / seconds / 1e9;
        }
    }

    private SolveThroughput() {}

    /** DGEMM of two n x n matrices, best of {@code reps}, batched {@code batch} at a time as the solver batches. */
    public static Rate dgemm(LinalgBackend backend, int n, int batch, int reps) {
        List<Matrix> a = random(batch, n, n, 1);
        List<Matrix> b = random(batch, n, n, 2);
        double best = Double.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long t = System.nanoTime();
            backend.gemm(a, false, b, false, Precision.FP64);
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        return new Rate("dgemm " + batch + " x " + n + "x" + n, batch * 2.0 * n * n * (double) n, best);
    }

    /** The solve phase on the given W0s and factors: LU, then C_A and C_B, best of {@code reps}. */
    public static Rate solve(LinalgBackend backend, List<LoraModule> layers, List<Matrix> w0s, int reps) {
        ConversionSolver solver = new ConversionSolver(backend, SolveOptions.paper());
        List<Matrix> at = layers.stream().map(m -> m.a().transpose()).toList();
        List<Matrix> b = layers.stream().map(LoraModule::b).toList();
        double flops = 0;
        for (int k = 0; k < layers.size(); k++) {
            double n = w0s.get(k).rows();
            flops += 2.0 / 3 * n * n * n + 2 * n * n * (at.get(k).cols() + b.get(k).cols());
        }
        double best = Double.MAX_VALUE;
        for (int r = 0; r < reps; r++) {
            long t = System.nanoTime();
            List<W0System> systems = solver.factorOnly(layers, w0s);
            solver.solve(systems, at, Equation.W0_X);
            solver.solve(systems, b, Equation.W0_X);
            best = Math.min(best, (System.nanoTime() - t) / 1e9);
        }
        return new Rate("solve " + layers.size() + " x " + w0s.get(0).shapeString(), flops, best);
    }

    /** Random square systems of size n with rank-r factors, for sizes the bundled data does not have. */
    public static List<LoraModule> randomModules(int count, int n, int r) {
        List<LoraModule> out = new ArrayList<>();
        List<Matrix> a = random(count, r, n, 3);
        List<Matrix> b = random(count, n, r, 4);
        for (int k = 0; k < count; k++) {
            out.add(new LoraModule("bench", "bench." + k, k, "bench." + k + ".weight", false, 0, r, r, 1, a.get(k),
                    b.get(k), false));
        }
        return out;
    }

    public static List<Matrix> random(int count, int rows, int cols, long seed) {
        List<Matrix> out = new ArrayList<>();
        SplittableRandom rng = new SplittableRandom(seed);
        for (int k = 0; k < count; k++) {
            double[] d = new double[rows * cols];
            for (int i = 0; i < d.length; i++) {
                d[i] = rng.nextGaussian();
            }
            out.add(new Matrix(rows, cols, d));
        }
        return out;
    }
}
