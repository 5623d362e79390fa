package io.github.convsim.cli;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.ArithmeticCheckException;
import io.github.convsim.report.OutputException;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine;

/** The {@code convsim} command: subcommands, exit codes and one-line errors. */
@Command(name = "convsim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {
            "Conversion-matrix similarity of LoRA adapters (CondLoRA, arXiv:2403.14946).",
            "For every layer l, the conversion matrices C = W0_l^-1 A^T, W0_l^-1 B, W0_l^-1 BA map the frozen "
            + "weight to the LoRA factors; convsim measures how similar they are across layers, against null "
            + "models."},
        footer = {"", "Exit codes:",
            "  0  ok",
            "  1  a defect in convsim (its trace goes to a log file), or wrong arithmetic",
            "     (the backend self-check or a solve check failed)",
            "  2  usage error",
            "  3  invalid or unreadable input",
            "  4  the output cannot be written",
            "  5  out of memory (run again with a larger heap: CONVSIM_JAVA_OPTS=-Xmx8g) or",
            "     of room for temporary files (CONVSIM_JAVA_OPTS=-Djava.io.tmpdir=DIR)",
            "  6  diff --check: the reports differ in a verdict, in a number beyond",
            "     --tolerance, or in what they hold"})
public final class Main implements Runnable {
    public static final int EXIT_INTERNAL = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INPUT = 3;
    public static final int EXIT_OUTPUT = 4;
    /** The machine ran out of a resource, memory or room for temporary files: the same run with more may succeed. */
    public static final int EXIT_RESOURCES = 5;
    /** {@code diff --check}: two reports that should agree do not. */
    public static final int EXIT_DIFFERENT = 6;
    /** The shortage's line when even that line could not be built or printed. */
    private static final byte[] OUT_OF_MEMORY = ("convsim: out of memory: run it with a larger heap, e.g."
            + " CONVSIM_JAVA_OPTS=-Xmx8g\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII);
    /** Messages longer than this are cut: a file's content must not flood the terminal. */
    static final int MAX_MESSAGE = 600;

    /** The subcommands, in the order the usage lists them (then "help"); see {@link #commandLine}. */
    static final List<Class<?>> SUBCOMMANDS = List.of(AnalyzeCommand.class, CompareCommand.class, InspectCommand.class,
            CondLoraCommand.class, DiffCommand.class, BenchCommand.class, SynthCommand.class, PlantCommand.class);

    @Option(names = "--debug", scope = ScopeType.INHERIT,
            description = "Print the stack trace of an error (otherwise written to a log file).")
    boolean debug;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a subcommand is required");
    }

    public static void main(String[] args) {
        // A helper thread that runs out of memory (Tablesaw's class-path scan, started early on the other core) printed
        // its trace beside the command's own one-line report of the same shortage (exit 5): the trace is dropped;
        // anything else a helper thread throws is printed as Java prints it.
        Thread.setDefaultUncaughtExceptionHandler((thread, e) -> {
            if (outOfMemoryIn(e) == null) {
                System.err.print("Exception in thread \"" + thread.getName() + "\" ");
                e.printStackTrace();
            }
        });
        int code;
        try {
            code = run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true));
        } catch (Error e) {
            if (outOfMemoryIn(e) == null) {
                throw e;
            }
            // the heap ran out again while the one line was being made or printed (a 16 MiB heap exited 1 and printed
            // nothing): bytes made at start-up, written without encoding, need no allocation
            System.err.write(OUT_OF_MEMORY, 0, OUT_OF_MEMORY.length);
            System.err.flush();
            code = EXIT_RESOURCES;
        }
        System.exit(code);
    }

    /**
     * The least heap convsim starts in, in MiB of {@link Runtime#maxMemory} (which leaves out a survivor space: -Xmx32m
     * gives 31 under ParallelGC). No analysis fits below it (the demo needs about 48), and start-up itself failed there
     * at random: under -Xmx24m, the JDK's locale data, its soft references cleared by the collector, once threw a
     * NullPointerException from a class initialiser (a trace and exit 1, where the heap's shortage is exit 5).
     */
    static final long MIN_HEAP_MIB = 30;

    /** Runs the command line and returns its exit code; output goes to the given writers. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        long heapMib = Runtime.getRuntime().maxMemory() >> 20;
        if (heapMib < MIN_HEAP_MIB) {
            err.println("convsim: a Java heap of " + heapMib + " MiB is too small for convsim to start (it needs at"
                    + " least 32): run it with a larger heap, e.g. CONVSIM_JAVA_OPTS=-Xmx8g ./convsim "
                    + String.join(" ", args));
            return EXIT_RESOURCES;
        }
        CpuCheckAhead.startFor(args);
        Main main = new Main();
        CommandLine cmd = commandLine(main, args);
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setExitCodeExceptionMapper(Main::exitCode);
        cmd.setParameterExceptionHandler((ex, a) -> {
            err.println("convsim: " + oneLine(ex));
            if (ex instanceof CommandLine.UnmatchedArgumentException u && !u.getSuggestions().isEmpty()) {
                err.println("Did you mean: " + String.join(", ", suggestions(u)) + "?");
            }
            err.println("Try 'convsim " + commandPath(ex.getCommandLine()) + "--help' for usage.");
            return EXIT_USAGE;
        });
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> failure(ex, main.debug, err, args));
        try {
            return cmd.execute(args);
        } catch (Error e) {
            // an Error passes picocli's handler
            return failure(e, main.debug, err, args);
        }
    }

    /**
     * The one line for what a command threw, and its exit code. A shortage of memory, even one wrapped in another
     * Error by a class initialiser or a service lookup, is exit 5 with the remedy; its trace would say nothing the
     * user can act on. An Error or exception that is not the input's, the output's or the machine's is a defect: its
     * trace goes to a log file, or to {@code err} with --debug.
     */
    static int failure(Throwable ex, boolean debug, PrintWriter err, String... args) {
        OutOfMemoryError oom = outOfMemoryIn(ex);
        if (oom != null) {
            err.println(outOfMemory(oom, args));
            return EXIT_RESOURCES;
        }
        if (isMappedFileFault(ex)) {
            err.println("convsim: a file convsim had mapped into memory shrank while it was read (a checkpoint rewritten"
                    + " by another program?): run again once it is written");
            return EXIT_INPUT;
        }
        int code = exitCode(ex);
        if (code != EXIT_INTERNAL || ex instanceof ArithmeticCheckException) {
            err.println("convsim: " + oneLine(ex));
        } else {
            err.println("convsim: internal error: " + oneLine(ex) + " (a defect in convsim" + traceNote(ex, debug)
                    + ")");
        }
        if (debug) {
            ex.printStackTrace(err);
        }
        return code;
    }

    /**
     * Whether {@code t} is Java's report of a fault on a mapped file's page that the file no longer has; the
     * checkpoint reader tells the file by name where it can (SafetensorsFile), this covers any other mapped read.
     */
    static boolean isMappedFileFault(Throwable t) {
        return t instanceof InternalError && t.getMessage() != null
                && t.getMessage().contains("unsafe memory access operation");
    }

    /** {@code t} or the first of its causes that is an OutOfMemoryError; null when none is. */
    static OutOfMemoryError outOfMemoryIn(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause() == c ? null : c.getCause()) {
            if (c instanceof OutOfMemoryError oom) {
                return oom;
            }
        }
        return null;
    }

    /**
     * The one line for a shortage of memory: of the heap, or of the native memory OpenBLAS works in (JavaCPP's
     * budget, as large as the heap unless -Dorg.bytedeco.javacpp.maxBytes sets it), which a larger heap raises too.
     */
    static String outOfMemory(OutOfMemoryError e, String... args) {
        String why = oneLine(e);
        boolean nativeMemory = e.getMessage() != null && e.getMessage().startsWith("Cannot allocate new ")
                && e.getMessage().contains("totalBytes");
        String remedy = nativeMemory ? " (the native budget is the heap's size unless -Dorg.bytedeco.javacpp.maxBytes"
                + " sets it)" : "";
        return "convsim: out of " + (nativeMemory ? "native memory for OpenBLAS" : "memory") + " (" + why
                + "): run it with a larger heap" + remedy + ", e.g. CONVSIM_JAVA_OPTS=-Xmx8g ./convsim "
                + String.join(" ", args);
    }

    /**
     * The command line for {@code args}: with only the subcommand they name, when they name one, since picocli builds
     * every subcommand it is given from its annotations at start-up (about 0.1 s of a cold JVM's main thread for all of
     * them); with every subcommand and "help" otherwise, for the usage, the help and the suggestions for a mistyped name.
     */
    static CommandLine commandLine(Main main, String... args) {
        CommandLine cmd = new CommandLine(main);
        Class<?> named = named(args);
        for (Class<?> c : SUBCOMMANDS) {
            if (named == null || named == c) {
                cmd.addSubcommand(c);
            }
        }
        if (named == null) {
            cmd.addSubcommand(CommandLine.HelpCommand.class);
        }
        return cmd;
    }

    /** The subcommand the first argument that is not an option names, if any (convsim's own options take no value). */
    private static Class<?> named(String[] args) {
        for (String a : args) {
            if (a.startsWith("-")) {
                continue;
            }
            for (Class<?> c : SUBCOMMANDS) {
                Command command = c.getAnnotation(Command.class);
                if (command.name().equals(a) || List.of(command.aliases()).contains(a)) {
                    return c;
                }
            }
            return null;
        }
        return null;
    }

    /** picocli's suggestions for a mistyped word, a subcommand by its name only (not also by its alias). */
    private static List<String> suggestions(CommandLine.UnmatchedArgumentException u) {
        var subcommands = u.getCommandLine().getSubcommands();
        return u.getSuggestions().stream()
                .map(s -> subcommands.containsKey(s) ? subcommands.get(s).getCommandName() : s)
                .distinct()
                .toList();
    }

    /** Where the trace of a defect went: a log file, unless --debug prints it. */
    private static String traceNote(Throwable ex, boolean debug) {
        if (debug) {
            return "; the trace follows";
        }
        try {
            Path log = Files.createTempFile("convsim-error-", ".log");
            try (PrintWriter w = new PrintWriter(Files.newBufferedWriter(log))) {
                w.println("convsim " + io.github.convsim.results.Provenance.currentToolVersion() + ", "
                        + io.github.convsim.results.Provenance.currentJava() + ", "
                        + io.github.convsim.results.Provenance.currentOs());
                ex.printStackTrace(w);
            }
            return "; its trace is in " + log + ": please report it with that file";
        } catch (IOException | RuntimeException e) {
            return "; run again with --debug for its trace";
        }
    }

    private static String commandPath(CommandLine c) {
        StringBuilder sb = new StringBuilder();
        for (CommandLine p = c; p != null && p.getParent() != null; p = p.getParent()) {
            sb.insert(0, p.getCommandName() + " ");
        }
        return sb.toString();
    }

    static int exitCode(Throwable t) {
        if (t instanceof CheckpointException || t instanceof InputException
                || t instanceof io.github.convsim.conversion.IllConditionedException) {
            return EXIT_INPUT;
        }
        if (t instanceof OutputException) {
            return EXIT_OUTPUT;
        }
        if (t instanceof io.github.convsim.io.ScratchSpaceException) {
            return EXIT_RESOURCES;
        }
        if (t instanceof CommandLine.ParameterException || t instanceof IllegalArgumentException) {
            return EXIT_USAGE;
        }
        return EXIT_INTERNAL;
    }

    /**
     * The message on one line, control characters shown as escapes (a tensor name must not move the cursor or colour
     * the terminal), and cut at {@link #MAX_MESSAGE} characters.
     */
    static String oneLine(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        StringBuilder sb = new StringBuilder(Math.min(m.length(), MAX_MESSAGE + 16));
        for (int i = 0; i < m.length() && sb.length() < MAX_MESSAGE; i++) {
            char c = m.charAt(i);
            if (c == '\n' || c == '\r' || c == '\t') {
                sb.append(' ');
            } else if (Character.isISOControl(c) || c == '\u2028' || c == '\u2029' || c == '\u202e') {
                sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                sb.append(c);
            }
        }
        if (sb.length() >= MAX_MESSAGE && m.length() > MAX_MESSAGE) {
            sb.append("... (").append(m.length()).append(" characters)");
        }
        return sb.toString();
    }

    /** The version in the jar's manifest, or "dev" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"convsim " + io.github.convsim.results.Provenance.currentToolVersion()};
        }
    }
}
