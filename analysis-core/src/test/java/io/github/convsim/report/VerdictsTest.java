package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.similarity.MultipleTesting.Correction;
import org.junit.jupiter.api.Test;

class VerdictsTest {
    @Test
    void aFamilyOfOneIsCountedInTheSingular() {
        assertEquals("Holm-adjusted over 1 map 0.012", Verdicts.adjusted(Correction.HOLM, 1, "maps", 0.012));
        assertEquals("BH-adjusted over 4 tests 0.048", Verdicts.adjusted(Correction.BH, 4, "tests", 0.048));
        assertEquals("uncorrected", Verdicts.adjusted(Correction.NONE, 1, "maps", 0.012));
    }
}
