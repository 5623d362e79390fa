package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;

/** The benchmark runs and reports its ratios; its numbers are read by people, not asserted. */
class BenchCommandTest {
    @Test
    void reportsSolveThroughputAgainstDgemm() {
        CliRunner.Result r = CliRunner.run("bench", "--n", "96", "--count", "2", "--rank", "4", "--reps", "1");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("solve 24 x 768x768"), r.out());
        assertTrue(r.out().contains("solve 2 x 96x96"), r.out());
        assertEquals(2, r.out().split("ratio to dgemm", -1).length - 1, r.out());
    }
}
