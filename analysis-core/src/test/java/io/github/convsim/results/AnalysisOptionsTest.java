package io.github.convsim.results;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.conversion.ConditionMethod;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.SolveMode;
import io.github.convsim.linalg.Precision;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Options survive the trip through summary.json's provenance, and the builders start from the paper's defaults. */
class AnalysisOptionsTest {
    @SuppressWarnings("unchecked")
    private static AnalysisOptions throughJson(AnalysisOptions o) throws Exception {
        ObjectMapper json = new ObjectMapper();
        return AnalysisOptions.fromMap(json.readValue(json.writeValueAsString(o.toMap()), Map.class));
    }

    @Test
    void everyOptionSurvivesTheRoundTrip() throws Exception {
        AnalysisOptions defaults = AnalysisOptions.defaults();
        assertEquals(defaults, throughJson(defaults));
        AnalysisOptions custom = AnalysisOptions.builder().mode(SolveMode.RIDGE).precision(Precision.FP32).lambda(0.25)
                .rcond(1e-9).modules("value", "query").backend("cpu").cond(ConditionMethod.EXACT)
                .similarity(SimilaritySettings.builder().prefixes(3, 5).sides(Side.RIGHT, Side.LEFT)
                        .factors(Factor.DW).nulls(NullModel.W0).draws(17).seed(Long.MAX_VALUE - 1).controls("W0", "B")
                        .build())
                .build();
        AnalysisOptions back = throughJson(custom);
        assertEquals(custom, back);
        assertEquals(Long.MAX_VALUE - 1, back.similarity().seed(), "a seed above 2^53 is kept exactly");
    }

    /** Where nothing is drawn no seed is recorded (it read as used), and such a record reads back as the options. */
    @Test
    void noDrawsRecordNoSeed() throws Exception {
        AnalysisOptions analytic = AnalysisOptions.builder().similarity(SimilaritySettings.builder()
                .nulls(NullModel.ANALYTIC).draws(0).build()).build();
        assertFalse(analytic.toMap().containsKey("seed"), analytic.toMap().toString());
        assertEquals(0, analytic.toMap().get("draws"));
        assertEquals(analytic, throughJson(analytic));
        assertEquals(SimilaritySettings.DEFAULT_SEED, throughJson(analytic).similarity().seed());
        assertEquals(SimilaritySettings.DEFAULT_SEED, AnalysisOptions.defaults().toMap().get("seed"));
        // a record with draws and no seed is damaged, not defaulted
        Map<String, Object> m = new java.util.HashMap<>(AnalysisOptions.defaults().toMap());
        m.remove("seed");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AnalysisOptions.fromMap(m)).getMessage()
                .contains("'seed'"));
    }

    @Test
    void buildersStartFromThePapersDefaults() {
        assertEquals(SimilaritySettings.paperDefaults(), SimilaritySettings.builder().build());
        assertEquals(AnalysisOptions.defaults(), AnalysisOptions.builder().build());
        SimilaritySettings s = SimilaritySettings.builder().draws(64).build();
        assertEquals(64, s.draws());
        assertEquals(List.of(Side.LEFT), s.sides());
        assertEquals(Set.of(NullModel.GAUSSIAN, NullModel.W0, NullModel.ANALYTIC), s.nulls());
        assertThrows(IllegalArgumentException.class, () -> SimilaritySettings.builder().draws(1).build());
    }

    @Test
    void aDamagedRecordNamesTheEntry() {
        Map<String, Object> m = new java.util.HashMap<>(AnalysisOptions.defaults().toMap());
        m.put("seed", 1.5);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> AnalysisOptions.fromMap(m));
        assertTrue(e.getMessage().contains("'seed'"), e.getMessage());
        m.remove("draws");
        assertTrue(assertThrows(IllegalArgumentException.class, () -> AnalysisOptions.fromMap(m)).getMessage()
                .contains("'draws'"));
    }
}
