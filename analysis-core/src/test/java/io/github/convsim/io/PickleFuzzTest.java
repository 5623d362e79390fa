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
            assertOnlyAllowedValues(root, java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>()));
        } catch (CheckpointException refused) {
            assertTrue(refused.getMessage().startsWith("fuzz.pkl: "), refused.getMessage());
        }
    }

    /**
     * Everything reachable from a loaded pickle is a plain value, a container of them, an allowed global, or a storage
     * or tensor reference with non-negative sizes; memoised containers may refer to themselves, so each is visited once.
     */
    private static void assertOnlyAllowedValues(Object v, java.util.Set<Object> seen) {
        if (v == null || v instanceof Long || v instanceof java.math.BigInteger || v instanceof Boolean
                || v instanceof Double || v instanceof String || v instanceof byte[]) {
            return;
        }
        if (!seen.add(v)) {
            return;
        }
        if (v instanceof java.util.Map<?, ?> m) {
            m.forEach((k, x) -> {
                assertOnlyAllowedValues(k, seen);
                assertOnlyAllowedValues(x, seen);
            });
        } else if (v instanceof java.util.List<?> l) {
            l.forEach(x -> assertOnlyAllowedValues(x, seen));
        } else if (v instanceof RestrictedUnpickler.Tuple t) {
            for (Object x : t.items()) {
                assertOnlyAllowedValues(x, seen);
            }
        } else if (v instanceof RestrictedUnpickler.Global g) {
            assertTrue(RestrictedUnpickler.ALLOWED_GLOBALS.contains(g.qualified()), g.qualified());
        } else if (v instanceof RestrictedUnpickler.StorageRef s) {
            assertTrue(s.numel() >= 0, "storage of " + s.numel() + " elements");
        } else if (v instanceof RestrictedUnpickler.TensorRef t) {
            assertTrue(t.offset() >= 0 && t.size().length == t.stride().length, "tensor " + t);
            assertOnlyAllowedValues(t.storage(), seen);
        } else {
            throw new AssertionError("the unpickler produced a " + v.getClass().getName());
        }
    }
}
