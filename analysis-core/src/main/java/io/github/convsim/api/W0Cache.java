package io.github.convsim.api;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.cache.Payload;
import io.github.convsim.conversion.Conditioning;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.FactorCache;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.NullBasisStore;
import io.github.convsim.similarity.SubspaceBasis;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

/**
 * One module pass's view of the {@link BaseCache}: what it stores about each layer's W0 (LU factors and cond, the
 * singular values, the W0 null's and the planted controls' bases) and under which key. A key names everything the
 * stored numbers depend on, so that a hit gives what computing would have given, bit for bit:
 *
 * <ul>
 *   <li>the W0 matrix: the SHA-256 of the base's files, the tensor's name, and how it is sliced and oriented;
 *   <li>the arithmetic: the backend's summary (library, version, kernels, processor), and whether the layer was
 *       factored in a batch (single-threaded BLAS) or alone (threaded);
 *   <li>the solve and the cond method, and for bases the rank, seed, draws, factors, sides, prefix and equation, and
 *       the module and layer the seeds derive from.
 * </ul>
 *
 * The W0 null's draws are not scaled to the adapter's norms ({@link io.github.convsim.similarity.W0Null}), so its
 * bases depend on nothing of the adapter but the rank, and a second adapter of that rank on the same base reuses
 * them.
 */
final class W0Cache implements FactorCache {
    /** Bumped whenever what an entry holds, or how it is computed, changes. */
    private static final String LAYOUT = "convsim-w0-cache 1";

    private final BaseCache cache;
    private final String prefix;

    W0Cache(BaseCache cache, String baseSha256, LinalgBackend backend, String solveAndCond, boolean batched) {
        this.cache = cache;
        this.prefix = LAYOUT + "\nbase=" + baseSha256 + "\narithmetic=" + backend.name() + " "
                + backend.arithmetic().summary() + "\nblas=" + (batched ? "batched" : "threaded") + "\nsolve="
                + solveAndCond + "\n";
    }

    private String key(LoraModule m, String kind, String params) {
        return prefix + "kind=" + kind + "\ntensor=" + m.baseKey() + "\nslice=" + m.outOffset() + "+" + m.out() + "x"
                + m.in() + (m.baseTransposed() ? " transposed" : "") + "\nmodule=" + m.module() + "\nlayer="
                + m.layer() + "\n" + params;
    }

    /**
     * A verified entry, decoded; empty when missing, or when it does not decode (an entry of an older layout that kept
     * its key: a defect, and the result is computed afresh rather than trusted).
     */
    private <T> Optional<T> read(String key, java.util.function.Function<ByteBuffer, T> decode) {
        try {
            return cache.read(key).map(decode);
        } catch (IllegalArgumentException | IndexOutOfBoundsException undecodable) {
            return Optional.empty();
        }
    }

    @Override
    public Factors find(LoraModule layer, Precision precision) {
        return read(key(layer, "lu-" + precision.name(), ""), b -> decodeFactors(b, precision)).orElse(null);
    }

    @Override
    public void keep(LoraModule layer, Factors f) {
        LuFactors lu = f.lu();
        Matrix packed = lu.packed();
        Payload p = new Payload(packed.data().length * (lu.precision() == Precision.FP64 ? 8 : 4) + 256);
        p.putInt(packed.rows()).putInt(packed.cols());
        if (lu.precision() == Precision.FP64) {
            p.putDoubles(packed.data());
        } else {
            // fp32 factors are exactly representable in fp32: half the bytes, the same values
            float[] v = new float[packed.data().length];
            for (int i = 0; i < v.length; i++) {
                v[i] = (float) packed.data()[i];
            }
            p.putFloats(v);
        }
        p.putInts(lu.pivots());
        Conditioning c = f.conditioning();
        p.putDouble(c.value()).putBoolean(c.exact()).putInt(c.rank()).putString(c.norm());
        cache.write(key(layer, "lu-" + lu.precision().name(), ""), p.bytes());
    }

    private static Factors decodeFactors(ByteBuffer b, Precision precision) {
        int rows = Payload.getInt(b);
        int cols = Payload.getInt(b);
        double[] data;
        if (precision == Precision.FP64) {
            data = Payload.getDoubles(b);
        } else {
            float[] f = Payload.getFloats(b);
            data = new double[f.length];
            for (int i = 0; i < f.length; i++) {
                data[i] = f[i];
            }
        }
        int[] pivots = Payload.getInts(b);
        Conditioning c = new Conditioning(Payload.getDouble(b), Payload.getBoolean(b), Payload.getInt(b),
                Payload.getString(b));
        return new Factors(new LuFactors(new Matrix(rows, cols, data), pivots, precision), c);
    }

    /** A layer's W0 singular values (descending), when stored. */
    Optional<double[]> singularValues(LoraModule m) {
        return read(key(m, "w0-singular-values", ""), Payload::getDoubles);
    }

    void keepSingularValues(LoraModule m, double[] s) {
        cache.write(key(m, "w0-singular-values", ""), new Payload(s.length * 8 + 8).putDoubles(s).bytes());
    }

    /**
     * Fills {@code target} with a group's bases of {@code kind} (by factor, then draw, then layer, as sampling does)
     * from the cache when it holds every layer's; otherwise runs {@code sample} into a store of the group alone,
     * copies that into {@code target} and stores each layer's.
     */
    void basesOrSample(List<LoraModule> group, String kind, String params, List<Factor> factors, int draws,
                       NullBasisStore target, Consumer<NullBasisStore> sample) {
        List<Map<Factor, List<FactorBases.Pair>>> found = new ArrayList<>(group.size());
        for (LoraModule m : group) {
            Optional<Map<Factor, List<FactorBases.Pair>>> b = read(key(m, kind, params),
                    buf -> decodeBases(buf, factors, draws));
            if (b.isEmpty()) {
                found = null;
                break;
            }
            found.add(b.get());
        }
        if (found != null) {
            for (Factor f : factors) {
                for (int d = 0; d < draws; d++) {
                    for (Map<Factor, List<FactorBases.Pair>> layer : found) {
                        target.add(f, d, layer.get(f).get(d));
                    }
                }
            }
            return;
        }
        List<Map<Factor, List<FactorBases.Pair>>> computed = new ArrayList<>(group.size());
        for (int l = 0; l < group.size(); l++) {
            computed.add(new EnumMap<>(Factor.class));
        }
        try (NullBasisStore own = NullBasisStore.inMemory(target.sides(), target.keep())) {
            sample.accept(own);
            for (Factor f : factors) {
                for (int d = 0; d < draws; d++) {
                    List<FactorBases.Pair> layers = own.get(f, d);
                    for (int l = 0; l < layers.size(); l++) {
                        target.add(f, d, layers.get(l));
                        computed.get(l).computeIfAbsent(f, x -> new ArrayList<>()).add(layers.get(l));
                    }
                }
            }
        }
        for (int l = 0; l < group.size(); l++) {
            cache.write(key(group.get(l), kind, params), encodeBases(computed.get(l), factors, draws));
        }
    }

    private static ByteBuffer encodeBases(Map<Factor, List<FactorBases.Pair>> bases, List<Factor> factors, int draws) {
        Payload p = new Payload(1 << 16);
        for (Factor f : factors) {
            for (int d = 0; d < draws; d++) {
                FactorBases.Pair pair = bases.get(f).get(d);
                encode(p, pair.left());
                encode(p, pair.right());
            }
        }
        return p.bytes();
    }

    private static Map<Factor, List<FactorBases.Pair>> decodeBases(ByteBuffer b, List<Factor> factors, int draws) {
        Map<Factor, List<FactorBases.Pair>> out = new EnumMap<>(Factor.class);
        for (Factor f : factors) {
            List<FactorBases.Pair> byDraw = new ArrayList<>(draws);
            for (int d = 0; d < draws; d++) {
                byDraw.add(new FactorBases.Pair(decode(b), decode(b)));
            }
            out.put(f, byDraw);
        }
        return out;
    }

    private static void encode(Payload p, SubspaceBasis basis) {
        p.putBoolean(basis != null);
        if (basis != null) {
            p.putInt(basis.vectors().rows()).putInt(basis.vectors().cols()).putInt(basis.rank())
                    .putDoubles(basis.singularValues()).putDoubles(basis.vectors().data());
        }
    }

    private static SubspaceBasis decode(ByteBuffer b) {
        if (!Payload.getBoolean(b)) {
            return null;
        }
        int rows = Payload.getInt(b);
        int cols = Payload.getInt(b);
        int rank = Payload.getInt(b);
        double[] s = Payload.getDoubles(b);
        double[] v = Payload.getDoubles(b);
        if (v.length != (long) rows * cols) {
            throw new IllegalArgumentException("cache payload: a " + rows + " x " + cols + " basis with " + v.length
                    + " values");
        }
        return new SubspaceBasis(new Matrix(rows, cols, v), s, rank);
    }
}
