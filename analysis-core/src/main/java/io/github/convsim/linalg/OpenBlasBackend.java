package io.github.convsim.linalg;

import static org.bytedeco.openblas.global.openblas.*;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntFunction;
import java.util.function.LongFunction;
import org.bytedeco.javacpp.DoublePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.IntPointer;
import org.bytedeco.javacpp.Pointer;

/**
 * {@link LinalgBackend} on the CPU: LAPACK and BLAS from OpenBLAS, called directly (getrf/getrs, gesdd, geqrf/orgqr,
 * gemm). A batch of several problems runs one problem per core with OpenBLAS single-threaded; a lone problem runs with
 * OpenBLAS using every core. Never both, so threads are not oversubscribed.
 *
 * <p>Work runs on threads with 16 MiB stacks: OpenBLAS's threaded dgetrf was measured to crash the JVM on stacks of
 * 2 MiB or less (0.3.19 and 0.3.31 alike).
 */
public final class OpenBlasBackend implements LinalgBackend {
    private static final long STACK_BYTES = 16L << 20;
    private static final int COL_MAJOR = 102;

    /** Below this many operations a lone problem runs on one thread: waking OpenBLAS's workers costs more. */
    private static final double THREADED_FLOPS = 2e9;
    /** OpenBLAS's thread count is one setting for the whole process: every instance changes it under this lock. */
    private static final Object BLAS_THREADS_LOCK = new Object();
    private static int blasThreads = -1;

    private final int threads;
    private final double threadedFlops;
    private final ExecutorService pool;

    private final List<Scratch> scratches = new ArrayList<>();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(() -> {
        Scratch s = new Scratch();
        synchronized (scratches) {
            scratches.add(s);
        }
        return s;
    });

    public OpenBlasBackend() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public OpenBlasBackend(int threads) {
        this(threads, THREADED_FLOPS);
    }

    /** As {@link #OpenBlasBackend(int)}, a lone problem of at least {@code threadedFlops} using every BLAS thread. */
    OpenBlasBackend(int threads, double threadedFlops) {
        this.threads = Math.max(1, threads);
        this.threadedFlops = threadedFlops;
        AtomicInteger count = new AtomicInteger();
        this.pool = Executors.newFixedThreadPool(this.threads, r -> {
            Thread t = new Thread(null, r, "convsim-lapack-" + count.incrementAndGet(), STACK_BYTES);
            t.setDaemon(true);
            return t;
        });
    }

    @Override
    public String name() {
        return "cpu-openblas";
    }

    @Override
    public String description() {
        OpenBlasIdentity id = OpenBlasIdentity.current();
        return id.version() + " (LAPACK, " + id.core() + " kernels), " + threads + " threads, "
                + System.getProperty("os.arch");
    }

    @Override
    public ArithmeticInfo arithmetic() {
        OpenBlasIdentity id = OpenBlasIdentity.current();
        CpuIdentity cpu = CpuIdentity.current();
        Map<String, Object> d = new LinkedHashMap<>();
        d.put("backend", name());
        d.put("cpu_model", cpu.model());
        d.put("cpu_flags", cpu.flags());
        d.put("os_arch", System.getProperty("os.arch"));
        d.put("openblas_version", id.version());
        d.put("openblas_core", id.core());
        d.put("openblas_build_target", id.buildTarget());
        d.put("openblas_dynamic_arch", id.dynamicArch());
        d.put("openblas_config", id.version() + (id.dynamicArch() ? " DYNAMIC_ARCH" : "") + " target="
                + id.buildTarget() + " core=" + id.core());
        d.put("threads", threads);
        d.put("environment", id.environment());
        String summary = id.version() + " (" + id.core() + " kernels" + (id.dynamicArch() ? ", DYNAMIC_ARCH" : "")
                + ") on " + cpu.model() + (cpu.flags().isEmpty() ? "" : " [" + String.join(" ", cpu.flags()) + "]");
        boolean arm = System.getProperty("os.arch").matches("aarch64|arm64");
        String safeCore = arm ? "ARMV8" : "Haswell";
        return new ArithmeticInfo(summary, d, "Work around it by setting OPENBLAS_CORETYPE=" + safeCore
                + " (OpenBLAS's " + (arm ? "generic ARMv8" : "AVX2") + " kernels) before running convsim, and report"
                + " this line to convsim's issue tracker.");
    }

    /**
     * The known-answer check on parallel callers and lone with every BLAS thread (a second, threaded view). Its time
     * excludes loading the library and OpenBLAS's one-time set-up on its first call, which any first use pays.
     */
    @Override
    public SelfCheck.Report selfCheck() {
        OpenBlasIdentity.current();
        Matrix one = Matrix.identity(1);
        gemm(List.of(one), false, List.of(one), false, Precision.FP64);
        try (OpenBlasBackend allThreads = new OpenBlasBackend(threads, 0)) {
            return SelfCheck.run(this, threads > 1 ? allThreads : null, threads);
        }
    }

    @Override
    public List<LuFactors> lu(List<Matrix> squares, Precision precision) {
        return batch(squares.size(), flops(squares, m -> 2.0 / 3 * cube(m.rows())), k -> {
            Matrix a = squares.get(k);
            if (a.rows() != a.cols()) {
                throw new IllegalArgumentException("LU needs a square matrix, got " + a.shapeString());
            }
            int n = a.rows();
            int[] ipiv = new int[n];
            int info;
            double[] packed = new double[n * n];
            Scratch scratch = scratch();
            IntPointer piv = scratch.ints(n);
            if (precision == Precision.FP64) {
                DoublePointer lu = scratch.doubles(0, a.data());
                info = LAPACKE_dgetrf(COL_MAJOR, n, n, lu, Math.max(1, n), piv);
                lu.get(packed, 0, packed.length);
            } else {
                FloatPointer lu = scratch.floats(0, toFloat(a.data()));
                info = LAPACKE_sgetrf(COL_MAJOR, n, n, lu, Math.max(1, n), piv);
                float[] f = new float[n * n];
                lu.get(f, 0, f.length);
                packed = toDouble(f);
            }
            piv.get(ipiv, 0, n);
            check("getrf", info);
            if (info > 0) {
                throw new SingularMatrixException(info);
            }
            return new LuFactors(new Matrix(n, n, packed), ipiv, precision);
        });
    }

    @Override
    public List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs) {
        if (factors.size() != rhs.size()) {
            throw new IllegalArgumentException(factors.size() + " factorisations for " + rhs.size() + " right-hand sides");
        }
        return batch(factors.size(), flops(rhs, m -> 2.0 * m.rows() * m.rows() * m.cols()), k -> {
            LuFactors lu = factors.get(k);
            Matrix b = rhs.get(k);
            int n = lu.n();
            if (b.rows() != n) {
                throw new IllegalArgumentException("right-hand side has " + b.rows() + " rows, system has " + n);
            }
            int nrhs = b.cols();
            if (nrhs == 0) {
                return Matrix.zeros(n, 0);
            }
            Scratch scratch = scratch();
            IntPointer piv = scratch.ints(n).put(lu.pivots(), 0, n);
            if (lu.precision() == Precision.FP64) {
                DoublePointer x = scratch.doubles(1, b.data());
                check("getrs", LAPACKE_dgetrs(COL_MAJOR, (byte) 'N', n, nrhs, scratch.doubles(0, lu.packed().data()),
                        Math.max(1, n), piv, x, Math.max(1, n)));
                double[] out = new double[n * nrhs];
                x.get(out, 0, out.length);
                return new Matrix(n, nrhs, out);
            }
            FloatPointer x = scratch.floats(1, toFloat(b.data()));
            check("getrs", LAPACKE_sgetrs(COL_MAJOR, (byte) 'N', n, nrhs, scratch.floats(0, toFloat(lu.packed().data())),
                    Math.max(1, n), piv, x, Math.max(1, n)));
            float[] out = new float[n * nrhs];
            x.get(out, 0, out.length);
            return new Matrix(n, nrhs, toDouble(out));
        });
    }

    @Override
    public List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision precision) {
        return batch(matrices.size(), flops(matrices, x -> 8.0 * x.rows() * x.cols() * Math.min(x.rows(), x.cols())), k -> {
            Matrix a = matrices.get(k);
            int m = a.rows();
            int n = a.cols();
            int kk = Math.min(m, n);
            if (kk == 0) {
                return new Svd(vectors ? Matrix.zeros(m, 0) : null, new double[0], vectors ? Matrix.zeros(0, n) : null);
            }
            byte jobz = (byte) (vectors ? 'S' : 'N');
            int ldu = vectors ? m : 1;
            int ldvt = vectors ? kk : 1;
            if (precision == Precision.FP64) {
                Scratch scratch = scratch();
                DoublePointer work = scratch.doubles(0, a.data());
                DoublePointer sp = scratch.doubles(1, kk);
                DoublePointer up = scratch.doubles(2, vectors ? (long) m * kk : 1);
                DoublePointer vtp = scratch.doubles(3, vectors ? (long) kk * n : 1);
                check("gesdd", LAPACKE_dgesdd(COL_MAJOR, jobz, m, n, work, Math.max(1, m), sp, up, ldu, vtp, ldvt));
                double[] s = new double[kk];
                sp.get(s, 0, kk);
                if (!vectors) {
                    return new Svd(null, s, null);
                }
                double[] u = new double[m * kk];
                double[] vt = new double[kk * n];
                up.get(u, 0, u.length);
                vtp.get(vt, 0, vt.length);
                return new Svd(new Matrix(m, kk, u), s, new Matrix(kk, n, vt));
            }
            float[] work = toFloat(a.data());
            float[] s = new float[kk];
            float[] u = new float[vectors ? m * kk : 1];
            float[] vt = new float[vectors ? kk * n : 1];
            check("gesdd", LAPACKE_sgesdd(COL_MAJOR, jobz, m, n, work, Math.max(1, m), s, u, ldu, vt, ldvt));
            return new Svd(vectors ? new Matrix(m, kk, toDouble(u)) : null, toDouble(s),
                    vectors ? new Matrix(kk, n, toDouble(vt)) : null);
        });
    }

    @Override
    public List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB, Precision precision) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(a.size() + " left operands for " + b.size() + " right operands");
        }
        return batch(a.size(), flops(a, x -> 2.0 * x.rows() * x.cols() * b.get(0).cols()), k -> {
            Matrix x = a.get(k);
            Matrix y = b.get(k);
            int m = transA ? x.cols() : x.rows();
            int inner = transA ? x.rows() : x.cols();
            int innerB = transB ? y.cols() : y.rows();
            int n = transB ? y.rows() : y.cols();
            if (inner != innerB) {
                throw new IllegalArgumentException("cannot multiply " + x.shapeString() + (transA ? "^T" : "") + " by "
                        + y.shapeString() + (transB ? "^T" : ""));
            }
            if (m == 0 || n == 0 || inner == 0) {
                return Matrix.zeros(m, n);
            }
            int ta = transA ? CblasTrans : CblasNoTrans;
            int tb = transB ? CblasTrans : CblasNoTrans;
            if (precision == Precision.FP64) {
                Scratch scratch = scratch();
                DoublePointer c = scratch.doubles(2, (long) m * n);
                cblas_dgemm(CblasColMajor, ta, tb, m, n, inner, 1.0, scratch.doubles(0, x.data()), x.rows(),
                        scratch.doubles(1, y.data()), y.rows(), 0.0, c, m);
                double[] out = new double[m * n];
                c.get(out, 0, out.length);
                return new Matrix(m, n, out);
            }
            float[] c = new float[m * n];
            cblas_sgemm(CblasColMajor, ta, tb, m, n, inner, 1.0f, toFloat(x.data()), x.rows(), toFloat(y.data()),
                    y.rows(), 0.0f, c, m);
            return new Matrix(m, n, toDouble(c));
        });
    }

    @Override
    public List<Matrix> orthonormalBasis(List<Matrix> matrices, Precision precision) {
        return batch(matrices.size(), flops(matrices, x -> 4.0 * x.rows() * x.cols() * x.cols()), k -> {
            Matrix a = matrices.get(k);
            int m = a.rows();
            int n = a.cols();
            if (m < n) {
                throw new IllegalArgumentException("thin QR needs rows >= cols, got " + a.shapeString());
            }
            if (n == 0) {
                return Matrix.zeros(m, 0);
            }
            if (precision == Precision.FP64) {
                double[] q = a.data().clone();
                double[] tau = new double[n];
                check("geqrf", LAPACKE_dgeqrf(COL_MAJOR, m, n, q, m, tau));
                check("orgqr", LAPACKE_dorgqr(COL_MAJOR, m, n, n, q, m, tau));
                return new Matrix(m, n, q);
            }
            float[] q = toFloat(a.data());
            float[] tau = new float[n];
            check("geqrf", LAPACKE_sgeqrf(COL_MAJOR, m, n, q, m, tau));
            check("orgqr", LAPACKE_sorgqr(COL_MAJOR, m, n, n, q, m, tau));
            return new Matrix(m, n, toDouble(q));
        });
    }

    /**
     * Runs {@code count} independent problems of about {@code flopsEach} operations each: in parallel with
     * single-threaded BLAS, or, for one large problem, with OpenBLAS using every thread. OpenBLAS's idle workers spin
     * (in sched_yield) for a while, so the thread count changes only for problems large enough to pay for it.
     */
    private <T> List<T> batch(int count, double flopsEach, IntFunction<T> problem) {
        synchronized (BLAS_THREADS_LOCK) {
            List<T> out = new ArrayList<>(count);
            if (count == 0) {
                return out;
            }
            boolean parallel = count > 1 && threads > 1;
            int wanted = !parallel && flopsEach >= threadedFlops ? threads : 1;
            if (wanted != blasThreads) {
                blas_set_num_threads(wanted);
                blasThreads = wanted;
            }
            List<Future<T>> futures = new ArrayList<>(count);
            if (parallel) {
                for (int k = 0; k < count; k++) {
                    int kk = k;
                    futures.add(pool.submit(() -> problem.apply(kk)));
                }
            } else {
                futures.add(pool.submit(() -> problem.apply(0)));
            }
            try {
                for (Future<T> f : futures) {
                    out.add(f.get());
                }
            } catch (InterruptedException e) {
                futures.forEach(f -> f.cancel(true));
                Thread.currentThread().interrupt();
                throw new IllegalStateException("interrupted", e);
            } catch (ExecutionException e) {
                futures.forEach(f -> f.cancel(true));
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                if (e.getCause() instanceof Error err) {
                    throw err;
                }
                throw new IllegalStateException(e.getCause());
            }
            return out;
        }
    }

    private static double flops(List<Matrix> problems, java.util.function.ToDoubleFunction<Matrix> estimate) {
        return problems.isEmpty() ? 0 : estimate.applyAsDouble(problems.get(0));
    }

    private static double cube(double n) {
        return n * n * n;
    }

    /**
     * LAPACKE's argument check: convsim passes valid sizes, so a rejected argument is a NaN that LAPACKE found in an
     * input (a factor computed wrongly) or a defect in convsim, never the user's mistake.
     */
    private static void check(String routine, int info) {
        if (info < 0) {
            throw new IllegalStateException("LAPACK " + routine + " rejected argument " + (-info)
                    + " (a NaN in a matrix it was given, or a defect in convsim)");
        }
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        for (int i = 0; i < f.length; i++) {
            d[i] = f[i];
        }
        return d;
    }

    /**
     * Native buffers of one worker thread, reused from call to call. Passing Java arrays straight to OpenBLAS makes
     * the JNI layer copy each into freshly mapped native memory and back on every call: for a 4096 x 4096 W0 (128 MiB)
     * that was measured as more than a third of a 7B analysis' time spent in the kernel, on page faults. Copies into
     * warm buffers cost a memcpy.
     */
    private static final class Scratch {
        private final DoublePointer[] doubles = new DoublePointer[4];
        private final FloatPointer[] floats = new FloatPointer[2];
        private IntPointer ints;

        /** {@code current} when it holds {@code size} elements, else a new buffer in its place (the old one freed). */
        private static <P extends Pointer> P grown(P current, long size, LongFunction<P> allocate) {
            if (current != null && current.capacity() >= size) {
                return current;
            }
            if (current != null) {
                current.deallocate();
            }
            return allocate.apply(Math.max(1, size));
        }

        DoublePointer doubles(int slot, long size) {
            return doubles[slot] = grown(doubles[slot], size, DoublePointer::new);
        }

        DoublePointer doubles(int slot, double[] values) {
            return doubles(slot, values.length).put(values, 0, values.length);
        }

        FloatPointer floats(int slot, float[] values) {
            floats[slot] = grown(floats[slot], values.length, FloatPointer::new);
            return floats[slot].put(values, 0, values.length);
        }

        IntPointer ints(int size) {
            return ints = grown(ints, size, IntPointer::new);
        }

        void free() {
            List<Pointer> all = new ArrayList<>(java.util.Arrays.asList(doubles));
            all.addAll(java.util.Arrays.asList(floats));
            all.add(ints);
            all.stream().filter(java.util.Objects::nonNull).forEach(Pointer::deallocate);
        }
    }

    private Scratch scratch() {
        return scratch.get();
    }

    @Override
    public void close() {
        pool.shutdownNow();
        try {
            pool.awaitTermination(10, java.util.concurrent.TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        synchronized (scratches) {
            scratches.forEach(Scratch::free);
            scratches.clear();
        }
    }
}
