package io.github.convsim.results;

import io.github.convsim.conversion.Conditioning;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.linalg.Precision;

/**
 * cond(W0) of one layer as a comparison solved it: how far its conversion matrices can be trusted (analyze gives the
 * same in {@link io.github.convsim.conversion.LayerDiagnostics}, with the residuals).
 *
 * @param rows W0's output dimension
 * @param cols W0's input dimension
 * @param mode the module's solve mode (paper where W0 is square, else lstsq, by default)
 * @param solutionRank how many of W0's singular directions the solves use (as {@link
 *                     io.github.convsim.conversion.LayerDiagnostics#solutionRank})
 */
public record LayerCondition(String module, int layer, int rows, int cols, SolveMode mode, Precision precision,
                             Conditioning conditioning, int solutionRank) {

    /** Decimal digits a solve can lose to W0's conditioning: log10(cond). */
    public double digitsLost() {
        return Math.log10(conditioning.value());
    }
}
