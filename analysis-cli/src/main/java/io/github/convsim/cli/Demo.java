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
}
