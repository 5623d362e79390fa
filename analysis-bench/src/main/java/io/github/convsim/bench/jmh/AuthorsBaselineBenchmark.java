package io.github.convsim.bench.jmh;

import static org.bytedeco.openblas.global.openblas.LAPACKE_dgesdd;

import io.github.convsim.bench.SolveThroughput;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.OpenBlasBackend;
import io.github.convsim.linalg.Precision;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SubspaceBasis;
import io.github.convsim.similarity.SubspaceSimilarity;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * From the conversion matrices of one module (the demo's shape: 12 layers, 768 x 8) to one phi heatmap, convsim's
 * way against the authors' (in the same run): thin SVDs of the L matrices and one stacked product, against full SVDs
 * (full_matrices, U of 768 x 768) of both matrices for every pair of the upper triangle. And the C_dW bases: from the
 * factors against the SVD of the formed 768 x 768 product.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class AuthorsBaselineBenchmark {
    private static final int LAYERS = 12;
    private static final int N = 768;
    private static final int R = 8;

    private OpenBlasBackend backend;
    private List<Matrix> conversions;
    private List<Matrix> factorsA;

    @Setup(Level.Trial)
    public void setUp() {
        backend = new OpenBlasBackend();
        conversions = SolveThroughput.random(LAYERS, N, R, 7);
        factorsA = SolveThroughput.random(LAYERS, R, N, 8);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public double[][] convsimPhi() {
        List<SubspaceBasis> bases = FactorBases.of(backend, conversions).stream().map(p -> p.side(Side.LEFT)).toList();
        int[] ranks = bases.stream().mapToInt(SubspaceBasis::rank).toArray();
        return SubspaceSimilarity.phi(backend, bases.stream().map(SubspaceBasis::vectors).toList(), ranks, R, R);
    }

    @Benchmark
    public double[][] baselineAuthorsPhi() {
        double[][] phi = new double[LAYERS][LAYERS];
        for (int a = 0; a < LAYERS; a++) {
            for (int b = a; b < LAYERS; b++) {
                double[] ua = fullLeftVectors(conversions.get(a));
                double[] ub = fullLeftVectors(conversions.get(b));
                double s = 0;
                for (int p = 0; p < R; p++) {
                    for (int q = 0; q < R; q++) {
                        double dot = 0;
                        for (int i = 0; i < N; i++) {
                            dot += ua[i + p * N] * ub[i + q * N];
                        }
                        s += dot * dot;
                    }
                }
                phi[a][b] = phi[b][a] = s / R;
            }
        }
        return phi;
    }

    @Benchmark
    public List<FactorBases.Pair> convsimProductBases() {
        return FactorBases.ofProducts(backend, conversions, factorsA);
    }

    @Benchmark
    public List<FactorBases.Pair> baselineFormedProductBases() {
        return FactorBases.of(backend, backend.gemm(conversions, false, factorsA, false, Precision.FP64));
    }

    private static double[] fullLeftVectors(Matrix m) {
        double[] u = new double[N * N];
        double[] vt = new double[R * R];
        double[] s = new double[R];
        LAPACKE_dgesdd(102, (byte) 'A', N, R, m.data().clone(), N, s, u, N, vt, R);
        return u;
    }
}
