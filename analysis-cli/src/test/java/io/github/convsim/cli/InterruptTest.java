package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An analysis stopped half-way (SIGTERM, as Ctrl-C's shutdown path) leaves no partial report and old outputs intact. */
class InterruptTest {
    @TempDir
    Path dir;

    private static List<Path> list(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.toList();
        }
    }

    @Test
    void aKilledRunLeavesNothingHalfWritten() throws Exception {
        Path out = dir.resolve("report");
        Files.createDirectories(out);
        Files.writeString(out.resolve("summary.json"), "{\"previous\": true}");
        Files.writeString(out.resolve(".convsim-output"), "{\"format\": \"convsim-output\", \"version\": 1, \"command\": \"analyze\"}");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-Xss16m", "-Djava.awt.headless=true",
                "-Dconvsim.home=" + CliRunner.repo(), "-cp", System.getProperty("java.class.path"),
                "io.github.convsim.cli.Main", "analyze", "--out", out.toString(), "--draws", "400")
                .redirectErrorStream(true).redirectOutput(dir.resolve("log.txt").toFile()).start();
        // wait until the run has made its temporary directory beside the report, then stop it
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (list(dir).stream().noneMatch(f -> f.getFileName().toString().startsWith(".report.tmp-"))) {
            assertTrue(p.isAlive(), "the run ended before it could be stopped: " + Files.readString(dir.resolve("log.txt")));
            assertTrue(System.nanoTime() < deadline, "no temporary directory appeared");
            Thread.sleep(20);
        }
        p.destroy(); // SIGTERM: the JVM runs its shutdown hooks, as on Ctrl-C
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertNotEquals(0, p.exitValue());
        assertEquals("{\"previous\": true}", Files.readString(out.resolve("summary.json")));
        assertEquals(List.of("log.txt", "report"), list(dir).stream().map(f -> f.getFileName().toString()).sorted()
                .toList(), "only the old report and the log remain");
    }
}
