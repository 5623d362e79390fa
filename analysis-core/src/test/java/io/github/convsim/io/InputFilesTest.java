package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import io.github.convsim.model.LoraCheckpoint;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Inputs that are not regular files, loops of links and tensors that cannot hold weights: refused by name, at once. */
class InputFilesTest {
    @TempDir
    Path dir;

    private Path fifo(String name) throws Exception {
        Path p = dir.resolve(name);
        Process mk = new ProcessBuilder("mkfifo", p.toString()).start();
        assertTrue(mk.waitFor(10, TimeUnit.SECONDS) && mk.exitValue() == 0, "mkfifo");
        return p;
    }

    private Path adapterWithConfig(Path config) throws Exception {
        Path adapter = Files.createDirectories(dir.resolve("adapter"));
        Files.copy(TestData.bertAdapter().resolve("adapter_model.safetensors"),
                adapter.resolve("adapter_model.safetensors"));
        Files.createSymbolicLink(adapter.resolve("adapter_config.json"), config);
        return adapter;
    }

    @Test
    void aFifoIsRefusedWithoutOpeningIt() throws Exception {
        Path base = fifo("base.safetensors");
        long t0 = System.nanoTime();
        CheckpointException e = assertThrows(CheckpointException.class, () -> WeightSources.open(base));
        assertEquals(base + ": not a regular file (it is a FIFO)", e.getMessage());
        Path adapter = adapterWithConfig(fifo("config.json"));
        CheckpointException c = assertThrows(CheckpointException.class,
                () -> LoraCheckpoint.open(adapter, TestData.bertBase()));
        assertTrue(c.getMessage().endsWith("adapter_config.json: not a regular file (it is a FIFO)"), c.getMessage());
        assertTrue(System.nanoTime() - t0 < TimeUnit.SECONDS.toNanos(5), "no hang");
    }

    @Test
    void aLoopOfLinksIsNamedAsSuch() throws Exception {
        Path a = dir.resolve("a.safetensors");
        Path b = dir.resolve("b.safetensors");
        Files.createSymbolicLink(a, b);
        Files.createSymbolicLink(b, a);
        CheckpointException e = assertThrows(CheckpointException.class, () -> WeightSources.open(a));
        assertEquals(a + ": a loop of symbolic links", e.getMessage());
        Path dangling = Files.createSymbolicLink(dir.resolve("d.safetensors"), dir.resolve("gone"));
        assertEquals(dangling + ": a symbolic link to a file that does not exist",
                assertThrows(CheckpointException.class, () -> WeightSources.open(dangling)).getMessage());
    }

    @Test
    void aDirectoryWhereAFileBelongsIsNamed() throws Exception {
        Path adapter = adapterWithConfig(Files.createDirectories(dir.resolve("cfgdir")));
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> LoraCheckpoint.open(adapter, TestData.bertBase()));
        assertTrue(e.getMessage().endsWith("adapter_config.json: not a regular file (it is a directory)"), e.getMessage());
    }

    /** A copy of a safetensors file with one tensor's dtype relabelled from F32 to I32 (same size, valid layout). */
    private Path relabelled(Path source, Path copy, String tensor) throws Exception {
        byte[] b = Files.readAllBytes(source);
        long headerLen = java.nio.ByteBuffer.wrap(b, 0, 8).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
        String header = new String(b, 8, (int) headerLen, java.nio.charset.StandardCharsets.UTF_8);
        int at = header.indexOf("\"" + tensor + "\"");
        int dtype = header.indexOf("\"F32\"", at);
        assertTrue(at >= 0 && dtype > at && dtype - at < 200, "found " + tensor + " in " + source);
        b[8 + header.substring(0, dtype + 1).getBytes(java.nio.charset.StandardCharsets.UTF_8).length] = 'I';
        Files.createDirectories(copy.getParent());
        return Files.write(copy, b);
    }

    @Test
    void integerTensorsCannotBeWeights() throws Exception {
        Path adapter = Files.createDirectories(dir.resolve("int-adapter"));
        Files.copy(TestData.bertAdapter().resolve("adapter_config.json"), adapter.resolve("adapter_config.json"));
        String factor = "base_model.model.bert.encoder.layer.3.attention.self.query.lora_A.weight";
        relabelled(TestData.bertAdapter().resolve("adapter_model.safetensors"),
                adapter.resolve("adapter_model.safetensors"), factor);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> LoraCheckpoint.open(adapter, TestData.bertBase()));
        assertTrue(e.getMessage().contains("tensor '" + factor + "' is I32, which cannot hold weights"), e.getMessage());

        String w0 = "bert.encoder.layer.5.attention.self.value.weight";
        Path base = relabelled(TestData.bertBase(), dir.resolve("base/i32.safetensors"), w0);
        CheckpointException b = assertThrows(CheckpointException.class,
                () -> LoraCheckpoint.open(TestData.bertAdapter(), base));
        assertTrue(b.getMessage().startsWith(base + ": tensor '" + w0 + "' is I32"), b.getMessage());
    }

    @Test
    void aHeaderTooLargeForTheHeapIsRefusedBeforeParsing() throws Exception {
        long tooBig = Runtime.getRuntime().maxMemory() / HeapBudget.BYTES_PER_JSON_BYTE;
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> HeapBudget.requireFor(dir.resolve("x.safetensors"), tooBig, "header"));
        assertTrue(e.getMessage().contains("of Java heap to parse, more than half of the"), e.getMessage());
        assertTrue(e.getMessage().contains("CONVSIM_JAVA_OPTS=-Xmx"), e.getMessage());
        HeapBudget.requireFor(dir.resolve("x.safetensors"), 1 << 20, "header");
    }

    @Test
    void shardsAreCheckedLikeEveryOtherInput() throws Exception {
        Path index = dir.resolve("model.safetensors.index.json");
        fifo("shard-1.safetensors");
        Files.writeString(index, "{\"weight_map\": {\"w\": \"shard-1.safetensors\"}}");
        CheckpointException e = assertThrows(CheckpointException.class, () -> WeightSources.open(index));
        assertTrue(e.getMessage().endsWith("shard-1.safetensors: not a regular file (it is a FIFO)"), e.getMessage());
    }
}
