package io.github.convsim.cli;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Path;

/** Runs the command line in-process, as the launcher would, with the repository as convsim.home. */
final class CliRunner {
    record Result(int exit, String out, String err) {}

    private CliRunner() {}

    /**
     * A JSON object's field names in the order the file has them: reports keep one order, so that two of them can be
     * diffed line by line.
     */
    static java.util.List<String> fieldNames(com.fasterxml.jackson.databind.JsonNode object) {
        java.util.List<String> names = new java.util.ArrayList<>();
        object.fieldNames().forEachRemaining(names::add);
        return names;
    }

    static Path repo() {
        return Path.of("..").toAbsolutePath().normalize();
    }

    static Result run(String... args) {
        System.setProperty("convsim.home", repo().toString());
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int code = Main.run(args, new PrintWriter(out, true), new PrintWriter(err, true));
        return new Result(code, out.toString(), err.toString());
    }
}
