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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
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
    /**
     * OpenBLAS's thread count is one setting for the whole process: every instance changes it, and runs its batches,
     * through this gate, which a stopping JVM closes for good: the process's exit frees OpenBLAS's buffers, and a call
     * still running in them crashed the JVM (SIGSEGV in dgemm_oncopy, dgemm_kernel: 3 of 30 analyses of LLaMA-3-8B
     * layers stopped by SIGTERM at a random moment, none of 90 once the gate was closed at shutdown). A batch longer
     * than {@link #QUIESCE_SECONDS} is not waited for.
     */
    private static final BlasGate GATE = new BlasGate();
    private static final long QUIESCE_SECONDS = 10;
    private static int blasThreads = -1;

    static {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> GATE.close(QUIESCE_SECONDS, TimeUnit.SECONDS),
                "convsim-blas-quiesce"));
    }

    private final int threads;
    private final double threadedFlops;
    private final ExecutorService pool;

    private final ResidentFactors resident;
    private final List<Scratch> scratches = new ArrayList<>();
    private final ThreadLocal<Scratch> scratch = ThreadLocal.withInitial(() -> {
        Scratch s = new Scratch();
        synchronized (scratches) {
            scratches.add(s);
        }
        return s;
    });

    /** On {@link #defaultThreads} threads. */
    public OpenBlasBackend() {
        this(defaultThreads(System.getenv(), Runtime.getRuntime().availableProcessors()));
    }

    /**
     * The threads the LAPACK calls and the parallel problems run on: the processors the JVM may use, or fewer where the
     * environment asks for fewer the way OpenBLAS itself reads it: the first of OPENBLAS_NUM_THREADS, GOTO_NUM_THREADS
     * and OMP_NUM_THREADS that holds a positive whole number (a shared node's job script sets one of them, and convsim
     * sets OpenBLAS's count itself, so OpenBLAS would not see it otherwise).
     */
    static int defaultThreads(Map<String, String> env, int processors) {
        for (String name : List.of("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")) {
            String v = env.get(name);
            if (v != null && v.strip().matches("[0-9]{1,9}") && Integer.parseInt(v.strip()) > 0) {
                return Math.min(Integer.parseInt(v.strip()), Math.max(1, processors));
            }
        }
        return Math.max(1, processors);
    }

    public OpenBlasBackend(int threads) {
        this(threads, THREADED_FLOPS);
    }

    /** As {@link #OpenBlasBackend(int)}, a lone problem of at least {@code threadedFlops} using every BLAS thread. */
    OpenBlasBackend(int threads, double threadedFlops) {
        this(threads, threadedFlops, true);
    }

    /** As {@link #OpenBlasBackend(int, double)}; {@code keepFactors} false copies LU factors for every call. */
    OpenBlasBackend(int threads, double threadedFlops, boolean keepFactors) {
        this.threads = Math.max(1, threads);
        this.threadedFlops = threadedFlops;
        this.resident = new ResidentFactors(keepFactors ? 2 * this.threads : 0);
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
        return id.version() + " (LAPACK, " + id.core() + " kernels), " + threads
                + (threads == 1 ? " thread, " : " threads, ") + System.getProperty("os.arch");
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
                FloatPointer lu = scratch.narrowed(0, a.data());
                info = LAPACKE_sgetrf(COL_MAJOR, n, n, lu, Math.max(1, n), piv);
                scratch.widen(lu, packed);
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
            if (lu.precision() == Precision.FP32) {
                // the fp32 check solves with its factors once: copied per call, as LAPACKE checks them
                IntPointer piv = scratch.ints(n).put(lu.pivots(), 0, n);
                FloatPointer x = scratch.narrowed(1, b.data());
                FloatPointer fa = scratch.narrowed(0, lu.packed().data());
                check("getrs", LAPACKE_sgetrs(COL_MAJOR, (byte) 'N', n, nrhs,
                        fa, Math.max(1, n), piv, x, Math.max(1, n)));
                double[] out = new double[n * nrhs];
                scratch.widen(x, out);
                return new Matrix(n, nrhs, out);
            }
            Resident a = resident.acquire(lu, scratch, 0, "getrs", 5);
            try {
                DoublePointer x = scratch.doubles(1, b.data());
                requireNoNaN("getrs", 8, LAPACKE_dge_nancheck(COL_MAJOR, n, nrhs, x, n));
                check("getrs", LAPACKE_dgetrs_work(COL_MAJOR, (byte) 'N', n, nrhs, a.values, Math.max(1, n),
                        a.pivots, x, Math.max(1, n)));
                double[] out = new double[n * nrhs];
                x.get(out, 0, out.length);
                return new Matrix(n, nrhs, out);
            } finally {
                resident.release(a);
            }
        });
    }

    /**
     * cond_1 estimates by gecon, one matrix per core, from the factors' native copies (see {@link Resident}): the
     * plain call copied a 4096 x 4096 LU across JNI and back, and scanned it for NaN, each time.
     */
    @Override
    public double[] conditionEstimates(List<LuFactors> factors, double[] oneNorms) {
        List<Double> out = batch(factors.size(), 0, k -> {
            LuFactors lu = factors.get(k);
            int n = lu.n();
            if (n == 0) {
                return Double.NaN;
            }
            if (lu.precision() != Precision.FP64) {
                // fp32 factors (widened) go through dgecon as before: the estimate is of the factors as computed
                return ConditionEstimate.fromLu(lu, oneNorms[k]);
            }
            Scratch scratch = scratch();
            DoublePointer rcond = scratch.doubles(2, 1);
            DoublePointer work = scratch.doubles(3, 4L * n);
            IntPointer iwork = scratch.ints(n);
            Resident a = resident.acquire(lu, scratch, 0, "gecon", 4);
            try {
                check("gecon", LAPACKE_dgecon_work(COL_MAJOR, (byte) '1', n, a.values, n, oneNorms[k],
                        rcond, work, iwork));
            } finally {
                resident.release(a);
            }
            double r = rcond.get(0);
            return r == 0 ? Double.POSITIVE_INFINITY : 1 / r;
        });
        return out.stream().mapToDouble(Double::doubleValue).toArray();
    }

    @Override
    public double conditionEstimate(LuFactors lu, double oneNormOfA) {
        return conditionEstimates(List.of(lu), new double[] {oneNormOfA})[0];
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
            if (precision == Precision.FP64 && vectors && m >= TALL * kk) {
                return thinTallSvd(scratch(), a);
            }
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

    /** dgesdd's MNTHR: from m >= 11/6 n on, it factors A = QR first and takes the SVD of R. */
    private static final double TALL = 11.0 / 6.0;

    /**
     * The thin SVD of a tall A (m >= 11/6 n) as dgesdd computes it ("path 3": A = QR; R = U_R S V^T by dgesdd's own
     * square path; U = Q U_R), called step by step so that A is not scanned by dgesdd's dlange. dgesdd takes A's
     * max-norm to decide on a scaling, with a disnan call per element: for the W0 null's thin conversion matrices
     * (768 x 8 on the demo, 4096 x 16 at 7B) that scan cost about a quarter of the SVD. The results are dgesdd's bit
     * for bit (OpenBlasBackendTest). Two differences at the edges: dgesdd would scale an A whose max-norm lies outside
     * [sqrt(safe minimum) / eps, its reciprocal] (about 1e-146 to 1e146) before the QR, here only R is scaled; and a
     * NaN in A is refused by geqrf's argument check instead of gesdd's.
     */
    private static Svd thinTallSvd(Scratch scratch, Matrix a) {
        int m = a.rows();
        int n = a.cols();
        DoublePointer q = scratch.doubles(0, a.data());
        DoublePointer small = scratch.doubles(1, 3L * n * n + 2L * n);
        DoublePointer tau = small.getPointer(0);
        DoublePointer r = small.getPointer(n);
        DoublePointer sp = small.getPointer(n + (long) n * n);
        DoublePointer ur = small.getPointer(2L * n + (long) n * n);
        DoublePointer vtp = small.getPointer(2L * n + 2L * n * n);
        check("geqrf", LAPACKE_dgeqrf(COL_MAJOR, m, n, q, m, tau));
        check("lacpy", LAPACKE_dlacpy(COL_MAJOR, (byte) 'U', n, n, q, m, r, n));
        if (n > 1) {
            check("laset", LAPACKE_dlaset(COL_MAJOR, (byte) 'L', n - 1, n - 1, 0, 0, r.getPointer(1), n));
        }
        check("orgqr", LAPACKE_dorgqr(COL_MAJOR, m, n, n, q, m, tau));
        check("gesdd", LAPACKE_dgesdd(COL_MAJOR, (byte) 'S', n, n, r, n, sp, ur, n, vtp, n));
        DoublePointer up = scratch.doubles(2, (long) m * n);
        cblas_dgemm(CblasColMajor, CblasNoTrans, CblasNoTrans, m, n, n, 1.0, q, m, ur, n, 0.0, up, m);
        double[] s = new double[n];
        double[] u = new double[m * n];
        double[] vt = new double[n * n];
        sp.get(s, 0, n);
        up.get(u, 0, u.length);
        vtp.get(vt, 0, vt.length);
        return new Svd(new Matrix(m, n, u), s, new Matrix(n, n, vt));
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

    /**
     * A^T A by syrk: the upper triangle only, then mirrored. The stacked bases of a heatmap (n x layers k) are read once
     * and half the products of gemm(A^T, A) are done.
     */
    @Override
    public List<Matrix> gramOfColumns(List<Matrix> a, Precision precision) {
        return batch(a.size(), flops(a, x -> (double) x.rows() * x.cols() * x.cols()), k -> {
            Matrix x = a.get(k);
            int m = x.rows();
            int n = x.cols();
            if (m == 0 || n == 0) {
                return Matrix.zeros(n, n);
            }
            double[] upper;
            if (precision == Precision.FP64) {
                Scratch scratch = scratch();
                DoublePointer c = scratch.doubles(2, (long) n * n);
                cblas_dsyrk(CblasColMajor, CblasUpper, CblasTrans, n, m, 1.0, scratch.doubles(0, x.data()), m, 0.0,
                        c, n);
                upper = new double[n * n];
                c.get(upper, 0, upper.length);
            } else {
                float[] c = new float[n * n];
                cblas_ssyrk(CblasColMajor, CblasUpper, CblasTrans, n, m, 1.0f, toFloat(x.data()), m, 0.0f, c, n);
                upper = toDouble(c);
            }
            return new Matrix(n, n, upper).symmetrizedFromUpper();
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
     * The Lanczos iteration of {@link LanczosCondition} with its operators in OpenBLAS, one matrix per core: A and its
     * LU factors are copied to native memory once, then each step is two gemv (A^T (A x)) or four trsv (A^-1 A^-T x,
     * the row interchanges cancelling), about twice the plain-Java loops' speed on one core.
     */
    @Override
    public List<LanczosCondition.Result> lanczosCondition(List<Matrix> squares, List<LuFactors> factors,
                                                           double tolerance, long[] seeds) {
        return batch(squares.size(), 0, k -> {
            Matrix a = squares.get(k);
            LuFactors lu = factors.get(k);
            LanczosCondition.requireFactorsOf(a, lu, tolerance);
            int n = a.rows();
            Scratch scratch = scratch();
            DoublePointer ap = scratch.doubles(0, a.data());
            Resident factorsHere = resident.acquire(lu, scratch, 1, "trsv", 6);
            DoublePointer lup = factorsHere.values;
            DoublePointer v = scratch.doubles(2, n);
            DoublePointer w = scratch.doubles(3, n);
            LanczosCondition.Operator gram = x -> {
                v.put(x, 0, n);
                cblas_dgemv(CblasColMajor, CblasNoTrans, n, n, 1.0, ap, n, v, 1, 0.0, w, 1);
                cblas_dgemv(CblasColMajor, CblasTrans, n, n, 1.0, ap, n, w, 1, 0.0, v, 1);
                double[] out = new double[n];
                v.get(out, 0, n);
                return out;
            };
            LanczosCondition.Operator inverseGram = x -> {
                v.put(x, 0, n);
                cblas_dtrsv(CblasColMajor, CblasUpper, CblasTrans, CblasNonUnit, n, lup, n, v, 1);
                cblas_dtrsv(CblasColMajor, CblasLower, CblasTrans, CblasUnit, n, lup, n, v, 1);
                cblas_dtrsv(CblasColMajor, CblasLower, CblasNoTrans, CblasUnit, n, lup, n, v, 1);
                cblas_dtrsv(CblasColMajor, CblasUpper, CblasNoTrans, CblasNonUnit, n, lup, n, v, 1);
                double[] out = new double[n];
                v.get(out, 0, n);
                return out;
            };
            try {
                return LanczosCondition.of(n, gram, inverseGram, tolerance, seeds[k]);
            } finally {
                resident.release(factorsHere);
            }
        });
    }

    /**
     * Runs {@code count} independent problems of about {@code flopsEach} operations each: in parallel with
     * single-threaded BLAS, or, for one large problem, with OpenBLAS using every thread. OpenBLAS's idle workers spin
     * (in sched_yield) for a while, so the thread count changes only for problems large enough to pay for it.
     *
     * <p>Behind {@link #GATE}: when it returns or throws, none of the problems is still running. After a problem fails
     * (or the caller is interrupted), the problems not yet started are skipped and the running ones are waited for: a
     * native call cannot be stopped, and one left running outside the gate could still be in OpenBLAS when the process
     * exits.
     */
    private <T> List<T> batch(int count, double flopsEach, IntFunction<T> problem) {
        return GATE.run(() -> {
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
            // on one thread the pool runs them one after another
            AtomicBoolean stop = new AtomicBoolean();
            List<Future<T>> futures = new ArrayList<>(count);
            for (int k = 0; k < count; k++) {
                int kk = k;
                futures.add(pool.submit(() -> {
                    if (stop.get()) {
                        return null;
                    }
                    try {
                        return problem.apply(kk);
                    } catch (RuntimeException | Error e) {
                        stop.set(true);
                        throw e;
                    }
                }));
            }
            Throwable failure = null;
            boolean interrupted = false;
            for (Future<T> f : futures) {
                while (true) {
                    try {
                        out.add(f.get());
                        break;
                    } catch (InterruptedException e) {
                        interrupted = true;
                        stop.set(true);
                    } catch (ExecutionException e) {
                        failure = failure == null ? e.getCause() : failure;
                        break;
                    }
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
            if (failure instanceof RuntimeException re) {
                throw re;
            }
            if (failure instanceof Error err) {
                throw err;
            }
            if (failure != null) {
                throw new IllegalStateException(failure);
            }
            if (interrupted) {
                throw new IllegalStateException("interrupted");
            }
            return out;
        });
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
            throw new IllegalStateException("OpenBLAS " + routine + " rejected argument " + (-info)
                    + " (a NaN in a matrix it was given, or a defect in convsim)");
        }
    }

    /** LAPACKE's own NaN check, where a _work routine (which has none) is called: argument {@code argument}. */
    private static void requireNoNaN(String routine, int argument, int hasNaN) {
        if (hasNaN != 0) {
            check(routine, -argument);
        }
    }

    static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        Fp32.narrow(d, 0, f, d.length);
        return f;
    }

    static double[] toDouble(float[] f) {
        double[] d = new double[f.length];
        Fp32.widen(f, d, 0, f.length);
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
        private final float[] chunk = new float[1 << 16];
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

        /**
         * {@code values} rounded to fp32 in the slot's buffer, a chunk at a time: a 4096 x 4096 W0 or LU is narrowed
         * without a 64 MiB fp32 copy on the heap.
         */
        FloatPointer narrowed(int slot, double[] values) {
            floats[slot] = grown(floats[slot], values.length, FloatPointer::new);
            java.nio.FloatBuffer to = floats[slot].asBuffer();
            for (int from = 0; from < values.length; from += chunk.length) {
                int length = Math.min(chunk.length, values.length - from);
                Fp32.narrow(values, from, chunk, length);
                to.put(from, chunk, 0, length);
            }
            return floats[slot];
        }

        /** The first {@code into.length} values of {@code from}, widened to fp64 into {@code into}, a chunk at a time. */
        void widen(FloatPointer from, double[] into) {
            java.nio.FloatBuffer view = from.asBuffer();
            for (int at = 0; at < into.length; at += chunk.length) {
                int length = Math.min(chunk.length, into.length - at);
                view.get(at, chunk, 0, length);
                Fp32.widen(chunk, into, at, length);
            }
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

    /**
     * One fp64 LU factorisation in native memory, NaN-scanned: the packed factors and the pivots, in a buffer of its
     * own (kept between calls; fresh, or taken over from a retired entry) or in a scratch buffer it borrows for one
     * call.
     */
    private static final class Resident {
        final DoublePointer values;
        final IntPointer pivots;
        final long bytes;
        final boolean borrowed;
        int users;
        boolean retired;

        /**
         * Copies {@code lu} into {@code buffer} (a new one when null), which it owns unless {@code borrowed}. Refuses
         * NaN factors as {@code routine} would refuse its argument number {@code argument}.
         */
        private Resident(LuFactors lu, DoublePointer buffer, boolean borrowed, String routine, int argument) {
            if (lu.precision() != Precision.FP64) {
                throw new IllegalArgumentException("only fp64 factors are kept, got " + lu.precision());
            }
            int n = lu.n();
            double[] packed = lu.packed().data();
            this.borrowed = borrowed;
            values = (buffer != null ? buffer : new DoublePointer(Math.max(1, packed.length)))
                    .put(packed, 0, packed.length);
            bytes = values.capacity() * Double.BYTES;
            pivots = new IntPointer(Math.max(1, n)).put(lu.pivots(), 0, n);
            if (LAPACKE_dge_nancheck(COL_MAJOR, n, n, values, Math.max(1, n)) != 0) {
                free();
                requireNoNaN(routine, argument, 1);
            }
        }

        void free() {
            if (!borrowed) {
                values.deallocate();
            }
            pivots.deallocate();
        }
    }

    /**
     * Native copies of the fp64 LU factors used most recently. One layer's factors serve several calls (cond(W0), its
     * conversion matrices, every chunk of the W0 null, the planted controls): they are copied to native memory and
     * scanned for NaN once, not once per call (at 4096 x 4096, 128 MiB each time). An entry is keyed by the
     * identity of the factors' array (weakly: an entry keeps no factors alive), which {@link LuFactors} never changes once
     * made; at most {@code capacity} entries and {@link #MAX_BYTES} are kept, the least recently used leaving first, and
     * one in use is freed only when its last user is done.
     */
    private static final class ResidentFactors {
        /**
         * Native memory the entries may hold beyond those in use: two 4096 x 4096 factorisations, a 7B group under
         * -Xmx2g (its resident set measured 3.36 GiB with four, fp32 ones among them).
         */
        private static final long MAX_BYTES = 256L << 20;
        private final int capacity;
        private long bytes;
        private final Map<Identity, Resident> entries = new LinkedHashMap<>(16, 0.75f, true);

        ResidentFactors(int capacity) {
            this.capacity = capacity;
        }

        /**
         * The factors in native memory for one call: kept ones, or a new copy kept from now on, or, where JavaCPP's
         * native budget (about the heap's size) is more than half used, a copy into {@code scratch}'s {@code slot}
         * for this call only, as before there was any keeping. NaN factors are refused as {@code routine} refuses its
         * argument {@code argument}, and not kept.
         */
        Resident acquire(LuFactors lu, Scratch scratch, int slot, String routine, int argument) {
            Identity key = new Identity(lu.packed().data());
            int elements = lu.packed().data().length;
            long size = (long) elements * Double.BYTES;
            boolean borrow;
            DoublePointer reused;
            synchronized (entries) {
                Resident e = entries.get(key);
                if (e != null) {
                    e.users++;
                    return e;
                }
                // room first, so that the new copy and the ones it replaces are not all held at once
                reused = trim(1, size, elements);
                long budget = Pointer.maxBytes();
                borrow = capacity == 0 || budget > 0 && Pointer.totalBytes() + (reused == null ? size : 0) > budget / 2;
            }
            // both copies are made outside the lock: the scratch is this thread's, and other threads' hits need the lock
            if (borrow) {
                if (reused != null) {
                    reused.deallocate();
                }
                return new Resident(lu, scratch.doubles(slot, elements), true, routine, argument);
            }
            Resident fresh = new Resident(lu, reused, false, routine, argument);
            synchronized (entries) {
                fresh.users = 1;
                if (entries.containsKey(key)) {
                    fresh.retired = true;
                } else {
                    trim(1, fresh.bytes);
                    entries.put(key, fresh);
                    bytes += fresh.bytes;
                }
            }
            return fresh;
        }

        void release(Resident e) {
            if (e.borrowed) {
                e.free();
                return;
            }
            synchronized (entries) {
                e.users--;
                if (e.retired && e.users == 0) {
                    e.free();
                }
            }
        }

        /** As {@link #trim(int, long, long)}, freeing every entry it retires (no buffer holds that many doubles). */
        private void trim(int more, long moreBytes) {
            trim(more, moreBytes, Long.MAX_VALUE);
        }

        /**
         * Retires the least recently used entries until {@code more} entries of {@code moreBytes} in all fit. The
         * buffer of the first one that no call uses and that holds {@code reuseElements} doubles is returned instead of
         * freed, for the caller to own (null when there is none): a 4096 x 4096 factorisation copied into a fresh
         * buffer paid a page fault per 4 KiB, 2 % of a 7B analysis' time.
         */
        private DoublePointer trim(int more, long moreBytes, long reuseElements) {
            DoublePointer reuse = null;
            java.util.Iterator<Resident> eldest = entries.values().iterator();
            while ((entries.size() + more > capacity || bytes + moreBytes > MAX_BYTES) && eldest.hasNext()) {
                Resident e = eldest.next();
                eldest.remove();
                bytes -= e.bytes;
                if (reuse == null && e.users == 0 && e.values.capacity() >= reuseElements) {
                    e.retired = true;
                    e.pivots.deallocate();
                    reuse = e.values;
                } else {
                    retire(e);
                }
            }
            return reuse;
        }

        private static void retire(Resident e) {
            e.retired = true;
            if (e.users == 0) {
                e.free();
            }
        }

        void clear() {
            synchronized (entries) {
                entries.values().forEach(ResidentFactors::retire);
                entries.clear();
                bytes = 0;
            }
        }
    }

    /** A key equal to another only for the same live array, not an equal one; it keeps the array collectable. */
    private static final class Identity {
        private final java.lang.ref.WeakReference<Object> of;
        private final int hash;

        Identity(Object of) {
            this.of = new java.lang.ref.WeakReference<>(of);
            this.hash = System.identityHashCode(of);
        }

        @Override
        public boolean equals(Object o) {
            Object mine = of.get();
            return o instanceof Identity i && i.hash == hash && mine != null && i.of.get() == mine;
        }

        @Override
        public int hashCode() {
            return hash;
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
        resident.clear();
    }
}
