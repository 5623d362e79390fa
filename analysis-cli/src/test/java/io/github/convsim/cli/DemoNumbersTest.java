package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Speed work must not move the demo report's numbers: the default analysis of the bundled adapter is compared with
 * the report written at commit ed03895, before it (src/test/resources/golden/demo, see its README). Every number
 * derived from the conversion matrices and the nulls must agree to 1e-12 (relative above 1). Three columns are
 * rounding noise by nature and only need to keep their size: cond(W0), by Lanczos to its stated 1e-6; the residuals,
 * which are near n eps cond and differ between BLAS kernels; and the fp32 gap, whose fp32 solve differs between
 * kernels by its own rounding.
 */
class DemoNumbersTest {
    private static final double TOLERANCE = 1e-12;

    @TempDir
    Path dir;

    @Test
    void theDefaultDemoReportKeepsEveryNumberOfTheReferenceRun() throws Exception {
        CliRunner.Result r = CliRunner.run("analyze", "--out", dir.toString(), "-q");
        assertEquals(0, r.exit(), r.err());

        List<String[]> golden = csv(resource("similarity.csv.gz"));
        List<String[]> now = csv(Files.newInputStream(dir.resolve("similarity.csv")));
        int compared = compareCsv("similarity.csv", golden, now, Map.of());
        assertTrue(compared > 1440 * 10, "compared only " + compared + " numbers of similarity.csv");

        compared = compareCsv("diagnostics.csv", csv(resource("diagnostics.csv")),
                csv(Files.newInputStream(dir.resolve("diagnostics.csv"))),
                Map.of("cond_w0", 1e-6, "residual_A", -1.0, "residual_B", -1.0, "residual_dW", -1.0,
                        "fp32_vs_fp64", 0.5));
        assertTrue(compared >= 24 * 5, "compared only " + compared + " numbers of diagnostics.csv");

        ObjectMapper json = new ObjectMapper();
        JsonNode expected = json.readTree(resource("heatmaps.json")).get("heatmaps");
        JsonNode actual = json.readTree(dir.resolve("summary.json").toFile()).get("heatmaps");
        assertEquals(expected.size(), actual.size(), "number of heatmaps");
        int[] numbers = {0};
        for (int k = 0; k < expected.size(); k++) {
            compareJson("heatmaps[" + k + "]", expected.get(k), actual.get(k), numbers);
        }
        assertTrue(numbers[0] > 100, "compared only " + numbers[0] + " numbers of summary.json");
    }

    /**
     * Cell by cell, by column name; numbers within {@link #TOLERANCE} unless {@code loose} names the column: a
     * positive value is its relative tolerance, a negative one asks only for a residual below 1e-9.
     */
    private static int compareCsv(String file, List<String[]> expected, List<String[]> actual,
                                  Map<String, Double> loose) {
        assertArrayEquals(expected.get(0), actual.get(0), file + " header");
        assertEquals(expected.size(), actual.size(), file + " rows");
        String[] header = expected.get(0);
        int numbers = 0;
        for (int row = 1; row < expected.size(); row++) {
            for (int c = 0; c < header.length; c++) {
                String e = expected.get(row)[c];
                String a = actual.get(row)[c];
                String where = file + " row " + row + " column " + header[c];
                Double ev = number(e);
                if (ev == null) {
                    assertEquals(e, a, where);
                    continue;
                }
                double av = Double.parseDouble(a);
                Double tol = loose.get(header[c]);
                if (tol == null) {
                    assertClose(ev, av, where);
                } else if (tol < 0) {
                    assertTrue(av < 1e-9 && ev < 1e-9, where + ": residual " + av);
                } else {
                    assertEquals(ev, av, tol * Math.abs(ev), where);
                }
                numbers++;
            }
        }
        return numbers;
    }

    private static void compareJson(String where, JsonNode e, JsonNode a, int[] numbers) {
        assertNotNull(a, where + " is missing");
        if (e.isNumber()) {
            assertTrue(a.isNumber(), where + ": " + a);
            assertClose(e.asDouble(), a.asDouble(), where);
            numbers[0]++;
        } else if (e.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = e.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                compareJson(where + "." + f.getKey(), f.getValue(), a.get(f.getKey()), numbers);
            }
        } else if (e.isArray()) {
            assertEquals(e.size(), a.size(), where + " length");
            for (int k = 0; k < e.size(); k++) {
                compareJson(where + "[" + k + "]", e.get(k), a.get(k), numbers);
            }
        } else {
            assertEquals(e, a, where);
        }
    }

    private static void assertClose(double expected, double actual, String where) {
        if (Double.isNaN(expected)) {
            assertTrue(Double.isNaN(actual), where + ": " + actual);
            return;
        }
        assertEquals(expected, actual, TOLERANCE * Math.max(1, Math.abs(expected)), where);
    }

    private static final Set<String> NOT_NUMBERS = Set.of("", "NaN", "yes", "no");

    private static Double number(String s) {
        if (NOT_NUMBERS.contains(s)) {
            return s.equals("NaN") ? Double.NaN : null;
        }
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException notANumber) {
            return null;
        }
    }

    private static InputStream resource(String name) throws IOException {
        InputStream in = DemoNumbersTest.class.getResourceAsStream("/golden/demo/" + name);
        assertNotNull(in, "missing test resource golden/demo/" + name);
        return name.endsWith(".gz") ? new GZIPInputStream(in) : in;
    }

    /** Comma-separated rows; no field of these files holds a comma. */
    private static List<String[]> csv(InputStream in) throws IOException {
        List<String[]> rows = new ArrayList<>();
        try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
            for (String line = r.readLine(); line != null; line = r.readLine()) {
                rows.add(line.split(",", -1));
            }
        }
        return rows;
    }
}
