package io.github.convsim.cuda;

import io.github.convsim.linalg.BackendProvider;
import io.github.convsim.linalg.LinalgBackend;

/** Registers {@link CudaBackend} for {@code --backend cuda} and {@code auto}. */
public final class CudaBackendProvider implements BackendProvider {
    @Override
    public String name() {
        return "cuda";
    }

    @Override
    public LinalgBackend create() {
        return new CudaBackend();
    }

    @Override
    public LinalgBackend create(long deviceMemoryBytes) {
        return new CudaBackend(deviceMemoryBytes);
    }
}
