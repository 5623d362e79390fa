package io.github.convsim.bench.jmh;

import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

/** Seeded inputs shared by the benchmarks. */
final class Inputs {
    private Inputs() {}

    static Matrix gaussian(SplittableRandom rng, int rows, int cols) {
        double[] d = new double[rows * cols];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian();
        }
        return new Matrix(rows, cols, d);
    }

    static List<Matrix> gaussians(long seed, int count, int rows, int cols) {
        SplittableRandom rng = new SplittableRandom(seed);
        List<Matrix> out = new ArrayList<>(count);
        for (int k = 0; k < count; k++) {
            out.add(gaussian(rng, rows, cols));
        }
        return out;
    }

    /** Orthonormal n x k frames, as a layer's leading singular vectors would be. */
    static List<Matrix> frames(LinalgBackend backend, long seed, int count, int n, int k) {
        return backend.orthonormalBasis(gaussians(seed, count, n, k), Precision.FP64);
    }

    /** "layers x n x r", e.g. "32x4096x16". */
    static int[] shape(String s) {
        String[] p = s.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }
}
