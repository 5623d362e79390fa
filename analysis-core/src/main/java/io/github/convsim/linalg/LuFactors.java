package io.github.convsim.linalg;

/**
 * P A = L U of a square matrix, packed as LAPACK's getrf leaves it: L below the diagonal (unit diagonal implied), U
 * on and above it, and 1-based row interchanges in {@code pivots}. Produced and consumed by one {@link
 * LinalgBackend}, in the precision it was computed in. Never modified once made: a backend may keep a copy of them
 * where it computes, found again by the identity of {@code packed}'s array.
 */
public record LuFactors(Matrix packed, int[] pivots, Precision precision) {
    public int n() {
        return packed.rows();
    }
}
