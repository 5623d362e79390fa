package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Model.OptionSpec;

/** --help that teaches: whole-sentence summaries, every default shown, the British spelling accepted. */
class HelpTest {
    static List<CommandLine> commands(CommandLine c) {
        List<CommandLine> out = new ArrayList<>(List.of(c));
        c.getSubcommands().values().stream().distinct().forEach(s -> out.addAll(commands(s)));
        return out;
    }

    @Test
    void everySummaryIsAWholeSentence() {
        for (CommandLine c : commands(Main.commandLine(new Main()))) {
            CommandSpec spec = c.getCommandSpec();
            if (spec.name().equals("help")) {
                continue;
            }
            String summary = spec.usageMessage().description()[0].trim();
            assertTrue(summary.endsWith("."), spec.qualifiedName() + ": summary cut mid-sentence: " + summary);
        }
    }

    /** A lone % in a description is a format error: picocli then warns on stderr and prints the raw text. */
    @Test
    void everyHelpRendersWithoutAFormatWarning() {
        java.io.PrintStream err = System.err;
        java.io.ByteArrayOutputStream captured = new java.io.ByteArrayOutputStream();
        try {
            System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
            for (CommandLine c : commands(Main.commandLine(new Main()))) {
                c.getUsageMessage();
            }
        } finally {
            System.setErr(err);
        }
        assertEquals("", captured.toString(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** picocli wraps a footer line longer than the help's width wherever it falls (mid-path, mid-comment). */
    @Test
    void everyFooterLineFitsTheHelpsWidth() {
        List<String> wrapped = new ArrayList<>();
        for (CommandLine c : commands(Main.commandLine(new Main()))) {
            int width = c.getCommandSpec().usageMessage().width();
            for (String line : c.getCommandSpec().usageMessage().footer()) {
                // as printed: %% is one character, %n a line break
                for (String l : line.replace("%%", "%").split("%n|\n", -1)) {
                    if (l.length() > width) {
                        wrapped.add(c.getCommandSpec().qualifiedName() + ": " + l.length() + " > " + width + ": " + l);
                    }
                }
            }
        }
        assertEquals(List.of(), wrapped, "footer lines that picocli would wrap");
    }

    @Test
    void everyOptionWithADefaultSaysWhatItIs() {
        List<String> silent = new ArrayList<>();
        for (CommandLine c : commands(Main.commandLine(new Main()))) {
            for (OptionSpec o : c.getCommandSpec().options()) {
                if (o.defaultValue() == null || o.usageHelp() || o.versionHelp()) {
                    continue;
                }
                String text = String.join(" ", o.description());
                if (!text.contains("${DEFAULT-VALUE}") && !text.toLowerCase().contains("default")) {
                    silent.add(c.getCommandSpec().qualifiedName() + " " + o.longestName());
                }
            }
        }
        assertEquals(List.of(), silent, "options whose default the help does not show");
    }

    @Test
    void progressIsPlainLinesWhenStderrIsNotATerminal(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        CliRunner.Result r = CliRunner.run("analyze", "--modules", "value", "--draws", "2", "--nulls", "w0", "--out",
                dir.resolve("report").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.err().contains("progress: solve layers 12/12 (100 %)"), r.err());
        // and each phase of a layer group, so a long cond(W0) or W0 null is not silent
        assertTrue(r.err().contains("progress: factor, cond(W0) and solve 12/12 (100 %)"), r.err());
        assertTrue(r.err().contains("progress: W0 null and controls 12/12 (100 %)"), r.err());
        assertTrue(r.err().contains("progress: write report 1/1 (100 %)"), r.err());
        assertFalse(r.err().contains("\r") || r.err().contains("\u001b"), "no carriage returns or escape codes");
        assertTrue(r.err().lines().allMatch(l -> l.startsWith("progress: ")), r.err());
    }

    @Test
    void analyzeTakesTheAdapterLikeEveryOtherCommandButOnlyOnce(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        String demo = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8").toString();
        String base = CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString();
        CliRunner.Result r = CliRunner.run("analyze", demo, "--base", base, "--modules", "value", "--draws", "2",
                "--nulls", "w0", "--out", dir.resolve("report").toString(), "-q");
        assertEquals(0, r.exit(), r.err());
        CliRunner.Result twice = CliRunner.run("analyze", demo, "--adapter", demo, "--out", dir.resolve("x").toString());
        assertEquals(Main.EXIT_USAGE, twice.exit());
        assertTrue(twice.err().contains("the adapter is given twice"), twice.err());
    }

    /** A command line builds only the subcommand it runs; every one, with help, when it names none or a wrong one. */
    @Test
    void onlyTheNamedSubcommandIsBuilt() {
        CommandLine one = Main.commandLine(new Main(), "--debug", "analyse", "--out", "compare");
        assertEquals(List.of("analyze", "analyse"), List.copyOf(one.getSubcommands().keySet()));
        assertTrue(one.getSubcommands().get("analyze").getCommandSpec().findOption("--debug") != null, "inherited");
        List<String> all = List.of("analyze", "compare", "inspect", "condlora", "diff", "bench", "synth", "plant",
                "help");
        for (String[] args : new String[][] {{}, {"--help"}, {"help", "analyze"}, {"anlyze", "--out", "x"}}) {
            CommandLine c = Main.commandLine(new Main(), args);
            assertEquals(all, c.getSubcommands().values().stream().distinct().map(CommandLine::getCommandName)
                    .toList(), String.join(" ", args));
        }
        CliRunner.Result typo = CliRunner.run("anlyze", "--out", "x");
        assertEquals(Main.EXIT_USAGE, typo.exit());
        assertTrue(typo.err().contains("Did you mean: analyze, "), typo.err());
        assertFalse(typo.err().contains("analyse"), "an alias is not suggested beside its command: " + typo.err());
        CliRunner.Result option = CliRunner.run("analyze", "--outt", "x");
        assertEquals(Main.EXIT_USAGE, option.exit());
        assertTrue(option.err().contains("Did you mean: --out?"), option.err());
    }

    @Test
    void analyseIsAnalyzeAndIZeroIsAUsageError() {
        CliRunner.Result help = CliRunner.run("analyse", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().startsWith("Usage: convsim analyze"), help.out());
        CliRunner.Result zero = CliRunner.run("analyze", "--i", "0", "--out", "/nonexistent/never-written");
        assertEquals(Main.EXIT_USAGE, zero.exit());
        assertTrue(zero.err().contains("--i must be a number of singular vectors from 1 to the rank r, or r; got '0'"),
                zero.err());
    }
}
