package io.github.convsim.linalg;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Chooses a backend by name: "cpu", a provider's name ("cuda"), or "auto" (a working provider, else the CPU). Every
 * backend handed out has passed its {@link SelfCheck}: one that computes wrong numbers is never used (in "auto" a
 * failing GPU falls back to the CPU and says why; a failing CPU stops with {@link ArithmeticCheckException}).
 */
public final class Backends {
    /** The chosen backend, why it was chosen, and its self-check. */
    public record Choice(LinalgBackend backend, String reason, SelfCheck.Report selfCheck) implements AutoCloseable {
        /** Releases the backend (a GPU's memory and handles); a Choice is used in try-with-resources. */
        @Override
        public void close() {
            backend.close();
        }

        /** The arithmetic's identity and the self-check's result, as recorded in every report's provenance. */
        public Map<String, Object> provenance() {
            Map<String, Object> m = new LinkedHashMap<>(backend.arithmetic().details());
            Map<String, Object> check = new LinkedHashMap<>();
            check.put("passed", selfCheck.passed());
            check.put("cases", selfCheck.cases());
            check.put("milliseconds", Math.round(selfCheck.millis() * 10) / 10.0);
            check.put("worst_error_fraction_of_bound", Double.parseDouble(String.format(java.util.Locale.ROOT, "%.3g",
                    selfCheck.worstFractionOfBound())));
            m.put("self_check", check);
            return m;
        }
    }

    /** A CPU backend with its self-check, started by {@link #checkCpuAhead} and not yet taken by a select. */
    private static final AtomicReference<FutureTask<Checked>> CPU_AHEAD = new AtomicReference<>();

    private Backends() {}

    /** A backend behind the shared argument checks, and its passed self-check. */
    private record Checked(LinalgBackend backend, SelfCheck.Report report) {}

    /**
     * Loads OpenBLAS and runs the CPU backend's self-check on a background thread now, for a caller that will select
     * the CPU soon (a command line, while it parses its options and opens its inputs: loading the library and the check
     * take 0.3 to 0.6 s of a short analysis). The next {@link #select} that would make a CPU backend takes this one and
     * its check instead, its errors included; a select that chooses another backend closes it. Does nothing when one is
     * already waiting.
     */
    public static void checkCpuAhead() {
        FutureTask<Checked> task = new FutureTask<>(() -> check(new OpenBlasBackend()));
        if (CPU_AHEAD.compareAndSet(null, task)) {
            Thread t = new Thread(task, "convsim-cpu-check");
            t.setDaemon(true);
            t.start();
        }
    }

    /** Whether a check started by {@link #checkCpuAhead} waits for a select to take it. */
    static boolean cpuCheckWaiting() {
        return CPU_AHEAD.get() != null;
    }

    /** The CPU backend, checked: the one {@link #checkCpuAhead} started where there is one, else a new one. */
    private static Choice cpu(String reason) {
        FutureTask<Checked> ahead = CPU_AHEAD.getAndSet(null);
        if (ahead == null) {
            return checked(new OpenBlasBackend(), reason);
        }
        try {
            Checked c = ahead.get();
            return new Choice(c.backend(), reason, c.report());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            closeWhenDone(ahead);
            throw new IllegalStateException("interrupted while the CPU backend ran its self-check", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new IllegalStateException(e.getCause());
        }
    }

    /** {@code gpu}, once a CPU backend started ahead, which this select does not take, is set to close. */
    private static Choice dropCpuAhead(Choice gpu) {
        FutureTask<Checked> ahead = CPU_AHEAD.getAndSet(null);
        if (ahead != null) {
            closeWhenDone(ahead);
        }
        return gpu;
    }

    private static void closeWhenDone(FutureTask<Checked> ahead) {
        Thread t = new Thread(() -> {
            try {
                ahead.get().backend().close();
            } catch (InterruptedException | ExecutionException | RuntimeException e) {
                // it failed or never finished: nothing to close
            }
        }, "convsim-cpu-check-close");
        t.setDaemon(true);
        t.start();
    }

    /**
     * The names --backend takes: auto, cpu, cuda (built or not: asking for it says why it is missing), and any other
     * provider on the class path.
     */
    /**
     * Refuses a name that is no backend's ("auto", "cpu", "cuda" or a provider's on the class path), listing the names;
     * "auto" and "cpu" need no look-up.
     */
    public static void requireKnown(String requested) {
        String name = requested.trim().toLowerCase(Locale.ROOT);
        if (name.equals("auto") || name.equals("cpu")) {
            return;
        }
        List<String> known = names();
        if (!known.contains(name)) {
            throw new IllegalArgumentException("unknown backend '" + requested + "' (expected " + String.join(", ", known)
                    + ")");
        }
    }

    public static List<String> names() {
        List<String> names = new ArrayList<>(List.of("auto", "cpu", "cuda"));
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            String n = p.name().toLowerCase(Locale.ROOT);
            if (!names.contains(n)) {
                names.add(n);
            }
        }
        return names;
    }

    /**
     * The backend named ("auto": a working GPU, else the CPU; "cpu"; "cuda"; or another provider's name), once its
     * arithmetic has passed the self-check; close it when done.
     *
     * <pre>{@code
     * try (Backends.Choice b = Backends.select("auto")) {
     *     System.out.println(b.backend().name() + ", because " + b.reason());
     * }
     * }</pre>
     *
     * @throws ArithmeticCheckException when the backend asked for (or the CPU, the last resort of "auto") fails its
     *     self-check; the message names the arithmetic, the failing routine and the workaround
     */
    public static Choice select(String requested) {
        return select(requested, 0);
    }

    /**
     * As {@link #select(String)}, a GPU backend holding at most {@code deviceMemoryBytes} of its device's memory at once
     * ({@code --gpu-memory}; 0: most of what is free).
     */
    public static Choice select(String requested, long deviceMemoryBytes) {
        if (deviceMemoryBytes < 0) {
            throw new IllegalArgumentException("the GPU memory budget cannot be negative, got " + deviceMemoryBytes);
        }
        String name = requested == null ? "auto" : requested.trim().toLowerCase(Locale.ROOT);
        if (name.equals("cpu")) {
            return cpu("cpu requested");
        }
        requireKnown(name);
        List<String> failures = new ArrayList<>();
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (!name.equals("auto") && !p.name().equalsIgnoreCase(name)) {
                continue;
            }
            LinalgBackend b;
            try {
                b = p.create(deviceMemoryBytes);
            } catch (Exception | LinkageError e) {
                failures.add(p.name() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
                continue;
            }
            if (!name.equals("auto")) {
                return dropCpuAhead(checked(b, p.name() + " requested"));
            }
            try {
                return dropCpuAhead(checked(b, p.name() + " found and working"));
            } catch (RuntimeException | LinkageError e) {
                // wrong numbers or a crash in its check: either way auto does not use it
                failures.add(p.name() + ": " + (e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage()));
            }
        }
        if (!name.equals("auto")) {
            throw new IllegalArgumentException("backend '" + requested + "' is not available"
                    + (failures.isEmpty() ? " (not built into this installation; it needs Java 22+)"
                    : ": " + String.join("; ", failures)));
        }
        String why = failures.isEmpty() ? "no GPU backend in this build" : String.join("; ", failures);
        return cpu("cpu (" + why + ")");
    }

    /**
     * The backend once it has passed its self-check, behind the argument checks every backend shares
     * ({@link CheckedArguments}); closed and refused otherwise.
     */
    public static Choice checked(LinalgBackend backend, String reason) {
        Checked c = check(backend);
        return new Choice(c.backend(), reason, c.report());
    }

    private static Checked check(LinalgBackend backend) {
        SelfCheck.Report report;
        try {
            report = backend.selfCheck();
        } catch (RuntimeException | LinkageError e) {
            backend.close();
            throw e;
        }
        if (!report.passed()) {
            ArithmeticInfo info = backend.arithmetic();
            backend.close();
            throw ArithmeticCheckException.of(info, "failed convsim's arithmetic self-check: " + report.firstFailure(),
                    "no analysis was run");
        }
        return new Checked(new CheckedArguments(backend), report);
    }
}
