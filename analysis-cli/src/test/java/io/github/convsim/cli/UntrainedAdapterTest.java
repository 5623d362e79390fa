package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.io.TensorInfo;
import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An untrained adapter (every lora_B zero, as PEFT initialises it): undefined maps are n/a, and every command works. */
class UntrainedAdapterTest {
    @TempDir
    static Path dir;
    static Path untrained;

    @BeforeAll
    static void zeroEveryB() throws Exception {
        Path real = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
        untrained = Files.createDirectories(dir.resolve("untrained"));
        Files.copy(real.resolve("adapter_config.json"), untrained.resolve("adapter_config.json"));
        SafetensorsWriter w = new SafetensorsWriter();
        try (SafetensorsFile f = SafetensorsFile.open(real.resolve("adapter_model.safetensors"))) {
            for (String name : f.names()) {
                TensorInfo i = f.info(name);
                w.add(name, i.dtype(), i.shape(), name.contains("lora_B") ? new double[(int) i.numel()]
                        : f.readDoubles(name));
            }
        }
        w.write(untrained.resolve("adapter_model.safetensors"));
    }

    private static String base() {
        return CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString();
    }

    @Test
    void analyzeSucceedsWithNaPanels() throws Exception {
        Path out = dir.resolve("report");
        CliRunner.Result r = CliRunner.run("analyze", "--adapter", untrained.toString(), "--base", base(), "--out",
                out.toString(), "--draws", "2");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("query C_B: no similarity: phi is undefined (a layer's C_B has rank below i or j)."),
                r.out());
        assertTrue(r.out().contains("query C_A (left, i=8, j=8): average 0.0112"), "A is still analysed: " + r.out());
        BufferedImage img = ImageIO.read(out.resolve("figures/query.B.left.i8-j8.png").toFile());
        int grey = 0;
        for (int y = 0; y < img.getHeight(); y += 3) {
            for (int x = 0; x < img.getWidth(); x += 3) {
                grey += img.getRGB(x, y) == (0xFF000000 | 0xD9D9D9) ? 1 : 0;
            }
        }
        assertTrue(grey > 10_000, "an n/a panel of grey cells: " + grey);
    }

    @Test
    void compareSaysNaAndInspectWarns() {
        CliRunner.Result c = CliRunner.run("compare", CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8")
                .toString(), untrained.toString(), "--base", base(), "--out", dir.resolve("cmp").toString(), "--draws", "4");
        assertEquals(0, c.exit(), c.err());
        assertTrue(c.out().contains("query C_B (left): mean phi between adapters n/a (undefined"), c.out());
        assertFalse(c.out().contains("NaN"), c.out());
        // no verdict for a map with no defined cell (it read 'They share no more than unrelated adapters', p n/a)
        assertTrue(c.out().contains("No verdict: phi is undefined (a factor is zero, or of rank below i or j, in every"
                + " layer)"), c.out());
        assertFalse(c.out().contains("p = n/a"), c.out());
        CliRunner.Result i = CliRunner.run("inspect", untrained.toString(), "--base", base());
        assertEquals(0, i.exit(), i.err());
        assertTrue(i.out().contains("warning: lora_B of module query is zero in every layer (an untrained adapter)"),
                i.out());
    }
}
