package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.synth.ModelShape;
import io.github.convsim.synth.SyntheticCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * analyze, condlora fit, condlora export and compare stream the base: on a synthetic checkpoint with many layers,
 * each run in its own JVM under a heap smaller than one module's W0 in fp64 (16 layers of 1024 x 1024 doubles are
 * 128 MiB; the heap is 112 MiB), and the heap each reports stays within it.
 */
class SmallHeapTest {
    private static final String HEAP = "-Xmx112m";

    @TempDir
    Path dir;

    @Test
    void condLoraAndCompareStreamAModuleLargerThanTheHeap() throws Exception {
        ModelShape shape = new ModelShape("many-layers", 16, 1024, 64, 8, 8, 64);
        SyntheticCheckpoint.Written model = SyntheticCheckpoint.write(shape, new SyntheticCheckpoint.Options(5, 8, 16,
                List.of("q_proj", "v_proj"), 1L << 30, 2), dir.resolve("model"), ProgressListener.NONE);
        String adapter = model.adapter().toString();
        String base = model.base().toString();

        // analyze, with the W0 null's and the planted controls' bases spilled and read back a few draws at a time
        run("analyze", adapter, "--base", base, "--out", dir.resolve("analysis").toString(), "--draws", "4", "-q",
                "--no-cache");
        JsonNode analysis = new ObjectMapper().readTree(dir.resolve("analysis/summary.json").toFile());
        JsonNode modules = analysis.get("modules");
        assertEquals(2, modules.size(), modules.toString());
        assertEquals(16, modules.get(0).get("layers").asInt(), modules.toString());
        assertEquals(16, modules.get(1).get("layers").asInt(), modules.toString());
        assertHeapWithin(analysis.get("provenance").get("resources"));

        run("condlora", "fit", adapter, "--base", base, "--out", dir.resolve("fit").toString(), "--draws", "4", "-q");
        JsonNode fit = new ObjectMapper().readTree(dir.resolve("fit/summary.json").toFile());
        assertEquals(2, fit.get("modules").size(), fit.toString());
        assertHeapWithin(fit.get("provenance").get("resources"));

        Path export = dir.resolve("export");
        run("condlora", "export", adapter, "--base", base, "--as", "lora", "--out", export.toString());
        assertTrue(Files.size(export.resolve("adapter_model.safetensors")) > 2L * 16 * 2 * 8 * 1024 * 4,
                "every layer's A and B materialised");

        Path cmp = dir.resolve("compare");
        run("compare", adapter, export.toString(), "--base", base, "--out", cmp.toString(), "--draws", "4", "-q");
        JsonNode summary = new ObjectMapper().readTree(cmp.resolve("summary.json").toFile());
        JsonNode resources = summary.get("provenance").get("resources");
        assertHeapWithin(resources);
        for (String module : List.of("q_proj", "v_proj")) {
            int group = resources.get("modules").get(module).get("layers_per_group").asInt();
            assertTrue(group >= 1 && group < 16, module + ": " + group + " layers per group");
        }
    }

    /**
     * The lines starting "convsim:" of an analysis of the demo in a JVM with {@code jvmOptions} and the given options,
     * which must stop with exit code 5, print no stack trace and leave no report.
     */
    private List<String> analysisStoppedForResources(List<String> jvmOptions, String... options) throws Exception {
        Path log = Files.createTempFile(dir, "log-", ".txt");
        List<String> command = new ArrayList<>(List.of(java(), "-Xss16m", "-Djava.awt.headless=true",
                "-Dconvsim.home=" + CliRunner.repo()));
        command.addAll(jvmOptions);
        command.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.github.convsim.cli.Main", "analyze",
                "--out", dir.resolve("report").toString(), "-q"));
        command.addAll(List.of(options));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        String out = Files.readString(log);
        assertEquals(Main.EXIT_RESOURCES, p.exitValue(), out);
        assertFalse(out.contains("\tat "), "no stack trace: " + out);
        assertFalse(Files.exists(dir.resolve("report")), "nothing half-written");
        return out.lines().filter(l -> l.startsWith("convsim:")).toList();
    }

    /**
     * A heap below what convsim starts in (-Xmx24m) is refused before anything runs, in one line that names -Xmx and
     * the command: it used to run until the heap gave out, and the line depended on where (the detailed one, the one
     * made at start-up, or, once in a fresh-clone CI run, a trace and exit 1 from the JDK's locale data under the
     * pressure).
     */
    @Test
    void aHeapTooSmallToStartIsOneLineAndExitCode5() throws Exception {
        List<String> lines = analysisStoppedForResources(List.of("-Xmx24m"));
        assertEquals(List.of("convsim: a Java heap of 24 MiB is too small for convsim to start (it needs at least 32):"
                + " run it with a larger heap, e.g. CONVSIM_JAVA_OPTS=-Xmx8g ./convsim analyze --out "
                + dir.resolve("report") + " -q"), lines);
    }

    /**
     * Native memory for OpenBLAS (JavaCPP's budget, here set below one 768 x 768 LU) that runs out is one line that
     * says so and how to raise it, exit code 5.
     */
    @Test
    void nativeMemoryTooSmallIsOneLineThatSaysSoAndExitCode5() throws Exception {
        List<String> lines = analysisStoppedForResources(List.of("-Xmx512m", "-Dorg.bytedeco.javacpp.maxBytes=1m"),
                "--no-cache");
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith("convsim: out of native memory for OpenBLAS (Cannot allocate new "),
                lines.get(0));
        assertTrue(lines.get(0).contains("): run it with a larger heap (the native budget is the heap's size unless"
                + " -Dorg.bytedeco.javacpp.maxBytes sets it), e.g. CONVSIM_JAVA_OPTS=-Xmx8g ./convsim analyze --out "),
                lines.get(0));
    }

    /**
     * Under -Xmx128m the demo's W0-null bases are spilled to a temporary file: where the temporary directory cannot
     * hold it, the run stops with one line naming the directory and the way out, exit code 5 (it was an "internal
     * error" with a trace, exit 1, on a full disk).
     */
    @Test
    void noRoomForTemporaryFilesIsOneLineAndExitCode5() throws Exception {
        Path missing = dir.resolve("no-such-tmp");
        List<String> lines = analysisStoppedForResources(List.of("-Xmx128m", "-Djava.io.tmpdir=" + missing),
                "--no-cache");
        assertEquals(List.of("convsim: cannot create a file for the W0 null's bases in " + missing + ": no such"
                + " directory; make room there, or give convsim another directory for temporary files:"
                + " CONVSIM_JAVA_OPTS=-Djava.io.tmpdir=DIR"), lines);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static void assertHeapWithin(JsonNode resources) {
        long max = resources.get("max_heap_bytes").asLong();
        assertTrue(max <= 112L << 20, "heap limit " + max);
        assertTrue(resources.get("peak_heap_bytes").asLong() <= max, resources.toString());
    }

    private void run(String... args) throws Exception {
        // the collector the launcher runs convsim with
        List<String> cmd = new ArrayList<>(List.of(java(), HEAP, "-Xss16m", "-XX:+UseParallelGC",
                "-Djava.awt.headless=true", "-Dconvsim.home=" + CliRunner.repo()));
        if (Runtime.version().feature() < 23) {
            // Java 17's GC locker: an allocation made while another thread is in a JNI critical region (zip's
            // deflater, for the figures) gives up after 2 retries, an out-of-memory error with the heap far from full
            // (once in this test's runs, under G1: "Retried waiting for GCLocker too often allocating 524290 words")
            cmd.addAll(List.of("-XX:+UnlockDiagnosticVMOptions", "-XX:GCLockerRetryAllocationCount=100"));
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), "io.github.convsim.cli.Main"));
        cmd.addAll(List.of(args));
        Path log = Files.createTempFile(dir, "log-" + args[0] + "-", ".txt");
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), String.join(" ", args) + " did not finish");
        assertEquals(0, p.exitValue(), String.join(" ", args) + ": " + Files.readString(log));
    }
}
