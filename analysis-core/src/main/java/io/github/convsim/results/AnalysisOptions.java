package io.github.convsim.results;

import static io.github.convsim.results.RecordedValues.entry;
import static io.github.convsim.results.RecordedValues.integer;
import static io.github.convsim.results.RecordedValues.number;
import static io.github.convsim.results.RecordedValues.text;
import static io.github.convsim.results.RecordedValues.texts;

import io.github.convsim.conversion.ConditionMethod;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.Precision;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

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

    /**
     * A builder starting from the paper's defaults ({@link #defaults()}):
     *
     * <pre>{@code
     * AnalysisOptions o = AnalysisOptions.builder().modules("value").mode(SolveMode.LSTSQ)
     *         .similarity(SimilaritySettings.builder().prefixes(4, 8).draws(64).build()).build();
     * }</pre>
     */
    public static Builder builder() {
        return new Builder(defaults());
    }

    /** A builder starting from these options. */
    public Builder toBuilder() {
        return new Builder(this);
    }

    /** Builds {@link AnalysisOptions}; every value is checked by {@link #build()}. */
    public static final class Builder {
        private SolveMode mode;
        private Precision precision;
        private double rcond;
        private double lambda;
        private SimilaritySettings similarity;
        private List<String> modules;
        private String backend;
        private ConditionMethod cond;

        private Builder(AnalysisOptions from) {
            mode = from.mode;
            precision = from.precision;
            rcond = from.rcond;
            lambda = from.lambda;
            similarity = from.similarity;
            modules = from.modules;
            backend = from.backend;
            cond = from.cond;
        }

        /** How C is solved; null (the default) chooses per module: paper where W0 is square, lstsq otherwise. */
        public Builder mode(SolveMode mode) {
            this.mode = mode;
            return this;
        }

        /** fp64 (the default) or fp32 arithmetic for the solves. */
        public Builder precision(Precision precision) {
            this.precision = precision;
            return this;
        }

        /** Relative cut-off of singular values for pinv mode. */
        public Builder rcond(double rcond) {
            this.rcond = rcond;
            return this;
        }

        /** Tikhonov parameter for ridge mode. */
        public Builder lambda(double lambda) {
            this.lambda = lambda;
            return this;
        }

        /** What is compared and against which nulls. */
        public Builder similarity(SimilaritySettings similarity) {
            this.similarity = similarity;
            return this;
        }

        /** Modules to analyse, e.g. "query", "value"; none for all. */
        public Builder modules(String... modules) {
            this.modules = List.of(modules);
            return this;
        }

        /** "auto" (the default), "cpu" or "cuda". */
        public Builder backend(String backend) {
            this.backend = backend;
            return this;
        }

        /** How cond(W0) is obtained. */
        public Builder cond(ConditionMethod cond) {
            this.cond = cond;
            return this;
        }

        public AnalysisOptions build() {
            return new AnalysisOptions(mode, precision, rcond, lambda, similarity, modules, backend, cond);
        }
    }

    /** The label recorded for a mode chosen per module. */
    static final String AUTO_MODE = "auto (paper where W0 is square, else lstsq)";

    /**
     * These options as recorded in a report's provenance ({@code summary.json}: provenance.options); {@link
     * #fromMap(Map)} reads them back to equal options.
     */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("mode", mode == null ? AUTO_MODE : mode.label());
        m.put("precision", precision.name().toLowerCase(Locale.ROOT));
        m.put("rcond", rcond);
        m.put("lambda", lambda);
        m.put("i", similarity.i() == 0 ? "r" : similarity.i());
        m.put("j", similarity.j() == 0 ? "r" : similarity.j());
        m.put("sides", similarity.sides().stream().map(Side::label).toList());
        m.put("factors", similarity.factors().stream().map(Factor::label).toList());
        m.put("nulls", similarity.nulls().stream().map(NullModel::label).sorted().toList());
        m.put("draws", similarity.draws());
        if (similarity.draws() > 0) { // nothing is drawn otherwise, and a seed recorded would read as used
            m.put("seed", similarity.seed());
        }
        m.put("controls", similarity.controls().stream().sorted().toList());
        m.put("modules", modules.isEmpty() ? "all" : modules);
        m.put("backend", backend);
        m.put("cond", cond.label());
        return m;
    }

    /**
     * Options from a report's provenance ({@link #toMap()}).
     *
     * @throws IllegalArgumentException naming the entry that is missing or not what {@link #toMap()} writes
     */
    public static AnalysisOptions fromMap(Map<String, ?> m) {
        String mode = text(m, "mode");
        List<Side> sides = texts(m, "sides").stream().map(Side::parse).toList();
        List<Factor> factors = texts(m, "factors").stream().map(Factor::parse).toList();
        Set<NullModel> nulls = new LinkedHashSet<>(texts(m, "nulls").stream().map(NullModel::parse).toList());
        Object modules = m.get("modules");
        int draws = Math.toIntExact(integer(m, "draws"));
        SimilaritySettings similarity = new SimilaritySettings(prefix(m, "i"), prefix(m, "j"), sides, factors, nulls,
                draws, draws == 0 && !m.containsKey("seed") ? SimilaritySettings.DEFAULT_SEED : integer(m, "seed"),
                new LinkedHashSet<>(texts(m, "controls")));
        return new AnalysisOptions(mode.equals(AUTO_MODE) ? null : SolveMode.parse(mode),
                Precision.valueOf(text(m, "precision").toUpperCase(Locale.ROOT)), number(m, "rcond"),
                number(m, "lambda"), similarity, "all".equals(modules) ? List.of() : texts(m, "modules"),
                text(m, "backend"), ConditionMethod.parse(text(m, "cond")));
    }

    private static int prefix(Map<String, ?> m, String key) {
        return "r".equals(entry(m, key)) ? 0 : Math.toIntExact(integer(m, key));
    }

    public SolveOptions solveOptions(boolean squareW0) {
        SolveMode m = mode != null ? mode : (squareW0 ? SolveMode.PAPER : SolveMode.LSTSQ);
        return new SolveOptions(m, precision, rcond, lambda, cond);
    }
}
