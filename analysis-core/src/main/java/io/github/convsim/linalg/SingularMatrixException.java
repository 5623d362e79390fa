package io.github.convsim.linalg;

/** A matrix that an exact solve needs to be non-singular is singular (U(i, i) = 0 in its LU factors). */
public final class SingularMatrixException extends ArithmeticException {
    private static final long serialVersionUID = 1L;
    private final int index;

    public SingularMatrixException(int index) {
        super("matrix is exactly singular: U(" + index + ", " + index + ") = 0");
        this.index = index;
    }

    /** 1-based index of the zero pivot. */
    public int index() {
        return index;
    }
}
