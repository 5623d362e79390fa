package io.github.convsim.similarity;

/** Which singular vectors of a matrix span the compared subspaces. */
public enum Side {
    /** Left singular vectors: the column space (the paper's default). */
    LEFT,
    /** Right singular vectors: the row space. */
    RIGHT;

    public String label() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }

    public static Side parse(String s) {
        return valueOf(s.trim().toUpperCase(java.util.Locale.ROOT));
    }
}
