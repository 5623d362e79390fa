package io.github.convsim.results;

import io.github.convsim.conversion.ConditionMethod;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.Precision;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.List;

/**
 * Everything that decides an analysis' numbers.
 *
 * @param mode      solve mode; null chooses per module: paper where W0 is square, lstsq otherwise
 * @param modules   module names to analyse; empty for all
 * @param backend   "auto", "cpu" or "cuda"
 * @param cond      how cond(W0) is obtained
 */
public record AnalysisOptions(SolveMode mode, Precision precision, double rcond, double lambda,
                              SimilaritySettings similarity, List<String> modules, String backend,
                              ConditionMethod cond) {

    public AnalysisOptions {
        modules = List.copyOf(modules);
        new SolveOptions(mode == null ? SolveMode.PAPER : mode, precision, rcond, lambda, cond); // validates
    }

    public AnalysisOptions(SolveMode mode, Precision precision, double rcond, double lambda,
                           SimilaritySettings similarity, List<String> modules, String backend) {
        this(mode, precision, rcond, lambda, similarity, modules, backend, ConditionMethod.AUTO);
    }

    /** The paper's choices: paper mode where W0 is square, fp64, i = j = r, left vectors, A, B, dW, all nulls. */
    public static AnalysisOptions defaults() {
        return new AnalysisOptions(null, Precision.FP64, SolveOptions.DEFAULT_RCOND, SolveOptions.DEFAULT_LAMBDA,
                SimilaritySettings.paperDefaults(), List.of(), "auto");
    }

    public AnalysisOptions withSimilarity(SimilaritySettings s) {
        return new AnalysisOptions(mode, precision, rcond, lambda, s, modules, backend, cond);
    }

    public AnalysisOptions withMode(SolveMode m) {
        return new AnalysisOptions(m, precision, rcond, lambda, similarity, modules, backend, cond);
    }

    public AnalysisOptions withPrecision(Precision p) {
        return new AnalysisOptions(mode, p, rcond, lambda, similarity, modules, backend, cond);
    }

    public AnalysisOptions withBackend(String b) {
        return new AnalysisOptions(mode, precision, rcond, lambda, similarity, modules, b, cond);
    }

    public AnalysisOptions withCond(ConditionMethod c) {
        return new AnalysisOptions(mode, precision, rcond, lambda, similarity, modules, backend, c);
    }

    public AnalysisOptions withModules(List<String> m) {
        return new AnalysisOptions(mode, precision, rcond, lambda, similarity, m, backend, cond);
    }

    public SolveOptions solveOptions(boolean squareW0) {
        SolveMode m = mode != null ? mode : (squareW0 ? SolveMode.PAPER : SolveMode.LSTSQ);
        return new SolveOptions(m, precision, rcond, lambda, cond);
    }
}
