package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.conversion.Factor;
import io.github.convsim.report.ComparisonVerdicts;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.ComparisonMap;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilaritySettings;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * compare's W0 null for pairs of adapters of different ranks: each pair against unrelated adapters of its own ranks.
 * It was drawn at the first adapter's ranks for every pair, so r = 8 against r = 4 met a null of mean 0.655 given in
 * one order and 0.522 in the other (p 0.013 against 9.7e-07 for the demo's query C_A).
 */
class ComparisonRanksTest {
    @TempDir
    static Path dir;
    static Path noisy;
    static Path rank4;
    static AnalysisOptions options;

    @BeforeAll
    static void adapters() throws Exception {
        noisy = StreamingTest.noisyCopy(dir, 3);
        rank4 = TestData.cutCopy(dir.resolve("r4"), ".*\\.attention\\.self\\.(query|value)", 4, true);
        var s = AnalysisOptions.defaults().similarity();
        options = AnalysisOptions.defaults().withModules(List.of("value")).withBackend("cpu").withSimilarity(
                new SimilaritySettings(0, 0, List.of(Side.LEFT), List.of(Factor.A, Factor.B), s.nulls(), 8,
                        s.seed(), Set.of()));
    }

    private static ComparisonResult compare(Path... adapters) throws Exception {
        return Convsim.compare(List.of(adapters), TestData.bertBase(), options);
    }

    /** At i = j = 4 whatever the ranks (alone, two rank-8 adapters would be read at their own rank, 8). */
    private static ComparisonResult compareAt4(Path... adapters) throws Exception {
        var s = options.similarity();
        return Convsim.compare(List.of(adapters), TestData.bertBase(), options.withSimilarity(new SimilaritySettings(4,
                4, s.sides(), s.factors(), s.nulls(), s.draws(), s.seed(), s.controls())));
    }

    private static ComparisonMap mapA(ComparisonResult r) {
        return r.maps().stream().filter(m -> m.subject().equals("C_A")).findFirst().orElseThrow();
    }

    @Test
    void aPairOfTwoRanksGetsTheSameNullWhicheverComesFirst() throws Exception {
        ComparisonResult one = compare(TestData.bertAdapter(), rank4);
        ComparisonResult other = compare(rank4, TestData.bertAdapter());
        ComparisonMap a = mapA(one);
        ComparisonMap b = mapA(other);
        assertEquals(4, a.i());
        assertEquals(a.mean()[0][1], b.mean()[0][1], 1e-12);
        assertArrayEquals(a.w0Null().averages(), b.w0Null().averages(), 0);
        assertEquals(ComparisonVerdicts.judge(one, Correction.HOLM).get(0).overall().p(),
                ComparisonVerdicts.judge(other, Correction.HOLM).get(0).overall().p(), 0);
        assertNotNull(a.pairNulls(), "the ranks differ");
        assertTrue(a.ranksDiffer());
        assertArrayEquals(new int[] {4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4}, a.ranks()[1]);
        // the plants of two ranks: the rank-4 adapter takes the first 4 columns of what the rank-8 one shares
        assertNotNull(a.power());
        assertTrue(java.util.Arrays.deepEquals(a.power().averages(), b.power().averages()), "whichever comes first");
    }

    /**
     * The map's power is its plants' mean over pairs as its own statistic is: the two rank-8 adapters' pair planted
     * as two rank-8 adapters alone are, the pairs with the rank-4 adapter as a rank-8 and a rank-4 adapter alone are.
     */
    @Test
    void theMapsPowerAveragesThePlantsOfEachPairsRanks() throws Exception {
        ComparisonMap three = mapA(compareAt4(TestData.bertAdapter(), noisy, rank4));
        ComparisonMap eightEight = mapA(compareAt4(TestData.bertAdapter(), noisy));
        ComparisonMap eightFour = mapA(compareAt4(TestData.bertAdapter(), rank4));
        double[][] a = three.power().averages();
        for (int e = 0; e < a.length; e++) {
            for (int k = 0; k < a[e].length; k++) {
                double expected = (eightEight.power().averages()[e][k] + 2 * eightFour.power().averages()[e][k]) / 3;
                assertEquals(expected, a[e][k], 1e-12, "level " + e + ", plant " + k);
            }
        }
        // a rank-4 plant inside a rank-8 one shares less of its leading 4 directions than two rank-8 plants do
        assertTrue(eightFour.power().averages()[0][0] < eightEight.power().averages()[0][0]);
        // and both are found where they share nearly everything: 'no' says what it rules out
        assertFalse(eightFour.power().detectable(eightFour.w0Null(), 0.05 / 2).none());
    }

    @Test
    void eachPairMeetsTheNullOfItsOwnRanks() throws Exception {
        ComparisonMap three = mapA(compareAt4(TestData.bertAdapter(), noisy, rank4));
        ComparisonMap sameRank = mapA(compareAt4(TestData.bertAdapter(), noisy));
        assertNull(sameRank.pairNulls(), "one rank: every pair shares the map's null");
        assertFalse(sameRank.ranksDiffer());
        // the two rank-8 adapters meet the null a comparison of them alone draws (the same draws, at rank 8)
        assertArrayEquals(sameRank.w0Null().averages(), three.pairNull(0, 1).averages(), 0);
        assertArrayEquals(three.pairNull(0, 2).averages(), three.pairNull(2, 0).averages(), 0);
        double eightEight = mean(three.pairNull(0, 1).averages());
        double eightFour = mean(three.pairNull(0, 2).averages());
        assertNotEquals(eightEight, eightFour, 0.01, "rank 4 against rank 8 is another null");
        // the map's null is the mean over the three pairs' nulls, draw by draw
        double[] m = three.w0Null().averages();
        for (int k = 0; k < m.length; k++) {
            double expected = (three.pairNull(0, 1).averages()[k] + three.pairNull(0, 2).averages()[k]
                    + three.pairNull(1, 2).averages()[k]) / 3;
            assertEquals(expected, m[k], 1e-12);
        }
        // and the per-pair verdicts use them: the pair of two ranks is tested against its own null
        ComparisonVerdicts.Judgement j = ComparisonVerdicts.judge(
                new ComparisonResult(List.of("a", "b", "c"), null, List.of(three), null), Correction.NONE).get(0);
        ComparisonVerdicts.Test pair02 = j.pairs().stream().filter(t -> t.a() == 0 && t.b() == 2).findFirst()
                .orElseThrow();
        assertEquals(three.pairNull(0, 2).pValue(three.mean()[0][2]), pair02.p(), 0);
    }

    /** A copy of {@code source} with every tensor whose name contains {@code which} set to zero. */
    private static Path zeroed(Path source, Path out, String which) throws Exception {
        java.nio.file.Files.createDirectories(out);
        java.nio.file.Files.copy(source.resolve("adapter_config.json"), out.resolve("adapter_config.json"));
        var w = new io.github.convsim.io.SafetensorsWriter();
        try (var f = io.github.convsim.io.SafetensorsFile.open(source.resolve("adapter_model.safetensors"))) {
            for (String t : f.names()) {
                double[] v = f.readDoubles(t);
                if (t.contains(which)) {
                    java.util.Arrays.fill(v, 0);
                }
                w.add(t, io.github.convsim.io.Dtype.F32, f.info(t).shape(), v);
            }
        }
        w.write(out.resolve("adapter_model.safetensors"));
        return out;
    }

    /**
     * A pair undefined at every layer (an untrained adapter's C_B) has no statistic: it is out of the map's mean and
     * out of the map's null, which averages the other pairs' nulls only (it averaged it too, a narrower spread where
     * each pair has draws of its own).
     */
    @Test
    void aPairWithoutAnyStatisticIsLeftOutOfTheMapsNull() throws Exception {
        Path untrained = zeroed(rank4, dir.resolve("untrained-r4"), "lora_B");
        ComparisonMap b = compareAt4(TestData.bertAdapter(), noisy, untrained).maps().stream()
                .filter(m -> m.subject().equals("C_B")).findFirst().orElseThrow();
        assertTrue(Double.isNaN(b.mean()[0][2]) && Double.isNaN(b.mean()[1][2]) && !Double.isNaN(b.mean()[0][1]));
        assertArrayEquals(b.pairNull(0, 1).averages(), b.w0Null().averages(), 1e-15, "the one pair with a statistic");
    }

    /**
     * A layer where one adapter's factor is zero has no phi for the pair: the pair's null leaves that layer out too, so
     * both average the same layers (the null averaged all of them before).
     */
    @Test
    void aLayerWithoutItsFactorIsLeftOutOfThePairsNull() throws Exception {
        Path zeroB = zeroed(TestData.bertAdapter(), dir.resolve("zero-b"), "layer.5.attention.self.value.lora_B");
        ComparisonResult withZero = compare(TestData.bertAdapter(), zeroB);
        ComparisonMap masked = withZero.maps().stream().filter(m -> m.subject().equals("C_B")).findFirst()
                .orElseThrow();
        assertEquals(List.of(5), masked.layersLeftOut());
        String sentence = io.github.convsim.report.ComparisonReport.sentence(ComparisonVerdicts.judge(withZero,
                Correction.HOLM).get(withZero.maps().indexOf(masked)), withZero.adapters());
        assertTrue(sentence.contains(" without layer 5 where zero-b's C_B is zero (left out of the null too); "),
                sentence);
        assertArrayEquals(new int[] {8, 8, 8, 8, 8, 0, 8, 8, 8, 8, 8, 8}, masked.subspaceRanks()[1]);
        assertEquals(List.of(), masked.zeroAdapters());
        // C_A is 1 at every layer and C_B at every layer but 5: equal means, not the same map (its null differs)
        assertEquals("tested", ComparisonVerdicts.judge(withZero, Correction.HOLM).get(withZero.maps()
                .indexOf(masked)).status());
        // the same draws unmasked: the null depends on W0, the ranks and the seed, not on the adapters' values
        ComparisonMap whole = compare(TestData.bertAdapter(), noisy).maps().stream()
                .filter(m -> m.subject().equals("C_B")).findFirst().orElseThrow();
        assertTrue(Double.isNaN(masked.perLayer()[5][0][1]));
        assertNotNull(masked.pairNulls());
        double[][] first = whole.w0Null().firstDraw();
        double sum = 0;
        for (int l = 0; l < 12; l++) {
            if (l != 5) {
                assertEquals(first[l][l], masked.pairNull(0, 1).firstDraw()[l][l], 0);
                sum += first[l][l];
            }
        }
        assertTrue(Double.isNaN(masked.pairNull(0, 1).firstDraw()[5][5]));
        assertEquals(sum / 11, masked.pairNull(0, 1).averages()[0], 1e-15);
        assertEquals(sum / 11, masked.w0Null().averages()[0], 1e-15, "two adapters: the map's null is the pair's");
        assertNotEquals(whole.w0Null().averages()[0], masked.w0Null().averages()[0], 1e-9);
    }

    /** On the right the vectors of a rank-4 and a rank-8 C_A live in R^4 and R^8: refused (it failed inside phi). */
    @Test
    void theRightSideOfAdaptersOfTwoRanksIsRefused() {
        var s = options.similarity();
        AnalysisOptions right = options.withSimilarity(new SimilaritySettings(0, 0, List.of(Side.RIGHT), s.factors(),
                s.nulls(), s.draws(), s.seed(), s.controls()));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Convsim.compare(
                List.of(TestData.bertAdapter(), rank4), TestData.bertBase(), right));
        assertEquals("the adapters' value modules have ranks 4 to 8: right singular vectors of C_A, C_B, A^T and B live"
                + " in R^r, a space of another dimension for each rank, so only their left sides compare; use --side"
                + " left", e.getMessage());
    }

    private static double mean(double[] v) {
        return java.util.Arrays.stream(v).average().orElseThrow();
    }
}
