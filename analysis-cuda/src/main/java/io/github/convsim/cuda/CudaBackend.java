package io.github.convsim.cuda;

import static io.github.convsim.cuda.Lane.elementBytes;
import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.github.convsim.linalg.ConditionEstimate;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.linalg.SingularMatrixException;
import io.github.convsim.linalg.Svd;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

/**
 * {@link LinalgBackend} on an NVIDIA GPU: cuSOLVER's 64-bit API (Xgetrf, Xgetrs, Xgesvd) and cuBLAS gemm, called
 * through the Foreign Function and Memory API with no JNI and no ND4J.
 *
 * <p>A batch runs on {@link #STREAMS} {@link Lane}s, problem q on lane q mod their number, each lane driven by its own host
 * thread: while one lane's problem is factored, the others upload theirs through pinned staging buffers, and results
 * come back the same way; the error flags of a chunk are read once, at its end. LU factors stay on the device after
 * {@link #lu} ({@link ResidentFactors}), so the solves that follow upload only their right-hand sides. All device
 * memory is counted against a {@link DeviceBudget} ({@code --gpu-memory}); a chunk whose allocation fails is split in
 * two ({@link BatchPlanner#inChunks}). Plain device allocations (cudaMalloc), never managed memory.
 *
 * <p>{@link #orthonormalBasis} returns the left singular vectors of a thin SVD, an orthonormal basis of the same column
 * space as LAPACK's QR gives (the contract asks for a basis, not for Q itself).
 */
public final class CudaBackend implements LinalgBackend, Lane.DeviceAllocator {
    private static final int R_32F = 0;
    private static final int R_64F = 1;
    /** Lanes (streams) by default; {@code -Dconvsim.cuda.streams=N} for another number, as the GPU check compares. */
    static final int STREAMS = 4;

    private final Arena arena = Arena.ofShared();
    private final CudaRuntime rt;
    private final MethodHandle cublasDgemm;
    private final MethodHandle cublasSgemm;
    private final MethodHandle cublasDtrsv;
    private final MethodHandle getrfBufferSize;
    private final MethodHandle getrf;
    private final MethodHandle getrs;
    private final MethodHandle gesvdBufferSize;
    private final MethodHandle gesvd;
    private final Lane[] lanes;
    private final int streams;
    private final ExecutorService hosts;
    private final DeviceBudget budget;
    private final ResidentFactors residents;
    private final String device;
    private final String libraries;
    private boolean closed;

    /** The backend with most of the free device memory as its budget. */
    public CudaBackend() {
        this(0);
    }

    /** The backend holding at most {@code memoryBytes} of device memory at once (0: most of what is free). */
    public CudaBackend(long memoryBytes) {
        CudaLibraries libs = CudaLibraries.load(arena);
        rt = new CudaRuntime(libs);
        FunctionDescriptor gemm = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        cublasDgemm = libs.function(libs.cublas, "cublasDgemm_v2", gemm);
        cublasSgemm = libs.function(libs.cublas, "cublasSgemm_v2", gemm);
        cublasDtrsv = libs.function(libs.cublas, "cublasDtrsv_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT,
                JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT));
        getrfBufferSize = libs.function(libs.cusolver, "cusolverDnXgetrf_bufferSize", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        getrf = libs.function(libs.cusolver, "cusolverDnXgetrf", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS,
                JAVA_LONG, ADDRESS));
        getrs = libs.function(libs.cusolver, "cusolverDnXgetrs", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG,
                ADDRESS));
        gesvdBufferSize = libs.function(libs.cusolver, "cusolverDnXgesvd_bufferSize", FunctionDescriptor.of(JAVA_INT,
                ADDRESS, ADDRESS, JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT,
                ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, ADDRESS));
        gesvd = libs.function(libs.cusolver, "cusolverDnXgesvd", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS,
                JAVA_BYTE, JAVA_BYTE, JAVA_LONG, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT,
                ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG,
                ADDRESS));
        Lane.Handles handles = new Lane.Handles(
                libs.function(libs.cusolver, "cusolverDnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                libs.function(libs.cusolver, "cusolverDnSetStream", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                libs.function(libs.cusolver, "cusolverDnCreateParams", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                libs.function(libs.cublas, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                libs.function(libs.cublas, "cublasSetStream_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS)),
                libs.function(libs.cusolver, "cusolverDnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                libs.function(libs.cusolver, "cusolverDnDestroyParams", FunctionDescriptor.of(JAVA_INT, ADDRESS)),
                libs.function(libs.cublas, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS)));
        MemorySegment prop = arena.allocate(4096);
        rt.check("cudaGetDeviceProperties", CudaRuntime.call(rt.deviceProperties, prop, 0));
        device = prop.getString(0);
        budget = DeviceBudget.of(memoryBytes, rt.memoryInfo()[0]);
        residents = new ResidentFactors(this::free);
        streams = Integer.getInteger("convsim.cuda.streams", STREAMS);
        if (streams < 1 || streams > 64) {
            throw new IllegalArgumentException("convsim.cuda.streams must be 1 to 64, got " + streams);
        }
        lanes = new Lane[streams];
        for (int k = 0; k < streams; k++) {
            lanes[k] = new Lane(rt, this, handles);
        }
        hosts = Executors.newFixedThreadPool(streams, r -> {
            Thread t = new Thread(null, r, "convsim-cuda-lane", 16L << 20);
            t.setDaemon(true);
            return t;
        });
        libraries = String.join(", ", libs.loaded);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return String.format(Locale.ROOT, "%s, %d streams, %s budget (%s)", device, streams,
                BatchPlanner.size(budget.limit()), libraries);
    }

    /** The GPU's name, e.g. "NVIDIA H100 80GB HBM3". */
    public String deviceName() {
        return device;
    }

    /** Free and total device memory in bytes. */
    public synchronized long[] memoryInfo() {
        return rt.memoryInfo();
    }

    /** LU factors kept on the device, and their bytes. */
    public long[] residentFactors() {
        synchronized (memory) {
            return new long[] {residents.size(), residents.bytes()};
        }
    }

    @Override
    public synchronized List<LuFactors> lu(List<Matrix> squares, Precision precision) {
        int elem = elementBytes(precision);
        long per = 0;
        for (Matrix a : squares) {
            if (a.rows() != a.cols()) {
                throw new IllegalArgumentException("LU needs a square matrix, got " + a.shapeString());
            }
            per = Math.max(per, (long) a.rows() * a.rows() * elem + (long) a.rows() * Long.BYTES);
        }
        LuFactors[] out = new LuFactors[squares.size()];
        int type = type(precision);
        try {
            BatchPlanner.inChunks(squares.size(), per, budget.limit(), (from, count) -> {
                try (Scope scope = new Scope()) {
                    MemorySegment[] dA = new MemorySegment[count];
                    MemorySegment[] dPiv = new MemorySegment[count];
                    for (int i = 0; i < count; i++) {
                        int n = squares.get(from + i).rows();
                        dA[i] = scope.alloc((long) n * n * elem);
                        dPiv[i] = scope.alloc((long) Math.max(1, n) * Long.BYTES);
                    }
                    MemorySegment info = scope.alloc((long) count * Integer.BYTES);
                    onLanes(count, (i, lane) -> {
                        Matrix a = squares.get(from + i);
                        int n = a.rows();
                        if (n == 0) {
                            out[from + i] = new LuFactors(Matrix.zeros(0, 0), new int[0], precision);
                            return;
                        }
                        lane.upload(a.data(), precision, dA[i]);
                        factor(lane, n, type, dA[i], dPiv[i], Lane.at(info, (long) i * Integer.BYTES));
                        double[] packed = lane.download(dA[i], n * n, precision);
                        long[] piv64 = lane.downloadLongs(dPiv[i], n);
                        int[] piv = new int[n];
                        for (int r = 0; r < n; r++) {
                            piv[r] = (int) piv64[r];
                        }
                        out[from + i] = new LuFactors(new Matrix(n, n, packed), piv, precision);
                    });
                    int[] infos = flags(info, count); // device memory is not zeroed: skipped problems' flags are not read
                    for (int i = 0; i < count; i++) {
                        if (squares.get(from + i).rows() > 0 && infos[i] > 0) {
                            throw new SingularMatrixException(infos[i]);
                        }
                    }
                    for (int i = 0; i < count; i++) {
                        int n = squares.get(from + i).rows();
                        if (n > 0) {
                            long bytes = (long) n * n * elem + (long) n * Long.BYTES;
                            keepResident(out[from + i], new ResidentFactors.Entry(scope.handOver(dA[i]),
                                    scope.handOver(dPiv[i]), bytes, n, precision));
                        }
                    }
                }
            });
        } finally {
            releaseResidents();
        }
        return List.of(out);
    }

    /** The LU solve, with the factors found on the device where an earlier call left them. */
    @Override
    public synchronized List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs) {
        long per = 0;
        for (int k = 0; k < factors.size(); k++) {
            LuFactors lu = factors.get(k);
            if (rhs.get(k).rows() != lu.n()) {
                throw new IllegalArgumentException("right-hand side has " + rhs.get(k).rows() + " rows, system has "
                        + lu.n());
            }
            long elem = elementBytes(lu.precision());
            per = Math.max(per, (long) lu.n() * lu.n() * elem + (long) lu.n() * Long.BYTES
                    + (long) lu.n() * rhs.get(k).cols() * elem);
        }
        Matrix[] out = new Matrix[factors.size()];
        try {
            BatchPlanner.inChunks(factors.size(), per, budget.limit(), (from, count) -> {
                releaseResidents(); // a retried chunk holds only what its own problems need
                try (Scope scope = new Scope()) {
                    ResidentFactors.Entry[] found = new ResidentFactors.Entry[count];
                    boolean[] upload = new boolean[count];
                    MemorySegment[] dB = new MemorySegment[count];
                    for (int i = 0; i < count; i++) {
                        LuFactors lu = factors.get(from + i);
                        Matrix b = rhs.get(from + i);
                        if (lu.n() == 0 || b.cols() == 0) {
                            continue;
                        }
                        found[i] = factorsOnDevice(lu, scope, upload, i);
                        dB[i] = scope.alloc((long) b.rows() * b.cols() * elementBytes(lu.precision()));
                    }
                    MemorySegment info = scope.alloc((long) count * Integer.BYTES);
                    onLanes(count, (i, lane) -> {
                        LuFactors lu = factors.get(from + i);
                        Matrix b = rhs.get(from + i);
                        int n = lu.n();
                        if (found[i] == null) {
                            out[from + i] = Matrix.zeros(n, b.cols());
                            return;
                        }
                        Precision p = lu.precision();
                        if (upload[i]) {
                            upload(lane, lu, found[i]);
                        }
                        lane.upload(b.data(), p, dB[i]);
                        solverStatus("cusolverDnXgetrs", CudaRuntime.call(getrs, lane.solver, lane.params, 0, (long) n,
                                (long) b.cols(), type(p), found[i].packed(), (long) n, found[i].pivots(), type(p),
                                dB[i], (long) n, Lane.at(info, (long) i * Integer.BYTES)));
                        out[from + i] = new Matrix(n, b.cols(), lane.download(dB[i], n * b.cols(), p));
                    });
                    int[] infos = flags(info, count);
                    for (int i = 0; i < count; i++) {
                        if (found[i] != null && infos[i] != 0) {
                            throw new CudaException("cusolverDnXgetrs: argument " + (-infos[i]) + " is invalid");
                        }
                    }
                    releaseResidents(); // this chunk's factors may make room for the next chunk's
                    keepUploaded(factors.subList(from, from + count), found, upload, scope);
                }
            });
        } finally {
            releaseResidents();
        }
        return List.of(out);
    }

    /** Factor and solve on the device, the factors freed at once (the caller does not need them again). */
    @Override
    public synchronized List<Matrix> solveSquare(List<Matrix> a, List<Matrix> rhs, Precision precision) {
        int elem = elementBytes(precision);
        long per = 0;
        for (int k = 0; k < a.size(); k++) {
            int n = a.get(k).rows();
            if (a.get(k).cols() != n) {
                throw new IllegalArgumentException("LU needs a square matrix, got " + a.get(k).shapeString());
            }
            if (rhs.get(k).rows() != n) {
                throw new IllegalArgumentException("right-hand side has " + rhs.get(k).rows() + " rows, system has " + n);
            }
            per = Math.max(per, BatchPlanner.luSolveBytes(n, rhs.get(k).cols(), elem));
        }
        Matrix[] out = new Matrix[a.size()];
        int type = type(precision);
        BatchPlanner.inChunks(a.size(), per, budget.limit(), (from, count) -> {
            try (Scope scope = new Scope()) {
                MemorySegment[] dA = new MemorySegment[count];
                MemorySegment[] dB = new MemorySegment[count];
                MemorySegment[] dPiv = new MemorySegment[count];
                for (int i = 0; i < count; i++) {
                    int n = a.get(from + i).rows();
                    dA[i] = scope.alloc((long) n * n * elem);
                    dB[i] = scope.alloc((long) n * rhs.get(from + i).cols() * elem);
                    dPiv[i] = scope.alloc((long) Math.max(1, n) * Long.BYTES);
                }
                MemorySegment info = scope.alloc(2L * count * Integer.BYTES);
                onLanes(count, (i, lane) -> {
                    int n = a.get(from + i).rows();
                    int nrhs = rhs.get(from + i).cols();
                    if (n == 0 || nrhs == 0) {
                        out[from + i] = Matrix.zeros(n, nrhs);
                        return;
                    }
                    lane.upload(a.get(from + i).data(), precision, dA[i]);
                    lane.upload(rhs.get(from + i).data(), precision, dB[i]);
                    factor(lane, n, type, dA[i], dPiv[i], Lane.at(info, 2L * i * Integer.BYTES));
                    solverStatus("cusolverDnXgetrs", CudaRuntime.call(getrs, lane.solver, lane.params, 0, (long) n,
                            (long) nrhs, type, dA[i], (long) n, dPiv[i], type, dB[i], (long) n,
                            Lane.at(info, (2L * i + 1) * Integer.BYTES)));
                    out[from + i] = new Matrix(n, nrhs, lane.download(dB[i], n * nrhs, precision));
                });
                int[] infos = flags(info, 2 * count);
                for (int i = 0; i < count; i++) {
                    if (a.get(from + i).rows() == 0 || rhs.get(from + i).cols() == 0) {
                        continue; // not solved: its flags were never written
                    }
                    if (infos[2 * i] > 0) {
                        throw new SingularMatrixException(infos[2 * i]);
                    }
                    if (infos[2 * i + 1] != 0) {
                        throw new CudaException("cusolverDnXgetrs: argument " + (-infos[2 * i + 1]) + " is invalid");
                    }
                }
            }
        });
        return List.of(out);
    }

    /** Queues Xgetrf of the n x n matrix at {@code dA} on the lane; its info flag is read with the chunk's. */
    private void factor(Lane lane, int n, int type, MemorySegment dA, MemorySegment dPiv, MemorySegment dInfo) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment devBytes = a.allocate(JAVA_LONG);
            MemorySegment hostBytes = a.allocate(JAVA_LONG);
            solverStatus("cusolverDnXgetrf_bufferSize", CudaRuntime.call(getrfBufferSize, lane.solver, lane.params,
                    (long) n, (long) n, type, dA, (long) n, type, devBytes, hostBytes));
            long dev = devBytes.get(JAVA_LONG, 0);
            long host = hostBytes.get(JAVA_LONG, 0);
            solverStatus("cusolverDnXgetrf", CudaRuntime.call(getrf, lane.solver, lane.params, (long) n, (long) n,
                    type, dA, (long) n, dPiv, type, lane.workspace(Math.max(1, dev)), dev,
                    lane.hostWorkspace(host), host, dInfo));
        }
    }

    @Override
    public synchronized List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision precision) {
        int elem = elementBytes(precision);
        long per = 0;
        for (Matrix m : matrices) {
            long rows = Math.max(m.rows(), m.cols());
            long cols = Math.min(m.rows(), m.cols());
            per = Math.max(per, (rows * cols * (vectors ? 2 : 1) + cols + (vectors ? cols * cols : 0)) * elem);
        }
        Svd[] out = new Svd[matrices.size()];
        byte job = (byte) (vectors ? 'S' : 'N');
        int type = type(precision);
        BatchPlanner.inChunks(matrices.size(), per, budget.limit(), (from, count) -> {
            try (Scope scope = new Scope()) {
                MemorySegment[][] d = new MemorySegment[count][];
                for (int i = 0; i < count; i++) {
                    Matrix m = matrices.get(from + i);
                    long rows = Math.max(m.rows(), m.cols());
                    long cols = Math.min(m.rows(), m.cols());
                    // U and V^T at full size even for singular values alone: the problems of a chunk lie side by side
                    // on the device, where a library's write past a one-element placeholder would land in a
                    // neighbour's results (not seen on an H200, where both layouts agreed; not worth the risk)
                    d[i] = new MemorySegment[] {scope.alloc(rows * cols * elem), scope.alloc(cols * elem),
                            scope.alloc(rows * cols * elem), scope.alloc(cols * cols * elem)};
                }
                MemorySegment info = scope.alloc((long) count * Integer.BYTES);
                onLanes(count, (i, lane) -> {
                    Matrix given = matrices.get(from + i);
                    // cuSOLVER's gesvd needs rows >= cols: decompose the transpose of a wide matrix and swap U and V
                    boolean wide = given.rows() < given.cols();
                    Matrix a = wide ? given.transpose() : given;
                    int m = a.rows();
                    int n = a.cols();
                    if (n == 0) {
                        Svd s = new Svd(vectors ? Matrix.zeros(m, 0) : null, new double[0],
                                vectors ? Matrix.zeros(0, 0) : null);
                        out[from + i] = wide ? swap(s, vectors, given) : s;
                        return;
                    }
                    MemorySegment dA = d[i][0];
                    lane.upload(a.data(), precision, dA);
                    long ldu = m;
                    long ldvt = n;
                    try (Arena h = Arena.ofConfined()) {
                        MemorySegment devBytes = h.allocate(JAVA_LONG);
                        MemorySegment hostBytes = h.allocate(JAVA_LONG);
                        solverStatus("cusolverDnXgesvd_bufferSize", CudaRuntime.call(gesvdBufferSize, lane.solver,
                                lane.params, job, job, (long) m, (long) n, type, dA, (long) m, type, d[i][1], type,
                                d[i][2], ldu, type, d[i][3], ldvt, type, devBytes, hostBytes));
                        long dev = devBytes.get(JAVA_LONG, 0);
                        long host = hostBytes.get(JAVA_LONG, 0);
                        solverStatus("cusolverDnXgesvd", CudaRuntime.call(gesvd, lane.solver, lane.params, job, job,
                                (long) m, (long) n, type, dA, (long) m, type, d[i][1], type, d[i][2], ldu, type,
                                d[i][3], ldvt, type, lane.workspace(Math.max(1, dev)), dev, lane.hostWorkspace(host),
                                host, Lane.at(info, (long) i * Integer.BYTES)));
                    }
                    double[] s = lane.download(d[i][1], n, precision);
                    Svd r = new Svd(vectors ? new Matrix(m, n, lane.download(d[i][2], m * n, precision)) : null, s,
                            vectors ? new Matrix(n, n, lane.download(d[i][3], n * n, precision)) : null);
                    out[from + i] = wide ? swap(r, vectors, given) : r;
                });
                int[] infos = flags(info, count);
                for (int i = 0; i < count; i++) {
                    Matrix m = matrices.get(from + i);
                    if (Math.min(m.rows(), m.cols()) > 0 && infos[i] > 0) { // an empty one was not decomposed
                        throw new CudaException("cusolverDnXgesvd did not converge (" + infos[i] + " superdiagonals)");
                    }
                }
            }
        });
        return List.of(out);
    }

    private static Svd swap(Svd s, boolean vectors, Matrix given) {
        if (!vectors) {
            return s;
        }
        if (s.s().length == 0) {
            return new Svd(Matrix.zeros(given.rows(), 0), s.s(), Matrix.zeros(0, given.cols()));
        }
        return new Svd(s.vt().transpose(), s.s(), s.u().transpose());
    }

    @Override
    public synchronized List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB,
                                          Precision precision) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(a.size() + " left operands for " + b.size() + " right operands");
        }
        int elem = elementBytes(precision);
        long per = 0;
        for (int k = 0; k < a.size(); k++) {
            Matrix x = a.get(k);
            Matrix y = b.get(k);
            int inner = transA ? x.rows() : x.cols();
            if (inner != (transB ? y.cols() : y.rows())) {
                throw new IllegalArgumentException("cannot multiply " + x.shapeString() + " by " + y.shapeString());
            }
            long m = transA ? x.cols() : x.rows();
            long n = transB ? y.rows() : y.cols();
            per = Math.max(per, ((long) x.rows() * x.cols() + (long) y.rows() * y.cols() + m * n) * elem);
        }
        Matrix[] out = new Matrix[a.size()];
        BatchPlanner.inChunks(a.size(), per, budget.limit(), (from, count) -> {
            try (Scope scope = new Scope()) {
                MemorySegment[][] d = new MemorySegment[count][];
                for (int i = 0; i < count; i++) {
                    Matrix x = a.get(from + i);
                    Matrix y = b.get(from + i);
                    long m = transA ? x.cols() : x.rows();
                    long n = transB ? y.rows() : y.cols();
                    d[i] = new MemorySegment[] {scope.alloc((long) x.rows() * x.cols() * elem),
                            scope.alloc((long) y.rows() * y.cols() * elem), scope.alloc(m * n * elem)};
                }
                onLanes(count, (i, lane) -> {
                    Matrix x = a.get(from + i);
                    Matrix y = b.get(from + i);
                    int m = transA ? x.cols() : x.rows();
                    int inner = transA ? x.rows() : x.cols();
                    int n = transB ? y.rows() : y.cols();
                    if (m == 0 || n == 0 || inner == 0) {
                        out[from + i] = Matrix.zeros(m, n);
                        return;
                    }
                    lane.upload(x.data(), precision, d[i][0]);
                    lane.upload(y.data(), precision, d[i][1]);
                    boolean fp64 = precision == Precision.FP64;
                    int status = CudaRuntime.call(fp64 ? cublasDgemm : cublasSgemm, lane.cublas, transA ? 1 : 0,
                            transB ? 1 : 0, m, n, inner, fp64 ? lane.one64 : lane.one32, d[i][0], x.rows(), d[i][1],
                            y.rows(), fp64 ? lane.zero64 : lane.zero32, d[i][2], m);
                    if (status != 0) {
                        throw new CudaException("cublas gemm failed with status " + status);
                    }
                    out[from + i] = new Matrix(m, n, lane.download(d[i][2], m * n, precision));
                });
            }
        });
        return List.of(out);
    }

    @Override
    public List<Matrix> orthonormalBasis(List<Matrix> matrices, Precision precision) {
        for (Matrix m : matrices) {
            if (m.rows() < m.cols()) {
                throw new IllegalArgumentException("an orthonormal basis of the columns needs rows >= cols, got "
                        + m.shapeString());
            }
        }
        return svd(matrices, true, precision).stream().map(Svd::u).toList();
    }

    /** cond_1 estimated by LAPACK's dgecon iteration, the solves on the device (this backend does not load OpenBLAS). */
    @Override
    public double conditionEstimate(LuFactors lu, double oneNormOfA) {
        return conditionEstimates(List.of(lu), new double[] {oneNormOfA})[0];
    }

    /**
     * dgecon's estimates ({@link ConditionEstimate#fromInverse}), fp64 factors solved where they are kept: each of the
     * iteration's few solves moves n values each way instead of reading n^2 in Java. fp32 factors are estimated in
     * plain Java.
     */
    @Override
    public synchronized double[] conditionEstimates(List<LuFactors> factors, double[] oneNorms) {
        if (factors.size() != oneNorms.length) {
            throw new IllegalArgumentException(factors.size() + " factorisations for " + oneNorms.length + " norms");
        }
        double[] out = new double[factors.size()];
        long per = 0;
        for (LuFactors lu : factors) {
            per = Math.max(per, (long) lu.n() * lu.n() * Double.BYTES + 2L * lu.n() * Long.BYTES);
        }
        try {
            BatchPlanner.inChunks(factors.size(), per, budget.limit(), (from, count) -> {
                releaseResidents();
                try (Scope scope = new Scope()) {
                    ResidentFactors.Entry[] found = new ResidentFactors.Entry[count];
                    boolean[] upload = new boolean[count];
                    MemorySegment[] dx = new MemorySegment[count];
                    for (int i = 0; i < count; i++) {
                        LuFactors lu = factors.get(from + i);
                        int n = lu.n();
                        if (n == 0 || lu.precision() != Precision.FP64) {
                            continue;
                        }
                        found[i] = factorsOnDevice(lu, scope, upload, i);
                        dx[i] = scope.alloc((long) n * Double.BYTES);
                    }
                    onLanes(count, (i, lane) -> {
                        LuFactors lu = factors.get(from + i);
                        if (found[i] == null) {
                            out[from + i] = ConditionEstimate.fromLuInJava(lu, oneNorms[from + i]);
                            return;
                        }
                        int n = lu.n();
                        if (upload[i]) {
                            upload(lane, lu, found[i]);
                        }
                        MemorySegment a = found[i].packed();
                        out[from + i] = ConditionEstimate.fromInverse(n, oneNorms[from + i], (x, transposed) -> {
                            lane.upload(x, Precision.FP64, dx[i]);
                            if (transposed) {
                                trsv(lane, UPPER, 1, NON_UNIT, n, a, dx[i]);
                                trsv(lane, LOWER, 1, UNIT, n, a, dx[i]);
                            } else {
                                trsv(lane, LOWER, 0, UNIT, n, a, dx[i]);
                                trsv(lane, UPPER, 0, NON_UNIT, n, a, dx[i]);
                            }
                            lane.download(dx[i], n, Precision.FP64, x, 0);
                        });
                    });
                    releaseResidents();
                    keepUploaded(factors.subList(from, from + count), found, upload, scope);
                }
            });
        } finally {
            releaseResidents();
        }
        return out;
    }

    private static final int LOWER = 0;
    private static final int UPPER = 1;
    private static final int NON_UNIT = 0;
    private static final int UNIT = 1;

    /** Queues x := op(T)^-1 x on the lane, T the triangle {@code fill} of the packed factors at {@code a}. */
    private void trsv(Lane lane, int fill, int transpose, int diagonal, int n, MemorySegment a, MemorySegment x) {
        int status = CudaRuntime.call(cublasDtrsv, lane.cublas, fill, transpose, diagonal, n, a, n, x, 1);
        if (status != 0) {
            throw new CudaException("cublasDtrsv failed with status " + status);
        }
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            rt.synchronize();
        } catch (RuntimeException ignored) {
            // closing after a failure: free what can be freed
        }
        synchronized (memory) {
            residents.clear();
        }
        for (Lane lane : lanes) {
            lane.close();
        }
        hosts.shutdownNow();
        arena.close();
    }

    /** Problem i of {@code count} on lane i mod STREAMS, each lane's problems in order on its own host thread. */
    private void onLanes(int count, LaneWork work) {
        List<Future<?>> running = new ArrayList<>();
        for (int s = 0; s < Math.min(streams, count); s++) {
            int lane = s;
            running.add(hosts.submit(() -> {
                for (int i = lane; i < count; i += streams) {
                    work.run(i, lanes[lane]);
                }
                return null;
            }));
        }
        RuntimeException failure = null;
        for (Future<?> f : running) {
            try {
                f.get();
            } catch (ExecutionException e) {
                if (failure == null) {
                    failure = e.getCause() instanceof RuntimeException r ? r : new CudaException(e.getCause().toString(),
                            e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new CudaException("interrupted while the GPU worked");
            }
        }
        if (failure != null) {
            rt.synchronize();
            throw failure;
        }
    }

    @FunctionalInterface
    private interface LaneWork {
        void run(int problem, Lane lane);
    }

    /** The chunk's error flags, read once every lane is done. */
    private int[] flags(MemorySegment info, int count) {
        for (Lane lane : lanes) {
            lane.synchronize();
        }
        return lanes[0].downloadInts(info, count);
    }

    /** {@code bytes} of device memory within the budget, least recently used resident factors freed to make room. */
    @Override
    public MemorySegment alloc(long bytes) {
        synchronized (memory) {
            return allocLocked(bytes);
        }
    }

    @Override
    public void free(MemorySegment p, long bytes) {
        synchronized (memory) {
            rt.free(p);
            budget.give(bytes);
        }
    }

    private MemorySegment allocLocked(long bytes) {
        while (true) {
            try {
                budget.take(bytes);
            } catch (DeviceOutOfMemoryException e) {
                if (residents.evictOne()) {
                    continue;
                }
                throw e;
            }
            try {
                return rt.malloc(bytes);
            } catch (DeviceOutOfMemoryException e) {
                budget.give(bytes);
                if (residents.evictOne()) {
                    continue;
                }
                throw e;
            }
        }
    }

    private void free(ResidentFactors.Entry e) {
        rt.free(e.packed());
        rt.free(e.pivots());
        budget.give(e.bytes());
    }

    /** {@code lu}'s factors on the device: kept ones, or room for them allocated in {@code scope} and marked to upload. */
    private ResidentFactors.Entry factorsOnDevice(LuFactors lu, Scope scope, boolean[] upload, int i) {
        ResidentFactors.Entry found = findResident(lu);
        if (found != null) {
            return found;
        }
        int n = lu.n();
        long elem = elementBytes(lu.precision());
        upload[i] = true;
        return new ResidentFactors.Entry(scope.alloc((long) n * n * elem), scope.alloc((long) n * Long.BYTES),
                (long) n * n * elem + (long) n * Long.BYTES, n, lu.precision());
    }

    /** Queues the upload of {@code lu}'s packed factors and its pivots (as cuSOLVER's 64-bit integers) on the lane. */
    private static void upload(Lane lane, LuFactors lu, ResidentFactors.Entry to) {
        lane.upload(lu.packed().data(), lu.precision(), to.packed());
        long[] piv = new long[lu.n()];
        for (int r = 0; r < piv.length; r++) {
            piv[r] = lu.pivots()[r];
        }
        lane.uploadLongs(piv, to.pivots());
    }

    /** Factors this chunk uploaded stay on the device for later calls, owned by the residents from now on. */
    private void keepUploaded(List<LuFactors> factors, ResidentFactors.Entry[] found, boolean[] upload, Scope scope) {
        for (int i = 0; i < found.length; i++) {
            if (upload[i]) {
                ResidentFactors.Entry e = found[i];
                keepResident(factors.get(i), new ResidentFactors.Entry(scope.handOver(e.packed()),
                        scope.handOver(e.pivots()), e.bytes(), e.n(), e.precision()));
            }
        }
    }

    private void releaseResidents() {
        synchronized (memory) {
            residents.release();
        }
    }

    private ResidentFactors.Entry findResident(LuFactors lu) {
        synchronized (memory) {
            return residents.find(lu);
        }
    }

    private void keepResident(LuFactors lu, ResidentFactors.Entry e) {
        synchronized (memory) {
            residents.keep(lu, e);
        }
    }

    /** Guards the budget and the resident factors: lanes grow their workspaces from their own threads. */
    private final Object memory = new Object();

    /** Device allocations of one chunk, freed together once the device is done with them, unless handed over. */
    private final class Scope implements AutoCloseable {
        private final List<MemorySegment> owned = new ArrayList<>();
        private final List<Long> sizes = new ArrayList<>();

        MemorySegment alloc(long bytes) {
            long size = Math.max(1, bytes);
            MemorySegment p = CudaBackend.this.alloc(size);
            owned.add(p);
            sizes.add(size);
            return p;
        }

        /** Ownership of {@code p} passes to the caller (its bytes stay counted against the budget). */
        MemorySegment handOver(MemorySegment p) {
            for (int k = 0; k < owned.size(); k++) {
                if (owned.get(k).address() == p.address()) {
                    owned.remove(k);
                    sizes.remove(k);
                    return p;
                }
            }
            throw new IllegalStateException("not allocated here");
        }

        @Override
        public void close() {
            if (owned.isEmpty()) {
                return;
            }
            rt.synchronize();
            for (int k = 0; k < owned.size(); k++) {
                CudaBackend.this.free(owned.get(k), sizes.get(k));
            }
            owned.clear();
        }
    }

    private static int type(Precision p) {
        return p == Precision.FP64 ? R_64F : R_32F;
    }

    private static void solverStatus(String what, int status) {
        if (status != 0) {
            throw new CudaException(what + " failed with cusolverStatus " + status);
        }
    }
}
