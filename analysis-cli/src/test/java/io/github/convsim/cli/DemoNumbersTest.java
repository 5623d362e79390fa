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
 * kernels by its own rounding. A fourth was noise in the reference run and is exact now: the Grassmann distance of a
 * layer to itself, reported as acos rounding noise (about 1e-8, kernel-dependent) there and as 0 since.
 */
class DemoNumbersTest {
    private static final double TOLERANCE = 1e-12;
    /**
     * The fp32 gap need only keep its size, within this factor either way: it is one sample of fp32 rounding, and
     * OpenBLAS's Haswell sgemm kernels (forced by OPENBLAS_CORETYPE on an AMD EPYC) gave 0.22x to 3.0x the reference
     * run's values (SkylakeX kernels) over the 24 layers; a solve that was not in fp32 at all would be 1e-12 or less.
     */
    private static final double FP32_GAP_FACTOR = 8;

    @TempDir
    Path dir;

    @Test
    void theDefaultDemoReportKeepsEveryNumberOfTheReferenceRun() throws Exception {
        CliRunner.Result r = CliRunner.run("analyze", "--out", dir.toString(), "-q");
        assertEquals(0, r.exit(), r.err());

        List<String[]> golden = csv(resource("similarity.csv.gz"));
        List<String[]> now = csv(Files.newInputStream(dir.resolve("similarity.csv")));
        // each map's p-values, repeated on its rows, are checked against their inherited tolerance in summary.json
        int compared = compareCsv("similarity.csv", golden, now, Map.of("p_value", 1e-8, "p_adjusted", 1e-8));
        assertTrue(compared > 1440 * 10, "compared only " + compared + " numbers of similarity.csv");

        compared = compareCsv("diagnostics.csv", csv(resource("diagnostics.csv")),
                csv(Files.newInputStream(dir.resolve("diagnostics.csv"))),
                Map.of("cond_w0", 1e-6, "residual_A", -1.0, "residual_B", -1.0, "residual_dW", -1.0,
                        "fp32_vs_fp64", FP32_GAP_FACTOR));
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
     * positive value below 1 is its relative tolerance, one above 1 a factor either way, a negative one asks only for
     * a residual below 1e-9.
     */
    private static int compareCsv(String file, List<String[]> expected, List<String[]> actual,
                                  Map<String, Double> loose) {
        assertArrayEquals(expected.get(0), actual.get(0), file + " header");
        assertEquals(expected.size(), actual.size(), file + " rows");
        String[] header = expected.get(0);
        List<String> names = List.of(header);
        int layerA = names.indexOf("layer_a");
        int layerB = names.indexOf("layer_b");
        int numbers = 0;
        for (int row = 1; row < expected.size(); row++) {
            boolean self = layerA >= 0 && expected.get(row)[layerA].equals(expected.get(row)[layerB]);
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
                if (self && header[c].equals("grassmann")) {
                    assertEquals(0.0, av, where);
                    assertTrue(ev < 1e-6, where + ": the reference's noise was " + ev);
                } else if (tol == null) {
                    assertClose(ev, av, where);
                } else if (tol < 0) {
                    assertTrue(av < 1e-9 && ev < 1e-9, where + ": residual " + av);
                } else if (tol > 1) {
                    assertTrue(av <= ev * tol && av >= ev / tol, where + ": " + av + " against " + ev);
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
            // a null's own z and p, or the map's against the W0 null
            JsonNode nullModel = e.has("sd") ? e : e.get("w0");
            for (Iterator<Map.Entry<String, JsonNode>> it = e.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> f = it.next();
                String key = f.getKey();
                if (nullModel != null && nullModel.has("sd") && STANDARDISED.contains(key) && f.getValue().isNumber()) {
                    compareStandardised(where + "." + key, f.getValue().asDouble(), a.get(key), nullModel);
                    numbers[0]++;
                    continue;
                }
                compareJson(where + "." + key, f.getValue(), a.get(key), numbers);
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

    /** Numbers computed from (average - null mean) / null sd: compared within what 1e-12 on those three allows. */
    private static final Set<String> STANDARDISED = Set.of("effect_size", "effect_size_vs_w0", "p_value");

    /**
     * An effect size z = (average - mean) / sd, or a p-value from it, inherits the rounding of its inputs divided by
     * sd: a change of TOLERANCE in each (compared on their own elsewhere) moves z by up to TOLERANCE (2 + |z|) / sd,
     * and a p-value by less (the normal density is below 0.4). Between BLAS kernels the demo's phi differ by about
     * 1e-15, the W0 null's sd is about 2e-4, and effect sizes moved by 3e-12.
     */
    private static void compareStandardised(String where, double expected, JsonNode actual, JsonNode nullNode) {
        assertNotNull(actual, where + " is missing");
        double z = nullNode.get("effect_size").asDouble();
        double sd = nullNode.get("sd").asDouble();
        if (!(sd > 0) || Double.isNaN(expected)) {
            assertClose(expected, actual.asDouble(), where);
            return;
        }
        assertEquals(expected, actual.asDouble(), TOLERANCE * (2 + Math.abs(z)) / sd, where);
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
