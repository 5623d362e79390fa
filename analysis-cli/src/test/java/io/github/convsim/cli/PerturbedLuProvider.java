package io.github.convsim.cli;

import io.github.convsim.linalg.BackendProvider;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.OpenBlasBackend;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;

/**
 * A backend for the CLI's tests that computes wrong LU factors from n = 40 on, as OpenBLAS 0.3.19's AVX-512 kernels
 * did: found through the ServiceLoader like the CUDA backend, so that {@code --backend perturbed-lu} and
 * {@code --backend auto} meet a backend that fails its self-check.
 */
public final class PerturbedLuProvider implements BackendProvider {
    @Override
    public String name() {
        return "perturbed-lu";
    }

    @Override
    public LinalgBackend create() {
        OpenBlasBackend real = new OpenBlasBackend(2);
        return (LinalgBackend) Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {LinalgBackend.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("name")) {
                        return name();
                    }
                    // default methods (the self-check among them) run on the proxy, so that they use the wrong lu
                    if (method.isDefault() && !method.getName().equals("arithmetic")) {
                        return InvocationHandler.invokeDefault(proxy, method, args);
                    }
                    Object result;
                    try {
                        result = method.invoke(real, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (method.getName().equals("lu")) {
                        @SuppressWarnings("unchecked")
                        List<LuFactors> lus = (List<LuFactors>) result;
                        return lus.stream().map(PerturbedLuProvider::perturbed).toList();
                    }
                    return result;
                });
    }

    private static LuFactors perturbed(LuFactors f) {
        if (f.n() < 40) {
            return f;
        }
        Matrix p = f.packed().copy();
        p.set(f.n() / 2, f.n() / 2, p.get(f.n() / 2, f.n() / 2) * 1.5 + 1);
        return new LuFactors(p, f.pivots(), f.precision());
    }
}
