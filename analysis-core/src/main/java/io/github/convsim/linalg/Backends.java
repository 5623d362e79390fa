package io.github.convsim.linalg;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.ServiceLoader;

/** Chooses a backend by name: "cpu", a provider's name ("cuda"), or "auto" (a working provider, else the CPU). */
public final class Backends {
    /** The chosen backend and why it was chosen. */
    public record Choice(LinalgBackend backend, String reason) {}

    private Backends() {}

    public static Choice select(String requested) {
        String name = requested == null ? "auto" : requested.trim().toLowerCase(Locale.ROOT);
        if (name.equals("cpu")) {
            return new Choice(new OpenBlasBackend(), "cpu requested");
        }
        List<String> failures = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (!name.equals("auto") && !p.name().equalsIgnoreCase(name)) {
                continue;
            }
            try {
                LinalgBackend b = p.create();
                return new Choice(b, p.name() + (name.equals("auto") ? " found and working" : " requested"));
            } catch (Exception | LinkageError e) {
                failures.add(p.name() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            }
        }
        if (!name.equals("auto")) {
            throw new IllegalArgumentException("backend '" + requested + "' is not available"
                    + (failures.isEmpty() ? " (not built into this installation; it needs Java 22+)"
                    : ": " + String.join("; ", failures)));
        }
        String why = failures.isEmpty() ? "no GPU backend in this build" : String.join("; ", failures);
        return new Choice(new OpenBlasBackend(), "cpu (" + why + ")");
    }
}
