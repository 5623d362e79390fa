package io.github.convsim.cuda.check;

import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

/**
 * The GPU check's synthetic batch: {@code count} square n x n systems with {@code rhs} right-hand sides, each drawn
 * from its own seeded generator so that any machine regenerates exactly the same numbers, solved a chunk at a time.
 * Each solution is kept as a fingerprint, ||X||_F and X^T v for a few fixed random vectors v: two solutions that
 * differ by a relative delta differ by about delta in their fingerprints.
 */
final class SyntheticBatch {
    static final int PROBES = 4;

    record Result(double[][] fingerprints, double solveSeconds) {}

    private SyntheticBatch() {}

    static Matrix system(long seed, int k, int n) {
        SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + k);
        double[] d = new double[n * n];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian();
        }
        return new Matrix(n, n, d);
    }

    static Matrix rhs(long seed, int k, int n, int r) {
        SplittableRandom rng = new SplittableRandom(seed * 1_000_003L + k + 7_000_000L);
        double[] d = new double[n * r];
        for (int i = 0; i < d.length; i++) {
            d[i] = rng.nextGaussian();
        }
        return new Matrix(n, r, d);
    }

    /** Solves every system with {@code backend}, {@code chunk} systems generated at a time. */
    static Result solve(LinalgBackend backend, Precision p, long seed, int count, int n, int r, int chunk) {
        double[][] prints = new double[count][];
        double[][] probes = probes(seed, n);
        double seconds = 0;
        for (int start = 0; start < count; start += chunk) {
            int end = Math.min(count, start + chunk);
            List<Matrix> a = new ArrayList<>();
            List<Matrix> b = new ArrayList<>();
            int s0 = start;
            List<Matrix[]> made = IntStream.range(start, end).parallel()
                    .mapToObj(k -> new Matrix[] {system(seed, k, n), rhs(seed, k, n, r)}).toList();
            made.forEach(pair -> {
                a.add(pair[0]);
                b.add(pair[1]);
            });
            long t = System.nanoTime();
            List<Matrix> x = backend.solveSquare(a, b, p);
            seconds += (System.nanoTime() - t) / 1e9;
            for (int k = 0; k < x.size(); k++) {
                prints[s0 + k] = fingerprint(x.get(k), probes);
            }
        }
        return new Result(prints, seconds);
    }

    static double[][] probes(long seed, int n) {
        SplittableRandom rng = new SplittableRandom(seed ^ 0x9E3779B97F4A7C15L);
        double[][] v = new double[PROBES][n];
        for (double[] row : v) {
            for (int i = 0; i < n; i++) {
                row[i] = rng.nextGaussian();
            }
        }
        return v;
    }

    /** [||X||_F, (X^T v_1)..., (X^T v_PROBES)...]. */
    static double[] fingerprint(Matrix x, double[][] probes) {
        int n = x.rows();
        int r = x.cols();
        double[] out = new double[1 + PROBES * r];
        out[0] = x.frobeniusNorm();
        for (int q = 0; q < PROBES; q++) {
            for (int c = 0; c < r; c++) {
                double s = 0;
                for (int i = 0; i < n; i++) {
                    s += x.get(i, c) * probes[q][i];
                }
                out[1 + q * r + c] = s;
            }
        }
        return out;
    }

    /** Relative difference of two fingerprints: ||a - b|| / ||b||. */
    static double difference(double[] a, double[] b) {
        double num = 0;
        double den = 0;
        for (int i = 0; i < a.length; i++) {
            num += (a[i] - b[i]) * (a[i] - b[i]);
            den += b[i] * b[i];
        }
        return Math.sqrt(num / den);
    }
}
