package io.github.convsim.api;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.IllConditionedException;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.io.TensorInfo;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.results.AnalysisOptions;
import java.nio.file.Path;
import java.util.function.BiConsumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A bad W0 found while streaming is named by tensor, module and layer, with the real reason. */
class BadBaseTest {
    @TempDir
    Path dir;

    /** The BERT base with one tensor edited in place (row-major [out, in] values). */
    private Path base(String tensor, BiConsumer<double[], Integer> edit) throws Exception {
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(TestData.bertBase())) {
            for (String name : f.names()) {
                TensorInfo i = f.info(name);
                double[] v = f.readDoubles(name);
                if (name.equals(tensor)) {
                    edit.accept(v, (int) i.dim(1));
                }
                w.add(name, i.dtype(), i.shape(), v);
            }
        }
        Path p = dir.resolve(tensor + ".safetensors");
        w.write(p);
        return p;
    }

    private static void analyse(Path base) throws Exception {
        Backends.Choice cpu = Backends.select("cpu");
        try (LoraCheckpoint ckpt = LoraCheckpoint.open(TestData.bertAdapter(), base)) {
            Analysis.run(ckpt, AnalysisOptions.defaults().withModules(java.util.List.of("value")),
                    cpu, ProgressListener.NONE);
        } finally {
            cpu.backend().close();
        }
    }

    @Test
    void aNanInW0IsNamedNotBlamedOnATemporaryFile() throws Exception {
        String key = "bert.encoder.layer.4.attention.self.value.weight";
        Path base = base(key, (v, cols) -> v[3 * cols + 7] = Double.NaN);
        CheckpointException e = assertThrows(CheckpointException.class, () -> analyse(base));
        assertEquals(base + ": tensor '" + key + "' holds a non-finite value NaN at [3, 7]", e.getMessage());
    }

    @Test
    void anExactlySingularW0NamesItsLayerAndTensor() throws Exception {
        String key = "bert.encoder.layer.2.attention.self.value.weight";
        Path base = base(key, (v, cols) -> java.util.Arrays.fill(v, 5 * cols, 6 * cols, 0.0));
        IllConditionedException e = assertThrows(IllConditionedException.class, () -> analyse(base));
        assertTrue(e.getMessage().startsWith("module value layer 2: W0 '" + key + "' is exactly singular"),
                e.getMessage());
        assertTrue(e.getMessage().contains("use --mode lstsq or --mode pinv"), e.getMessage());
    }
}
