package io.github.convsim.api;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.cache.Payload;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.similarity.GaussianNullStore;
import io.github.convsim.similarity.SimilaritySettings;
import java.util.Optional;

/**
 * The Gaussian null's phi samples in the {@link BaseCache}, keyed by all they depend on: the shape, the draws and the
 * seed, and the arithmetic that orthonormalised the frames (the backend's summary, as {@link W0Cache} keys it). No
 * weight is in the key: any adapter of the shape, on any base, shares them.
 */
final class GaussianNullCache implements GaussianNullStore {
    /** Bumped whenever what an entry holds, or how it is sampled, changes. */
    private static final String LAYOUT = "convsim-gaussian-null 1";

    private final BaseCache cache;
    private final String prefix;

    GaussianNullCache(BaseCache cache, LinalgBackend backend, SimilaritySettings settings) {
        this.cache = cache;
        this.prefix = LAYOUT + "\narithmetic=" + W0Cache.arithmetic(backend) + "\ndraws=" + settings.draws() + " seed="
                + settings.seed() + "\n";
    }

    @Override
    public Optional<double[][][]> find(String shape) {
        return cache.read(prefix + shape, Payload::getMaps);
    }

    @Override
    public void keep(String shape, double[][][] samples) {
        cache.write(prefix + shape, new Payload(1 << 12).putMaps(samples));
    }
}
