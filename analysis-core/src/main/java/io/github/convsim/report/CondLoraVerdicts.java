package io.github.convsim.report;

import io.github.convsim.condlora.ModuleFit;
import io.github.convsim.condlora.R2Null;
import io.github.convsim.condlora.SharedLayerPlants;
import io.github.convsim.similarity.MapVerdict;
import io.github.convsim.similarity.MultipleTesting;
import io.github.convsim.similarity.MultipleTesting.Correction;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.PowerCurve;
import java.util.ArrayList;
import java.util.List;

/**
 * Verdicts of a CondLoRA fit: whether the shared layer fits a module's A, B and dW better than it fits targets without
 * shared structure, under both nulls (Gaussian targets of the same norms; layers shuffled).
 *
 * <p>Each of R^2 of A, R^2 of B (higher is better) and the relative error of dW (lower is better) is tested against
 * each null's draws fitted as log-normal (the predictive t-test of {@link NullDistribution#pValue}), one-sided. Beating
 * both nulls is the claim, so a test's p is the larger of its two (an intersection-union test: valid at the level of
 * either). The family is every module's three tests; p is adjusted over it (Holm by default). Each test's power comes
 * from the fit's planted adapters that do share one layer ({@link SharedLayerPlants}).
 */
public final class CondLoraVerdicts {
    /**
     * One test: {@code factor} "A", "B" or "dW" of a module, against both nulls; {@code power} what it could detect
     * (null where the fit carries no plants); {@code pLow} and {@code pHigh} the central 99 % of p over resamplings
     * of each null's draws (the larger of the two nulls' ends, as p is the larger of their p), and {@code decided}
     * whether the answer is the same with the family at the low ends and at the high ends.
     */
    public record Test(String module, String factor, double observed, double pGaussian, double pShuffled, double p,
                       double pAdjusted, int familySize, Correction correction, boolean beyond,
                       PowerCurve.Detectable power, double pLow, double pHigh, boolean decided) {}

    private CondLoraVerdicts() {}

    /** Every module's A, B and dW judged as one family. */
    public static List<Test> judge(List<ModuleFit> fits, Correction correction) {
        // {observed, pGaussian, pShuffled, and their ranges over resamplings: Gaussian low, high, shuffled low, high}
        List<double[]> p = new ArrayList<>();
        List<String[]> names = new ArrayList<>();
        for (ModuleFit f : fits) {
            // a fit that reproduces any targets has no test (undefined, as a factor zero in every layer)
            double none = Double.NaN;
            add(p, names, f.module(), "A", f.fitsAnyTargets() ? none : f.r2A(), f.gaussian().r2A(), f.shuffled().r2A(),
                    true);
            add(p, names, f.module(), "B", f.fitsAnyTargets() ? none : f.r2B(), f.gaussian().r2B(), f.shuffled().r2B(),
                    true);
            add(p, names, f.module(), "dW", f.fitsAnyTargets() ? none : f.dwError(), f.gaussian().dwError(),
                    f.shuffled().dwError(), false);
        }
        double[] combined = p.stream().mapToDouble(v -> Math.max(v[1], v[2])).toArray();
        double[] adjusted = MultipleTesting.adjust(combined, correction);
        double[] lowEnds = p.stream().mapToDouble(v -> Math.max(v[3], v[5])).toArray();
        double[] highEnds = p.stream().mapToDouble(v -> Math.max(v[4], v[6])).toArray();
        boolean[] decided = MultipleTesting.decided(lowEnds, highEnds, correction, MapVerdict.ALPHA);
        int family = (int) java.util.Arrays.stream(adjusted).filter(v -> !Double.isNaN(v)).count();
        double threshold = MultipleTesting.detectionLevel(correction, MapVerdict.ALPHA, family);
        List<Test> out = new ArrayList<>();
        for (int k = 0; k < combined.length; k++) {
            ModuleFit f = fits.get(k / 3);
            SharedLayerPlants plants = f.plants();
            PowerCurve.Detectable power = plants == null ? null : switch (k % 3) {
                case 0 -> power(plants.noise(), plants.r2A(), f.gaussian().r2A(), f.shuffled().r2A(), true, threshold);
                case 1 -> power(plants.noise(), plants.r2B(), f.gaussian().r2B(), f.shuffled().r2B(), true, threshold);
                default -> power(plants.noise(), plants.dwError(), f.gaussian().dwError(), f.shuffled().dwError(),
                        false, threshold);
            };
            out.add(new Test(names.get(k)[0], names.get(k)[1], p.get(k)[0], p.get(k)[1], p.get(k)[2], combined[k],
                    adjusted[k], family, correction, adjusted[k] < MapVerdict.ALPHA, power, lowEnds[k], highEnds[k],
                    decided[k]));
        }
        return out;
    }

    /**
     * The power of one test from its plants' statistic, plants[e][k] at noise[e] ({@link SharedLayerPlants}): a plant
     * is detected when it beats both nulls at p below {@code threshold}, as the test's claim requires.
     */
    static PowerCurve.Detectable power(double[] noise, double[][] plants, double[] gaussian, double[] shuffled,
                                       boolean higherIsBetter, double threshold) {
        return new PowerCurve(noise, plants, java.util.Set.of()).detectable(v -> Math.max(
                NullDistribution.predictiveP(gaussian, v, higherIsBetter),
                NullDistribution.predictiveP(shuffled, v, higherIsBetter)) < threshold, threshold);
    }

    private static void add(List<double[]> p, List<String[]> names, String module, String factor, double observed,
                            double[] gaussian, double[] shuffled, boolean higherIsBetter) {
        double[] g = NullDistribution.predictivePRange(gaussian, observed, higherIsBetter);
        double[] s = NullDistribution.predictivePRange(shuffled, observed, higherIsBetter);
        p.add(new double[] {observed, NullDistribution.predictiveP(gaussian, observed, higherIsBetter),
            NullDistribution.predictiveP(shuffled, observed, higherIsBetter), g[0], g[1], s[0], s[1]});
        names.add(new String[] {module, factor});
    }

    /** The three tests of {@code module} among {@code tests}, in the order A, B, dW. */
    static List<Test> of(List<Test> tests, String module) {
        return tests.stream().filter(t -> t.module().equals(module)).toList();
    }

    /** The nulls' mean, nearest to the observed side: what an excess is measured from. */
    static double closerNullMean(double[] gaussian, double[] shuffled, boolean higherIsBetter) {
        return higherIsBetter ? Math.max(R2Null.mean(shuffled), R2Null.mean(gaussian))
                : Math.min(R2Null.mean(shuffled), R2Null.mean(gaussian));
    }
}
