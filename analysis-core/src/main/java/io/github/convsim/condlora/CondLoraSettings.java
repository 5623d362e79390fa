package io.github.convsim.condlora;

/**
 * How CondLoRA's shared layer is fitted and judged.
 *
 * <pre>{@code
 * CondLoraSettings s = CondLoraSettings.defaults().withRidge(1e-3).withDraws(64);
 * }</pre>
 *
 * @param ridge Tikhonov parameter lambda of the stacked least squares; 0 (the default) is plain least squares
 * @param draws draws of each null (Gaussian targets, shuffled layers); at least 2
 * @param seed  seed of the nulls and the plants
 * @param power whether planted shared layers are fitted too, for the verdicts' power ({@link SharedLayerPlants});
 *              an export, which judges nothing, leaves them out
 */
public record CondLoraSettings(double ridge, int draws, long seed, boolean power) {
    public static final int DEFAULT_DRAWS = 32;
    public static final long DEFAULT_SEED = 20240322L;

    public CondLoraSettings {
        if (!(ridge >= 0) || Double.isInfinite(ridge)) {
            throw new IllegalArgumentException("ridge must be a finite non-negative number, got " + ridge);
        }
        if (draws < 2) {
            throw new IllegalArgumentException("the nulls need at least 2 draws, got " + draws);
        }
    }

    /** With power. */
    public CondLoraSettings(double ridge, int draws, long seed) {
        this(ridge, draws, seed, true);
    }

    /** Least squares without ridge, 32 draws of each null, the seed of every convsim null, with power. */
    public static CondLoraSettings defaults() {
        return new CondLoraSettings(0, DEFAULT_DRAWS, DEFAULT_SEED);
    }

    public CondLoraSettings withRidge(double r) {
        return new CondLoraSettings(r, draws, seed, power);
    }

    public CondLoraSettings withDraws(int d) {
        return new CondLoraSettings(ridge, d, seed, power);
    }

    public CondLoraSettings withSeed(long s) {
        return new CondLoraSettings(ridge, draws, s, power);
    }

    public CondLoraSettings withPower(boolean p) {
        return new CondLoraSettings(ridge, draws, seed, p);
    }
}
