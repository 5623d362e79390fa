package io.github.convsim.cli;

import java.nio.file.Path;

/** Where the bundled demo lies: under the directory the launcher passes as {@code convsim.home}. */
final class Demo {
    private Demo() {}

    static Path home() {
        return Path.of(System.getProperty("convsim.home", "."));
    }

    static Path adapter() {
        return home().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
    }

    static Path base() {
        return home().resolve("data/bert-base-uncased.query-value.safetensors");
    }

    /**
     * The base to analyse {@code adapter} against, and why: --base when given; the bundled base for the bundled
     * adapter (no adapter given); else the adapter's base_model_name_or_path when it is a local path. Never the
     * bundled base for a user's adapter.
     *
     * @throws InputException when no base can be chosen, naming what was looked at
     */
    static Choice baseFor(Path adapter, Path base) throws InputException, io.github.convsim.io.CheckpointException {
        if (base != null) {
            return new Choice(base, "--base");
        }
        if (adapter == null || isBundled(adapter)) {
            return new Choice(base(), "the bundled demo base, for the bundled demo adapter");
        }
        io.github.convsim.io.InputFiles.attributes(adapter);
        String named = io.github.convsim.io.PeftConfig.read(adapter.resolve("adapter_config.json"))
                .baseModelNameOrPath().orElse(null);
        if (named != null) {
            Path p = Path.of(named);
            Path local = p.isAbsolute() ? p : adapter.resolve(p).normalize();
            for (Path candidate : java.util.List.of(p, local)) {
                if (java.nio.file.Files.exists(candidate)) {
                    return new Choice(candidate, "base_model_name_or_path of " + adapter.resolve("adapter_config.json"));
                }
            }
        }
        throw new InputException("no --base given for " + adapter + (named == null ? ", and its adapter_config.json"
                + " names no base_model_name_or_path" : ": its adapter_config.json names the base '" + named
                + "', which is not a local path") + "; pass the base weights with --base (the bundled demo base is"
                + " used only when no adapter is given)");
    }

    private static boolean isBundled(Path adapter) {
        try {
            return adapter.toRealPath().equals(adapter().toRealPath());
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** A base path and why it was chosen. */
    record Choice(Path path, String why) {}
}
