package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `analyze` with the W0 cache: the same report with it, without it, and from a damaged one. */
class CacheCommandTest {
    @TempDir
    Path dir;

    private static final String[] SMALL = {"--modules", "value", "--draws", "4", "-q"};

    private CliRunner.Result analyze(String out, String... extra) {
        List<String> args = new java.util.ArrayList<>(List.of("analyze", "--out", dir.resolve(out).toString()));
        args.addAll(List.of(SMALL));
        args.addAll(List.of(extra));
        return CliRunner.run(args.toArray(String[]::new));
    }

    private JsonNode cacheStats(String out) throws Exception {
        return new ObjectMapper().readTree(dir.resolve(out).resolve("summary.json").toFile()).get("provenance")
                .get("resources").get("w0_cache");
    }

    @Test
    void aSecondRunReadsWhatTheFirstLeftAndWritesTheSameReport() throws Exception {
        String cache = dir.resolve("cache").toString();
        CliRunner.Result none = analyze("none", "--no-cache");
        assertEquals(0, none.exit(), none.err());
        assertNull(cacheStats("none"), "a run without the cache records none");
        CliRunner.Result cold = analyze("cold", "--cache-dir", cache);
        assertEquals(0, cold.exit(), cold.err());
        CliRunner.Result warm = analyze("warm", "--cache-dir", cache);
        assertEquals(0, warm.exit(), warm.err());
        assertEquals(0, cacheStats("cold").get("hits").asInt());
        assertEquals(List.of("directory", "hits", "misses", "written", "written_bytes", "max_bytes"),
                CliRunner.fieldNames(cacheStats("cold")));
        // per layer: fp64 and fp32 factors; per module: the nulls, and layer 0's singular values; one Gaussian null
        assertEquals(12 * 2 + 2 + 1, cacheStats("cold").get("written").asInt());
        assertEquals(12 * 2 + 2 + 1, cacheStats("warm").get("hits").asInt());
        assertEquals(0, cacheStats("warm").get("misses").asInt());
        for (String f : List.of("similarity.csv", "diagnostics.csv")) {
            String expected = Files.readString(dir.resolve("none").resolve(f));
            assertEquals(expected, Files.readString(dir.resolve("cold").resolve(f)), f);
            assertEquals(expected, Files.readString(dir.resolve("warm").resolve(f)), f);
        }
        assertEquals("", warm.err());
    }

    @Test
    void aDamagedEntryIsNotedOnStderrEvenWhenQuietAndRecomputed() throws Exception {
        Path cache = dir.resolve("cache");
        assertEquals(0, analyze("cold", "--cache-dir", cache.toString()).exit());
        Path victim;
        try (Stream<Path> s = Files.list(cache)) {
            victim = s.filter(p -> p.toString().endsWith(".entry")).findFirst().orElseThrow();
        }
        byte[] b = Files.readAllBytes(victim);
        b[b.length - 1] ^= 0x7f;
        Files.write(victim, b);
        CliRunner.Result again = analyze("again", "--cache-dir", cache.toString());
        assertEquals(0, again.exit(), again.err());
        assertTrue(again.err().startsWith("convsim: note: cache entry " + victim), again.err());
        assertTrue(again.err().contains("corrupt (checksum mismatch); ignored, removed and computed afresh"),
                again.err());
        assertEquals(Files.readString(dir.resolve("cold").resolve("similarity.csv")),
                Files.readString(dir.resolve("again").resolve("similarity.csv")));
    }

    /**
     * compare takes the LU factors and cond(W0) analyze left (the value module's 12 layers, fp64), and writes the
     * tables a compare without the cache writes; a second compare finds them again.
     */
    @Test
    void compareReusesTheFactorsAnalyzeLeftAndWritesTheSameReport() throws Exception {
        String cache = dir.resolve("cache").toString();
        assertEquals(0, analyze("first", "--cache-dir", cache).exit());
        Path noisy = CompareCommandTest.derivedIn(dir, "noisy", 0.5, true, 3);
        List<String> common = List.of("compare", CompareCommandTest.demo().toString(), noisy.toString(), "--modules",
                "value", "--draws", "4", "-q");
        for (String[] run : new String[][] {{"c-none", "--no-cache"}, {"c-cached", "--cache-dir", cache},
                {"c-again", "--cache-dir", cache}}) {
            List<String> args = new java.util.ArrayList<>(common);
            args.addAll(List.of("--out", dir.resolve(run[0]).toString()));
            args.addAll(List.of(run).subList(1, run.length));
            CliRunner.Result r = CliRunner.run(args.toArray(String[]::new));
            assertEquals(0, r.exit(), r.err());
            assertEquals("", r.err());
        }
        assertNull(cacheStats("c-none"));
        for (String out : List.of("c-cached", "c-again")) {
            assertEquals(12, cacheStats(out).get("hits").asInt(), out);
            assertEquals(0, cacheStats(out).get("misses").asInt(), out);
            assertEquals(0, cacheStats(out).get("written").asInt(), out);
            assertEquals(Files.readString(dir.resolve("c-none").resolve("compare.csv")),
                    Files.readString(dir.resolve(out).resolve("compare.csv")), out);
        }
    }

    @Test
    void noCacheWithACacheDirectoryIsAUsageError() {
        CliRunner.Result r = analyze("x", "--no-cache", "--cache-dir", dir.resolve("c").toString());
        assertEquals(Main.EXIT_USAGE, r.exit());
        assertTrue(r.err().contains("--no-cache and --cache-dir contradict each other"), r.err());
        assertFalse(Files.exists(dir.resolve("x")));
        r = CliRunner.run("compare", CompareCommandTest.demo().toString(), CompareCommandTest.demo().toString(),
                "--out", dir.resolve("y").toString(), "--no-cache", "--cache-dir", dir.resolve("c").toString());
        assertEquals(Main.EXIT_USAGE, r.exit());
        assertTrue(r.err().contains("--no-cache and --cache-dir contradict each other"), r.err());
        assertFalse(Files.exists(dir.resolve("y")));
    }
}
