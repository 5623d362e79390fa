package io.github.convsim.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.github.convsim.linalg.Fp32;
import io.github.convsim.linalg.Precision;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * One CUDA stream and what works on it: a cuSOLVER and a cuBLAS handle bound to the stream, a grow-only workspace,
 * and two pinned staging buffers through which every transfer of the stream goes as an asynchronous copy. The host
 * fills one buffer while the copy engine drains the other, and a lane's host work runs on its own thread, so that
 * one lane's transfers overlap the other lanes' compute. A lane is used by one thread at a time.
 */
final class Lane implements AutoCloseable {
    /** Bytes of each staging buffer: large enough that a copy runs at the link's rate, two per lane. */
    static final long STAGE_BYTES = 32L << 20;

    private final CudaRuntime rt;
    final MemorySegment stream;
    final MemorySegment solver;
    final MemorySegment params;
    final MemorySegment cublas;
    private final MemorySegment[] pinned = new MemorySegment[2];
    private final MemorySegment[] copied = new MemorySegment[2];
    /** fp32 values on their way between a double[] and a staging buffer. */
    private final float[] narrow = new float[1 << 16];
    private final Arena host = Arena.ofShared();
    private int next;
    private MemorySegment workspace;
    private long workspaceBytes;
    private MemorySegment hostWork;
    private long hostWorkBytes;
    private final DeviceAllocator device;
    private final Handles handles;
    /** 1 and 0 in fp64 and fp32, the host scalars cuBLAS reads at each call (pointer mode host). */
    final MemorySegment one64;
    final MemorySegment zero64;
    final MemorySegment one32;
    final MemorySegment zero32;

    /** Device memory within the backend's budget, safe to call from a lane's thread. */
    interface DeviceAllocator {
        MemorySegment alloc(long bytes);

        void free(MemorySegment p, long bytes);
    }

    Lane(CudaRuntime rt, DeviceAllocator device, Handles handles) {
        this.rt = rt;
        this.device = device;
        this.handles = handles;
        one64 = host.allocateFrom(JAVA_DOUBLE, 1.0);
        zero64 = host.allocateFrom(JAVA_DOUBLE, 0.0);
        one32 = host.allocateFrom(JAVA_FLOAT, 1f);
        zero32 = host.allocateFrom(JAVA_FLOAT, 0f);
        stream = rt.createStream();
        solver = handles.create(handles.solverCreate, "cusolverDnCreate");
        CudaRuntime.call(handles.solverSetStream, solver, stream);
        params = handles.create(handles.paramsCreate, "cusolverDnCreateParams");
        cublas = handles.create(handles.cublasCreate, "cublasCreate");
        CudaRuntime.call(handles.cublasSetStream, cublas, stream);
        for (int b = 0; b < 2; b++) {
            pinned[b] = rt.mallocHost(STAGE_BYTES);
            copied[b] = rt.createEvent();
        }
    }

    /** The cuSOLVER/cuBLAS entry points a lane needs to make its handles. */
    record Handles(MethodHandle solverCreate, MethodHandle solverSetStream, MethodHandle paramsCreate,
                   MethodHandle cublasCreate, MethodHandle cublasSetStream, MethodHandle solverDestroy,
                   MethodHandle paramsDestroy, MethodHandle cublasDestroy) {
        MemorySegment create(MethodHandle h, String name) {
            try (Arena a = Arena.ofConfined()) {
                MemorySegment out = a.allocate(ADDRESS);
                int status = CudaRuntime.call(h, out);
                if (status != 0) {
                    throw new CudaException(name + " failed with status " + status);
                }
                return out.get(ADDRESS, 0);
            }
        }
    }

    /** A device workspace of at least {@code bytes}, kept for the lane's next calls. */
    MemorySegment workspace(long bytes) {
        if (bytes > workspaceBytes) {
            if (workspace != null) {
                rt.synchronize(stream); // the old one may still be read by queued work
                device.free(workspace, workspaceBytes);
                workspace = null;
                workspaceBytes = 0;
            }
            workspace = device.alloc(bytes);
            workspaceBytes = bytes;
        }
        return workspace;
    }

    /** A host workspace of at least {@code bytes} (cuSOLVER's 64-bit API asks for one beside the device's). */
    MemorySegment hostWorkspace(long bytes) {
        if (bytes > hostWorkBytes || hostWork == null) {
            hostWork = host.allocate(Math.max(1, bytes), 16);
            hostWorkBytes = Math.max(1, bytes);
        }
        return hostWork;
    }

    /** Copies {@code length} values of {@code src} from {@code from} to the device at {@code dst}, as {@code p}. */
    void upload(double[] src, int from, int length, Precision p, MemorySegment dst) {
        int elem = elementBytes(p);
        int per = (int) (STAGE_BYTES / elem);
        for (int off = 0; off < length; off += per) {
            int len = Math.min(per, length - off);
            MemorySegment buf = take();
            if (p == Precision.FP64) {
                MemorySegment.copy(src, from + off, buf, JAVA_DOUBLE, 0, len);
            } else {
                for (int c = 0; c < len; c += narrow.length) {
                    int n = Math.min(narrow.length, len - c);
                    Fp32.narrow(src, from + off + c, narrow, n);
                    MemorySegment.copy(narrow, 0, buf, JAVA_FLOAT, (long) c * Float.BYTES, n);
                }
            }
            rt.copyAsync(at(dst, (long) off * elem), buf, (long) len * elem, CudaRuntime.H2D, stream);
            rt.record(copied[next ^ 1], stream);
        }
    }

    void upload(double[] src, Precision p, MemorySegment dst) {
        upload(src, 0, src.length, p, dst);
    }

    void uploadLongs(long[] src, MemorySegment dst) {
        MemorySegment buf = take();
        MemorySegment.copy(src, 0, buf, JAVA_LONG, 0, src.length);
        rt.copyAsync(dst, buf, (long) src.length * Long.BYTES, CudaRuntime.H2D, stream);
        rt.record(copied[next ^ 1], stream);
    }

    /**
     * {@code length} values at {@code src} on the device, widened to doubles into {@code into} from {@code at}; waits
     * for the lane's queued work, and overlaps the copy of each part with the reading of the one before.
     */
    void download(MemorySegment src, int length, Precision p, double[] into, int at) {
        int elem = elementBytes(p);
        int per = (int) (STAGE_BYTES / elem);
        int before = -1;
        int beforeBuf = -1;
        for (int off = 0; off < length; off += per) {
            int b = next;
            MemorySegment buf = take();
            rt.copyAsync(buf, at(src, (long) off * elem), (long) Math.min(per, length - off) * elem, CudaRuntime.D2H,
                    stream);
            rt.record(copied[b], stream);
            if (before >= 0) {
                read(beforeBuf, before, per, p, into, at);
            }
            before = off;
            beforeBuf = b;
        }
        if (before >= 0) {
            read(beforeBuf, before, Math.min(per, length - before), p, into, at);
        }
    }

    double[] download(MemorySegment src, int length, Precision p) {
        double[] out = new double[length];
        if (length > 0) {
            download(src, length, p, out, 0);
        }
        return out;
    }

    long[] downloadLongs(MemorySegment src, int length) {
        return downloadSmall(src, (long) length * Long.BYTES).toArray(JAVA_LONG);
    }

    int[] downloadInts(MemorySegment src, int length) {
        return downloadSmall(src, (long) length * Integer.BYTES).toArray(JAVA_INT);
    }

    /** {@code bytes} (at most a staging buffer) from the device, once the lane's queued work is done. */
    private MemorySegment downloadSmall(MemorySegment src, long bytes) {
        MemorySegment buf = take();
        int b = next ^ 1;
        rt.copyAsync(buf, src, bytes, CudaRuntime.D2H, stream);
        rt.record(copied[b], stream);
        rt.await(copied[b]);
        return buf.asSlice(0, bytes);
    }

    private void read(int b, int off, int len, Precision p, double[] into, int at) {
        rt.await(copied[b]);
        if (p == Precision.FP64) {
            MemorySegment.copy(pinned[b], JAVA_DOUBLE, 0, into, at + off, len);
        } else {
            for (int c = 0; c < len; c += narrow.length) {
                int n = Math.min(narrow.length, len - c);
                MemorySegment.copy(pinned[b], JAVA_FLOAT, (long) c * Float.BYTES, narrow, 0, n);
                Fp32.widen(narrow, into, at + off + c, n);
            }
        }
    }

    /** The next staging buffer, once the copy that last used it is done. */
    private MemorySegment take() {
        int b = next;
        next ^= 1;
        rt.await(copied[b]);
        return pinned[b];
    }

    /** Bytes of one element on the device in precision {@code p}. */
    static int elementBytes(Precision p) {
        return p == Precision.FP64 ? Double.BYTES : Float.BYTES;
    }

    /** A device address {@code bytes} past {@code base}. */
    static MemorySegment at(MemorySegment base, long bytes) {
        return MemorySegment.ofAddress(base.address() + bytes);
    }

    void synchronize() {
        rt.synchronize(stream);
    }

    @Override
    public void close() {
        try {
            rt.synchronize(stream);
        } catch (RuntimeException ignored) {
            // closing after a failure: free what can be freed
        }
        for (int b = 0; b < 2; b++) {
            rt.destroyEvent(copied[b]);
            rt.freeHost(pinned[b]);
        }
        if (workspace != null) {
            device.free(workspace, workspaceBytes);
        }
        CudaRuntime.call(handles.paramsDestroy(), params);
        CudaRuntime.call(handles.solverDestroy(), solver);
        CudaRuntime.call(handles.cublasDestroy(), cublas);
        rt.destroyStream(stream);
        host.close();
    }
}
