package io.github.convsim.bench.jmh;

import static org.bytedeco.openblas.global.openblas.LAPACKE_dgesdd;

import io.github.convsim.bench.SolveThroughput;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.OpenBlasBackend;
import io.github.convsim.similarity.FactorBases;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Singular vectors of every layer's conversion matrix (n x r) and of the C_dW products. convsim: one batched thin
 * SVD (U n x r), and for C_dW = C_B A the SVD from the factors (thin QR of C_B, SVD of r x n), never forming n x n.
 * Baselines in the same run: full SVDs (full_matrices, U n x n) as the authors compute them, and the SVD of the formed
 * n x n product C_B A (on the demo's shape only, in {@link AuthorsBaselineBenchmark}).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class ThinSvdBenchmark {
    @Param({"12x768x8", "32x4096x16"})
    public String shape;

    private OpenBlasBackend backend;
    private List<Matrix> conversions;
    private List<Matrix> factorsA;

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = Inputs.shape(shape);
        backend = new OpenBlasBackend();
        conversions = SolveThroughput.random(s[0], s[1], s[2], 3);
        factorsA = SolveThroughput.random(s[0], s[2], s[1], 4);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public List<FactorBases.Pair> thinSvd() {
        return FactorBases.of(backend, conversions);
    }

    @Benchmark
    public double baselineFullSvd() {
        double sum = 0;
        for (Matrix m : conversions) {
            int rows = m.rows();
            int cols = m.cols();
            double[] u = new double[rows * rows];
            double[] vt = new double[cols * cols];
            double[] s = new double[cols];
            LAPACKE_dgesdd(102, (byte) 'A', rows, cols, m.data().clone(), rows, s, u, rows, vt, cols);
            sum += u[0];
        }
        return sum;
    }

    @Benchmark
    public List<FactorBases.Pair> productFromFactors() {
        return FactorBases.ofProducts(backend, conversions, factorsA);
    }
}
