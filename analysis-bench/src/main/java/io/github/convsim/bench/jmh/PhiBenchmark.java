package io.github.convsim.bench.jmh;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.OpenBlasBackend;
import io.github.convsim.linalg.Precision;
import io.github.convsim.similarity.SubspaceSimilarity;
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
 * One heatmap's phi for every pair of layers from the layers' leading singular vectors. convsim: one product of
 * stacked bases S^T S. Baseline in the same run: a product per pair (L^2 small GEMMs).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class PhiBenchmark {
    @Param({"12x768x8", "32x4096x16"})
    public String shape;

    private OpenBlasBackend backend;
    private List<Matrix> bases;
    private int[] ranks;
    private int r;

    @Setup(Level.Trial)
    public void setUp() {
        int[] s = Inputs.shape(shape);
        r = s[2];
        backend = new OpenBlasBackend();
        bases = Inputs.frames(backend, 1, s[0], s[1], r);
        ranks = new int[s[0]];
        java.util.Arrays.fill(ranks, r);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        backend.close();
    }

    @Benchmark
    public double[][] stackedProduct() {
        return SubspaceSimilarity.phi(backend, bases, ranks, r, r);
    }

    @Benchmark
    public double[][] baselinePairwiseProducts() {
        int layers = bases.size();
        List<Matrix> left = new ArrayList<>();
        List<Matrix> right = new ArrayList<>();
        for (int a = 0; a < layers; a++) {
            for (int b = 0; b < layers; b++) {
                left.add(bases.get(a));
                right.add(bases.get(b));
            }
        }
        List<Matrix> products = backend.gemm(left, true, right, false, Precision.FP64);
        double[][] phi = new double[layers][layers];
        for (int k = 0; k < products.size(); k++) {
            double s = 0;
            for (double v : products.get(k).data()) {
                s += v * v;
            }
            phi[k / layers][k % layers] = s / r;
        }
        return phi;
    }
}
