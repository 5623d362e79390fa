package io.github.convsim.cuda;

import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LinalgBackendContract;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Assumptions;

/**
 * The backend contract on the GPU, as `--backend cuda` gets it. It runs wherever a GPU is present (an NVIDIA device
 * node, or CONVSIM_REQUIRE_GPU=1 as the GPU check sets): there a CUDA backend that cannot be opened fails the suite
 * instead of skipping it. Only a machine without a GPU skips it.
 */
class CudaBackendContractTest extends LinalgBackendContract {
    static boolean gpuHost() {
        return Files.exists(Path.of("/dev/nvidiactl")) || "1".equals(System.getenv("CONVSIM_REQUIRE_GPU"));
    }

    @Override
    protected LinalgBackend open() {
        Assumptions.assumeTrue(gpuHost(), "no GPU on this machine (no /dev/nvidiactl, CONVSIM_REQUIRE_GPU unset)");
        Backends.Choice cuda = Backends.select("cuda"); // on a GPU host, a failure here fails the suite
        org.junit.jupiter.api.Assertions.assertEquals("cuda", cuda.backend().name());
        return cuda.backend();
    }
}
