package io.github.convsim.conversion;

/** Which system a conversion matrix X solves against the target T. */
public enum Equation {
    /** W0 X = T: the paper's equations (square W0) and C_B for any shape. */
    W0_X("W0 X = T"),
    /** W0^T X = T: C_A when W0 is not square, so that C_A lives in W0's output space. */
    W0T_X("W0^T X = T");

    private final String text;

    Equation(String text) {
        this.text = text;
    }

    public String text() {
        return text;
    }
}
