package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import java.nio.file.Path;

/**
 * Fuzzes the restricted unpickler on its own, where mutations reach the opcodes instead of the zip around them. A
 * pickle may load or be refused with a {@link CheckpointException}; nothing else, and never a global outside the
 * allowed ones (the fuzzer's own sanitizers watch for code execution and file access).
 */
class PickleFuzzTest {
    private static final Path NAME = Path.of("fuzz.pkl");

    @FuzzTest(maxDuration = "40s")
    void unpickle(byte[] input) {
        try {
            Object root = RestrictedUnpickler.load(NAME, input);
            assertTrue(root == null || root instanceof Object);
        } catch (CheckpointException refused) {
            assertTrue(refused.getMessage().startsWith("fuzz.pkl: "), refused.getMessage());
        }
    }
}
