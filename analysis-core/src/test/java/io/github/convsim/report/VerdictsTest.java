package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.PowerCurve;
import org.junit.jupiter.api.Test;

class VerdictsTest {
    @Test
    void aFamilyOfOneIsCountedInTheSingular() {
        assertEquals("Holm-adjusted over 1 map 0.012", Verdicts.adjusted(Correction.HOLM, 1, "maps", 0.012));
        assertEquals("BH-adjusted over 4 tests 0.048", Verdicts.adjusted(Correction.BH, 4, "tests", 0.048));
        assertEquals("uncorrected", Verdicts.adjusted(Correction.NONE, 1, "maps", 0.012));
    }

    /** The advice to draw more comes only where nothing is detected and the null is smaller than the default. */
    @Test
    void fewDrawsAdviseMoreOnlyWhereNothingIsDetected() {
        PowerCurve.Detectable none = new PowerCurve.Detectable(Double.NaN, Double.NaN, 8, 0.05 / 16, 3);
        assertEquals(" (the W0 null has only 2 draws, too few for a small p: more --draws, 32 by default, sharpen the"
                + " test)", Verdicts.fewDraws(none, 2, 32, "draws", 32));
        assertEquals("", Verdicts.fewDraws(none, 32, 32, "draws", 32), "the default: low power is the answer");
        assertEquals("", Verdicts.fewDraws(new PowerCurve.Detectable(0.2, 0.0165, 8, 0.05 / 16, 7), 2, 32, "draws",
                32), "something detected");
        assertEquals("", Verdicts.fewDraws(null, 2, 32, "draws", 32), "no power estimated");
    }

    /** A curve detected at every level planted says so: its limit may lie beyond the largest noise. */
    @Test
    void detectionAtTheLargestNoiseSaysItIsTheLargestPlanted() {
        double[] levels = io.github.convsim.similarity.PlantedControl.NOISE;
        assertEquals(", the largest planted", Verdicts.largestPlanted(levels[levels.length - 1], levels));
        assertEquals("", Verdicts.largestPlanted(levels[levels.length - 2], levels));
        assertTrue(ComparisonReport.powerClause(new PowerCurve.Detectable(5, 0.0473, 8, 0.05 / 3, 8), "this 'no'", false,
                "factors").contains("agree up to noise 5 of their size, the largest planted (plants averaging phi"
                + " 0.0473)"));
    }
}
