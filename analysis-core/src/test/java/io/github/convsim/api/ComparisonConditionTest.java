package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.TestData;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.ConditionMethod;
import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.report.ComparisonReport;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.results.LayerCondition;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * compare reports cond(W0) of every layer it solves: it took --cond and computed it, and said nothing of it (a query
 * W0 of the demo's base has cond 2.5e5, where a solve loses five of fp64's sixteen digits).
 */
class ComparisonConditionTest {
    @TempDir
    Path dir;

    @Test
    void compareReportsTheConditionAnalyzeComputesForEachLayer() throws Exception {
        for (ConditionMethod method : List.of(ConditionMethod.LANCZOS, ConditionMethod.EXACT)) {
            AnalysisOptions options = AnalysisOptions.builder().modules("query").cond(method)
                    .similarity(SimilaritySettings.builder().nulls(NullModel.ANALYTIC).controls().build()).build();
            AnalysisResult analysed;
            ComparisonResult compared;
            try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
                 Backends.Choice cpu = Backends.select("cpu")) {
                analysed = Analysis.run(ckpt, options, cpu, ProgressListener.NONE);
                compared = Comparison.run(List.of(TestData.bertAdapter(), TestData.bertAdapter()),
                        TestData.bertBase(), options, cpu, ProgressListener.NONE);
            }
            List<LayerDiagnostics> expected = analysed.module("query").diagnostics();
            List<LayerCondition> got = compared.conditions();
            assertEquals(expected.size(), got.size());
            for (int k = 0; k < got.size(); k++) {
                LayerDiagnostics d = expected.get(k);
                LayerCondition c = got.get(k);
                assertEquals(d.layer(), c.layer());
                assertEquals(d.rows(), c.rows());
                assertEquals(d.cols(), c.cols());
                assertEquals(d.mode(), c.mode());
                assertEquals(d.condW0(), c.conditioning().value(), 0.0, "layer " + d.layer() + ", " + method);
                assertEquals(d.condNorm(), c.conditioning().norm());
                assertEquals(d.solutionRank(), c.solutionRank());
            }

            Path out = Files.createDirectories(dir.resolve(method.name()));
            new ComparisonReport(Set.of("png")).write(compared, out);
            List<String> csv = Files.readAllLines(out.resolve("diagnostics.csv"));
            assertEquals("module,layer,rows,cols,mode,precision,cond_w0,cond_norm,rank,solution_rank", csv.get(0));
            assertEquals(expected.size() + 1, csv.size());
            for (int k = 0; k < expected.size(); k++) {
                String[] cells = csv.get(k + 1).split(",");
                assertEquals(expected.get(k).condW0(), Double.parseDouble(cells[6]), 0.0);
                assertEquals(768, Integer.parseInt(cells[9]), "paper mode uses all of W0's directions");
            }
            double max = expected.stream().mapToDouble(LayerDiagnostics::condW0).max().orElseThrow();
            List<Integer> ill = expected.stream().filter(d -> d.condW0() > 1e5).map(LayerDiagnostics::layer).toList();
            assertFalse(ill.isEmpty(), "the demo's query W0 has layers above 1e5");
            JsonNode module = new ObjectMapper().readTree(out.resolve("summary.json").toFile()).get("modules").get(0);
            assertEquals("query", module.get("module").asText());
            assertEquals(max, module.get("max_cond_w0").asDouble(), 0.0);
            assertEquals(ill.toString().replace(" ", ""), module.get("ill_conditioned_layers").toString());
            String md = Files.readString(out.resolve("report.md"));
            String sentence = md.lines().filter(l -> l.startsWith("- query (12 layers, 768 x 768, paper mode, fp64):"
                    + " cond(W0) from ")).findFirst().orElseThrow(() -> new AssertionError(md));
            assertTrue(sentence.contains(String.format(java.util.Locale.ROOT, " to %.3g (layer ", max)), sentence);
            assertTrue(sentence.contains("ill-conditioned (above 1e5) at layers " + String.join(", ",
                    ill.stream().map(String::valueOf).toList()) + ", where a solve loses up to "
                    + String.format(java.util.Locale.ROOT, "%.1f digits (fp64 keeps about %.0f).", Math.log10(max),
                    -Math.log10(2.220446049250313e-16 / 2) - Math.log10(max))), sentence);
            assertTrue(Files.readString(out.resolve("index.html")).contains("cond(W0) from "));

            // a result built without conditions (a library user's) writes no W0 section and no empty table
            Path bare = Files.createDirectories(dir.resolve(method.name() + "-bare"));
            new ComparisonReport(Set.of("png")).write(new ComparisonResult(compared.adapters(), null, compared.maps(),
                    compared.provenance()), bare);
            assertFalse(Files.exists(bare.resolve("diagnostics.csv")));
            assertFalse(Files.readString(bare.resolve("report.md")).contains("## W0"));
        }
    }
}
