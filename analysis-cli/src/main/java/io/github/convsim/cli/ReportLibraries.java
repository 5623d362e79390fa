package io.github.convsim.cli;

/**
 * Initialises Tablesaw on a background thread while the main thread loads OpenBLAS and runs its self-check, when the
 * second core is mostly idle. Tablesaw's first use scans the whole class path for its readers and writers (0.1 to
 * 0.2 s); the report writers make that first use at the end of a command, on the main thread, with the other core
 * idle.
 */
final class ReportLibraries {
    private ReportLibraries() {}

    static void preload() {
        Thread t = new Thread(() -> {
            try {
                tech.tablesaw.api.Table.create("preload");
            } catch (Throwable ignored) {
                // the report writer's own first use fails the same way, and reports it
            }
        }, "convsim-preload");
        t.setDaemon(true);
        t.start();
    }
}
