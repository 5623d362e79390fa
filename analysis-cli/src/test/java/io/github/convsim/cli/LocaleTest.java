package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A user whose locale writes other digits (LANG=ar_EG.UTF-8: Arabic-Indic digits, a comma for the decimal point) gets
 * the same files and numbers as anyone: synth once named its shards model-٠٠٠٠١-of-٠٠٠٠٣.safetensors, and inspect
 * printed its norms in Arabic-Indic digits.
 */
class LocaleTest {
    /** A decimal digit other than 0-9, or a decimal separator written as a comma between digits. */
    private static final Pattern FOREIGN = Pattern.compile("[\\p{Nd}&&[^0-9]]|\\u066B");

    @TempDir
    Path dir;

    @Test
    void anArabicLocaleWritesAsciiNamesAndNumbers() throws Exception {
        Locale before = Locale.getDefault();
        Locale.setDefault(Locale.forLanguageTag("ar-EG"));
        try {
            assertTrue(FOREIGN.matcher(String.format("%d", 1)).find(), "the locale writes other digits here");
            Path model = dir.resolve("model");
            CliRunner.Result s = CliRunner.run("synth", "--shape", "tiny-llama", "--layers", "2", "--rank", "4",
                    "--shard-size", "100KB", "--out", model.toString());
            assertEquals(0, s.exit(), s.err());
            assertAscii("synth", s.out() + s.err());
            try (Stream<Path> files = Files.list(model.resolve("base"))) {
                List<String> shards = files.map(p -> p.getFileName().toString())
                        .filter(n -> n.endsWith(".safetensors")).sorted().toList();
                assertTrue(shards.size() > 1, shards.toString());
                for (String n : shards) {
                    assertTrue(n.matches("model-\\d{5}-of-\\d{5}\\.safetensors") && n.chars().allMatch(c -> c < 128),
                            n);
                }
            }
            CliRunner.Result inspect = CliRunner.run("inspect", model.resolve("adapter").toString(),
                    "--base", model.resolve("base").toString());
            assertEquals(0, inspect.exit(), inspect.err());
            assertAscii("inspect", inspect.out());
            Path report = dir.resolve("report");
            CliRunner.Result a = CliRunner.run("analyze", "--adapter", model.resolve("adapter").toString(), "--base",
                    model.resolve("base").toString(), "--out", report.toString(), "--draws", "3");
            assertEquals(0, a.exit(), a.err());
            assertAscii("analyze", a.out() + a.err());
            for (String f : List.of("report.md", "summary.json", "similarity.csv", "diagnostics.csv", "index.html")) {
                assertAscii(f, Files.readString(report.resolve(f)));
            }
        } finally {
            Locale.setDefault(before);
        }
    }

    private static void assertAscii(String what, String text) {
        Matcher m = FOREIGN.matcher(text);
        if (m.find()) {
            int from = Math.max(0, m.start() - 60);
            fail(what + " wrote a localised digit: ..." + text.substring(from, Math.min(text.length(), m.end() + 20)));
        }
    }
}
