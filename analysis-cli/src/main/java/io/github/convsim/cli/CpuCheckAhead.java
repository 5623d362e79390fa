package io.github.convsim.cli;

import io.github.convsim.linalg.Backends;
import java.util.List;
import java.util.Set;

/**
 * Starts loading OpenBLAS and its self-check before the command line is parsed, for the commands that will select the
 * CPU backend: they then run beside picocli's set-up, the option checks and the opening of the inputs, on the core the
 * main thread leaves idle, instead of after them. A command given {@code --backend} other than cpu or auto, or asking
 * for help or the version, starts nothing.
 */
final class CpuCheckAhead {
    private static final Set<String> COMMANDS = Set.of("analyze", "analyse", "compare", "plant");
    private static final Set<String> CONDLORA = Set.of("fit", "export");
    private static final Set<String> NOT_RUNNING = Set.of("-h", "--help", "-V", "--version");

    private CpuCheckAhead() {}

    static void startFor(String[] args) {
        if (needsCpu(List.of(args))) {
            Backends.checkCpuAhead();
        }
    }

    static boolean needsCpu(List<String> args) {
        List<String> words = args.stream().filter(a -> !a.startsWith("-")).toList();
        if (words.isEmpty() || args.stream().anyMatch(NOT_RUNNING::contains)) {
            return false;
        }
        String command = words.get(0);
        boolean cpuCommand = COMMANDS.contains(command)
                || command.equals("condlora") && words.size() > 1 && CONDLORA.contains(words.get(1));
        if (!cpuCommand) {
            return false;
        }
        for (int k = 0; k < args.size(); k++) {
            String a = args.get(k);
            String backend = a.startsWith("--backend=") ? a.substring("--backend=".length())
                    : a.equals("--backend") && k + 1 < args.size() ? args.get(k + 1) : null;
            if (backend != null && !backend.equalsIgnoreCase("cpu") && !backend.equalsIgnoreCase("auto")) {
                return false;
            }
        }
        return true;
    }
}
