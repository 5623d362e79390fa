package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Fixtures written by src/test/resources/torch/make_fixtures.py in torch.save's zip format. */
class TorchStateDictTest {
    private static Path fixture(String name) {
        return TestData.resource("torch/" + name);
    }

    @Test
    void readsTensorsContiguousOrStridedAndSkipsOtherValues() throws Exception {
        try (TorchStateDict sd = TorchStateDict.open(fixture("valid_state_dict.bin"))) {
            assertEquals(java.util.List.of("layer.0.weight", "layer.0.weight_t", "layer.0.row1", "half"),
                    java.util.List.copyOf(sd.names()));
            assertEquals(java.util.List.of("step"), sd.skippedKeys());
            assertArrayEquals(new long[] {2, 3}, sd.info("layer.0.weight").shape());
            assertEquals(Dtype.F32, sd.info("layer.0.weight").dtype());
            assertArrayEquals(new double[] {1, 2, 3, 4, 5, 6}, sd.readDoubles("layer.0.weight"), 0.0);
            assertArrayEquals(new double[] {1, 4, 2, 5, 3, 6}, sd.readDoubles("layer.0.weight_t"), 0.0);
            assertArrayEquals(new double[] {4, 5, 6}, sd.readDoubles("layer.0.row1"), 0.0);
            assertEquals(Dtype.F16, sd.info("half").dtype());
            assertArrayEquals(new double[] {0.5, -2.0, 65504.0}, sd.readDoubles("half"), 0.0);
        }
    }

    @Test
    void refusesAMaliciousGlobalWithoutRunningIt() throws Exception {
        Path marker = Path.of("/tmp/convsim-pwned");
        Files.deleteIfExists(marker);
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> TorchStateDict.open(fixture("malicious_global.bin")));
        assertTrue(e.getMessage().contains("refused to load global 'posix.system'")
                || e.getMessage().contains("refused to load global 'os.system'"), e.getMessage());
        assertFalse(Files.exists(marker));
    }

    @Test
    void refusesTheLegacyFormat() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> TorchStateDict.open(fixture("legacy_format.bin")));
        assertTrue(e.getMessage().contains("legacy"), e.getMessage());
    }

    @Test
    void refusesZipEntriesThatClimbOut() {
        CheckpointException e = assertThrows(CheckpointException.class,
                () -> TorchStateDict.open(fixture("path_traversal.bin")));
        assertTrue(e.getMessage().contains("not a safe relative path"), e.getMessage());
    }

    @Test
    void refusesAStorageShorterThanItsId() throws Exception {
        try (TorchStateDict sd = TorchStateDict.open(fixture("short_storage.bin"))) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> sd.readDoubles("w"));
            assertTrue(e.getMessage().contains("holds 12 bytes"), e.getMessage());
        }
    }

    @Test
    void refusesAViewPastItsStorage() throws Exception {
        try (TorchStateDict sd = TorchStateDict.open(fixture("view_out_of_range.bin"))) {
            CheckpointException e = assertThrows(CheckpointException.class, () -> sd.readDoubles("w"));
            assertTrue(e.getMessage().contains("reaches element 9 of a storage of 6"), e.getMessage());
        }
    }

    @Test
    void refusesAFileThatIsNotAZip() throws Exception {
        Path p = Files.createTempFile("junk", ".bin");
        Files.writeString(p, "hello");
        try {
            CheckpointException e = assertThrows(CheckpointException.class, () -> TorchStateDict.open(p));
            assertTrue(e.getMessage().contains("not a PyTorch zip checkpoint"), e.getMessage());
        } finally {
            Files.delete(p);
        }
    }
}
