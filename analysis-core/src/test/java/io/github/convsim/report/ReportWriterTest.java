package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.api.Analysis;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.AnalysisResult;
import io.github.convsim.results.ModuleResult;
import io.github.convsim.similarity.MultipleTesting;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.SimilaritySettings;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ReportWriterTest {
    @TempDir
    Path dir;

    /** Figures drawn module by module as the analysis goes are the files a writer draws at the end. */
    @Test
    void figuresDrawnModuleByModuleEqualThoseDrawnAtTheEnd() throws Exception {
        SimilaritySettings s = SimilaritySettings.paperDefaults();
        AnalysisOptions options = AnalysisOptions.defaults().withSimilarity(new SimilaritySettings(0, 0, s.sides(),
                s.factors(), Set.of(NullModel.GAUSSIAN, NullModel.W0), 3, 5, s.controls()));
        ReportWriter writer = new ReportWriter(Set.of("png", "svg"), MultipleTesting.Correction.HOLM);
        Path early = Files.createDirectories(dir.resolve("early"));
        List<String> drawn = new ArrayList<>();
        AnalysisResult result;
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), TestData.bertBase());
             Backends.Choice cpu = Backends.select("cpu")) {
            result = Analysis.run(ckpt, options, cpu, ProgressListener.NONE, null, m -> {
                try {
                    writer.writeFigures(m, early.resolve("figures"));
                    drawn.add(m.module());
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        }
        assertEquals(result.modules().stream().map(ModuleResult::module).toList(), drawn);
        writer.write(result, early, () -> Set.copyOf(drawn));
        Path late = Files.createDirectories(dir.resolve("late"));
        writer.write(result, late);
        Map<String, byte[]> a = files(early);
        Map<String, byte[]> b = files(late);
        assertEquals(b.keySet(), a.keySet());
        assertTrue(a.keySet().stream().filter(f -> f.startsWith("figures/")).count() >= 2 * 17 * 2, a.keySet().toString());
        for (String f : a.keySet()) {
            if (f.endsWith(".png")) {
                assertArrayEquals(b.get(f), a.get(f), f);
            }
        }
    }

    private static Map<String, byte[]> files(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            Map<String, byte[]> out = new TreeMap<>();
            for (Path p : s.filter(Files::isRegularFile).collect(Collectors.toList())) {
                out.put(root.relativize(p).toString(), Files.readAllBytes(p));
            }
            return out;
        }
    }
}
