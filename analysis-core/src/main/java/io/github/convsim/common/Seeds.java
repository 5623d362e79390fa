package io.github.convsim.common;

/**
 * Derives independent seeds from the user's seed and a purpose (module, null model, draw...), so every random draw
 * is reproducible whatever order threads run in.
 */
public final class Seeds {
    private Seeds() {}

    public static long derive(long seed, Object... parts) {
        long h = mix(seed);
        for (Object p : parts) {
            h = mix(h ^ String.valueOf(p).hashCode() * 0x9E3779B97F4A7C15L);
        }
        return h;
    }

    /** SplitMix64's finaliser. */
    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
