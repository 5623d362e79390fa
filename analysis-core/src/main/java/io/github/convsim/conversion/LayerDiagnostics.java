package io.github.convsim.conversion;

import io.github.convsim.linalg.Precision;

/**
 * How trustworthy one layer's conversion matrices are.
 *
 * @param rows          W0's output dimension
 * @param cols          W0's input dimension
 * @param equationA     the system C_A solves, e.g. "W0 C_A = A^T"
 * @param equationB     the system C_B solves, "W0 C_B = B"
 * @param condW0        cond_2(W0) = s_max / s_min from double-precision singular values, or an estimate of cond_1
 * @param condNorm      which: "2-norm", "2-norm (Lanczos)" or "1-norm estimate"
 * @param rank          numerical rank of W0; -1 where the singular values were not computed
 * @param solutionRank  how many of W0's singular directions the solutions use ({@link
 *                      ConversionSolver#solutionRank}): the conversion matrices lie in a subspace of that dimension
 * @param residualA     ||W0 C_A - A^T||_F / ||A^T||_F (W0^T for a non-square W0)
 * @param residualB     ||W0 C_B - B||_F / ||B||_F
 * @param residualDW    ||W0 C_dW - B A||_F / ||B A||_F
 * @param precisionGap  max over A and B of ||C(fp32) - C(fp64)||_F / ||C(fp64)||_F; NaN when not computed
 */
public record LayerDiagnostics(String module, int layer, int rows, int cols, String equationA, String equationB,
                               SolveMode mode, Precision precision, double condW0, String condNorm, int rank,
                               int solutionRank, double residualA, double residualB, double residualDW,
                               double precisionGap) {

    /** Decimal digits a solve in the given precision can lose to W0's conditioning: log10(cond). */
    public double digitsLost() {
        return Math.log10(condW0);
    }
}
