package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.PowerCurve;
import io.github.convsim.similarity.Side;
import org.junit.jupiter.api.Test;

class VerdictsTest {
    @Test
    void aFamilyOfOneIsCountedInTheSingular() {
        assertEquals("Holm-adjusted over 1 map 0.012", Verdicts.adjusted(Correction.HOLM, 1, "maps", 0.012));
        assertEquals("BH-adjusted over 4 tests 0.048", Verdicts.adjusted(Correction.BH, 4, "tests", 0.048));
        assertEquals("uncorrected", Verdicts.adjusted(Correction.NONE, 1, "maps", 0.012));
    }

    /** C_dW's power from plants of C_B is exact at i = j = r (the same column space) and says it is not below r. */
    @Test
    void cDwBelowItsRankSaysItsPowerIsAnApproximation() {
        PowerCurve.Detectable d = new PowerCurve.Detectable(0.1, 0.0073, 8, 0.05 / 6);
        assertTrue(Verdicts.dwBelowRank(d, "C_dW", Side.LEFT, 4, 4, 8).contains("for C_dW this power is an"
                + " approximation"));
        assertFalse(Verdicts.dwBelowRank(d, "C_dW", Side.LEFT, 8, 4, 8).isEmpty(), "j below r depends on A too");
        assertTrue(Verdicts.dwBelowRank(d, "C_dW", Side.LEFT, 8, 8, 8).isEmpty());
        assertTrue(Verdicts.dwBelowRank(d, "C_B", Side.LEFT, 4, 4, 8).isEmpty());
        assertTrue(Verdicts.dwBelowRank(null, "C_dW", Side.LEFT, 4, 4, 8).isEmpty(), "no power, nothing to qualify");
    }
}
