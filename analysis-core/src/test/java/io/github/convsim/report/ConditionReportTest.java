package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.github.convsim.conversion.Conditioning;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.linalg.Precision;
import io.github.convsim.results.LayerCondition;
import java.util.List;
import org.junit.jupiter.api.Test;

/** compare's sentence per module on cond(W0): its range, the ill-conditioned layers and the singular ones apart. */
class ConditionReportTest {
    private static LayerCondition layer(String module, int l, double cond, SolveMode mode, Precision p) {
        return new LayerCondition(module, l, 16, 64, mode, p, new Conditioning(cond, true, 16, "2-norm"), 16);
    }

    @Test
    void eachModuleSaysItsRangeAndWhichLayersLoseDigits() {
        List<LayerCondition> layers = List.of(
                layer("k", 0, 10, SolveMode.LSTSQ, Precision.FP64),
                layer("k", 1, 2e5, SolveMode.LSTSQ, Precision.FP64),
                layer("k", 2, Double.POSITIVE_INFINITY, SolveMode.LSTSQ, Precision.FP64),
                layer("v", 0, 3e6, SolveMode.PINV, Precision.FP32),
                layer("v", 1, 4e5, SolveMode.PINV, Precision.FP32),
                layer("q", 0, 12.5, SolveMode.LSTSQ, Precision.FP64));
        // fp64 keeps 15.95 digits (unit roundoff 1.1e-16): 15.95 - log10(2e5) = 10.65; fp32 7.22 - log10(3e6) = 0.74
        assertEquals(List.of(
                "k (3 layers, 16 x 64, lstsq mode, fp64): cond(W0) from 10.0 (layer 0) to Infinity (layer 2), 2-norm;"
                        + " ill-conditioned (above 1e5) at layer 1, where a solve loses up to 5.3 digits (fp64 keeps"
                        + " about 11); singular at layer 2, where the lstsq solve keeps only the part of each factor"
                        + " in W0's range.",
                "v (2 layers, 16 x 64, pinv mode, fp32): cond(W0) from 4.00e+05 (layer 1) to 3.00e+06 (layer 0),"
                        + " 2-norm; ill-conditioned (above 1e5) at layers 0, 1, where a solve loses up to 6.5 digits"
                        + " (fp32 keeps about 1).",
                "q (1 layer, 16 x 64, lstsq mode, fp64): cond(W0) from 12.5 (layer 0) to 12.5 (layer 0), 2-norm; none"
                        + " above 1e5."), ConditionReport.sentences(layers));
    }

    /**
     * analyze's flags say the same: a singular W0 is singular, not "about Infinity digits" lost; the norm follows the
     * value after a comma, as in compare's sentence (in parentheses it read "(2-norm (Lanczos))").
     */
    @Test
    void analyzeFlagsASingularW0AsSingular() {
        java.util.function.DoubleFunction<io.github.convsim.conversion.LayerDiagnostics> layer = cond ->
                new io.github.convsim.conversion.LayerDiagnostics("k", cond > 1e10 ? 1 : 0, 16, 64, "W0^T C_A = A^T",
                        "W0 C_B = B", SolveMode.LSTSQ, Precision.FP64, cond, "2-norm", 15, 15, 1e-14, 1e-14, 1e-14,
                        Double.NaN);
        io.github.convsim.results.ModuleResult m = new io.github.convsim.results.ModuleResult("k", SolveMode.LSTSQ,
                List.of(layer.apply(2e5), layer.apply(Double.POSITIVE_INFINITY)), List.of());
        assertEquals(List.of("k layer 0: cond(W0) = 2.00e+05, 2-norm, ill-conditioned: a solve loses about 5.3 digits"
                + " (fp64 keeps about 11, fp32 about 2)", "k layer 1: W0 is singular (2-norm), so the lstsq solve keeps"
                + " only the part of each factor in W0's range"), MarkdownReport.flags(new io.github.convsim.results
                .AnalysisResult("a", null, List.of(m), null, null)));
    }

    /**
     * analyze's flag and compare's sentence count the digits kept the same way: at cond 10^5.452 fp64 keeps 15.9546 -
     * 5.452 = 10.503, about 11; analyze subtracted from the literal 15.95 (10.498, "10") where compare said 11.
     */
    @Test
    void analyzeAndCompareCountTheDigitsKeptAlike() {
        double cond = Math.pow(10, 5.452);
        io.github.convsim.results.ModuleResult m = new io.github.convsim.results.ModuleResult("k", SolveMode.LSTSQ,
                List.of(new io.github.convsim.conversion.LayerDiagnostics("k", 0, 16, 64, "W0^T C_A = A^T", "W0 C_B = B",
                        SolveMode.LSTSQ, Precision.FP64, cond, "2-norm", 16, 16, 1e-14, 1e-14, 1e-14, Double.NaN)),
                List.of());
        String flag = MarkdownReport.flags(new io.github.convsim.results.AnalysisResult("a", null, List.of(m), null,
                null)).get(0);
        assertEquals("k layer 0: cond(W0) = 2.83e+05, 2-norm, ill-conditioned: a solve loses about 5.5 digits (fp64"
                + " keeps about 11, fp32 about 2)", flag);
        String sentence = ConditionReport.sentences(List.of(layer("k", 0, cond, SolveMode.LSTSQ, Precision.FP64)))
                .get(0);
        assertEquals(true, sentence.contains("(fp64 keeps about 11)"), sentence);
        assertEquals(15.9546, Precision.FP64.decimalDigits(), 1e-4);
        assertEquals(7.2247, Precision.FP32.decimalDigits(), 1e-4);
    }

    /** Through pinv's cut-off the sentence says how many directions the solves kept, as analyze's residual flag does. */
    @Test
    void aCutOffSaysHowManyDirectionsItKept() {
        java.util.function.IntFunction<LayerCondition> layer = kept -> new LayerCondition("q", kept, 64, 64,
                SolveMode.PINV, Precision.FP64, new Conditioning(150, true, 64, "2-norm"), kept);
        assertEquals(List.of("q (3 layers, 64 x 64, pinv mode, fp64): cond(W0) from 150 (layer 8) to 150 (layer 8),"
                + " 2-norm; none above 1e5; the pinv solve keeps 8 to 10 of W0's 64 singular directions."),
                ConditionReport.sentences(List.of(layer.apply(8), layer.apply(10), layer.apply(9))));
        assertEquals("8", ConditionReport.range(java.util.stream.IntStream.of(8, 8)));
    }
}
