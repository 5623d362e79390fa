package io.github.convsim.bench.jmh;

import static org.bytedeco.openblas.global.openblas.LAPACKE_dgetri;

import io.github.convsim.bench.SolveThroughput;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.OpenBlasBackend;
import io.github.convsim.linalg.Precision;
import java.util.ArrayList;
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
 * The conversion solve of a batch of layers: LU of each W0 and the C_A, C_B solves (2r right-hand sides), as convsim
 * runs it. Baselines in the same run: DGEMM of the same batch (n x n times n x n, the machine's reference
 * throughput), and the authors' explicit inverse (getrf + getri) followed by the products.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class BatchedSolveBenchmark {
    @Param({"24x768x8", "4x2048x16"})
    public String shape;

    private OpenBlasBackend backend;
    private List<Matrix> w0s;
    private List<Matrix> targets;

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = Inputs.shape(shape);
        backend = new OpenBlasBackend();
        w0s = SolveThroughput.random(s[0], s[1], s[1], 5);
        targets = SolveThroughput.random(s[0], s[1], 2 * s[2], 6);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public List<Matrix> luSolve() {
        List<LuFactors> lu = backend.lu(w0s, Precision.FP64);
        return backend.luSolve(lu, targets);
    }

    @Benchmark
    public List<Matrix> baselineDgemm() {
        return backend.gemm(w0s, false, w0s, false, Precision.FP64);
    }

    @Benchmark
    public List<Matrix> baselineExplicitInverse() {
        List<LuFactors> lu = backend.lu(w0s, Precision.FP64);
        List<Matrix> inverses = new ArrayList<>(lu.size());
        for (LuFactors f : lu) {
            double[] inv = f.packed().data().clone();
            LAPACKE_dgetri(102, f.n(), inv, f.n(), f.pivots());
            inverses.add(new Matrix(f.n(), f.n(), inv));
        }
        return backend.gemm(inverses, false, targets, false, Precision.FP64);
    }
}
