package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** convsim replaces only what it wrote, never an input or a protected directory, and never what appears meanwhile. */
class AtomicOutputTest {
    @TempDir
    Path dir;

    private static void write(AtomicOutput out, String file, String text) throws IOException {
        out.commit(d -> Files.writeString(d.resolve(file), text));
    }

    private Path report(String name, String command) throws IOException {
        Path target = dir.resolve(name);
        try (AtomicOutput out = AtomicOutput.prepare(target, false, command, List.of())) {
            write(out, "summary.json", "{}");
        }
        return target;
    }

    private static List<String> names(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void aNewReportCarriesTheMarkerAndReplacesItsOwnPredecessor() throws Exception {
        Path target = report("r", "analyze");
        assertEquals(List.of(".convsim-output", "summary.json"), names(target));
        assertEquals("analyze", AtomicOutput.marker(target).orElseThrow().get("command").asText());
        assertEquals(AtomicOutput.FORMAT_VERSION, AtomicOutput.marker(target).orElseThrow().get("version").asInt());
        Files.writeString(target.resolve("extra.txt"), "old");
        try (AtomicOutput out = AtomicOutput.prepare(target, false, "analyze", List.of())) {
            write(out, "summary.json", "{\"second\": true}");
        }
        assertEquals(List.of(".convsim-output", "summary.json"), names(target));
        assertEquals("{\"second\": true}", Files.readString(target.resolve("summary.json")));
        assertEquals(List.of("r"), names(dir), "nothing else is left beside it");
    }

    @Test
    void anythingConvsimDidNotWriteIsRefusedWithOrWithoutForce() throws Exception {
        Path thesis = dir.resolve("thesis");
        Files.createDirectories(thesis);
        Files.writeString(thesis.resolve("ch1.tex"), "work");
        Path file = Files.writeString(dir.resolve("notes.txt"), "notes");
        Path fakeMarker = dir.resolve("fake");
        Files.createDirectories(fakeMarker);
        Files.writeString(fakeMarker.resolve(AtomicOutput.MARKER), "not json at all");
        for (Path target : List.of(thesis, file, fakeMarker)) {
            for (boolean force : new boolean[] {false, true}) {
                OutputException e = assertThrows(OutputException.class,
                        () -> AtomicOutput.prepare(target, force, "analyze", List.of()));
                assertTrue(e.getMessage().startsWith("cannot write to " + target + ": "), e.getMessage());
                assertTrue(e.getMessage().contains("convsim replaces only its own reports"), e.getMessage());
            }
        }
        assertEquals("work", Files.readString(thesis.resolve("ch1.tex")));
        assertEquals("notes", Files.readString(file));
    }

    @Test
    void anotherCommandsReportNeedsForce() throws Exception {
        Path target = report("r", "analyze");
        OutputException e = assertThrows(OutputException.class,
                () -> AtomicOutput.prepare(target, false, "compare", List.of()));
        assertTrue(e.getMessage().contains("holds a report of `convsim analyze`; use --force"), e.getMessage());
        try (AtomicOutput out = AtomicOutput.prepare(target, true, "compare", List.of())) {
            write(out, "comparison.json", "{}");
        }
        assertEquals("compare", AtomicOutput.marker(target).orElseThrow().get("command").asText());
    }

    @Test
    void inputsAndProtectedDirectoriesAreNeverTheDestination() throws Exception {
        Path adapter = Files.createDirectories(dir.resolve("models/adapter"));
        Path base = Files.writeString(dir.resolve("models/base.safetensors"), "x");
        String[][] cases = {
            {adapter.toString(), "it is an input of this run"},
            {dir.resolve("models").toString(), "it contains " + adapter + ", an input of this run"},
            {Path.of("").toAbsolutePath().toString(), "it is the working directory"},
            {"/", "it is the root of the file system"},
        };
        for (String[] c : cases) {
            OutputException e = assertThrows(OutputException.class,
                    () -> AtomicOutput.prepare(Path.of(c[0]), true, "analyze", List.of(adapter, base)));
            assertTrue(e.getMessage().contains(c[1]), e.getMessage());
        }
        Path repo = Files.createDirectories(dir.resolve("repo/.git"));
        OutputException vcs = assertThrows(OutputException.class,
                () -> AtomicOutput.prepare(repo.getParent(), true, "analyze", List.of()));
        assertTrue(vcs.getMessage().contains("root of a version-controlled tree"), vcs.getMessage());
        String home = System.getProperty("user.home");
        try {
            System.setProperty("user.home", dir.resolve("models").toString());
            OutputException e = assertThrows(OutputException.class,
                    () -> AtomicOutput.prepare(dir.resolve("models"), true, "analyze", List.of()));
            assertTrue(e.getMessage().contains("it is the home directory"), e.getMessage());
        } finally {
            System.setProperty("user.home", home);
        }
        // a report may be written inside any of them
        try (AtomicOutput out = AtomicOutput.prepare(adapter.resolve("report"), false, "analyze",
                List.of(adapter, base))) {
            write(out, "summary.json", "{}");
        }
        assertTrue(Files.isRegularFile(adapter.resolve("report/summary.json")));
    }

    @Test
    void whatAppearsWhileWritingIsNeverDeleted() throws Exception {
        Path target = dir.resolve("r");
        try (AtomicOutput out = AtomicOutput.prepare(target, false, "analyze", List.of())) {
            OutputException e = assertThrows(OutputException.class, () -> out.commit(d -> {
                Files.writeString(d.resolve("summary.json"), "{}");
                Files.createDirectories(target);
                Files.writeString(target.resolve("mine.txt"), "the user's");
            }));
            assertTrue(e.getMessage().contains("left as it is"), e.getMessage());
        }
        assertEquals(List.of("mine.txt"), names(target));
        assertEquals(List.of("r"), names(dir), "the temporary directory and the lock file are gone");
    }

    @Test
    void aSecondWriterIsRefusedWhileTheFirstHoldsTheLock() throws Exception {
        Path target = dir.resolve("r");
        try (AtomicOutput first = AtomicOutput.prepare(target, false, "analyze", List.of())) {
            OutputException e = assertThrows(OutputException.class,
                    () -> AtomicOutput.prepare(target, false, "analyze", List.of()));
            assertTrue(e.getMessage().contains("another convsim run is writing there now"), e.getMessage());
            write(first, "summary.json", "{}");
        }
        try (AtomicOutput again = AtomicOutput.prepare(target, false, "analyze", List.of())) {
            write(again, "summary.json", "{}");
        }
    }

    @Test
    void leftoversOfDeadRunsGoOthersStay() throws Exception {
        long dead = ProcessHandle.current().pid() + 1_000_000; // no such process
        long alive = ProcessHandle.current().pid();
        Path deadTemp = Files.createDirectories(dir.resolve(".r.tmp-" + dead + "-abc"));
        Files.writeString(deadTemp.resolve(AtomicOutput.MARKER), "{\"format\": \"convsim-output\", \"version\": 1}");
        Path deadOld = Files.createDirectories(dir.resolve(".r.old-" + dead + "-def"));
        Path aliveTemp = Files.createDirectories(dir.resolve(".r.tmp-" + alive + "-abc"));
        Files.writeString(aliveTemp.resolve(AtomicOutput.MARKER), "{\"format\": \"convsim-output\", \"version\": 1}");
        Path notOurs = Files.createDirectories(dir.resolve(".r.tmp-" + dead + "-fed"));
        Files.writeString(notOurs.resolve("data.bin"), "someone else's");
        try (AtomicOutput out = AtomicOutput.prepare(dir.resolve("r"), false, "analyze", List.of())) {
            write(out, "summary.json", "{}");
        }
        assertFalse(Files.exists(deadTemp));
        assertFalse(Files.exists(deadOld), "an empty one of a dead run goes too");
        assertTrue(Files.exists(aliveTemp), "a running process' directory stays");
        assertTrue(Files.exists(notOurs.resolve("data.bin")), "a directory without the marker stays");
    }

    /**
     * A killed run's shutdown hook removes the temporary directory while another thread still writes into it (a
     * module's figures): nothing may be left, whichever file the writer was creating. Deleting in place lost this race
     * (a file created after the listing kept the directory); the hook moves it aside first.
     */
    @Test
    void theShutdownCleanupRemovesTheDirectoryWhileAWriterFillsIt() throws Exception {
        for (int round = 0; round < 20; round++) {
            Path temp = Files.createDirectories(dir.resolve(".r.tmp-" + ProcessHandle.current().pid() + "-ab" + round));
            Path figures = Files.createDirectories(temp.resolve("figures"));
            for (int i = 0; i < 200; i++) {
                Files.writeString(figures.resolve("old" + i + ".png"), "x");
            }
            java.util.concurrent.atomic.AtomicBoolean stopped = new java.util.concurrent.atomic.AtomicBoolean();
            java.util.concurrent.CountDownLatch writing = new java.util.concurrent.CountDownLatch(1);
            java.util.concurrent.atomic.AtomicBoolean cancelled = new java.util.concurrent.atomic.AtomicBoolean();
            Thread writer = new Thread(() -> {
                for (int i = 0; !cancelled.get(); i++) {
                    try {
                        Files.writeString(figures.resolve("f" + i + ".png"), "x");
                    } catch (IOException gone) {
                        stopped.set(true);
                        return;
                    }
                    writing.countDown();
                }
            });
            writer.start();
            writing.await();
            AtomicOutput.discard(temp);
            writer.join(5_000);
            cancelled.set(true);
            assertTrue(stopped.get(), "the writer cannot go on once the directory is gone");
            assertEquals(List.of(), names(dir), "round " + round + ": nothing is left");
        }
    }

    @Test
    void theOperatingSystemsReasonIsFoundThroughWrappers() {
        IOException disk = new IOException("No space left on device");
        assertEquals("No space left on device",
                AtomicOutput.reason(new javax.imageio.IIOException("I/O error writing PNG file!", disk)));
        assertEquals("permission denied (/x/y)",
                AtomicOutput.reason(new java.nio.file.AccessDeniedException("/x/y")));
        assertEquals("Read-only file system (/x)",
                AtomicOutput.reason(new java.nio.file.FileSystemException("/x", null, "Read-only file system")));
    }
}
