package io.github.convsim.bench.jmh;

import io.github.convsim.bench.SolveThroughput;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import java.util.List;

/** Seeded inputs shared by the benchmarks. */
final class Inputs {
    private Inputs() {}

    /** Orthonormal n x k frames, as a layer's leading singular vectors would be. */
    static List<Matrix> frames(LinalgBackend backend, long seed, int count, int n, int k) {
        return backend.orthonormalBasis(SolveThroughput.random(count, n, k, seed), Precision.FP64);
    }

    /** "layers x n x r", e.g. "32x4096x16". */
    static int[] shape(String s) {
        String[] p = s.split("x");
        return new int[] {Integer.parseInt(p[0]), Integer.parseInt(p[1]), Integer.parseInt(p[2])};
    }
}
