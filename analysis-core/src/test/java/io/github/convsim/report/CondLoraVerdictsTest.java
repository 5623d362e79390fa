package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.condlora.R2Null;
import io.github.convsim.condlora.SharedLayerPlants;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullDistribution;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** CondLoRA verdicts: one-sided tests against both nulls, the larger p, Holm over every module's A, B and dW. */
class CondLoraVerdictsTest {
    /** {@code k} draws around {@code mean} with relative spread {@code spread}, seeded. */
    private static double[] draws(double mean, double spread, long seed) {
        Random rng = new Random(seed);
        double[] v = new double[32];
        for (int k = 0; k < v.length; k++) {
            v[k] = mean * (1 + spread * rng.nextGaussian());
        }
        return v;
    }

    private static ModuleFit fit(String module, double r2A, double r2B, double dw, R2Null gaussian, R2Null shuffled) {
        return new ModuleFit(module, List.of(), null, null, List.of(), r2A, r2B, dw, gaussian, shuffled, null, 1.0 / 12,
                0);
    }

    /**
     * A test the nulls' draws cannot settle says so: its p range is the larger of the two nulls' ranges at each end,
     * and where the answer differs between the ends (A observed where p against the wider null is near the level) the
     * sentence says it is undecided; far beyond both nulls it is decided.
     */
    @Test
    void aTestTheDrawsCannotSettleIsUndecided() {
        R2Null gaussian = new R2Null("gaussian", draws(0.083, 0.02, 1), draws(0.083, 0.02, 2), draws(0.995, 0.0005, 3));
        R2Null shuffled = new R2Null("shuffled", draws(0.083, 0.02, 4), draws(0.083, 0.02, 5), draws(0.996, 0.0005, 6));
        double[] gA = gaussian.r2A();
        double[] sA = shuffled.r2A();
        // the observed R^2 of A where the larger of the two nulls' p is about 0.05, found by bisection
        double lo = 0.083;
        double hi = 0.2;
        for (int it = 0; it < 60; it++) {
            double mid = (lo + hi) / 2;
            double pm = Math.max(NullDistribution.predictiveP(gA, mid, true), NullDistribution.predictiveP(sA, mid,
                    true));
            if (pm > 0.05) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        ModuleFit atLevel = fit("m", hi, 0.083, 0.9955, gaussian, shuffled);
        CondLoraVerdicts.Test a = CondLoraVerdicts.judge(List.of(atLevel), Correction.NONE).get(0);
        double[] rg = NullDistribution.predictivePRange(gA, hi, true);
        double[] rs = NullDistribution.predictivePRange(sA, hi, true);
        assertEquals(Math.max(rg[0], rs[0]), a.pLow(), 0);
        assertEquals(Math.max(rg[1], rs[1]), a.pHigh(), 0);
        assertFalse(a.decided(), a.toString());
        assertTrue(CondLoraReport.verdict(atLevel).contains("Not decided by the nulls' 32 draws: over resamplings of"
                + " them p lies between " + Verdicts.p(a.pLow()) + " and " + Verdicts.p(a.pHigh())),
                CondLoraReport.verdict(atLevel));
        CondLoraVerdicts.Test far = CondLoraVerdicts.judge(List.of(fit("m", 0.3, 0.083, 0.9955, gaussian, shuffled)),
                Correction.NONE).get(0);
        assertTrue(far.beyond() && far.decided(), far.toString());
    }

    @Test
    void eachPartMustBeatBothNullsAfterHolm() {
        R2Null gaussian = new R2Null("gaussian", draws(0.083, 0.02, 1), draws(0.083, 0.02, 2), draws(0.995, 0.0005, 3));
        R2Null shuffled = new R2Null("shuffled", draws(0.083, 0.02, 4), draws(0.090, 0.05, 5), draws(0.996, 0.0005, 6));
        // strong: A far above both; B above the Gaussian null but inside the wider shuffled one; dW far below both
        // weak: everything inside the nulls
        List<ModuleFit> fits = List.of(fit("strong", 0.12, 0.092, 0.98, gaussian, shuffled),
                fit("weak", 0.083, 0.083, 0.9955, gaussian, shuffled));
        List<CondLoraVerdicts.Test> tests = CondLoraVerdicts.judge(fits, Correction.HOLM);
        assertEquals(6, tests.size());
        double[][] nullsOf = {gaussian.r2A(), shuffled.r2A(), gaussian.r2B(), shuffled.r2B(), gaussian.dwError(),
            shuffled.dwError()};
        double[] observed = {0.12, 0.092, 0.98, 0.083, 0.083, 0.9955};
        double[] p = new double[6];
        for (int k = 0; k < 6; k++) {
            CondLoraVerdicts.Test t = tests.get(k);
            assertEquals(k < 3 ? "strong" : "weak", t.module());
            assertEquals(List.of("A", "B", "dW").get(k % 3), t.factor());
            boolean upper = k % 3 != 2;
            double pg = NullDistribution.predictiveP(nullsOf[2 * (k % 3)], observed[k], upper);
            double ps = NullDistribution.predictiveP(nullsOf[2 * (k % 3) + 1], observed[k], upper);
            assertEquals(pg, t.pGaussian(), 0);
            assertEquals(ps, t.pShuffled(), 0);
            assertEquals(Math.max(pg, ps), t.p(), 0);
            p[k] = t.p();
        }
        // Holm by hand: sorted ascending, p_(i) (m - i), running maximum, capped at 1
        Integer[] order = {0, 1, 2, 3, 4, 5};
        Arrays.sort(order, (a, b) -> Double.compare(p[a], p[b]));
        double running = 0;
        for (int i = 0; i < 6; i++) {
            running = Math.max(running, Math.min(1, p[order[i]] * (6 - i)));
            assertEquals(running, tests.get(order[i]).pAdjusted(), 1e-15);
            assertEquals(6, tests.get(order[i]).familySize());
        }
        assertTrue(tests.get(0).beyond(), "A far above both nulls: " + tests.get(0));
        assertTrue(tests.get(0).p() < 1e-6);
        assertTrue(tests.get(1).pGaussian() < 0.01 && tests.get(1).pShuffled() > 0.1,
                "B beats the Gaussian null only: " + tests.get(1));
        assertFalse(tests.get(1).beyond());
        assertTrue(tests.get(2).beyond(), "dW's error far below both: " + tests.get(2));
        for (int k = 3; k < 6; k++) {
            assertFalse(tests.get(k).beyond(), tests.get(k).toString());
        }
        // the lower tail is the upper one's complement
        assertEquals(1, NullDistribution.predictiveP(gaussian.dwError(), 0.995, true)
                + NullDistribution.predictiveP(gaussian.dwError(), 0.995, false), 1e-14);
        // and the sentences say it: one part beyond both nulls per verdict, or none
        List<String> words = CondLoraReport.verdicts(fits);
        assertEquals(2, words.get(0).split("beyond both nulls").length - 1, words.get(0));
        assertTrue(words.get(0).contains("Holm-adjusted over 6 tests"), words.get(0));
        assertEquals(3, words.get(1).split("no more than unrelated targets give").length - 1, words.get(1));
        // judged alone, a module's family is its own three tests
        assertTrue(CondLoraReport.verdict(fits.get(1)).contains("Holm-adjusted over 3 tests"));
    }

    /**
     * Power: the largest noise up to which at least 80 % of the plants beat both nulls at alpha over the family
     * size, counted by hand; the sentence of a 'no' names it, and a fit without plants says power was not estimated.
     */
    @Test
    void powerIsTheLargestNoiseWhereFourInFivePlantsBeatBothNullsAtTheBonferroniBound() {
        R2Null gaussian = new R2Null("gaussian", draws(0.083, 0.02, 1), draws(0.083, 0.02, 2), draws(0.995, 0.0005, 3));
        R2Null shuffled = new R2Null("shuffled", draws(0.083, 0.02, 4), draws(0.085, 0.03, 5), draws(0.996, 0.0005, 6));
        double[] noise = SharedLayerPlants.NOISE;
        int reps = SharedLayerPlants.REPETITIONS;
        double[][] r2A = new double[noise.length][reps];
        double[][] r2B = new double[noise.length][reps];
        double[][] dw = new double[noise.length][reps];
        Random rng = new Random(9);
        for (int e = 0; e < noise.length; e++) {
            for (int k = 0; k < reps; k++) {
                double shared = 1 / (1 + noise[e] * noise[e]);
                double jitter = 1 + 0.01 * rng.nextGaussian();
                r2A[e][k] = (shared + (1 - shared) * 0.083) * jitter;
                r2B[e][k] = r2A[e][k];
                dw[e][k] = Math.min(1, Math.sqrt(1 - shared) * jitter);
            }
        }
        SharedLayerPlants plants = new SharedLayerPlants(noise.clone(), r2A, r2B, dw);
        ModuleFit weak = new ModuleFit("weak", List.of(), null, null, List.of(), 0.083, 0.083, 0.9955, gaussian,
                shuffled, plants, 1.0 / 12, 0);
        List<CondLoraVerdicts.Test> tests = CondLoraVerdicts.judge(List.of(weak), Correction.HOLM);
        double threshold = 0.05 / 3;
        double[][][] statOf = {r2A, r2B, dw};
        double[][][] nullsOf = {{gaussian.r2A(), shuffled.r2A()}, {gaussian.r2B(), shuffled.r2B()},
            {gaussian.dwError(), shuffled.dwError()}};
        for (int part = 0; part < 3; part++) {
            double expected = Double.NaN;
            for (int e = 0; e < noise.length; e++) {
                int detected = 0;
                for (double v : statOf[part][e]) {
                    boolean upper = part != 2;
                    double pv = Math.max(NullDistribution.predictiveP(nullsOf[part][0], v, upper),
                            NullDistribution.predictiveP(nullsOf[part][1], v, upper));
                    detected += pv < threshold ? 1 : 0;
                }
                if (detected * 5 < reps * 4) {
                    break;
                }
                expected = noise[e];
            }
            io.github.convsim.similarity.PowerCurve.Detectable power = tests.get(part).power();
            assertEquals(threshold, power.threshold(), 1e-15);
            assertEquals(reps, power.repetitions());
            assertEquals(expected, power.noise(), 0, "part " + part);
            // with these plants every part detects a shared layer well past noise 1 and short of the largest planted
            assertTrue(power.noise() > 1 && power.noise() < noise[noise.length - 1], "part " + part + ": " + power);
            int at = Arrays.binarySearch(noise, power.noise());
            assertEquals(Arrays.stream(statOf[part][at]).average().orElseThrow(), power.plantMean(), 1e-15);
        }
        String words = CondLoraReport.verdict(weak);
        assertTrue(words.contains("it detects a layer shared by all layers up to noise "
                + Verdicts.noise(tests.get(0).power().noise()) + " of its size (plants explaining"), words);
        assertTrue(CondLoraReport.verdict(fit("unplanted", 0.083, 0.083, 0.9955, gaussian, shuffled))
                .contains("its power was not estimated"));
        assertEquals("0.025", Verdicts.noise(0.025));
        assertEquals("7.5", Verdicts.noise(7.5));
        assertEquals("50", Verdicts.noise(50));
    }

    /** p-values as the sentences print them: a tail that underflows to 0 is a bound, not zero. */
    @Test
    void pValuesPrintTwoDigitsAndNeverZero() {
        assertEquals("0.024", Verdicts.p(0.0241));
        assertEquals("8.3e-04", Verdicts.p(8.3e-4));
        assertEquals("3.5e-300", Verdicts.p(3.5e-300));
        assertEquals("< 2.2e-308", Verdicts.p(0));
        assertEquals("< 2.2e-308", Verdicts.p(Double.MIN_VALUE));
        assertEquals("n/a", Verdicts.p(Double.NaN));
        assertEquals("p = 0.024", Verdicts.pIs(0.0241));
        assertEquals("p < 2.2e-308", Verdicts.pIs(0));
        // a test whose tail underflows: the sentence gives the bound
        R2Null tight = new R2Null("gaussian", draws(0.083, 1e-12, 1), draws(0.083, 1e-12, 2), draws(0.995, 1e-12, 3));
        String words = CondLoraReport.verdict(fit("far", 0.9, 0.083, 0.9955, tight, tight));
        assertTrue(words.contains("p < 2.2e-308 against both nulls"), words);
    }
}
