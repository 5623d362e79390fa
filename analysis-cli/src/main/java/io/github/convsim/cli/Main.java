package io.github.convsim.cli;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.ArithmeticCheckException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** The {@code convsim} command: subcommands, exit codes and one-line errors. */
@Command(name = "convsim", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = {
            "Conversion-matrix similarity of LoRA adapters (CondLoRA, arXiv:2403.14946).",
            "For every layer l, the conversion matrices C = W0_l^-1 A^T, W0_l^-1 B, W0_l^-1 BA map the frozen",
            "weight to the LoRA factors; convsim measures how similar they are across layers, against null models."},
        subcommands = {AnalyzeCommand.class, CompareCommand.class, InspectCommand.class, CondLoraCommand.class, BenchCommand.class,
            SynthCommand.class, CommandLine.HelpCommand.class},
        footer = {"", "Exit codes: 0 ok, 1 internal error or wrong arithmetic (the backend self-check or a solve check failed),",
            "2 usage error, 3 invalid or unreadable input."})
public final class Main implements Runnable {
    public static final int EXIT_INTERNAL = 1;
    public static final int EXIT_USAGE = 2;
    public static final int EXIT_INPUT = 3;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(new CommandLine(this), "a subcommand is required");
    }

    public static void main(String[] args) {
        System.exit(run(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs the command line and returns its exit code; output goes to the given writers. */
    public static int run(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cmd = new CommandLine(new Main());
        cmd.setOut(out);
        cmd.setErr(err);
        cmd.setExitCodeExceptionMapper(Main::exitCode);
        cmd.setParameterExceptionHandler((ex, a) -> {
            err.println("convsim: " + ex.getMessage());
            err.println("Try 'convsim " + commandPath(ex.getCommandLine()) + "--help' for usage.");
            return EXIT_USAGE;
        });
        cmd.setExecutionExceptionHandler((ex, commandLine, parseResult) -> {
            err.println("convsim: " + oneLine(ex));
            if (exitCode(ex) == EXIT_INTERNAL && !(ex instanceof ArithmeticCheckException)) {
                ex.printStackTrace(err);
            }
            return exitCode(ex);
        });
        return cmd.execute(args);
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
        if (t instanceof CommandLine.ParameterException || t instanceof IllegalArgumentException
                || t instanceof java.nio.file.FileAlreadyExistsException) {
            return EXIT_USAGE;
        }
        return EXIT_INTERNAL;
    }

    static String oneLine(Throwable t) {
        String m = t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage();
        return m.replace('\n', ' ');
    }

    /** The version in the jar's manifest, or "dev" when run from classes. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"convsim " + io.github.convsim.report.Provenance.currentToolVersion()};
        }
    }
}
