package io.github.convsim.cuda;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.linalg.Backends;
import java.lang.foreign.Arena;
import java.nio.file.Path;
import java.util.ServiceLoader;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;

/** Discovery and fallback on a machine without a GPU; on a GPU host the same tests check the opposite. */
class DiscoveryTest {
    static boolean cudaPresent() {
        try (Arena a = Arena.ofConfined()) {
            CudaLibraries.load(a);
            return true;
        } catch (CudaException e) {
            return false;
        }
    }

    @Test
    void theProviderIsFoundThroughServiceLoader() {
        assertTrue(ServiceLoader.load(io.github.convsim.linalg.BackendProvider.class).stream()
                .anyMatch(p -> p.get().name().equals("cuda")));
    }

    @Test
    void missingLibrariesGiveAMessageThatSaysWhatToDo() {
        Assumptions.assumeFalse(cudaPresent(), "this machine has CUDA: nothing is missing");
        CudaException e = assertThrows(CudaException.class, () -> {
            try (Arena a = Arena.ofConfined()) {
                CudaLibraries.load(a);
            }
        });
        // this machine may have the runtime (nvcc's) but not cuBLAS or cuSOLVER: whichever is missing is named
        assertTrue(e.getMessage().matches("(CUDA runtime|cuBLAS|cuSOLVER) not found \\(tried lib\\w+\\.so\\.1\\d, .*"),
                e.getMessage());
        assertTrue(e.getMessage().contains("CONVSIM_CUDA_LIB"), e.getMessage());
    }

    @Test
    void autoFallsBackToTheCpuAndSaysWhy() {
        Assumptions.assumeFalse(cudaPresent(), "this machine has CUDA");
        Backends.Choice c = Backends.select("auto");
        try {
            assertEquals("cpu-openblas", c.backend().name());
            assertTrue(c.reason().matches("cpu \\(cuda: (CUDA runtime|cuBLAS|cuSOLVER) not found .*"), c.reason());
        } finally {
            c.backend().close();
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Backends.select("cuda"));
        assertTrue(e.getMessage().startsWith("backend 'cuda' is not available: cuda: "), e.getMessage());
    }

    @Test
    void aUserDirectoryIsSearchedFirst(@org.junit.jupiter.api.io.TempDir Path dir) {
        Assumptions.assumeFalse(cudaPresent(), "this machine has CUDA");
        System.setProperty("convsim.cuda.lib", dir.toString());
        try (Arena a = Arena.ofConfined()) {
            CudaException e = assertThrows(CudaException.class, () -> CudaLibraries.load(a));
            assertTrue(e.getMessage().contains("in [" + dir + "]"), e.getMessage());
        } finally {
            System.clearProperty("convsim.cuda.lib");
        }
    }
}
