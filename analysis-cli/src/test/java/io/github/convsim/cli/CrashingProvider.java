package io.github.convsim.cli;

import io.github.convsim.linalg.BackendProvider;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.OpenBlasBackend;

/** A backend for the CLI's tests whose self-check crashes, as a defect in convsim would: exit code 1 and a log file. */
public final class CrashingProvider implements BackendProvider {
    @Override
    public String name() {
        return "crashing";
    }

    @Override
    public LinalgBackend create() {
        OpenBlasBackend real = new OpenBlasBackend(1);
        return (LinalgBackend) java.lang.reflect.Proxy.newProxyInstance(CrashingProvider.class.getClassLoader(),
                new Class<?>[] {LinalgBackend.class}, (proxy, method, args) -> {
                    if (method.getName().equals("selfCheck")) {
                        throw new IllegalStateException("deliberate defect for the tests");
                    }
                    return method.invoke(real, args);
                });
    }
}
