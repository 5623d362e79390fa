package io.github.convsim.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

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

/**
 * {@link LinalgBackend} on an NVIDIA GPU: cuSOLVER's 64-bit API (Xgetrf, Xgetrs, Xgesvd) and cuBLAS gemm, called
 * through the Foreign Function and Memory API with no JNI and no ND4J. Matrices move to the device in chunks sized
 * to its free memory; plain device allocations (cudaMalloc), never managed memory.
 *
 * <p>{@link #orthonormalBasis} returns the left singular vectors of a thin SVD, an orthonormal basis of the same column
 * space as LAPACK's QR gives (the contract asks for a basis, not for Q itself).
 */
public final class CudaBackend implements LinalgBackend {
    private static final int H2D = 1;
    private static final int D2H = 2;
    private static final int R_32F = 0;
    private static final int R_64F = 1;

    private final Arena arena = Arena.ofShared();
    private final MethodHandle cudaMalloc;
    private final MethodHandle cudaFree;
    private final MethodHandle cudaMemcpy;
    private final MethodHandle cudaMemGetInfo;
    private final MethodHandle cudaDeviceSynchronize;
    private final MethodHandle cudaGetErrorString;
    private final MethodHandle cublasDgemm;
    private final MethodHandle cublasSgemm;
    private final MethodHandle cublasDgemmBatched;
    private final MethodHandle cublasSgemmBatched;
    private final MethodHandle solverSetStream;
    private final MethodHandle streamDestroy;
    /** Independent streams, each with its own cuSOLVER handle and params, for factorising several systems at once. */
    private final MemorySegment[] streams;
    private final MemorySegment[] streamSolvers;
    private final MemorySegment[] streamParams;
    static final int STREAMS = 4;
    private final MethodHandle getrfBufferSize;
    private final MethodHandle getrf;
    private final MethodHandle getrs;
    private final MethodHandle gesvdBufferSize;
    private final MethodHandle gesvd;
    private final MethodHandle cublasDestroy;
    private final MethodHandle solverDestroy;
    private final MethodHandle paramsDestroy;
    private final MemorySegment cublas;
    private final MemorySegment solver;
    private final MemorySegment params;
    private final String device;
    private final String libraries;
    /** Seconds spent in device compute (between synchronisations), for benchmarks that exclude transfers. */
    private double computeSeconds;

    public CudaBackend() {
        CudaLibraries libs = CudaLibraries.load(arena);
        cudaMalloc = libs.function(libs.cudart, "cudaMalloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        cudaFree = libs.function(libs.cudart, "cudaFree", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        cudaMemcpy = libs.function(libs.cudart, "cudaMemcpy",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT));
        cudaMemGetInfo = libs.function(libs.cudart, "cudaMemGetInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        cudaDeviceSynchronize = libs.function(libs.cudart, "cudaDeviceSynchronize", FunctionDescriptor.of(JAVA_INT));
        cudaGetErrorString = libs.function(libs.cudart, "cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        MethodHandle props = libs.cudart.find("cudaGetDeviceProperties_v2").isPresent()
                ? libs.function(libs.cudart, "cudaGetDeviceProperties_v2",
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))
                : libs.function(libs.cudart, "cudaGetDeviceProperties",
                        FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        FunctionDescriptor gemm = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT);
        cublasDgemm = libs.function(libs.cublas, "cublasDgemm_v2", gemm);
        cublasSgemm = libs.function(libs.cublas, "cublasSgemm_v2", gemm);
        cublasDestroy = libs.function(libs.cublas, "cublasDestroy_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        FunctionDescriptor strided = FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT,
                JAVA_INT, ADDRESS, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, ADDRESS, JAVA_INT,
                JAVA_LONG, JAVA_INT);
        cublasDgemmBatched = libs.function(libs.cublas, "cublasDgemmStridedBatched", strided);
        cublasSgemmBatched = libs.function(libs.cublas, "cublasSgemmStridedBatched", strided);
        solverSetStream = libs.function(libs.cusolver, "cusolverDnSetStream",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        streamDestroy = libs.function(libs.cudart, "cudaStreamDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle streamCreate = libs.function(libs.cudart, "cudaStreamCreateWithFlags",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
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
        solverDestroy = libs.function(libs.cusolver, "cusolverDnDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        paramsDestroy = libs.function(libs.cusolver, "cusolverDnDestroyParams", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle cublasCreate = libs.function(libs.cublas, "cublasCreate_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle solverCreate = libs.function(libs.cusolver, "cusolverDnCreate", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MethodHandle paramsCreate = libs.function(libs.cusolver, "cusolverDnCreateParams",
                FunctionDescriptor.of(JAVA_INT, ADDRESS));
        MemorySegment prop = arena.allocate(4096);
        cuda("cudaGetDeviceProperties", call(props, prop, 0));
        device = prop.getString(0);
        cublas = handle(cublasCreate, "cublasCreate");
        solver = handle(solverCreate, "cusolverDnCreate");
        params = handle(paramsCreate, "cusolverDnCreateParams");
        streams = new MemorySegment[STREAMS];
        streamSolvers = new MemorySegment[STREAMS];
        streamParams = new MemorySegment[STREAMS];
        for (int k = 0; k < STREAMS; k++) {
            MemorySegment out = arena.allocate(ADDRESS);
            cuda("cudaStreamCreateWithFlags", call(streamCreate, out, 1)); // cudaStreamNonBlocking
            streams[k] = out.get(ADDRESS, 0);
            streamSolvers[k] = handle(solverCreate, "cusolverDnCreate");
            solverStatus("cusolverDnSetStream", call(solverSetStream, streamSolvers[k], streams[k]));
            streamParams[k] = handle(paramsCreate, "cusolverDnCreateParams");
        }
        libraries = String.join(", ", libs.loaded);
    }

    private MemorySegment handle(MethodHandle create, String name) {
        MemorySegment out = arena.allocate(ADDRESS);
        library(name, call(create, out));
        return out.get(ADDRESS, 0);
    }

    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public String description() {
        return device + " (" + libraries + ")";
    }

    /** The GPU's name, e.g. "NVIDIA H100 80GB HBM3". */
    public String deviceName() {
        return device;
    }

    /** Free and total device memory in bytes. */
    public synchronized long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            cuda("cudaMemGetInfo", call(cudaMemGetInfo, free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    /** Device compute seconds accumulated so far (transfers excluded). */
    public synchronized double computeSeconds() {
        return computeSeconds;
    }

    @Override
    public synchronized List<LuFactors> lu(List<Matrix> squares, Precision precision) {
        List<LuFactors> out = new ArrayList<>();
        for (Matrix a : squares) {
            if (a.rows() != a.cols()) {
                throw new IllegalArgumentException("LU needs a square matrix, got " + a.shapeString());
            }
            int n = a.rows();
            try (Device d = new Device()) {
                int type = type(precision);
                MemorySegment dA = d.upload(a.data(), precision);
                MemorySegment dPiv = d.alloc((long) n * Long.BYTES);
                MemorySegment dInfo = d.alloc(Integer.BYTES);
                factor(d, n, type, dA, dPiv, dInfo);
                long[] piv64 = d.downloadLongs(dPiv, n);
                int[] piv = new int[n];
                for (int i = 0; i < n; i++) {
                    piv[i] = (int) piv64[i];
                }
                out.add(new LuFactors(new Matrix(n, n, d.download(dA, (long) n * n, precision)), piv, precision));
            }
        }
        return out;
    }

    /** The LU solve, with the factors uploaded again (the contract keeps them on the host). */
    @Override
    public synchronized List<Matrix> luSolve(List<LuFactors> factors, List<Matrix> rhs) {
        List<Matrix> out = new ArrayList<>();
        for (int k = 0; k < factors.size(); k++) {
            LuFactors lu = factors.get(k);
            Matrix b = rhs.get(k);
            int n = lu.n();
            if (b.rows() != n) {
                throw new IllegalArgumentException("right-hand side has " + b.rows() + " rows, system has " + n);
            }
            if (b.cols() == 0) {
                out.add(Matrix.zeros(n, 0));
                continue;
            }
            try (Device d = new Device()) {
                Precision p = lu.precision();
                MemorySegment dA = d.upload(lu.packed().data(), p);
                long[] piv = new long[n];
                for (int i = 0; i < n; i++) {
                    piv[i] = lu.pivots()[i];
                }
                MemorySegment dPiv = d.uploadLongs(piv);
                MemorySegment dB = d.upload(b.data(), p);
                MemorySegment dInfo = d.alloc(Integer.BYTES);
                solveFactored(d, n, b.cols(), type(p), dA, dPiv, dB, dInfo);
                out.add(new Matrix(n, b.cols(), d.download(dB, (long) n * b.cols(), p)));
            }
        }
        return out;
    }

    /**
     * Factor and solve on the device, in chunks that fit its free memory, uploading each A once; the systems of a
     * chunk are spread over {@link #STREAMS} streams so that their factorisations overlap, and their info flags are
     * read once the whole chunk is done.
     */
    @Override
    public synchronized List<Matrix> solveSquare(List<Matrix> a, List<Matrix> rhs, Precision precision) {
        List<Matrix> out = new ArrayList<>();
        int type = type(precision);
        int elem = precision == Precision.FP64 ? 8 : 4;
        int k = 0;
        while (k < a.size()) {
            int n = a.get(k).rows();
            int nrhs = rhs.get(k).cols();
            long work = workspaceBytes(n, type);
            int chunk = BatchPlanner.problemsPerChunk(memoryInfo()[0], BatchPlanner.luSolveBytes(n, nrhs, elem)
                    + 2L * Integer.BYTES, STREAMS * work, a.size() - k);
            try (Device d = new Device(); Arena h = Arena.ofConfined()) {
                List<MemorySegment> dA = new ArrayList<>();
                List<MemorySegment> dB = new ArrayList<>();
                List<MemorySegment> dPiv = new ArrayList<>();
                int end = k;
                while (end < k + chunk && end < a.size() && a.get(end).rows() == n && rhs.get(end).cols() == nrhs) {
                    dA.add(d.upload(a.get(end).data(), precision));
                    dB.add(d.upload(rhs.get(end).data(), precision));
                    dPiv.add(d.alloc((long) n * Long.BYTES));
                    end++;
                }
                int count = dA.size();
                MemorySegment dInfo = d.alloc(2L * count * Integer.BYTES);
                MemorySegment[] workspaces = new MemorySegment[STREAMS];
                MemorySegment[] hostWork = new MemorySegment[STREAMS];
                long[] hostBytes = new long[STREAMS];
                for (int s = 0; s < STREAMS; s++) {
                    workspaces[s] = d.alloc(Math.max(1, work));
                    MemorySegment devBytes = h.allocate(JAVA_LONG);
                    MemorySegment hb = h.allocate(JAVA_LONG);
                    solverStatus("cusolverDnXgetrf_bufferSize", call(getrfBufferSize, streamSolvers[s],
                            streamParams[s], (long) n, (long) n, type, dA.get(0), (long) n, type, devBytes, hb));
                    hostBytes[s] = hb.get(JAVA_LONG, 0);
                    hostWork[s] = h.allocate(Math.max(1, hostBytes[s]));
                }
                cuda("cudaDeviceSynchronize", call(cudaDeviceSynchronize));
                long t0 = System.nanoTime();
                for (int q = 0; q < count; q++) {
                    int s = q % STREAMS;
                    MemorySegment info = offset(dInfo, 2L * q * Integer.BYTES);
                    MemorySegment info2 = offset(dInfo, (2L * q + 1) * Integer.BYTES);
                    solverStatus("cusolverDnXgetrf", call(getrf, streamSolvers[s], streamParams[s], (long) n,
                            (long) n, type, dA.get(q), (long) n, dPiv.get(q), type, workspaces[s], work, hostWork[s],
                            hostBytes[s], info));
                    solverStatus("cusolverDnXgetrs", call(getrs, streamSolvers[s], streamParams[s], 0, (long) n,
                            (long) nrhs, type, dA.get(q), (long) n, dPiv.get(q), type, dB.get(q), (long) n, info2));
                }
                cuda("cudaDeviceSynchronize", call(cudaDeviceSynchronize));
                computeSeconds += (System.nanoTime() - t0) / 1e9;
                int[] infos = d.downloadInts(dInfo, 2 * count);
                for (int q = 0; q < count; q++) {
                    if (infos[2 * q] > 0) {
                        throw new SingularMatrixException(infos[2 * q]);
                    }
                    if (infos[2 * q + 1] != 0) {
                        throw new CudaException("cusolverDnXgetrs: argument " + (-infos[2 * q + 1]) + " is invalid");
                    }
                }
                for (MemorySegment b : dB) {
                    out.add(new Matrix(n, nrhs, d.download(b, (long) n * nrhs, precision)));
                }
                k = end;
            }
        }
        return out;
    }

    /** A device address {@code bytes} past {@code base}. */
    private static MemorySegment offset(MemorySegment base, long bytes) {
        return MemorySegment.ofAddress(base.address() + bytes);
    }

    private void factor(Device d, int n, int type, MemorySegment dA, MemorySegment dPiv, MemorySegment dInfo) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment devBytes = a.allocate(JAVA_LONG);
            MemorySegment hostBytes = a.allocate(JAVA_LONG);
            solverStatus("cusolverDnXgetrf_bufferSize", call(getrfBufferSize, solver, params, (long) n, (long) n, type,
                    dA, (long) n, type, devBytes, hostBytes));
            MemorySegment work = d.alloc(Math.max(1, devBytes.get(JAVA_LONG, 0)));
            MemorySegment host = a.allocate(Math.max(1, hostBytes.get(JAVA_LONG, 0)));
            solverStatus("cusolverDnXgetrf", call(getrf, solver, params, (long) n, (long) n, type, dA, (long) n, dPiv,
                    type, work, devBytes.get(JAVA_LONG, 0), host, hostBytes.get(JAVA_LONG, 0), dInfo));
            int info = d.downloadInt(dInfo);
            if (info > 0) {
                throw new SingularMatrixException(info);
            }
        }
    }

    private long workspaceBytes(int n, int type) {
        try (Device d = new Device(); Arena a = Arena.ofConfined()) {
            MemorySegment probe = d.alloc(Math.max(1, (long) n * n * (type == R_64F ? 8 : 4)));
            MemorySegment devBytes = a.allocate(JAVA_LONG);
            MemorySegment hostBytes = a.allocate(JAVA_LONG);
            solverStatus("cusolverDnXgetrf_bufferSize", call(getrfBufferSize, solver, params, (long) n, (long) n, type,
                    probe, (long) n, type, devBytes, hostBytes));
            return devBytes.get(JAVA_LONG, 0);
        }
    }

    private void solveFactored(Device d, int n, int nrhs, int type, MemorySegment dA, MemorySegment dPiv,
                               MemorySegment dB, MemorySegment dInfo) {
        solverStatus("cusolverDnXgetrs", call(getrs, solver, params, 0, (long) n, (long) nrhs, type, dA,
                (long) n, dPiv, type, dB, (long) n, dInfo));
        int info = d.downloadInt(dInfo);
        if (info != 0) {
            throw new CudaException("cusolverDnXgetrs: argument " + (-info) + " is invalid");
        }
    }

    @Override
    public synchronized List<Svd> svd(List<Matrix> matrices, boolean vectors, Precision precision) {
        List<Svd> out = new ArrayList<>();
        for (Matrix m : matrices) {
            // cuSOLVER's gesvd needs rows >= cols: decompose the transpose of a wide matrix and swap U and V
            boolean wide = m.rows() < m.cols();
            Matrix a = wide ? m.transpose() : m;
            Svd s = tallSvd(a, vectors, precision);
            out.add(!wide ? s : new Svd(vectors ? s.vt().transpose() : null, s.s(), vectors ? s.u().transpose() : null));
        }
        return out;
    }

    private Svd tallSvd(Matrix a, boolean vectors, Precision precision) {
        int m = a.rows();
        int n = a.cols();
        if (n == 0) {
            return new Svd(vectors ? Matrix.zeros(m, 0) : null, new double[0], vectors ? Matrix.zeros(0, n) : null);
        }
        int type = type(precision);
        int elem = precision == Precision.FP64 ? 8 : 4;
        byte job = (byte) (vectors ? 'S' : 'N');
        try (Device d = new Device(); Arena h = Arena.ofConfined()) {
            MemorySegment dA = d.upload(a.data(), precision);
            MemorySegment dS = d.alloc((long) n * elem);
            MemorySegment dU = d.alloc(vectors ? (long) m * n * elem : elem);
            MemorySegment dVt = d.alloc(vectors ? (long) n * n * elem : elem);
            MemorySegment dInfo = d.alloc(Integer.BYTES);
            long ldu = vectors ? m : 1;
            long ldvt = vectors ? n : 1;
            MemorySegment devBytes = h.allocate(JAVA_LONG);
            MemorySegment hostBytes = h.allocate(JAVA_LONG);
            solverStatus("cusolverDnXgesvd_bufferSize", call(gesvdBufferSize, solver, params, job, job, (long) m,
                    (long) n, type, dA, (long) m, type, dS, type, dU, ldu, type, dVt, ldvt, type, devBytes, hostBytes));
            MemorySegment work = d.alloc(Math.max(1, devBytes.get(JAVA_LONG, 0)));
            MemorySegment host = h.allocate(Math.max(1, hostBytes.get(JAVA_LONG, 0)));
            solverStatus("cusolverDnXgesvd", call(gesvd, solver, params, job, job, (long) m, (long) n, type, dA,
                    (long) m, type, dS, type, dU, ldu, type, dVt, ldvt, type, work, devBytes.get(JAVA_LONG, 0), host,
                    hostBytes.get(JAVA_LONG, 0), dInfo));
            int info = d.downloadInt(dInfo);
            if (info > 0) {
                throw new CudaException("cusolverDnXgesvd did not converge (" + info + " superdiagonals)");
            }
            double[] s = d.download(dS, n, precision);
            return new Svd(vectors ? new Matrix(m, n, d.download(dU, (long) m * n, precision)) : null, s,
                    vectors ? new Matrix(n, n, d.download(dVt, (long) n * n, precision)) : null);
        }
    }

    @Override
    public synchronized List<Matrix> gemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB,
                                          Precision precision) {
        if (a.size() != b.size()) {
            throw new IllegalArgumentException(a.size() + " left operands for " + b.size() + " right operands");
        }
        if (a.size() > 1 && sameShapes(a) && sameShapes(b)) {
            return stridedGemm(a, transA, b, transB, precision);
        }
        List<Matrix> out = new ArrayList<>();
        for (int k = 0; k < a.size(); k++) {
            Matrix x = a.get(k);
            Matrix y = b.get(k);
            int m = transA ? x.cols() : x.rows();
            int inner = transA ? x.rows() : x.cols();
            int n = transB ? y.rows() : y.cols();
            if (inner != (transB ? y.cols() : y.rows())) {
                throw new IllegalArgumentException("cannot multiply " + x.shapeString() + " by " + y.shapeString());
            }
            if (m == 0 || n == 0 || inner == 0) {
                out.add(Matrix.zeros(m, n));
                continue;
            }
            try (Device d = new Device(); Arena h = Arena.ofConfined()) {
                MemorySegment dX = d.upload(x.data(), precision);
                MemorySegment dY = d.upload(y.data(), precision);
                MemorySegment dC = d.alloc((long) m * n * (precision == Precision.FP64 ? 8 : 4));
                MemorySegment alpha = precision == Precision.FP64 ? h.allocateFrom(JAVA_DOUBLE, 1.0)
                        : h.allocateFrom(JAVA_FLOAT, 1f);
                MemorySegment beta = precision == Precision.FP64 ? h.allocateFrom(JAVA_DOUBLE, 0.0)
                        : h.allocateFrom(JAVA_FLOAT, 0f);
                library("cublas gemm", call(precision == Precision.FP64 ? cublasDgemm : cublasSgemm, cublas,
                        transA ? 1 : 0, transB ? 1 : 0, m, n, inner, alpha, dX, x.rows(), dY, y.rows(), beta, dC, m));
                out.add(new Matrix(m, n, d.download(dC, (long) m * n, precision)));
            }
        }
        return out;
    }

    private static boolean sameShapes(List<Matrix> ms) {
        return ms.stream().allMatch(m -> m.rows() == ms.get(0).rows() && m.cols() == ms.get(0).cols());
    }

    /** A batch of equally shaped products in one cublas<t>gemmStridedBatched call over packed operands. */
    private List<Matrix> stridedGemm(List<Matrix> a, boolean transA, List<Matrix> b, boolean transB,
                                     Precision precision) {
        Matrix x = a.get(0);
        Matrix y = b.get(0);
        int m = transA ? x.cols() : x.rows();
        int inner = transA ? x.rows() : x.cols();
        int n = transB ? y.rows() : y.cols();
        if (inner != (transB ? y.cols() : y.rows())) {
            throw new IllegalArgumentException("cannot multiply " + x.shapeString() + " by " + y.shapeString());
        }
        int count = a.size();
        if (m == 0 || n == 0 || inner == 0) {
            List<Matrix> zeros = new ArrayList<>();
            for (int k = 0; k < count; k++) {
                zeros.add(Matrix.zeros(m, n));
            }
            return zeros;
        }
        long sa = (long) x.rows() * x.cols();
        long sb = (long) y.rows() * y.cols();
        long sc = (long) m * n;
        double[] packedA = new double[Math.toIntExact(sa * count)];
        double[] packedB = new double[Math.toIntExact(sb * count)];
        for (int k = 0; k < count; k++) {
            System.arraycopy(a.get(k).data(), 0, packedA, (int) (k * sa), (int) sa);
            System.arraycopy(b.get(k).data(), 0, packedB, (int) (k * sb), (int) sb);
        }
        try (Device d = new Device(); Arena h = Arena.ofConfined()) {
            MemorySegment dX = d.upload(packedA, precision);
            MemorySegment dY = d.upload(packedB, precision);
            MemorySegment dC = d.alloc(sc * count * (precision == Precision.FP64 ? 8 : 4));
            MemorySegment alpha = precision == Precision.FP64 ? h.allocateFrom(JAVA_DOUBLE, 1.0)
                    : h.allocateFrom(JAVA_FLOAT, 1f);
            MemorySegment beta = precision == Precision.FP64 ? h.allocateFrom(JAVA_DOUBLE, 0.0)
                    : h.allocateFrom(JAVA_FLOAT, 0f);
            library("cublas gemmStridedBatched", call(precision == Precision.FP64 ? cublasDgemmBatched
                    : cublasSgemmBatched, cublas, transA ? 1 : 0, transB ? 1 : 0, m, n, inner, alpha, dX, x.rows(),
                    sa, dY, y.rows(), sb, beta, dC, m, sc, count));
            double[] c = d.download(dC, sc * count, precision);
            List<Matrix> out = new ArrayList<>(count);
            for (int k = 0; k < count; k++) {
                out.add(new Matrix(m, n, java.util.Arrays.copyOfRange(c, (int) (k * sc), (int) ((k + 1) * sc))));
            }
            return out;
        }
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

    @Override
    public synchronized void close() {
        for (int k = 0; k < STREAMS; k++) {
            call(paramsDestroy, streamParams[k]);
            call(solverDestroy, streamSolvers[k]);
            call(streamDestroy, streams[k]);
        }
        call(paramsDestroy, params);
        call(solverDestroy, solver);
        call(cublasDestroy, cublas);
        arena.close();
    }

    private static int type(Precision p) {
        return p == Precision.FP64 ? R_64F : R_32F;
    }

    /** Device allocations of one operation, all freed together. */
    private final class Device implements AutoCloseable {
        private final List<MemorySegment> owned = new ArrayList<>();
        private final Arena host = Arena.ofConfined();

        MemorySegment alloc(long bytes) {
            MemorySegment ptr = host.allocate(ADDRESS);
            cuda("cudaMalloc(" + bytes + ")", call(cudaMalloc, ptr, bytes));
            MemorySegment p = ptr.get(ADDRESS, 0);
            owned.add(p);
            return p;
        }

        MemorySegment upload(double[] data, Precision p) {
            long bytes = (long) data.length * (p == Precision.FP64 ? 8 : 4);
            MemorySegment staging = host.allocate(Math.max(1, bytes), 8);
            if (p == Precision.FP64) {
                MemorySegment.copy(data, 0, staging, JAVA_DOUBLE, 0, data.length);
            } else {
                for (int i = 0; i < data.length; i++) {
                    staging.setAtIndex(JAVA_FLOAT, i, (float) data[i]);
                }
            }
            MemorySegment dev = alloc(Math.max(1, bytes));
            cuda("cudaMemcpy to device", call(cudaMemcpy, dev, staging, bytes, H2D));
            return dev;
        }

        MemorySegment uploadLongs(long[] data) {
            MemorySegment staging = host.allocateFrom(JAVA_LONG, data);
            MemorySegment dev = alloc(Math.max(1, staging.byteSize()));
            cuda("cudaMemcpy to device", call(cudaMemcpy, dev, staging, staging.byteSize(), H2D));
            return dev;
        }

        double[] download(MemorySegment dev, long count, Precision p) {
            long bytes = count * (p == Precision.FP64 ? 8 : 4);
            MemorySegment staging = host.allocate(Math.max(1, bytes), 8);
            cuda("cudaMemcpy to host", call(cudaMemcpy, staging, dev, bytes, D2H));
            double[] out = new double[(int) count];
            if (p == Precision.FP64) {
                MemorySegment.copy(staging, JAVA_DOUBLE, 0, out, 0, out.length);
            } else {
                for (int i = 0; i < out.length; i++) {
                    out[i] = staging.getAtIndex(JAVA_FLOAT, i);
                }
            }
            return out;
        }

        long[] downloadLongs(MemorySegment dev, int count) {
            MemorySegment staging = host.allocate((long) count * Long.BYTES, 8);
            cuda("cudaMemcpy to host", call(cudaMemcpy, staging, dev, staging.byteSize(), D2H));
            return staging.toArray(JAVA_LONG);
        }

        int[] downloadInts(MemorySegment dev, int count) {
            MemorySegment staging = host.allocate((long) count * Integer.BYTES, 8);
            cuda("cudaMemcpy to host", call(cudaMemcpy, staging, dev, staging.byteSize(), D2H));
            return staging.toArray(JAVA_INT);
        }

        int downloadInt(MemorySegment dev) {
            MemorySegment staging = host.allocate(JAVA_INT);
            cuda("cudaMemcpy to host", call(cudaMemcpy, staging, dev, (long) Integer.BYTES, D2H));
            return staging.get(JAVA_INT, 0);
        }

        @Override
        public void close() {
            for (MemorySegment p : owned) {
                call(cudaFree, p);
            }
            host.close();
        }
    }

    private static int call(MethodHandle h, Object... args) {
        try {
            Object r = h.invokeWithArguments(args);
            return r instanceof Integer i ? i : 0;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("native call failed: " + t, t);
        }
    }

    private void cuda(String what, int status) {
        if (status != 0) {
            String msg;
            try {
                MemorySegment s = (MemorySegment) cudaGetErrorString.invokeWithArguments(status);
                msg = s.reinterpret(512).getString(0);
            } catch (Throwable t) {
                msg = "error " + status;
            }
            throw new CudaException(what + " failed: " + msg + " (" + status + ")");
        }
    }

    private static void library(String what, int status) {
        if (status != 0) {
            throw new CudaException(what + " failed with status " + status);
        }
    }

    private static void solverStatus(String what, int status) {
        if (status != 0) {
            throw new CudaException(what + " failed with cusolverStatus " + status);
        }
    }
}
