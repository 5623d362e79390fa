package io.github.convsim.api;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.cache.Payload;
import io.github.convsim.conversion.Conditioning;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.FactorCache;
import io.github.convsim.conversion.SolveOptions;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.LuFactors;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.similarity.Side;
import java.nio.ByteBuffer;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One module pass's view of the {@link BaseCache}: what it stores about each layer's W0 (LU factors and cond, the
 * singular values) and about the module's (the W0 null's phi samples and the planted controls' average similarities),
 * and under which key. A key names everything the stored numbers depend on, so that a hit gives what computing
 * would have given, bit for bit:
 *
 * <ul>
 *   <li>the W0 matrix: the SHA-256 of the base's files, the tensor's name, and how it is sliced and oriented;
 *   <li>the arithmetic: the backend's summary (library, version, kernels, processor), and whether the layer was
 *       factored in a batch (single-threaded BLAS) or alone (threaded);
 *   <li>the solve and the cond method, and for the nulls the rank, i, j, seed, draws, factors and sides, and the module
 *       and layers the seeds derive from.
 * </ul>
 *
 * The W0 null's draws are not scaled to the adapter's norms ({@link io.github.convsim.similarity.W0Null}), so its
 * phi samples depend on nothing of the adapter but the rank, and a second adapter of that rank on the same base
 * reuses them.
 */
final class W0Cache implements FactorCache {
    /** Bumped whenever what an entry holds, or how it is computed, changes. */
    private static final String LAYOUT = "convsim-w0-cache 1";

    private final BaseCache cache;
    private final String prefix;

    /**
     * The view for layers solved with {@code solve} (its mode, precision and cond method name the entries, so that
     * analyze and compare share the factors of a base), {@code batched} as {@link LayerGroups} grouped them.
     */
    static W0Cache of(BaseCache cache, String baseSha256, LinalgBackend backend, SolveOptions solve, boolean batched) {
        return new W0Cache(cache, baseSha256, backend, solveKey(solve), batched);
    }

    /**
     * Everything of the solve that the entries depend on: the mode with its parameter (pinv's cut-off and ridge's
     * lambda decide every solve, the W0 null's included; without them a pinv run read the W0 null of another cut-off),
     * the precision and the cond method.
     */
    static String solveKey(SolveOptions solve) {
        String parameter = switch (solve.mode()) {
            case PINV -> " rcond=" + solve.rcond();
            case RIDGE -> " lambda=" + solve.lambda();
            default -> "";
        };
        return solve.mode().label() + parameter + " " + solve.precision() + " cond " + solve.cond();
    }

    private W0Cache(BaseCache cache, String baseSha256, LinalgBackend backend, String solveAndCond, boolean batched) {
        this.cache = cache;
        this.prefix = LAYOUT + "\nbase=" + baseSha256 + "\narithmetic=" + arithmetic(backend) + "\nblas="
                + (batched ? "batched" : "threaded") + "\nsolve=" + solveAndCond + "\n";
    }

    /** The backend's name and arithmetic summary (library, version, kernels, processor), as cache keys name it. */
    static String arithmetic(LinalgBackend backend) {
        return backend.name() + " " + backend.arithmetic().summary();
    }

    private String key(LoraModule m, String kind, String params) {
        return prefix + "kind=" + kind + "\n" + w0Identity(m) + "\nmodule=" + m.module() + "\n" + params;
    }

    /** A layer's W0 within the base: its index, the tensor, and how it is sliced and oriented. */
    private static String w0Identity(LoraModule m) {
        return "layer=" + m.layer() + " tensor=" + m.baseKey() + " slice=" + m.outOffset() + "+" + m.out() + "x"
                + m.in() + (m.baseTransposed() ? " transposed" : "");
    }

    @Override
    public Factors find(LoraModule layer, Precision precision) {
        return cache.read(key(layer, "lu-" + precision.name(), ""), b -> decodeFactors(b, precision)).orElse(null);
    }

    @Override
    public void keep(LoraModule layer, Factors f) {
        keep(layer, f, false);
    }

    @Override
    public void keepHeld(LoraModule layer, Factors f) {
        keep(layer, f, true);
    }

    @Override
    public void settle() {
        cache.awaitHeldWrites();
    }

    private void keep(LoraModule layer, Factors f, boolean held) {
        LuFactors lu = f.lu();
        Matrix packed = lu.packed();
        long bytes = (long) packed.data().length * (lu.precision() == Precision.FP64 ? 8 : 4) + 256;
        if (bytes > Payload.MAX_BYTES) {
            cache.note("the LU factors of a " + packed.rows() + " x " + packed.cols() + " W0 exceed one cache entry's"
                    + " 2 GiB in " + lu.precision().name().toLowerCase(java.util.Locale.ROOT) + "; not cached");
            return;
        }
        // the factors by reference: they never change once made, and a copy of a 4096 x 4096 LU is 128 MiB of heap
        Payload p = new Payload(64 + 4L * lu.pivots().length);
        p.putInt(packed.rows()).putInt(packed.cols());
        if (lu.precision() == Precision.FP64) {
            p.putDoublesByReference(packed.data());
        } else {
            // fp32 factors are exactly representable in fp32: half the bytes, the same values
            p.putNarrowedByReference(packed.data());
        }
        p.putInts(lu.pivots());
        Conditioning c = f.conditioning();
        p.putDouble(c.value()).putBoolean(c.exact()).putInt(c.rank()).putString(c.norm());
        String key = key(layer, "lu-" + lu.precision().name(), "");
        if (held) {
            cache.writeHeld(key, p);
        } else {
            cache.write(key, p);
        }
    }

    private static Factors decodeFactors(ByteBuffer b, Precision precision) {
        int rows = Payload.getInt(b);
        int cols = Payload.getInt(b);
        double[] data = precision == Precision.FP64 ? Payload.getDoubles(b) : Payload.getWidened(b);
        int[] pivots = Payload.getInts(b);
        Conditioning c = new Conditioning(Payload.getDouble(b), Payload.getBoolean(b), Payload.getInt(b),
                Payload.getString(b));
        return new Factors(new LuFactors(new Matrix(rows, cols, data), pivots, precision), c);
    }

    /** A layer's W0 singular values (descending), when stored. */
    Optional<double[]> singularValues(LoraModule m) {
        return cache.read(key(m, "w0-singular-values", ""), Payload::getDoubles);
    }

    void keepSingularValues(LoraModule m, double[] s) {
        cache.write(key(m, "w0-singular-values", ""), new Payload(s.length * 8 + 8).putDoubles(s));
    }

    /**
     * A module's W0 null as the heatmaps read it (phi by factor, side and draw) and its planted controls' phi by planted
     * factor, side and draw (empty where none were planted).
     */
    record ModuleNulls(Map<Factor, Map<Side, double[][][]>> w0Null, Map<Factor, Map<Side, double[][][]>> planted) {}

    /** The module's nulls, when stored for exactly these layers (in order) and parameters. */
    Optional<ModuleNulls> moduleNulls(List<LoraModule> layers, String params, List<Factor> factors, List<Side> sides) {
        return cache.read(moduleKey(layers, params), b -> decodeNulls(b, factors, sides));
    }

    void keepModuleNulls(List<LoraModule> layers, String params, ModuleNulls nulls, List<Factor> factors,
                         List<Side> sides) {
        Payload p = new Payload(1 << 16);
        for (Factor f : factors) {
            for (Side side : sides) {
                p.putMaps(nulls.w0Null().get(f).get(side));
            }
        }
        p.putInt(nulls.planted().size());
        for (Map.Entry<Factor, Map<Side, double[][][]>> e : nulls.planted().entrySet()) {
            p.putInt(e.getKey().ordinal());
            for (Side side : sides) {
                p.putMaps(e.getValue().get(side));
            }
        }
        cache.write(moduleKey(layers, params), p);
    }

    /** Every layer's W0 (tensor, slice, layer) in order: the module's nulls depend on all of them. */
    private String moduleKey(List<LoraModule> layers, String params) {
        StringBuilder k = new StringBuilder(prefix).append("kind=module-nulls\nmodule=")
                .append(layers.get(0).module()).append('\n');
        for (LoraModule m : layers) {
            k.append(w0Identity(m)).append('\n');
        }
        return k.append(params).toString();
    }

    private static ModuleNulls decodeNulls(ByteBuffer b, List<Factor> factors, List<Side> sides) {
        Map<Factor, Map<Side, double[][][]>> w0Null = new EnumMap<>(Factor.class);
        for (Factor f : factors) {
            Map<Side, double[][][]> bySide = new EnumMap<>(Side.class);
            for (Side side : sides) {
                bySide.put(side, Payload.getMaps(b));
            }
            w0Null.put(f, bySide);
        }
        Map<Factor, Map<Side, double[][][]>> planted = new EnumMap<>(Factor.class);
        int plantedFactors = Payload.getInt(b);
        if (plantedFactors < 0 || plantedFactors > Factor.values().length) {
            throw new IllegalArgumentException("cache payload: " + plantedFactors + " planted factors");
        }
        for (int k = 0; k < plantedFactors; k++) {
            int ordinal = Payload.getInt(b);
            if (ordinal < 0 || ordinal >= Factor.values().length) {
                throw new IllegalArgumentException("cache payload: planted factor " + ordinal);
            }
            Map<Side, double[][][]> bySide = new EnumMap<>(Side.class);
            for (Side side : sides) {
                bySide.put(side, Payload.getMaps(b));
            }
            planted.put(Factor.values()[ordinal], bySide);
        }
        if (b.hasRemaining()) {
            throw new IllegalArgumentException("cache payload: " + b.remaining() + " bytes left over");
        }
        return new ModuleNulls(w0Null, planted);
    }
}
