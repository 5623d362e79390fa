package io.github.convsim.similarity;

import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.LayerDiagnostics;
import io.github.convsim.conversion.ModuleConversion;
import io.github.convsim.conversion.W0System;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.random.RandomGenerator;

/**
 * Heatmaps of one module: phi between layers for each factor and side, with the Gaussian, W0 and analytic nulls, and
 * the controls. Gaussian frames depend only on (n, k, layers, draws, seed), so they are shared between heatmaps of
 * the same shape through {@link GaussianFrames}.
 *
 * <p>Random numbers come from {@link SplittableRandom} (its algorithm is specified, so a seed gives the same draws on
 * every Java 17+ runtime) with the JDK's ziggurat {@code nextGaussian}: measured about ten times faster than Commons
 * Math's polar method, which took most of a demo analysis' time.
 */
public final class SimilarityAnalysis {
    private final LinalgBackend backend;
    private final SimilaritySettings settings;
    private final GaussianFrames gaussianFrames;

    public SimilarityAnalysis(LinalgBackend backend, SimilaritySettings settings) {
        this(backend, settings, GaussianNullStore.NONE);
    }

    /**
     * As {@link #SimilarityAnalysis(LinalgBackend, SimilaritySettings)}, the Gaussian null's samples kept in
     * {@code gaussianStore} and taken from it.
     */
    public SimilarityAnalysis(LinalgBackend backend, SimilaritySettings settings, GaussianNullStore gaussianStore) {
        this.backend = backend;
        this.settings = settings;
        this.gaussianFrames = new GaussianFrames(gaussianStore);
    }

    public SimilaritySettings settings() {
        return settings;
    }

    /**
     * All heatmaps of one module whose W0 systems are all in memory: conversion matrices first, then controls, with the
     * W0 null and the planted controls' power. The streaming pipeline instead feeds {@link
     * #sampleW0Null}, {@link #samplePlanted} and {@link #w0ControlBases} group by group and calls {@link
     * #analyze(ModuleConversion, NullBasisStore, NullBasisStore, List)}.
     */
    public List<Heatmap> analyze(ConversionSolver solver, ModuleConversion conv) {
        checkPrefixes(conv.module(), conv.modules());
        int keep = keep(heatmapRank(conv.modules()));
        boolean w0Null = settings.nulls().contains(NullModel.W0);
        try (NullBasisStore store = w0Null ? NullBasisStore.inMemory(Set.copyOf(settings.sides()), keep) : null;
             NullBasisStore planted = w0Null ? NullBasisStore.inMemory(Set.copyOf(settings.sides()), keep) : null) {
            if (store != null) {
                sampleW0Null(solver, conv.systems(), conv.equationA(), w0NullFactors(conv.modules()),
                        LayerGroups.w0NullDrawsPerChunk(largestRank(conv.modules()), Runtime.getRuntime().maxMemory(),
                                conv.modules().size()), store);
            }
            if (planted != null) {
                samplePlanted(solver, conv.systems(), conv.equationA(), conv.modules(), planted);
            }
            List<FactorBases.Pair> w0 = settings.controls().contains("W0") ? w0ControlBases(conv.systems(), keep)
                    : null;
            return analyze(conv, store, planted, w0);
        }
    }

    /**
     * The rank the module's heatmaps are read at: its smallest layer's (PEFT's rank_pattern gives layers their own r).
     * i and j count from it, and phi(i, j) compares the i and j leading singular vectors of every layer, of any rank.
     */
    public static int heatmapRank(List<LoraModule> layers) {
        return layers.stream().mapToInt(LoraModule::rank).min().orElseThrow();
    }

    /** The module's layer of the largest rank (the first such), whose shapes bound the memory a layer takes. */
    public static LoraModule largestRank(List<LoraModule> layers) {
        LoraModule largest = layers.get(0);
        for (LoraModule m : layers) {
            if (m.rank() > largest.rank()) {
                largest = m;
            }
        }
        return largest;
    }

    /** Whether all layers of the module have one rank. */
    public static boolean oneRank(List<LoraModule> layers) {
        return heatmapRank(layers) == largestRank(layers).rank();
    }

    /**
     * Refuses prefixes longer than the smallest rank, and the right side where layers' ranks differ, before any work
     * is done.
     */
    public void checkPrefixes(String module, List<LoraModule> modules) {
        int rank = heatmapRank(modules);
        int largest = largestRank(modules).rank();
        if (rank != largest && settings.sides().contains(Side.RIGHT)) {
            throw new IllegalArgumentException("module " + module + " has layers of ranks " + rank + " to " + largest
                    + " (rank_pattern): right singular vectors of C_A, C_B, A^T and B live in R^r, a space of another"
                    + " dimension for each rank, so only their left sides compare; use --side left");
        }
        int i = settings.iFor(rank);
        int j = settings.jFor(rank);
        if (i > rank || j > rank) {
            String which = rank == largest ? "the rank r=" + rank + " of module " + module
                    : "the smallest rank r=" + rank + " of module " + module + " (layer " + modules.stream()
                            .filter(m -> m.rank() == rank).findFirst().orElseThrow().layer() + "; its ranks differ by"
                            + " layer)";
            throw new IllegalArgumentException("i=" + i + ", j=" + j + " exceed " + which + ": a rank-" + rank
                    + " matrix has only " + rank + " singular directions");
        }
        requireRankWithinW0(module, modules);
    }

    /**
     * Refuses a layer whose rank r exceeds W0's smaller side: its A (r x in) and B (out x r) then have at most
     * min(out, in) independent directions, so the conversion matrices' r singular vectors, the Gaussian frames of r
     * columns and the QR of A^T that phi, the nulls and the plants rest on do not exist.
     */
    public static void requireRankWithinW0(String module, List<LoraModule> modules) {
        for (LoraModule m : modules) {
            int dim = Math.min(m.out(), m.in());
            if (m.rank() > dim) {
                throw new IllegalArgumentException("module " + module + " layer " + m.layer() + " has rank r = "
                        + m.rank() + " above the smaller side of its " + m.out() + "x" + m.in() + " W0: A and B then"
                        + " have at most " + dim + " independent directions, and convsim compares conversion matrices"
                        + " of r <= min(out, in) only (--modules leaves the module out)");
            }
        }
    }

    /** How many leading vectors of each basis the heatmaps read: max(i, j). */
    public int keep(int rank) {
        return Math.max(settings.iFor(rank), settings.jFor(rank));
    }

    /**
     * Draws the W0 null of factors {@code sampled} (the module's {@link #w0NullFactors}) for a group of layers whose
     * W0 are factored, {@code drawsPerChunk} draws at a time (the same numbers as all at once), appending their bases
     * to {@code store}.
     */
    public void sampleW0Null(ConversionSolver solver, List<W0System> systems, Equation equationA, List<Factor> sampled,
                             int drawsPerChunk, NullBasisStore store) {
        if (drawsPerChunk < 1) {
            throw new IllegalArgumentException("draws per chunk must be positive, got " + drawsPerChunk);
        }
        List<LoraModule> modules = systems.stream().map(W0System::module).toList();
        List<RandomGenerator> rngs = W0Null.generators(modules, settings.seed());
        for (int from = 0; from < settings.draws(); from += drawsPerChunk) {
            int count = Math.min(drawsPerChunk, settings.draws() - from);
            Map<Factor, List<List<FactorBases.Pair>>> drawn = W0Null.sample(backend, solver, systems, modules,
                    equationA, sampled, count, rngs);
            for (Map.Entry<Factor, List<List<FactorBases.Pair>>> e : drawn.entrySet()) {
                for (int d = 0; d < count; d++) {
                    for (FactorBases.Pair p : e.getValue().get(d)) {
                        store.add(e.getKey(), from + d, p);
                    }
                }
            }
        }
    }

    /**
     * Plants and stores the positive controls (see {@link PlantedControl}) of a group of layers ({@code systems}) of
     * the module whose layers are {@code moduleLayers}: one shared map of the module's largest rank, of which each layer
     * takes as many columns as its rank; the bases keep the heatmaps' prefix, counted from its smallest rank.
     */
    public void samplePlanted(ConversionSolver solver, List<W0System> systems, Equation equationA,
                              List<LoraModule> moduleLayers, NullBasisStore store) {
        boolean plantDw = plantsDw(moduleLayers);
        boolean plantDwRight = plantsDwRight();
        for (Factor planted : plantedFactors(equationA == Equation.W0_X, settings.factors())) {
            boolean forB = planted == plantsFor(Factor.B, Side.LEFT, equationA, false);
            PlantedControl.sample(backend, solver, systems, planted, planted == Factor.A ? equationA : Equation.W0_X,
                    settings.seed(), keep(heatmapRank(moduleLayers)), largestRank(moduleLayers).rank(),
                    plantDw && forB, plantDwRight && forB, store);
        }
    }

    /**
     * The factors whose plants this analysis stores ({@link #plantedFactors(boolean, List)}), with dW where C_dW's own
     * plants are drawn ({@link #plantsDw}).
     */
    public List<Factor> storedPlants(boolean squareW0, List<LoraModule> layers) {
        List<Factor> out = new ArrayList<>(plantedFactors(squareW0, settings.factors()));
        if (plantsDw(layers) || plantsDwRight()) {
            out.add(Factor.DW);
        }
        return List.copyOf(out);
    }

    /**
     * Whether C_dW is planted on its own on the left (C_B's plant times a Gaussian A, {@link PlantedControl}): where its
     * map is read there below a layer's rank ({@link #plantsFor}).
     */
    private boolean plantsDw(List<LoraModule> layers) {
        return settings.factors().contains(Factor.DW) && settings.sides().contains(Side.LEFT) && belowRank(layers);
    }

    /**
     * Whether the heatmaps read below some layer's rank: i or j below it, or layers of several ranks. At i = j = r of
     * one rank C_dW = C_B A spans C_B's columns.
     */
    private boolean belowRank(List<LoraModule> layers) {
        int rank = heatmapRank(layers);
        return !(oneRank(layers) && settings.iFor(rank) == rank && settings.jFor(rank) == rank);
    }

    /**
     * Whether C_dW is planted on its own on the right: its right singular vectors are A's row space (weighted by C_B)
     * whatever W0 is, which no conversion matrix's plant models, so its plants share A's rows ({@link PlantedControl}).
     */
    private boolean plantsDwRight() {
        return settings.factors().contains(Factor.DW) && settings.sides().contains(Side.RIGHT);
    }

    /**
     * The factors planted on their own: A for C_A and, through a square W0, for C_B and C_dW too; B where W0 is not
     * square and B or dW is read, as there C_B's equation (W0 X = B) is not C_A's (W0^T X = A^T).
     */
    public static List<Factor> plantedFactors(boolean squareW0, List<Factor> read) {
        List<Factor> out = new ArrayList<>(2);
        if (squareW0 || read.contains(Factor.A)) {
            out.add(Factor.A);
        }
        if (!squareW0 && (read.contains(Factor.B) || read.contains(Factor.DW))) {
            out.add(Factor.B);
        }
        return List.copyOf(out);
    }

    /**
     * The planted controls' phi, [draw][layer a][layer b] (draw {@link PlantedControl#draw}), by planted factor
     * ({@link #plantedFactors}) and side, from their bases at the heatmaps' i and j.
     */
    public Map<Factor, Map<Side, double[][][]>> plantedSamples(List<LoraModule> layers, Equation equationA,
                                                             NullBasisStore planted) {
        int rank = heatmapRank(layers);
        int i = settings.iFor(rank);
        int j = settings.jFor(rank);
        Map<Factor, Map<Side, double[][][]>> out = new EnumMap<>(Factor.class);
        for (Factor f : storedPlants(equationA == Equation.W0_X, layers)) {
            Map<Side, double[][][]> bySide = new EnumMap<>(Side.class);
            for (Side side : settings.sides()) {
                bySide.put(side, phiEach(PlantedControl.NOISE.length * PlantedControl.REPETITIONS,
                        d -> planted.get(f, d).stream().map(p -> p.side(side)).toList(), i, j));
            }
            out.put(f, bySide);
        }
        return out;
    }

    /**
     * Which plants speak for a conversion map, in analyze and compare: C_A's for C_A; for C_B C_A's through a square
     * W0, where C_B's plants and W0 null have C_A's distributions, and B's own where W0 is not square. C_dW has its own
     * (factor dW) on the right, where its singular vectors are A's row space whatever W0 is ({@link #plantsDwRight},
     * {@link PlantedPairs#sampleRows}), and on the left {@code belowRank} (i or j below some layer's or adapter's
     * rank), where its leading directions depend on A too; else C_B's, whose columns C_dW = C_B A spans.
     */
    public static Factor plantsFor(Factor f, Side side, Equation equationA, boolean belowRank) {
        if (f == Factor.A) {
            return Factor.A;
        }
        if (f == Factor.DW && (side == Side.RIGHT || belowRank)) {
            return Factor.DW;
        }
        return equationA == Equation.W0_X ? Factor.A : Factor.B;
    }

    /**
     * The power curve of a map from the plants' phi, averaged over the map's own cells: where the map is undefined (a
     * layer with a zero B) the plants' cells are left out too, as the W0 null's are.
     */
    static PowerCurve powerCurve(String subject, double[][][] plantedPhi) {
        double[][] averages = new double[PlantedControl.NOISE.length][PlantedControl.REPETITIONS];
        for (int e = 0; e < averages.length; e++) {
            for (int k = 0; k < PlantedControl.REPETITIONS; k++) {
                averages[e][k] = SubspaceSimilarity.averageOffDiagonal(plantedPhi[PlantedControl.draw(e, k)]);
            }
        }
        return new PowerCurve(PlantedControl.NOISE.clone(), averages, Set.of(subject));
    }

    /**
     * The factors whose W0 null is drawn and reduced to bases: every factor, except C_dW where its null maps are C_B's.
     * On the left side with i = j = r (every layer's r) they are: C_dW = C_B A spans C_B's columns when A has full row
     * rank (a Gaussian draw has it with probability 1), and phi(r, r) depends on the subspaces alone (on the demo the
     * two agree to 2e-15 when drawn apart). C_dW's null then costs neither SVDs nor stored bases.
     */
    public List<Factor> w0NullFactors(List<LoraModule> layers) {
        return dwNullIsB(layers) ? settings.factors().stream().filter(f -> f != Factor.DW).toList()
                : settings.factors();
    }

    private boolean dwNullIsB(List<LoraModule> layers) {
        int rank = heatmapRank(layers);
        return settings.factors().contains(Factor.DW) && settings.factors().contains(Factor.B)
                && settings.sides().equals(List.of(Side.LEFT)) && oneRank(layers) && settings.iFor(rank) == rank
                && settings.jFor(rank) == rank;
    }

    /** The W0 null's phi, [draw][layer a][layer b], by factor and side, from its bases. */
    public Map<Factor, Map<Side, double[][][]>> w0NullSamples(List<LoraModule> layers, NullBasisStore w0Null) {
        int rank = heatmapRank(layers);
        int i = settings.iFor(rank);
        int j = settings.jFor(rank);
        Map<Factor, Map<Side, double[][][]>> out = new EnumMap<>(Factor.class);
        for (Factor f : w0NullFactors(layers)) {
            Map<Side, double[][][]> bySide = new EnumMap<>(Side.class);
            for (Side side : settings.sides()) {
                bySide.put(side, phiEach(w0Null.draws(f),
                        d -> w0Null.get(f, d).stream().map(p -> p.side(side)).toList(), i, j));
            }
            out.put(f, bySide);
        }
        if (dwNullIsB(layers)) {
            out.put(Factor.DW, out.get(Factor.B));
        }
        return out;
    }

    /** The W0 control's bases for a group of layers, cut to the {@code keep} vectors the heatmaps read. */
    public List<FactorBases.Pair> w0ControlBases(List<W0System> systems, int keep) {
        return FactorBases.of(backend, systems.stream().map(W0System::w0).toList()).stream()
                .map(p -> p.prefix(keep)).toList();
    }

    /**
     * All heatmaps of one module from its conversion matrices, the W0 null's bases (null: no W0 null) and the W0
     * control's bases (null: no W0 control).
     */
    public List<Heatmap> analyze(ModuleConversion conv, NullBasisStore w0Null, List<FactorBases.Pair> w0Control) {
        return analyze(conv, w0Null, null, w0Control);
    }

    /**
     * As {@link #analyze(ModuleConversion, NullBasisStore, List)}, with the planted controls' bases ({@link
     * #samplePlanted}; null: none), which give each map they speak for its power curve.
     */
    public List<Heatmap> analyze(ModuleConversion conv, NullBasisStore w0Null, NullBasisStore planted,
                                 List<FactorBases.Pair> w0Control) {
        return analyze(conv, w0Null == null ? null : w0NullSamples(conv.modules(), w0Null),
                planted == null ? Map.of() : plantedSamples(conv.modules(), conv.equationA(), planted), w0Control);
    }

    /**
     * All heatmaps of one module from its conversion matrices, the W0 null's phi samples by factor and side (null: no
     * W0 null; see {@link #w0NullSamples}), the planted controls' phi samples by planted factor and side (empty: no
     * power; see {@link #plantedSamples}) and the W0 control's bases (null: no W0 control).
     */
    public List<Heatmap> analyze(ModuleConversion conv, Map<Factor, Map<Side, double[][][]>> w0Null,
                                 Map<Factor, Map<Side, double[][][]>> planted, List<FactorBases.Pair> w0Control) {
        List<LoraModule> modules = conv.modules();
        checkPrefixes(conv.module(), modules);
        int rank = heatmapRank(modules);
        int i = settings.iFor(rank);
        int j = settings.jFor(rank);
        int[] layers = modules.stream().mapToInt(LoraModule::layer).toArray();
        int[] loraRanks = modules.stream().mapToInt(LoraModule::rank).toArray();
        Map<Factor, List<FactorBases.Pair>> observed = observedBases(conv);
        int solutionRank = conv.diagnostics().stream().mapToInt(LayerDiagnostics::solutionRank).max().orElse(0);
        List<Heatmap> maps = new ArrayList<>();
        for (Factor f : settings.factors()) {
            for (Side side : settings.sides()) {
                List<SubspaceBasis> bases = observed.get(f).stream().map(p -> p.side(side)).toList();
                double[][][] samples = w0Null == null ? null : w0Null.get(f).get(side);
                Factor plantedAs = plantsFor(f, side, conv.equationA(), belowRank(modules));
                double[][][] plants = samples == null || !planted.containsKey(plantedAs) ? null
                        : planted.get(plantedAs).get(side);
                String subject = "C_" + f.label();
                int fixed = Heatmap.w0Subspace(subject, side, bases.get(0).dimension(), solutionRank);
                maps.add(heatmap(conv.module(), subject, side, fixed, i, j, layers, loraRanks, bases,
                        samples != null && samples.length > 0 ? samples : null, plants));
            }
        }
        maps.addAll(controls(conv, w0Control, layers, loraRanks, i, j));
        return maps;
    }

    /**
     * One map from its layers' bases, with its nulls ({@code w0Samples}: the W0 null's phi by draw, or null). Cells
     * where phi is undefined (a layer whose factor has rank below i or j, a zero B say) are left out of the nulls'
     * draws too, so the observed average and the nulls' averages are over the same pairs of layers, and out of the
     * planted controls' ({@code plantedPhi}: by draw, or null where they do not speak for the map) for its power.
     */
    private Heatmap heatmap(String module, String subject, Side side, int w0Subspace, int i, int j, int[] layers,
                            int[] loraRanks, List<SubspaceBasis> bases, double[][][] w0Samples, double[][][] plantedPhi) {
        int dim = bases.get(0).dimension();
        // one Gram matrix of the stacked prefixes serves phi and the principal angles
        Matrix gram = SubspaceSimilarity.gram(backend, vectors(bases), i, j);
        int[] subspaceRanks = ranks(bases);
        double[][] phi = SubspaceSimilarity.fromGram(gram, subspaceRanks, i, j);
        double[][] grassmann = SubspaceSimilarity.grassmannFromGram(backend, gram, subspaceRanks, i, j);
        NullDistribution gaussian = settings.nulls().contains(NullModel.GAUSSIAN)
                ? gaussianFrames.distribution(dim, i, j, layers.length, phi) : null;
        NullDistribution w0 = w0Samples == null ? null
                : NullDistribution.of(NullModel.W0.label(), undefinedLike(w0Samples, phi));
        double analytic = settings.nulls().contains(NullModel.ANALYTIC)
                ? SubspaceSimilarity.analyticExpectation(dim, i, j) : Double.NaN;
        PowerCurve power = w0 == null || plantedPhi == null ? null
                : powerCurve(subject, undefinedLike(plantedPhi, phi));
        return new Heatmap(module, subject, side, i, j, dim, w0Subspace, layers, loraRanks, subspaceRanks, phi,
                SubspaceSimilarity.averageOffDiagonal(phi), grassmann, analytic, gaussian, w0, power);
    }

    /** Bytes of stacked bases held at once while phi of many draws is computed: 64 MiB, or a sixteenth of the heap. */
    private static final long PHI_BATCH_BYTES = Math.min(64L << 20, Runtime.getRuntime().maxMemory() / 16);

    /**
     * phi of each of {@code count} sets of bases (read from a store that may be on disk), a batch of draws at a time:
     * the batch's Gram matrices in one batched call, then each map on its own core. A batch holds at most
     * {@link #PHI_BATCH_BYTES} of stacked bases: all 32 draws of the demo at once, 4 at a time at 7B scale, where
     * one draw's bases take 16 MiB.
     */
    private double[][][] phiEach(int count, java.util.function.IntFunction<List<SubspaceBasis>> set, int i, int j) {
        double[][][] out = new double[count][][];
        int from = 0;
        while (from < count) {
            List<List<SubspaceBasis>> batch = new ArrayList<>();
            long bytes = 0;
            for (int d = from; d < count && (batch.isEmpty() || bytes < PHI_BATCH_BYTES); d++) {
                List<SubspaceBasis> bases = set.apply(d);
                batch.add(bases);
                bytes += (long) bases.size() * bases.get(0).dimension() * Math.max(i, j) * Double.BYTES * 2;
            }
            List<Matrix> grams = SubspaceSimilarity.grams(backend, batch.stream().map(SimilarityAnalysis::vectors)
                    .toList(), i, j);
            int at = from;
            java.util.stream.IntStream.range(0, batch.size()).parallel()
                    .forEach(d -> out[at + d] = SubspaceSimilarity.fromGram(grams.get(d), ranks(batch.get(d)), i, j));
            from += batch.size();
        }
        return out;
    }

    private static List<Matrix> vectors(List<SubspaceBasis> bases) {
        return bases.stream().map(SubspaceBasis::vectors).toList();
    }

    private static int[] ranks(List<SubspaceBasis> bases) {
        return bases.stream().mapToInt(SubspaceBasis::rank).toArray();
    }

    private Map<Factor, List<FactorBases.Pair>> observedBases(ModuleConversion conv) {
        List<Matrix> aFactors = conv.modules().stream().map(LoraModule::a).toList();
        return FactorBases.ofFactors(backend, settings.factors(), conv.cA(), conv.cB(), aFactors);
    }

    private List<Heatmap> controls(ModuleConversion conv, List<FactorBases.Pair> w0Control, int[] layers,
                                   int[] loraRanks, int i, int j) {
        List<Heatmap> out = new ArrayList<>();
        List<LoraModule> modules = conv.modules();
        if (settings.controls().contains("A")) {
            List<FactorBases.Pair> bases = FactorBases.of(backend, modules.stream().map(m -> m.a().transpose()).toList());
            addControl(out, conv.module(), "A^T", bases, layers, loraRanks, i, j);
        }
        if (settings.controls().contains("B")) {
            List<FactorBases.Pair> bases = FactorBases.of(backend, modules.stream().map(LoraModule::b).toList());
            addControl(out, conv.module(), "B", bases, layers, loraRanks, i, j);
        }
        if (settings.controls().contains("W0") && w0Control != null) {
            addControl(out, conv.module(), "W0", w0Control, layers, loraRanks, i, j);
        }
        return out;
    }

    /** {@code samples} with every cell undefined in {@code observed} set undefined too (the same array where none is). */
    static double[][][] undefinedLike(double[][][] samples, double[][] observed) {
        boolean any = false;
        for (int a = 0; a < observed.length && !any; a++) {
            for (int b = 0; b < observed.length; b++) {
                any |= a != b && Double.isNaN(observed[a][b]);
            }
        }
        if (!any) {
            return samples;
        }
        double[][][] out = new double[samples.length][][];
        for (int d = 0; d < samples.length; d++) {
            out[d] = new double[observed.length][];
            for (int a = 0; a < observed.length; a++) {
                out[d][a] = samples[d][a].clone();
                for (int b = 0; b < observed.length; b++) {
                    if (a != b && Double.isNaN(observed[a][b])) {
                        out[d][a][b] = Double.NaN;
                    }
                }
            }
        }
        return out;
    }

    private void addControl(List<Heatmap> out, String module, String subject, List<FactorBases.Pair> bases,
                            int[] layers, int[] loraRanks, int i, int j) {
        for (Side side : settings.sides()) {
            out.add(heatmap(module, subject, side, 0, i, j, layers, loraRanks, bases.stream().map(p -> p.side(side))
                    .toList(), null, null));
        }
    }

    /**
     * Gaussian-null distributions, memoised by shape: heatmaps of equal (n, i, j, layers) share draws, within a run
     * and, through the store, across runs.
     */
    private final class GaussianFrames {
        private final Map<String, NullDistribution> cache = new ConcurrentHashMap<>();
        private final GaussianNullStore store;

        GaussianFrames(GaussianNullStore store) {
            this.store = store;
        }

        private final Map<String, double[][][]> samples = new ConcurrentHashMap<>();

        /** The null of a map of this shape, its cells left undefined where {@code observed}'s are. */
        NullDistribution distribution(int dim, int i, int j, int layers, double[][] observed) {
            String shape = "n=" + dim + " i=" + i + " j=" + j + " layers=" + layers;
            double[][][] drawn = samples.computeIfAbsent(shape, key -> {
                double[][][] s = store.find(key).orElse(null);
                if (s == null) {
                    s = sample(dim, i, j, layers);
                    store.keep(key, s);
                }
                return s;
            });
            double[][][] masked = undefinedLike(drawn, observed);
            return masked == drawn ? cache.computeIfAbsent(shape, key -> NullDistribution.of(
                    NullModel.GAUSSIAN.label(), drawn)) : NullDistribution.of(NullModel.GAUSSIAN.label(), masked);
        }

        /** Draw by draw, so only one draw's frames (layers x n x max(i, j)) are held at a time. */
        private double[][][] sample(int dim, int i, int j, int layers) {
            int k = Math.max(i, j);
            int draws = settings.draws();
            RandomGenerator rng = new SplittableRandom(Seeds.derive(settings.seed(), "gaussian-null", dim, k, layers));
            int[] full = new int[layers];
            java.util.Arrays.fill(full, k);
            double[][][] samples = new double[draws][][];
            for (int d = 0; d < draws; d++) {
                List<Matrix> raw = new ArrayList<>(layers);
                for (int l = 0; l < layers; l++) {
                    raw.add(RandomMatrices.gaussian(rng, dim, k, 1));
                }
                samples[d] = SubspaceSimilarity.phi(backend, backend.orthonormalBasis(raw, Precision.FP64), full, i, j);
            }
            return samples;
        }
    }
}
