package io.github.convsim.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;

/**
 * The CUDA runtime calls the backend makes (memory, streams, events, copies), each a checked Java method: a failing
 * call throws {@link CudaException} with the runtime's own message, and an allocation the device cannot satisfy throws
 * {@link DeviceOutOfMemoryException}, which the batched operations answer by splitting the batch.
 */
final class CudaRuntime {
    static final int H2D = 1;
    static final int D2H = 2;
    private static final int OUT_OF_MEMORY = 2; // cudaErrorMemoryAllocation

    private final MethodHandle malloc;
    private final MethodHandle free;
    private final MethodHandle mallocHost;
    private final MethodHandle freeHost;
    private final MethodHandle memcpyAsync;
    private final MethodHandle memGetInfo;
    private final MethodHandle deviceSynchronize;
    private final MethodHandle streamCreate;
    private final MethodHandle streamDestroy;
    private final MethodHandle streamSynchronize;
    private final MethodHandle eventCreate;
    private final MethodHandle eventRecord;
    private final MethodHandle eventSynchronize;
    private final MethodHandle eventDestroy;
    private final MethodHandle getLastError;
    private final MethodHandle errorString;
    final MethodHandle deviceProperties;

    CudaRuntime(CudaLibraries libs) {
        malloc = libs.function(libs.cudart, "cudaMalloc", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        free = libs.function(libs.cudart, "cudaFree", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        mallocHost = libs.function(libs.cudart, "cudaMallocHost", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
        freeHost = libs.function(libs.cudart, "cudaFreeHost", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        memcpyAsync = libs.function(libs.cudart, "cudaMemcpyAsync",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS));
        memGetInfo = libs.function(libs.cudart, "cudaMemGetInfo", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        deviceSynchronize = libs.function(libs.cudart, "cudaDeviceSynchronize", FunctionDescriptor.of(JAVA_INT));
        streamCreate = libs.function(libs.cudart, "cudaStreamCreateWithFlags",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        streamDestroy = libs.function(libs.cudart, "cudaStreamDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        streamSynchronize = libs.function(libs.cudart, "cudaStreamSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        eventCreate = libs.function(libs.cudart, "cudaEventCreateWithFlags",
                FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
        eventRecord = libs.function(libs.cudart, "cudaEventRecord", FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS));
        eventSynchronize = libs.function(libs.cudart, "cudaEventSynchronize", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        eventDestroy = libs.function(libs.cudart, "cudaEventDestroy", FunctionDescriptor.of(JAVA_INT, ADDRESS));
        getLastError = libs.function(libs.cudart, "cudaGetLastError", FunctionDescriptor.of(JAVA_INT));
        errorString = libs.function(libs.cudart, "cudaGetErrorString", FunctionDescriptor.of(ADDRESS, JAVA_INT));
        deviceProperties = libs.cudart.find("cudaGetDeviceProperties_v2").isPresent()
                ? libs.function(libs.cudart, "cudaGetDeviceProperties_v2", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT))
                : libs.function(libs.cudart, "cudaGetDeviceProperties", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT));
    }

    /** {@code bytes} of device memory (plain cudaMalloc, never managed memory). */
    MemorySegment malloc(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            int status = call(malloc, out, Math.max(1, bytes));
            if (status == OUT_OF_MEMORY) {
                call(getLastError); // the error is not sticky: clear it so the next call does not report it
                throw new DeviceOutOfMemoryException(bytes);
            }
            check("cudaMalloc(" + bytes + ")", status);
            return out.get(ADDRESS, 0);
        }
    }

    void free(MemorySegment device) {
        check("cudaFree", call(free, device));
    }

    /** Page-locked host memory, which the copy engines read and write without a bounce buffer. */
    MemorySegment mallocHost(long bytes) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cudaMallocHost(" + bytes + ")", call(mallocHost, out, bytes));
            return out.get(ADDRESS, 0).reinterpret(bytes);
        }
    }

    void freeHost(MemorySegment host) {
        check("cudaFreeHost", call(freeHost, host));
    }

    void copyAsync(MemorySegment to, MemorySegment from, long bytes, int kind, MemorySegment stream) {
        check("cudaMemcpyAsync", call(memcpyAsync, to, from, bytes, kind, stream));
    }

    /** Free and total device memory, in bytes. */
    long[] memoryInfo() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment free = a.allocate(JAVA_LONG);
            MemorySegment total = a.allocate(JAVA_LONG);
            check("cudaMemGetInfo", call(memGetInfo, free, total));
            return new long[] {free.get(JAVA_LONG, 0), total.get(JAVA_LONG, 0)};
        }
    }

    void synchronize() {
        check("cudaDeviceSynchronize", call(deviceSynchronize));
    }

    MemorySegment createStream() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            // cudaStreamDefault, not cudaStreamNonBlocking: work a library queues on the legacy default stream
            // (an internal cudaMemcpy) then waits for ours instead of racing it
            check("cudaStreamCreateWithFlags", call(streamCreate, out, 0));
            return out.get(ADDRESS, 0);
        }
    }

    void destroyStream(MemorySegment stream) {
        call(streamDestroy, stream);
    }

    void synchronize(MemorySegment stream) {
        check("cudaStreamSynchronize", call(streamSynchronize, stream));
    }

    MemorySegment createEvent() {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            check("cudaEventCreateWithFlags", call(eventCreate, out, 2)); // cudaEventDisableTiming
            return out.get(ADDRESS, 0);
        }
    }

    void record(MemorySegment event, MemorySegment stream) {
        check("cudaEventRecord", call(eventRecord, event, stream));
    }

    void await(MemorySegment event) {
        check("cudaEventSynchronize", call(eventSynchronize, event));
    }

    void destroyEvent(MemorySegment event) {
        call(eventDestroy, event);
    }

    void check(String what, int status) {
        if (status != 0) {
            String msg;
            try {
                MemorySegment s = (MemorySegment) errorString.invokeWithArguments(status);
                msg = s.reinterpret(512).getString(0);
            } catch (Throwable t) {
                msg = "error " + status;
            }
            throw new CudaException(what + " failed: " + msg + " (" + status + ")");
        }
    }

    static int call(MethodHandle h, Object... args) {
        try {
            Object r = h.invokeWithArguments(args);
            return r instanceof Integer i ? i : 0;
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new CudaException("native call failed: " + t, t);
        }
    }
}
