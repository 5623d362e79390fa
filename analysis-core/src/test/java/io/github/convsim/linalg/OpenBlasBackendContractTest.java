package io.github.convsim.linalg;

/** The backend contract on the CPU, as `--backend cpu` gets it. */
class OpenBlasBackendContractTest extends LinalgBackendContract {
    @Override
    protected LinalgBackend open() {
        Backends.Choice cpu = Backends.select("cpu");
        org.junit.jupiter.api.Assertions.assertEquals("cpu-openblas", cpu.backend().name());
        return cpu.backend();
    }
}
