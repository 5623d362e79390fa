package io.github.convsim.cli;

/** Bad input found by the command line itself (an output directory in the way, say): exit code 3. */
class InputException extends Exception {
    private static final long serialVersionUID = 1L;

    InputException(String message) {
        super(message);
    }
}
