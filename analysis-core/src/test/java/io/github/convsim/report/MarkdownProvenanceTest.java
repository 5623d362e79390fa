package io.github.convsim.report;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.results.Provenance;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MarkdownProvenanceTest {

    private static Provenance provenance() {
        Map<String, Object> options = new LinkedHashMap<>();
        options.put("seed", 7L);
        options.put("factors", List.of("A", "B"));
        options.put("checkpoint_notes", List.of());
        Map<String, Object> arithmetic = Map.of("threads", 2, "openblas_version", "OpenBLAS 0.3.31", "openblas_core",
                "HASWELL", "cpu_model", "AMD EPYC", "cpu_flags", List.of("avx2", "fma"), "self_check",
                Map.of("passed", true, "cases", 30, "milliseconds", 1.5, "worst_error_fraction_of_bound", 0.25));
        return new Provenance("convsim", "0.1.0", "17", "Linux", "cpu-openblas", "cpu", arithmetic,
                "2026-12-03T00:00:00Z",
                List.of(new Provenance.InputFile("base_weights", "/data/odd|name.safetensors", 12, "ab12")),
                options, Map.of("solve", 0.186723395999999, "factor", 0.5));
    }

    /** Inputs become a table row (a '|' in a path escaped), options and nested maps lists, never Java toString. */
    @Test
    void rendersTablesAndListsNotJavaRecords() {
        String md = MarkdownProvenance.of(provenance());
        assertTrue(md.startsWith("## Provenance\n\nArithmetic: OpenBLAS 0.3.31 with HASWELL kernels on AMD EPYC"
                + " (avx2, fma), 2 threads; self-check passed (30 cases in 1.5 ms, worst error 25 % of its"
                + " bound).\n\n"), md);
        assertTrue(md.contains("| tool | convsim |\n"), md);
        assertTrue(md.contains("| base_weights | `/data/odd\\|name.safetensors` | 12 | `ab12` |\n"), md);
        assertTrue(md.contains("- factors: `A, B`\n"), md);
        assertTrue(md.contains("- checkpoint_notes: `(none)`\n"), md);
        assertTrue(md.contains("- self_check:\n  - cases: `30`\n  - milliseconds: `1.5`\n  - passed: `true`\n"), md);
        assertTrue(md.contains("### Seconds per phase\n\n- factor: 0.500\n- solve: 0.187\n"), md);
        assertFalse(md.contains("InputFile["), md);
        assertFalse(md.contains("{") || md.contains("["), md);
        assertFalse(md.contains("### Resources"), md);
    }
}
