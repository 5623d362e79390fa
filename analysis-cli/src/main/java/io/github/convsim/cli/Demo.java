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
     * The base to analyse {@code adapter} against, and why: --base when given (a path, or a repository id in the
     * Hugging Face hub cache); the bundled base for the bundled adapter (no adapter given); else the adapter's
     * base_model_name_or_path, as a local path or in the hub cache. Never the bundled base for a user's adapter.
     *
     * @throws NoBaseException when no base can be chosen, naming what was looked at
     */
    static Choice baseFor(Path adapter, Path base) throws InputException, io.github.convsim.io.CheckpointException {
        if (base != null) {
            Path resolved = Locations.resolve(base);
            return new Choice(resolved, resolved.equals(base) ? "--base" : "--base " + base
                    + ", from the Hugging Face hub cache");
        }
        if (adapter == null || isBundled(adapter)) {
            return new Choice(base(), "the bundled demo base, for the bundled demo adapter");
        }
        io.github.convsim.model.LoraCheckpoint.requireAdapterDirectory(adapter);
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
            io.github.convsim.io.HubCache hub = Locations.hub();
            var cached = hub.find(named);
            if (cached.isPresent()) {
                return new Choice(cached.get(), "base_model_name_or_path '" + named + "' of "
                        + adapter.resolve("adapter_config.json") + ", from the Hugging Face hub cache");
            }
            throw new NoBaseException(adapter, "its adapter_config.json names the base '" + named + "', which is"
                    + " neither a local path nor in the Hugging Face hub cache (looked in "
                    + hub.repositoryDirs(named).stream().map(Path::toString)
                            .collect(java.util.stream.Collectors.joining(", ")) + ")");
        }
        throw new NoBaseException(adapter, "its adapter_config.json names no base_model_name_or_path");
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

    /** No --base, and none found for a user's adapter; {@link #reason} says what was looked at, without the advice. */
    static final class NoBaseException extends InputException {
        private static final long serialVersionUID = 1L;
        private final String reason;

        NoBaseException(Path adapter, String reason) {
            super("no --base given for " + adapter + ": " + reason + "; pass the base weights with --base (the bundled"
                    + " demo base is used only when no adapter is given)");
            this.reason = reason;
        }

        String reason() {
            return reason;
        }
    }
}
