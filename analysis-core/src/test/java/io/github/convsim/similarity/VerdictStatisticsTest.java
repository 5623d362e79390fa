package io.github.convsim.similarity;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.CpuBackendTest;
import io.github.convsim.TestData;
import io.github.convsim.conversion.Factor;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import io.github.convsim.similarity.MultipleTesting.Correction;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.apache.commons.math3.distribution.NormalDistribution;
import org.junit.jupiter.api.Test;

/**
 * The statistics behind a verdict: adjusted p-values against hand computations, p uniform under the null, the normal
 * fit of the W0 null's average checked against many draws, a planted shared map detected after correction, and maps
 * without a verdict flagged.
 */
class VerdictStatisticsTest extends CpuBackendTest {

    @Test
    void holmAndBenjaminiHochbergAgainstHandComputedCases() {
        double[] p = {0.01, 0.04, 0.03, 0.005, Double.NaN};
        // Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04, then running maximum
        assertArrayEquals(new double[] {0.03, 0.06, 0.06, 0.02, Double.NaN}, MultipleTesting.adjust(p, Correction.HOLM),
                1e-15);
        // BH: times 4/1, 4/2, 4/3, 4/4 = 0.02, 0.02, 0.04, 0.04, then running minimum from the largest
        assertArrayEquals(new double[] {0.02, 0.04, 0.04, 0.02, Double.NaN}, MultipleTesting.adjust(p, Correction.BH),
                1e-15);
        assertArrayEquals(p, MultipleTesting.adjust(p, Correction.NONE), 0);
        assertArrayEquals(new double[] {1, 1}, MultipleTesting.adjust(new double[] {0.7, 0.9}, Correction.HOLM), 0);
    }

    private static SimilaritySettings w0Only(int draws, long seed) {
        return new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.A), Set.of(NullModel.W0), draws, seed,
                Set.of());
    }

    @Test
    void pIsUniformUnderTheNull() {
        // a random adapter is a draw of the W0 null itself: its p must be uniform
        int runs = 300;
        double[] p = new double[runs];
        double[] mc = new double[runs];
        for (int k = 0; k < runs; k++) {
            SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(1000 + k, 5, 16, 2);
            Heatmap h = SimilarityAnalysisTest.run(s, w0Only(16, 77 + k)).get(0);
            p[k] = h.w0().pValue(h.average());
            mc[k] = h.w0().pMonteCarlo(h.average());
        }
        Arrays.sort(p);
        double d = 0;
        for (int k = 0; k < runs; k++) {
            d = Math.max(d, Math.max(Math.abs(p[k] - (double) k / runs), Math.abs(p[k] - (k + 1.0) / runs)));
        }
        // Kolmogorov-Smirnov against U(0, 1) at the 1 % level: D < 1.63 / sqrt(n)
        assertTrue(d < 1.63 / Math.sqrt(runs), "KS distance " + d);
        long below = Arrays.stream(p).filter(v -> v < 0.05).count();
        assertTrue(below >= 5 && below <= 27, "p < 0.05 in " + below + " of " + runs + " null runs (15 expected)");
        long mcBelow = Arrays.stream(mc).filter(v -> v < 0.1).count();
        assertTrue(mcBelow >= 14 && mcBelow <= 48, "Monte Carlo p < 0.1 in " + mcBelow + " (30 expected)");
    }

    @Test
    void theW0NullsAverageIsCloseToLogNormalInTheTailWhereVerdictsAreDecided() {
        // 2,000 draws of one small module's W0 null (skewed most: 6 layers, n = 24): how many lie above the fitted
        // 95 %, 99 % and 99.5 % points, against the 100, 20 and 10 a right fit gives (bounds: about 3 binomial sd)
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(9, 6, 24, 3);
        Heatmap h = SimilarityAnalysisTest.run(s, w0Only(2000, 3)).get(0);
        double[] logs = Arrays.stream(h.w0().averages()).map(Math::log).toArray();
        var stats = new org.apache.commons.math3.stat.descriptive.DescriptiveStatistics(logs);
        NormalDistribution fit = new NormalDistribution(stats.getMean(), stats.getStandardDeviation());
        double[][] expected = {{0.95, 100, 30}, {0.99, 20, 14}, {0.995, 10, 10}};
        for (double[] e : expected) {
            long above = Arrays.stream(logs).filter(v -> v > fit.inverseCumulativeProbability(e[0])).count();
            assertTrue(Math.abs(above - e[1]) <= e[2], "above the fitted " + e[0] + " point: " + above + " of 2000");
        }
        // and the verdict's p of a draw itself is then uniform at the levels that matter
        long small = Arrays.stream(h.w0().averages()).filter(v -> h.w0().pValue(v) < 0.01).count();
        assertTrue(small <= 36, "p < 0.01 for " + small + " of 2000 null draws (20 expected)");
    }

    /** Layers whose A^T = W0_l M + noise: one conversion matrix M shared by every layer, noise of relative size eps. */
    private static SimilarityAnalysisTest.Setup planted(long seed, int layers, int n, int r, double eps) {
        Random rng = new Random(seed);
        Matrix m = new Matrix(n, r, TestData.gaussian(rng, n * r));
        List<LoraModule> ls = new ArrayList<>();
        List<Matrix> ws = new ArrayList<>();
        for (int l = 0; l < layers; l++) {
            Matrix w0 = new Matrix(n, n, TestData.gaussian(rng, n * n));
            Matrix at = w0.times(m);
            Matrix noise = new Matrix(n, r, TestData.gaussian(rng, n * r));
            double scale = eps * at.frobeniusNorm() / noise.frobeniusNorm();
            double[] d = at.data();
            for (int i = 0; i < d.length; i++) {
                d[i] += scale * noise.data()[i];
            }
            ls.add(new LoraModule("m", "x." + l + ".m", l, "k", false, 0, r, r, 1, at.transpose(),
                    new Matrix(n, r, TestData.gaussian(rng, n * r)), false));
            ws.add(w0);
        }
        return new SimilarityAnalysisTest.Setup(ls, ws);
    }

    @Test
    void aPlantedSharedMapIsDetectedAfterCorrectionAndItsAbsenceIsNot() {
        List<Heatmap> maps = new ArrayList<>();
        for (int k = 0; k < 3; k++) {
            maps.add(SimilarityAnalysisTest.run(planted(50 + k, 6, 24, 3, 0.1), w0Only(16, k)).get(0));
        }
        for (int k = 0; k < 3; k++) {
            maps.add(SimilarityAnalysisTest.run(SimilarityAnalysisTest.setup(60 + k, 6, 24, 3), w0Only(16, k)).get(0));
        }
        List<MapVerdict> v = MapVerdict.judge(maps, Correction.HOLM, MapVerdict.ALPHA);
        for (int k = 0; k < 6; k++) {
            assertEquals(MapVerdict.Status.TESTED, v.get(k).status());
            assertEquals(6, v.get(k).familySize());
            assertEquals(k < 3 ? "yes" : "no", v.get(k).answer(), k + ": " + v.get(k));
        }
        assertTrue(v.get(0).pAdjusted() < 1e-3, "a planted map at noise 0.1 is far past the bound: " + v.get(0));
    }

    /** A map whose own null over 32 draws, with the observed average {@code z} predictive sds above the draws' mean. */
    private static Heatmap mapAt(double z) {
        java.util.Random rng = new java.util.Random(3);
        double[] averages = new double[32];
        double[] logs = new double[32];
        for (int d = 0; d < 32; d++) {
            logs[d] = Math.log(0.02) + 0.05 * rng.nextGaussian();
            averages[d] = Math.exp(logs[d]);
        }
        org.apache.commons.math3.stat.descriptive.DescriptiveStatistics s =
                new org.apache.commons.math3.stat.descriptive.DescriptiveStatistics(logs);
        double observed = Math.exp(s.getMean() + z * s.getStandardDeviation() * Math.sqrt(1 + 1.0 / 32));
        double[][] cells = new double[][] {{1, observed}, {observed, 1}};
        NullDistribution w0 = new NullDistribution("w0", 32, cells, cells, cells, cells, cells, averages);
        return new Heatmap("value", "C_A", Side.LEFT, 8, 8, 768, 768, new int[] {0, 1}, new int[] {8, 8},
                new int[] {8, 8}, cells, observed, cells, 8.0 / 768, null, w0, null);
    }

    /**
     * A verdict the null's own draws cannot settle says so: at t = 1.7 (p about 0.05, the level) resampling the 32
     * draws puts p on both sides of alpha; at t = 6 every resampling agrees.
     */
    @Test
    void aVerdictAtTheLevelIsUndecidedByTheDraws() {
        MapVerdict atLevel = MapVerdict.judge(List.of(mapAt(1.7)), Correction.HOLM, MapVerdict.ALPHA).get(0);
        assertEquals(MapVerdict.Status.TESTED, atLevel.status());
        assertTrue(atLevel.p() > 0.03 && atLevel.p() < 0.07, atLevel.toString());
        assertTrue(atLevel.pLow() < MapVerdict.ALPHA && atLevel.pHigh() > MapVerdict.ALPHA, atLevel.toString());
        assertFalse(atLevel.decided());
        String sentence = io.github.convsim.report.Verdicts.interpretation(atLevel);
        assertTrue(sentence.contains("Not decided by the W0 null's 32 draws: over resamplings of them p lies between "
                + io.github.convsim.report.Verdicts.p(atLevel.pLow()) + " and "
                + io.github.convsim.report.Verdicts.p(atLevel.pHigh())), sentence);
        MapVerdict far = MapVerdict.judge(List.of(mapAt(6)), Correction.HOLM, MapVerdict.ALPHA).get(0);
        assertEquals("yes", far.answer());
        assertTrue(far.decided() && far.pHigh() < MapVerdict.ALPHA, far.toString());
        assertFalse(io.github.convsim.report.Verdicts.interpretation(far).contains("Not decided"));
    }

    @Test
    void degenerateAndUndefinedMapsGetNoVerdict() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(5, 4, 12, 2);
        List<Heatmap> maps = SimilarityAnalysisTest.run(s, new SimilaritySettings(0, 0, List.of(Side.LEFT, Side.RIGHT),
                List.of(Factor.A, Factor.B), Set.of(NullModel.W0), 8, 1, Set.of()));
        List<MapVerdict> v = MapVerdict.judge(maps, Correction.HOLM, MapVerdict.ALPHA);
        MapVerdict right = v.stream().filter(x -> x.map().side() == Side.RIGHT && x.map().subject().equals("C_A"))
                .findFirst().orElseThrow();
        assertEquals(MapVerdict.Status.DEGENERATE, right.status());
        assertTrue(right.reason().contains("phi is 1 by construction: j = 2 singular vectors span the whole"
                + " 2-dimensional space"), right.reason());
        assertEquals("n/a", right.answer());
        assertEquals(2, v.get(0).familySize(), "only the left maps of A and B are tested");
    }

    /** A module with one layer has no pair of layers to compare: its maps say so (they said "rank below i or j"). */
    @Test
    void aModuleOfOneLayerIsUndefinedForThatReason() {
        Heatmap one = new Heatmap("value", "C_A", Side.LEFT, 8, 8, 768, 0, new int[] {5}, new int[] {8},
                new int[] {8}, new double[][] {{Double.NaN}}, Double.NaN, new double[][] {{Double.NaN}}, 8.0 / 768,
                null, null, null);
        MapVerdict v = MapVerdict.judge(List.of(one), Correction.HOLM, MapVerdict.ALPHA).get(0);
        assertEquals(MapVerdict.Status.UNDEFINED, v.status());
        assertEquals("phi compares layers, and the adapter has one value layer (5)", v.reason());
        assertEquals("value C_A (left): no similarity: phi compares layers, and the adapter has one value layer (5).",
                io.github.convsim.report.Verdicts.interpretation(v));
    }

    /**
     * Where no pair of layers is defined the reason names the layers' numerical ranks and the i = j that would be
     * defined, and that suggestion holds: run at it, the map has an average, leaving out exactly the layers the
     * reason counts out (it said only "a layer's C_B has rank below i or j").
     */
    @Test
    void anUndefinedMapSaysWhichIAndJWouldBeDefined() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(13, 5, 16, 4);
        int[] kept = {2, 2, 3, 3, 2};
        List<LoraModule> layers = new ArrayList<>();
        for (int l = 0; l < kept.length; l++) {
            LoraModule m = s.layers().get(l);
            double[] b = m.b().data().clone();
            Arrays.fill(b, kept[l] * m.out(), b.length, 0); // column-major: B's columns kept[l].. are zero
            layers.add(new LoraModule(m.module(), m.modulePath(), m.layer(), m.baseKey(),
                    m.baseTransposed(), m.outOffset(), m.rank(), m.alpha(), m.scaling(), m.a(),
                    new Matrix(m.out(), m.rank(), b), m.dora()));
        }
        SimilarityAnalysisTest.Setup deficient = new SimilarityAnalysisTest.Setup(layers, s.w0s());
        Heatmap atR = SimilarityAnalysisTest.find(SimilarityAnalysisTest.run(deficient, bAt(0)), "C_B", Side.LEFT);
        assertArrayEquals(kept, atR.subspaceRanks());
        MapVerdict v = MapVerdict.judge(List.of(atR), Correction.HOLM, MapVerdict.ALPHA).get(0);
        assertEquals(MapVerdict.Status.UNDEFINED, v.status());
        assertEquals("phi is undefined: no two layers' C_B have numerical rank 4 or more (their ranks are 2 to 3);"
                + " --i 3 --j 3 is defined for 2 of 5 layers (the others left out), --i 2 --j 2 for every layer",
                v.reason());
        Heatmap at3 = SimilarityAnalysisTest.find(SimilarityAnalysisTest.run(deficient, bAt(3)), "C_B", Side.LEFT);
        assertFalse(Double.isNaN(at3.average()));
        assertEquals(at3.phi()[2][3], at3.average(), 0, "the one pair of layers of rank 3");
        assertEquals(List.of(0, 1, 4), at3.layersLeftOut());
        assertTrue(io.github.convsim.report.Verdicts.interpretation(MapVerdict.judge(List.of(at3), Correction.HOLM,
                MapVerdict.ALPHA).get(0)).contains(" without layers 0, 1, 4 (their C_B have numerical rank 2, below"
                + " i = j = 3; left out of the nulls too)"));
        Heatmap at2 = SimilarityAnalysisTest.find(SimilarityAnalysisTest.run(deficient, bAt(2)), "C_B", Side.LEFT);
        assertEquals(List.of(), at2.layersLeftOut());
        // B zero in every layer but one: nothing is defined at any i, and the reason says what a zero B means
        SimilarityAnalysisTest.Setup zero = new SimilarityAnalysisTest.Setup(layers.stream().map(m -> m.layer() == 3 ? m
                : new LoraModule(m.module(), m.modulePath(), m.layer(), m.baseKey(),
                m.baseTransposed(), m.outOffset(), m.rank(), m.alpha(), m.scaling(), m.a(),
                Matrix.zeros(m.out(), m.rank()), m.dora())).toList(), s.w0s());
        Heatmap none = SimilarityAnalysisTest.find(SimilarityAnalysisTest.run(zero, bAt(0)), "C_B", Side.LEFT);
        assertEquals("phi is undefined: C_B is zero in every layer but layer 3 (lora_B is zero there, as PEFT"
                + " initialises it: an untrained adapter?)",
                MapVerdict.judge(List.of(none), Correction.HOLM, MapVerdict.ALPHA).get(0).reason());
    }

    private static SimilaritySettings bAt(int ij) {
        return new SimilaritySettings(ij, ij, List.of(Side.LEFT), List.of(Factor.B), Set.of(NullModel.W0), 4, 3,
                Set.of());
    }

    /**
     * A map equal in every cell to one already in the family is counted once, and its reason names why: C_dW on the
     * left as C_B's span, any other twin as equal phi (the C_dW sentence once went to every duplicate).
     */
    @Test
    void aDuplicateIsCountedOnceAndItsReasonFitsIt() {
        Heatmap a = SimilarityAnalysisTest.run(SimilarityAnalysisTest.setup(7, 4, 12, 2), w0Only(8, 1)).get(0);
        Heatmap b = twin(a, "C_B");
        Heatmap dw = twin(a, "C_dW");
        List<MapVerdict> v = MapVerdict.judge(List.of(b, a, dw), Correction.HOLM, MapVerdict.ALPHA);
        assertEquals(MapVerdict.Status.TESTED, v.get(0).status());
        assertEquals(1, v.get(0).familySize());
        assertEquals(MapVerdict.Status.DUPLICATE, v.get(1).status());
        assertEquals("the same map as C_B left (phi equal in every cell); counted once", v.get(1).reason());
        assertEquals(MapVerdict.Status.DUPLICATE, v.get(2).status());
        assertTrue(v.get(2).reason().contains("C_dW = C_B A spans C_B's columns"), v.get(2).reason());
        assertEquals(v.get(0).pAdjusted(), v.get(2).pAdjusted(), 0);
    }

    /**
     * Equal cells against another W0 null are another test, not a duplicate: two identical adapters compared give phi =
     * 1 in every map, and C_B's null is not C_A's.
     */
    @Test
    void equalCellsAgainstAnotherNullAreTestedApart() {
        Heatmap a = SimilarityAnalysisTest.run(SimilarityAnalysisTest.setup(7, 4, 12, 2), w0Only(8, 1)).get(0);
        Heatmap other = SimilarityAnalysisTest.run(SimilarityAnalysisTest.setup(7, 4, 12, 2), w0Only(8, 2)).get(0);
        assertFalse(NullDistribution.sameDraws(a.w0(), other.w0()), "another seed, another null");
        Heatmap b = new Heatmap(a.module(), "C_B", a.side(), a.i(), a.j(), a.dimension(), a.w0Subspace(), a.layers(), a.ranks(),
                a.subspaceRanks(), a.phi(), a.average(), a.grassmann(), a.analytic(), a.gaussian(), other.w0(),
                a.power());
        List<MapVerdict> v = MapVerdict.judge(List.of(a, b), Correction.HOLM, MapVerdict.ALPHA);
        assertEquals(MapVerdict.Status.TESTED, v.get(1).status(), v.get(1).reason());
        assertEquals(2, v.get(0).familySize());
        assertEquals(b.w0().pValue(b.average()), v.get(1).p(), 0);
        assertTrue(NullDistribution.sameDraws(a.w0(), twin(a, "C_B").w0()));
    }

    private static Heatmap twin(Heatmap a, String subject) {
        return new Heatmap(a.module(), subject, a.side(), a.i(), a.j(), a.dimension(), a.w0Subspace(), a.layers(), a.ranks(),
                a.subspaceRanks(), a.phi(), a.average(), a.grassmann(), a.analytic(), a.gaussian(), a.w0(), a.power());
    }

    /**
     * Without the W0 null the sentence compares each map with the Gaussian baseline: those comparisons are adjusted
     * over the maps that have one (a twin sharing its test, controls left out), as the W0 family is.
     */
    @Test
    void withoutTheW0NullTheGaussianComparisonsAreAdjustedTogether() {
        SimilaritySettings gaussianOnly = new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.A),
                Set.of(NullModel.GAUSSIAN), 8, 3, Set.of("A"));
        List<Heatmap> first = SimilarityAnalysisTest.run(SimilarityAnalysisTest.setup(5, 4, 12, 2), gaussianOnly);
        Heatmap a = first.get(0);
        Heatmap control = first.get(1);
        assertTrue(control.isControl() && control.gaussian() != null);
        Heatmap b = twin(SimilarityAnalysisTest.run(SimilarityAnalysisTest.setup(6, 4, 12, 2), gaussianOnly).get(0),
                "C_B");
        Heatmap dw = twin(b, "C_dW");
        List<MapVerdict> v = MapVerdict.judge(List.of(a, control, b, dw), Correction.HOLM, MapVerdict.ALPHA);
        double[] p = {a.gaussian().pValue(a.average()), b.gaussian().pValue(b.average())};
        double[] holm = MultipleTesting.adjust(p, Correction.HOLM);
        assertEquals(MapVerdict.Status.NO_NULL, v.get(0).status());
        assertEquals(2, v.get(0).gaussian().familySize());
        assertEquals(holm[0], v.get(0).gaussian().pAdjusted(), 0);
        assertEquals(holm[1], v.get(2).gaussian().pAdjusted(), 0);
        assertTrue(holm[0] > p[0] || holm[1] > p[1], "the adjustment changes something");
        assertNull(v.get(1).gaussian(), "a control is not in the family");
        assertSame(v.get(2).gaussian(), v.get(3).gaussian(), "C_dW, equal to C_B in every cell, shares its test");
        String sentence = io.github.convsim.report.Verdicts.interpretation(v.get(0));
        assertTrue(sentence.contains(", Holm-adjusted over 2 maps "), sentence);
        assertTrue(sentence.startsWith("m C_A (left, i=2, j=2): average ") && sentence.contains(
                (holm[0] < 0.05 ? "Above" : "Not above") + " the Gaussian baseline"), sentence);
        MapVerdict raw = MapVerdict.judge(List.of(a, b), Correction.NONE, MapVerdict.ALPHA).get(0);
        assertTrue(io.github.convsim.report.Verdicts.interpretation(raw).contains(", uncorrected)"));
    }

    @Test
    void thePowerCurveStopsAtTheFirstLevelDetectedTooRarely() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(11, 6, 24, 3);
        NullDistribution nul = SimilarityAnalysisTest.run(s, w0Only(32, 4)).get(0).w0();
        double high = nul.averageMean() + 20 * nul.averageSd();
        double low = nul.averageMean();
        // detected at the first two levels, then half the plants only, then all again: the curve stops at the second
        double[][] averages = {{high, high, high, high}, {high, high, high, high}, {high, high, low, low},
            {high, high, high, high}};
        PowerCurve curve = new PowerCurve(new double[] {0.1, 0.2, 0.3, 0.4}, averages, Set.of("C_A"));
        PowerCurve.Detectable d = curve.detectable(nul, 0.01);
        assertEquals(0.2, d.noise());
        assertEquals(high, d.plantMean(), 1e-12);
        assertEquals(4, d.detected());
        // Clopper-Pearson one-sided 95 %: with every plant detected the bound is 0.05^(1/n)
        assertEquals(Math.pow(0.05, 1 / 4.0), d.detectionRateLowerBound(), 1e-9);
        PowerCurve.Detectable none = new PowerCurve(new double[] {0.1}, new double[][] {{low, high, low, low}},
                Set.of("C_A")).detectable(nul, 0.01);
        assertTrue(none.none());
        assertEquals(1, none.detected(), "counted at the least noise");
        // 7 of 8 detected (the least that passes 80 % of 8): the bound is the 5 % quantile of Beta(7, 2), 0.5293
        double[] eight = {high, high, high, high, high, high, high, low};
        PowerCurve.Detectable seven = new PowerCurve(new double[] {0.1}, new double[][] {eight}, Set.of("C_A"))
                .detectable(nul, 0.01);
        assertEquals(7, seven.detected());
        assertEquals(0.5293, seven.detectionRateLowerBound(), 1e-4);
        assertEquals(new org.apache.commons.math3.distribution.BetaDistribution(7, 2).inverseCumulativeProbability(
                0.05), seven.detectionRateLowerBound(), 1e-9);
    }

    /**
     * Through a non-square W0 (least squares) C_B's equation (W0 X = B) is not C_A's (W0^T X = A^T): B is planted on
     * its own (B_l = W0_l M + noise), and its plants give C_B and C_dW (left) their power. The whole-module analysis
     * draws the plants as the streamed one does.
     */
    @Test
    void throughANonSquareW0BIsPlantedOnItsOwn() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(17, 5, 8, 20, 2);
        var solver = new io.github.convsim.conversion.ConversionSolver(backend, new io.github.convsim.conversion
                .SolveOptions(io.github.convsim.conversion.SolveMode.LSTSQ, io.github.convsim.linalg.Precision.FP64,
                1e-6, 1e-3));
        var conv = io.github.convsim.conversion.ConversionAnalysis.convert(solver, s.layers(), s.w0s());
        SimilaritySettings settings = new SimilaritySettings(1, 1, List.of(Side.LEFT), List.of(Factor.A, Factor.B,
                Factor.DW), Set.of(NullModel.W0), 32, 3, Set.of());
        SimilarityAnalysis analysis = new SimilarityAnalysis(backend, settings);
        assertEquals(List.of(Factor.A, Factor.B, Factor.DW), analysis.storedPlants(false, conv.modules()));
        List<Heatmap> maps = analysis.analyze(solver, conv);
        Heatmap a = SimilarityAnalysisTest.find(maps, "C_A", Side.LEFT);
        Heatmap b = SimilarityAnalysisTest.find(maps, "C_B", Side.LEFT);
        Heatmap dw = SimilarityAnalysisTest.find(maps, "C_dW", Side.LEFT);
        // below r (i = j = 1 of r = 2) C_dW = C_B A is planted on its own: C_B's plant times a Gaussian A
        assertFalse(java.util.Arrays.deepEquals(b.power().averages(), dw.power().averages()));
        assertFalse(java.util.Arrays.deepEquals(a.power().averages(), b.power().averages()), "B's plants are not A's");
        int last = PlantedControl.NOISE.length - 1;
        double nearlyShared = java.util.Arrays.stream(b.power().averages()[0]).average().orElseThrow();
        double mostlyNoise = java.util.Arrays.stream(b.power().averages()[last]).average().orElseThrow();
        // a shared B map projected on each layer's row space of W0 (8 of 20 dimensions) is still above what
        // Gaussian B give through the same W0, and at noise 5 the plants are the W0 null's draws
        assertTrue(nearlyShared > b.w0().averageHi(), nearlyShared + " against " + b.w0().averageHi());
        assertEquals(b.w0().averageMean(), mostlyNoise, 3 * b.w0().averageSd(), "noise 5");
        String sentence = io.github.convsim.report.Verdicts.interpretation(b);
        assertFalse(sentence.contains("not estimated"), sentence);
    }

    /**
     * Below its rank C_dW = C_B A has leading directions that depend on A, so C_B's plants cannot speak for it. An
     * adapter whose C_B is exactly shared by all layers (B_l = W0_l M) with each layer's own Gaussian A: at i = j = 1
     * C_B's map is near 1, C_dW's far below it. C_dW's own plants (a shared C_B times a Gaussian A) at the least noise
     * give what that adapter gives; C_B's plants, which gave C_dW its power before, give C_B's.
     */
    @Test
    void belowItsRankCDwIsPlantedWithItsOwnA() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(23, 8, 12, 4);
        // well-conditioned W0 (4 I + G / sqrt(12), cond about 3): a plant's small noise stays small through W0^-1
        List<Matrix> w0s = s.w0s().stream().map(w -> {
            double[] d = w.data().clone();
            for (int q = 0; q < d.length; q++) {
                d[q] = d[q] / Math.sqrt(12) + (q % 13 == 0 ? 4 : 0);
            }
            return new Matrix(12, 12, d);
        }).toList();
        Matrix m = new Matrix(12, 4, TestData.gaussian(new Random(5), 48));
        List<LoraModule> shared = s.layers().stream().map(l -> new LoraModule(l.module(), l.modulePath(), l.layer(),
                l.baseKey(), l.baseTransposed(), l.outOffset(), l.rank(), l.alpha(), l.scaling(), l.a(),
                backend.gemm(List.of(w0s.get(l.layer())), false, List.of(m), false,
                        io.github.convsim.linalg.Precision.FP64).get(0), l.dora())).toList();
        SimilaritySettings settings = new SimilaritySettings(1, 1, List.of(Side.LEFT), List.of(Factor.B, Factor.DW),
                Set.of(NullModel.W0), 16, 9, Set.of());
        SimilarityAnalysis analysis = new SimilarityAnalysis(backend, settings);
        assertEquals(List.of(Factor.A, Factor.DW), analysis.storedPlants(true, shared));
        List<Heatmap> maps = SimilarityAnalysisTest.run(new SimilarityAnalysisTest.Setup(shared, w0s), settings);
        Heatmap b = SimilarityAnalysisTest.find(maps, "C_B", Side.LEFT);
        Heatmap dw = SimilarityAnalysisTest.find(maps, "C_dW", Side.LEFT);
        double[] bPlants = b.power().averages()[0];
        double[] dwPlants = dw.power().averages()[0];
        assertTrue(b.average() > 0.99, "C_B shared: " + b.average());
        assertTrue(dw.average() < 0.8, "C_dW's leading direction follows each layer's A: " + dw.average());
        for (int k = 0; k < bPlants.length; k++) {
            assertEquals(b.average(), bPlants[k], 0.02, "C_B's plant " + k + " at noise 0.025");
        }
        double mean = Arrays.stream(dwPlants).average().orElseThrow();
        double sd = Math.sqrt(Arrays.stream(dwPlants).map(v -> (v - mean) * (v - mean)).sum() / (dwPlants.length - 1));
        assertTrue(Arrays.stream(dwPlants).max().orElseThrow() < 0.9, "C_dW's plants follow their A too: "
                + Arrays.toString(dwPlants));
        assertEquals(mean, dw.average(), 3 * sd + 0.01, "the adapter lies among C_dW's plants: "
                + Arrays.toString(dwPlants));
        // at i = j = r of one rank C_dW spans C_B's columns, and C_B's plants speak for it (no plants of its own)
        SimilaritySettings atR = new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.B, Factor.DW),
                Set.of(NullModel.W0), 16, 9, Set.of());
        assertEquals(List.of(Factor.A), new SimilarityAnalysis(backend, atR).storedPlants(true, shared));
        String sentence = io.github.convsim.report.Verdicts.interpretation(dw);
        assertFalse(sentence.contains("approximation"), sentence);
    }

    /**
     * On the right C_dW = C_B A has A's row space, which no conversion matrix's plant models: its plants share A's
     * rows (A_l^T = G + noise, each layer's B Gaussian). An adapter whose layers share one A exactly, with Gaussian B,
     * is such a plant without noise: at i = j = r its map is 1 and so are the plants at the least noise; at i = j = 2,
     * where C_B weights A's rows, the adapter lies among the least-noise plants. Its power was 'not estimated'.
     */
    @Test
    void onTheRightCDwIsPlantedAsSharedRowsOfA() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(29, 8, 16, 4);
        Matrix a = new Matrix(4, 16, TestData.gaussian(new Random(7), 64));
        List<LoraModule> shared = s.layers().stream().map(l -> new LoraModule(l.module(), l.modulePath(), l.layer(),
                l.baseKey(), l.baseTransposed(), l.outOffset(), l.rank(), l.alpha(), l.scaling(), a, l.b(),
                l.dora())).toList();
        SimilarityAnalysisTest.Setup rows = new SimilarityAnalysisTest.Setup(shared, s.w0s());
        for (int ij : new int[] {0, 2}) {
            SimilaritySettings settings = new SimilaritySettings(ij, ij, List.of(Side.RIGHT), List.of(Factor.DW),
                    Set.of(NullModel.W0), 16, 5, Set.of());
            Heatmap dw = SimilarityAnalysisTest.find(SimilarityAnalysisTest.run(rows, settings), "C_dW", Side.RIGHT);
            assertNotNull(dw.power(), "C_dW's power on the right");
            double[] least = dw.power().averages()[0];
            double mean = Arrays.stream(least).average().orElseThrow();
            double sd = Math.sqrt(Arrays.stream(least).map(v -> (v - mean) * (v - mean)).sum() / (least.length - 1));
            if (ij == 0) {
                assertEquals(1, dw.average(), 1e-9, "one A: one row space");
                assertTrue(Arrays.stream(least).min().orElseThrow() > 0.99, Arrays.toString(least));
            } else {
                assertTrue(dw.average() < 0.99, "below r C_B weights A's rows: " + dw.average());
                assertEquals(mean, dw.average(), 3 * sd + 0.01, "the adapter among the plants: "
                        + Arrays.toString(least));
            }
            assertTrue(mean > dw.w0().averageHi(), "plants above the W0 null");
            String sentence = io.github.convsim.report.Verdicts.interpretation(dw);
            assertFalse(sentence.contains("not estimated"), sentence);
        }
    }

    /** The maps of {@code conv} with their W0 null and the power their planted controls give. */
    private static List<Heatmap> withPlants(SimilarityAnalysis analysis,
                                            io.github.convsim.conversion.ConversionSolver solver,
                                            io.github.convsim.conversion.ModuleConversion conv) {
        int keep = analysis.keep(conv.modules().get(0).rank());
        Set<Side> sides = Set.copyOf(analysis.settings().sides());
        try (NullBasisStore w0 = NullBasisStore.inMemory(sides, keep);
             NullBasisStore planted = NullBasisStore.inMemory(sides, keep)) {
            analysis.sampleW0Null(solver, conv.systems(), conv.equationA(), analysis.w0NullFactors(conv.modules()),
                    analysis.settings().draws(), w0);
            analysis.samplePlanted(solver, conv.systems(), conv.equationA(), conv.modules(), planted);
            return analysis.analyze(conv, w0, planted, null);
        }
    }

    @Test
    void plantedControlsThroughTheSolverGiveADecreasingCurveOnEitherSide() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(21, 6, 24, 3);
        var solver = new io.github.convsim.conversion.ConversionSolver(backend,
                io.github.convsim.conversion.SolveOptions.paper());
        var conv = io.github.convsim.conversion.ConversionAnalysis.convert(solver, s.layers(), s.w0s());
        SimilaritySettings settings = new SimilaritySettings(2, 2, List.of(Side.LEFT, Side.RIGHT),
                List.of(Factor.A, Factor.B, Factor.DW), Set.of(NullModel.W0), 32, 6, Set.of());
        List<Heatmap> maps = withPlants(new SimilarityAnalysis(backend, settings), solver, conv);
        // a square W0: every map has a power curve (C_dW on the right from plants of shared rows of A, the next test)
        for (Heatmap h : maps) {
            assertNotNull(h.power(), h.subject() + " " + h.side());
            String sentence = io.github.convsim.report.Verdicts.interpretation(h);
            assertFalse(sentence.contains("not estimated"), sentence);
            boolean dwRight = h.subject().equals("C_dW") && h.side() == Side.RIGHT;
            assertEquals(dwRight, sentence.contains("A's rows shared by all layers"), sentence);
        }
        // a plant counts as found at the level that finds a map in this family: alpha / family size (a bound on
        // Holm's first step), alpha itself without correction
        for (Correction c : Correction.values()) {
            List<MapVerdict> judged = MapVerdict.judge(maps, c, MapVerdict.ALPHA);
            for (MapVerdict v : judged) {
                if (v.power() != null) {
                    assertEquals(c == Correction.NONE ? 0.05 : 0.05 / v.familySize(), v.power().threshold(), 1e-15);
                }
            }
        }
        for (Side side : List.of(Side.LEFT, Side.RIGHT)) {
            Heatmap a = SimilarityAnalysisTest.find(maps, "C_A", side);
            double[] mean = Arrays.stream(a.power().averages())
                    .mapToDouble(x -> Arrays.stream(x).average().orElseThrow()).toArray();
            // noise of 2.5 % in factor space is amplified by W0^-1 (cond of a random 24 x 24 W0 is in the hundreds),
            // yet the plants stay far above what unrelated layers give (2/24 on the left, 2/3 on the right)
            assertTrue(mean[0] > (side == Side.LEFT ? 0.5 : 0.9), side + ": a nearly exact shared map: " + mean[0]);
            // more noise, less similarity, down to what the W0 null gives (where the 8 plants' mean wanders by noise)
            double floor = a.w0().averageMean();
            for (int e = 1; e < mean.length; e++) {
                assertTrue(mean[e] <= mean[e - 1] + 1e-9 || mean[e - 1] < floor + 0.02, side + ": "
                        + Arrays.toString(mean) + " against the null's " + floor);
            }
            assertEquals(floor, mean[mean.length - 1], 0.02, side + ": noise 5 times the shared map hides it");
            PowerCurve.Detectable d = a.power().detectable(a.w0(), 0.05 / 4);
            assertFalse(d.none(), side.toString());
            assertTrue(d.noise() >= (side == Side.LEFT ? 0.1 : 0.05), side + ": detects this much noise here: " + d);
        }
    }


    /** The same layers with every A replaced by a plant on their own W0: A_l^T = W0_l M + eps-sized noise. */
    private static SimilarityAnalysisTest.Setup plantOn(SimilarityAnalysisTest.Setup s, long seed, double eps) {
        Random rng = new Random(seed);
        int n = s.w0s().get(0).rows();
        int r = s.layers().get(0).rank();
        Matrix m = new Matrix(n, r, TestData.gaussian(rng, n * r));
        List<LoraModule> planted = new ArrayList<>();
        for (int l = 0; l < s.layers().size(); l++) {
            Matrix at = s.w0s().get(l).times(m);
            Matrix noise = new Matrix(n, r, TestData.gaussian(rng, n * r));
            double scale = eps * at.frobeniusNorm() / noise.frobeniusNorm();
            double[] d = at.data();
            for (int i = 0; i < d.length; i++) {
                d[i] += scale * noise.data()[i];
            }
            LoraModule old = s.layers().get(l);
            planted.add(new LoraModule(old.module(), old.modulePath(), old.layer(), old.baseKey(), false, 0, r,
                    old.alpha(), old.scaling(), at.transpose(), old.b(), false));
        }
        return new SimilarityAnalysisTest.Setup(planted, s.w0s());
    }

    @Test
    void theReportedDetectableNoisePredictsDetectionOfNewPlants() {
        SimilarityAnalysisTest.Setup s = SimilarityAnalysisTest.setup(31, 6, 24, 3);
        SimilaritySettings settings = w0Only(32, 8);
        var solver = new io.github.convsim.conversion.ConversionSolver(backend,
                io.github.convsim.conversion.SolveOptions.paper());
        var conv = io.github.convsim.conversion.ConversionAnalysis.convert(solver, s.layers(), s.w0s());
        SimilarityAnalysis analysis = new SimilarityAnalysis(backend, settings);
        NullDistribution nul = SimilarityAnalysisTest.run(s, settings).get(0).w0();
        double threshold = 0.05 / 4;
        PowerCurve.Detectable d;
        Heatmap planted = withPlants(analysis, solver, conv).get(0);
        assertArrayEquals(nul.averages(), planted.w0().averages(), "the same seeds, the same W0 null");
        d = planted.power().detectable(nul, threshold);
        assertFalse(d.none());
        int level = Arrays.binarySearch(PlantedControl.NOISE, d.noise());
        double above = PlantedControl.NOISE[Math.min(level + 2, PlantedControl.NOISE.length - 1)];
        int atReported = 0;
        int atAbove = 0;
        for (int k = 0; k < 8; k++) {
            Heatmap hit = SimilarityAnalysisTest.run(plantOn(s, 900 + k, d.noise()), settings).get(0);
            Heatmap miss = SimilarityAnalysisTest.run(plantOn(s, 950 + k, above), settings).get(0);
            atReported += hit.w0().pValue(hit.average()) < threshold ? 1 : 0;
            atAbove += miss.w0().pValue(miss.average()) < threshold ? 1 : 0;
        }
        assertTrue(atReported >= 5, "new plants at the reported noise " + d.noise() + ": " + atReported + " of 8");
        assertTrue(atAbove <= atReported, "two levels noisier (" + above + "): " + atAbove + " of 8");
    }
}
