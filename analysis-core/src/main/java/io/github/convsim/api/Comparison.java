package io.github.convsim.api;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.FactorCache;
import io.github.convsim.conversion.IllConditionedException;
import io.github.convsim.conversion.W0System;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.pipeline.LayerGroups;
import io.github.convsim.pipeline.LayerStream;
import io.github.convsim.results.AnalysisOptions;
import io.github.convsim.results.ComparisonMap;
import io.github.convsim.results.ComparisonResult;
import io.github.convsim.results.LayerCondition;
import io.github.convsim.results.Provenance;
import io.github.convsim.results.ReportedComparison;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.PlantedPairs;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SimilarityAnalysis;
import io.github.convsim.similarity.SubspaceBasis;
import io.github.convsim.similarity.SubspaceSimilarity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Compares adapters trained on one base: for each module, conversion matrix and layer, phi between every pair of
 * adapters. W0 is streamed a layer group at a time ({@link LayerStream}); each layer's W0 is factored once and shared
 * by all adapters, and only the adapters' bases and the pair null's phi values outlive the group.
 */
public final class Comparison {
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-(\\d+)");
    /**
     * The fewest W0-null draws compare takes: draws make pairs, and the pair null's predictive test needs at least two
     * pairs (with one, its spread is unknown and no p can be given).
     */
    public static final int MIN_W0_NULL_DRAWS = 4;

    private Comparison() {}

    /**
     * The adapter directories to compare: the given ones, a directory of checkpoint-N directories expanded; ordered by
     * step when every one is a checkpoint-N.
     *
     * @throws CheckpointException naming a path that does not exist (not counted as no adapter), or a directory that is
     *     neither an adapter nor a run of checkpoints
     */
    public static List<Path> expand(List<Path> dirs) throws CheckpointException {
        List<Path> out = new ArrayList<>();
        for (Path d : dirs) {
            io.github.convsim.io.InputFiles.attributes(d);
            if (Files.isDirectory(d) && !Files.exists(d.resolve("adapter_config.json"))) {
                try (Stream<Path> s = Files.list(d)) {
                    List<Path> found = s.filter(p -> CHECKPOINT.matcher(p.getFileName().toString()).matches()
                            && Files.exists(p.resolve("adapter_config.json"))).toList();
                    if (found.isEmpty()) {
                        throw new CheckpointException(d, "neither an adapter (no adapter_config.json) nor a run with"
                                + " checkpoint-N adapters");
                    }
                    out.addAll(found);
                } catch (IOException e) {
                    if (e instanceof CheckpointException ce) {
                        throw ce;
                    }
                    throw new CheckpointException(d, "cannot list: " + e.getMessage());
                }
            } else {
                out.add(d);
            }
        }
        if (steps(out) != null) {
            out.sort(Comparator.comparingInt(p -> step(p)));
        }
        return out;
    }

    /** Steps of checkpoint-N directories, or null unless every directory is one. */
    static List<Integer> steps(List<Path> dirs) {
        List<Integer> steps = new ArrayList<>();
        for (Path d : dirs) {
            Integer s = step(d);
            if (s == null) {
                return null;
            }
            steps.add(s);
        }
        return steps;
    }

    private static Integer step(Path d) {
        Matcher m = CHECKPOINT.matcher(d.getFileName().toString());
        return m.matches() ? Integer.valueOf(m.group(1)) : null;
    }

    /**
     * Compares adapters trained on one base, refusing a base shown to be of another model family.
     *
     * <pre>{@code
     * try (Backends.Choice backend = Backends.select("cpu")) {
     *     ComparisonResult r = Comparison.run(Comparison.expand(List.of(loraSst2, loraMnli)), baseWeights,
     *             AnalysisOptions.defaults(), backend, ProgressListener.NONE);
     *     ComparisonMap m = r.maps().get(0); // m.mean()[0][1]: phi between the two, m.w0NullMean(): the pair null
     * }
     * }</pre>
     */
    public static ComparisonResult run(List<Path> adapterDirs, Path base, AnalysisOptions options,
                                       Backends.Choice backend, ProgressListener progress) throws CheckpointException {
        return run(adapterDirs, base, BaseMatch.BaseCheck.STRICT, options, backend, progress);
    }

    /** As {@link #run(List, Path, AnalysisOptions, Backends.Choice, ProgressListener)}, with the base check chosen. */
    public static ComparisonResult run(List<Path> adapterDirs, Path base, BaseMatch.BaseCheck baseCheck,
                                       AnalysisOptions options, Backends.Choice backend, ProgressListener progress)
            throws CheckpointException {
        return run(adapterDirs, base, baseCheck, options, backend, progress, null);
    }

    /**
     * As above, taking each layer's LU factors and cond(W0) from {@code cache} where an earlier analysis or comparison
     * on the same base left them, and leaving them there otherwise (null: no cache). The numbers are the same, bit for
     * bit, with or without it; the W0 null of pairs is drawn afresh.
     */
    public static ComparisonResult run(List<Path> adapterDirs, Path base, BaseMatch.BaseCheck baseCheck,
                                       AnalysisOptions options, Backends.Choice backend, ProgressListener progress,
                                       BaseCache cache) throws CheckpointException {
        return run(adapterDirs, base, baseCheck, options, backend, progress, Runtime.getRuntime().maxMemory(), cache);
    }

    /** As above, streaming W0 within {@code memory} bytes. */
    static ComparisonResult run(List<Path> adapterDirs, Path base, BaseMatch.BaseCheck baseCheck,
                                AnalysisOptions options, Backends.Choice backend, ProgressListener progress,
                                long memory) throws CheckpointException {
        return run(adapterDirs, base, baseCheck, options, backend, progress, memory, null);
    }

    private static ComparisonResult run(List<Path> adapterDirs, Path base, BaseMatch.BaseCheck baseCheck,
                                        AnalysisOptions options, Backends.Choice backend, ProgressListener progress,
                                        long memory, BaseCache cache) throws CheckpointException {
        if (adapterDirs.size() < 2) {
            throw new IllegalArgumentException("compare needs at least two adapters, got " + adapterDirs.size());
        }
        List<LoraCheckpoint> ckpts = new ArrayList<>();
        try {
            for (Path d : adapterDirs) {
                ckpts.add(LoraCheckpoint.open(d, base, baseCheck));
            }
            return compare(ckpts, options, backend, progress, memory, cache);
        } finally {
            ckpts.forEach(LoraCheckpoint::close);
        }
    }

    /**
     * What reading each adapter noted (analyze's report says it first): a note every adapter has once, as "every
     * adapter: ...", the others after the adapter's name.
     */
    private static List<String> checkpointNotes(List<LoraCheckpoint> ckpts, List<String> names) {
        Set<String> shared = new LinkedHashSet<>(ckpts.get(0).notes());
        ckpts.forEach(c -> shared.retainAll(c.notes()));
        List<String> out = new ArrayList<>();
        if (ckpts.size() > 1) {
            shared.forEach(n -> out.add("every adapter: " + n));
        }
        for (int k = 0; k < ckpts.size(); k++) {
            for (String n : ckpts.get(k).notes()) {
                if (ckpts.size() == 1 || !shared.contains(n)) {
                    out.add(names.get(k) + ": " + n);
                }
            }
        }
        return out;
    }

    private static ComparisonResult compare(List<LoraCheckpoint> ckpts, AnalysisOptions options,
                                            Backends.Choice backend, ProgressListener progress, long memory,
                                            BaseCache cache) throws CheckpointException {
        long t0 = System.nanoTime();
        MemoryUse.watch();
        Map<String, Double> timings = new LinkedHashMap<>();
        Map<String, Object> streaming = new LinkedHashMap<>();
        List<String> names = names(ckpts);
        Set<String> modules = new LinkedHashSet<>(ckpts.get(0).moduleNames());
        ckpts.forEach(c -> modules.retainAll(c.moduleNames()));
        List<String> notes = new ArrayList<>(checkpointNotes(ckpts, names));
        notes.addAll(sameDirectories(ckpts, names));
        if (!options.modules().isEmpty()) {
            for (String m : options.modules()) {
                if (!modules.contains(m)) {
                    throw new IllegalArgumentException("module '" + m + "' is not in every adapter (common: "
                            + (modules.isEmpty() ? "none" : String.join(", ", modules)) + ")");
                }
            }
            modules.retainAll(options.modules());
        } else {
            notes.addAll(leftOutModules(ckpts, names, modules));
        }
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("the adapters have no module in common");
        }
        List<ComparisonMap> maps = new ArrayList<>();
        List<LayerCondition> conditions = new ArrayList<>();
        String baseSha256 = cache == null ? null : Analysis.baseSha256(ckpts.get(0));
        int done = 0;
        for (String module : modules) {
            List<Integer> layers = commonLayers(ckpts, module);
            notes.addAll(leftOutLayers(ckpts, names, module, layers));
            List<List<LoraModule>> perAdapter = new ArrayList<>();
            for (LoraCheckpoint c : ckpts) {
                perAdapter.add(c.layersOf(module).stream().filter(m -> layers.contains(m.layer())).toList());
            }
            List<LoraModule> first = perAdapter.get(0);
            List<LoraModule> everyLayer = perAdapter.stream().flatMap(List::stream).toList();
            SimilarityAnalysis.requireRankWithinW0(module, everyLayer);
            int minRank = everyLayer.stream().mapToInt(LoraModule::rank).min().orElseThrow();
            int i = options.similarity().i() == 0 ? minRank : options.similarity().i();
            int j = options.similarity().j() == 0 ? minRank : options.similarity().j();
            if (i > minRank || j > minRank) {
                throw new IllegalArgumentException("i=" + i + ", j=" + j + " exceed the smallest rank r=" + minRank
                        + " among the adapters' " + module + " modules");
            }
            // as analyze: a module of several ranks (between adapters or between layers) compares on the left only
            int maxRank = perAdapter.stream().flatMap(List::stream).mapToInt(LoraModule::rank).max().orElseThrow();
            if (maxRank != minRank && options.similarity().sides().contains(Side.RIGHT)) {
                throw new IllegalArgumentException("the adapters' " + module + " modules have ranks " + minRank + " to "
                        + maxRank + ": right singular vectors of C_A, C_B, A^T and B live in R^r, a space of another"
                        + " dimension for each rank, so only their left sides compare; use --side left");
            }
            boolean square = first.stream().allMatch(m -> m.out() == m.in());
            ConversionSolver solver = new ConversionSolver(backend.backend(), options.solveOptions(square));
            List<Factor> factors = options.similarity().factors();
            List<Side> sides = options.similarity().sides();
            int pairs = options.similarity().nulls().contains(NullModel.W0) ? options.similarity().draws() / 2 : 0;
            if (pairs == 1) {
                throw new IllegalArgumentException("compare's W0 null needs at least " + MIN_W0_NULL_DRAWS + " draws"
                        + " (two pairs), got " + options.similarity().draws());
            }
            // bases[factor][adapter][layer], filled group by group
            Map<Factor, List<List<FactorBases.Pair>>> bases = new LinkedHashMap<>();
            for (Factor f : factors) {
                List<List<FactorBases.Pair>> byAdapter = new ArrayList<>();
                perAdapter.forEach(ms -> byAdapter.add(new ArrayList<>()));
                bases.put(f, byAdapter);
            }
            PairedW0Null pairNull = new PairedW0Null(perAdapter, factors.size(), sides.size(), pairs);
            // phi between the two adapters of each planted pair, for power, by side and pair of ranks:
            // [noise][repetition][layer]; none on the right where i or j spans R^r (phi = 1 by construction)
            // and by planted factor: A, and B on its own where W0 is not square (C_B's equation is not C_A's)
            Map<Factor, Map<Side, Map<PlantedPairs.Ranks, double[][][]>>> plantPhi = new EnumMap<>(Factor.class);
            for (Factor planted : pairs < 1 ? List.<Factor>of()
                    : io.github.convsim.similarity.SimilarityAnalysis.plantedFactors(square, factors)) {
                plantPhi.put(planted, PlantedPairs.slots(perAdapter, sides.stream()
                        .filter(side -> side == Side.LEFT || Math.max(i, j) < minRank).toList()));
            }
            // C_dW's own pairs (SimilarityAnalysis.plantsFor): on the left below an adapter's rank, where its leading
            // directions depend on A (at i = j = r of one rank C_dW spans C_B's columns, and C_B's pairs speak for it)
            boolean belowRank = Math.min(i, j) < maxRank;
            Map<PlantedPairs.Ranks, double[][][]> dwPhi = pairs >= 1 && factors.contains(Factor.DW)
                    && sides.contains(Side.LEFT) && belowRank
                    ? PlantedPairs.slots(perAdapter, List.of(Side.LEFT)).get(Side.LEFT) : null;
            Factor dwFrom = square ? Factor.A : Factor.B; // the pairs of C_B's distribution
            // on the right C_dW has A's row space: pairs of shared rows of A (the sides refused it if ranks differ)
            Map<PlantedPairs.Ranks, double[][][]> dwRightPhi = pairs >= 1 && factors.contains(Factor.DW)
                    && sides.contains(Side.RIGHT) ? PlantedPairs.slots(perAdapter, List.of(Side.RIGHT)).get(Side.RIGHT)
                    : null;
            Equation[] eqA = {null};
            int group = Math.min(first.size(), LayerGroups.size(io.github.convsim.similarity.SimilarityAnalysis
                    .largestRank(perAdapter.stream().flatMap(List::stream).toList()), memory));
            streaming.put(module, Map.of("layers_per_group", group));
            FactorCache factorCache = cache == null ? FactorCache.NONE
                    : W0Cache.of(cache, baseSha256, backend.backend(), solver.options(), group > 1);
            new LayerStream(ckpts.get(0), group).forEach(first, timings, g -> {
                List<W0System> systems = solver.factor(g.layers(), g.w0s(), factorCache);
                for (W0System w : systems) {
                    conditions.add(new LayerCondition(module, w.module().layer(), w.module().out(), w.module().in(),
                            solver.options().mode(), solver.options().precision(), w.conditioning(),
                            solver.solutionRank(w)));
                }
                Equation eq = ConversionSolver.equationForA(systems.get(0));
                if (eqA[0] != null && eq != eqA[0]) {
                    throw new IllConditionedException("module " + module
                            + " mixes square and non-square W0 across layers");
                }
                eqA[0] = eq;
                for (int a = 0; a < perAdapter.size(); a++) {
                    List<LoraModule> ms = perAdapter.get(a).subList(g.from(), g.from() + g.layers().size());
                    List<Matrix> cA = solver.solve(systems, ms.stream().map(m -> m.a().transpose()).toList(), eq);
                    List<Matrix> cB = solver.solve(systems, ms.stream().map(LoraModule::b).toList(), Equation.W0_X);
                    Map<Factor, List<FactorBases.Pair>> found = FactorBases.ofFactors(backend.backend(), factors, cA,
                            cB, ms.stream().map(LoraModule::a).toList());
                    for (Factor f : factors) {
                        bases.get(f).get(a).addAll(found.get(f));
                    }
                }
                pairNull.sample(backend.backend(), solver, systems, g, eq, factors, sides, i, j,
                        options.similarity().seed());
                List<List<LoraModule>> groupLayers = perAdapter.stream().map(ms -> ms.subList(g.from(),
                        g.from() + g.layers().size())).toList();
                for (Map.Entry<Factor, Map<Side, Map<PlantedPairs.Ranks, double[][][]>>> p : plantPhi.entrySet()) {
                    PlantedPairs.sample(backend.backend(), solver, systems, groupLayers, p.getKey(),
                            p.getKey() == Factor.A ? eq : Equation.W0_X, i, j, options.similarity().seed(), g.from(),
                            p.getValue(), p.getKey() == dwFrom ? dwPhi : null);
                }
                if (dwRightPhi != null) {
                    PlantedPairs.sampleRows(backend.backend(), solver, systems, groupLayers, i, j,
                            options.similarity().seed(), g.from(), dwRightPhi);
                }
                factorCache.settle(); // the group's factors are let go of next
            });
            int[] layerIdx = first.stream().mapToInt(LoraModule::layer).toArray();
            int[][] ranks = perAdapter.stream().map(ms -> ms.stream().mapToInt(LoraModule::rank).toArray())
                    .toArray(int[][]::new);
            for (int fi = 0; fi < factors.size(); fi++) {
                for (int si = 0; si < sides.size(); si++) {
                    Factor f = factors.get(fi);
                    String subject = "C_" + f.label();
                    // the plants that speak for this map, if drawn on this side
                    Side side = sides.get(si);
                    Factor plantedAs = io.github.convsim.similarity.SimilarityAnalysis.plantsFor(f, side, eqA[0],
                            belowRank);
                    Map<PlantedPairs.Ranks, double[][][]> planted = plantedAs == Factor.DW
                            ? (side == Side.LEFT ? dwPhi : dwRightPhi)
                            : plantPhi.containsKey(plantedAs) ? plantPhi.get(plantedAs).get(side) : null;
                    Set<String> speaksFor = planted == null ? Set.of()
                            : PlantedPairs.speaksFor(plantedAs, side, eqA[0], belowRank);
                    maps.add(betweenAdapters(backend, module, subject, sides.get(si), i, j, layerIdx,
                            bases.get(f), pairs < 1 ? null : pairNull, fi, si, planted, ranks, speaksFor));
                }
            }
            // raw-factor controls: checkpoints of one run share lora_A's initialisation, so their conversion matrices
            // are similar before any training; the raw factors show how much
            Map<String, List<List<FactorBases.Pair>>> raw = new LinkedHashMap<>();
            for (List<LoraModule> ms : perAdapter) {
                raw.computeIfAbsent("A^T", k -> new ArrayList<>()).add(FactorBases.of(backend.backend(),
                        ms.stream().map(m -> m.a().transpose()).toList()));
                raw.computeIfAbsent("B", k -> new ArrayList<>()).add(FactorBases.of(backend.backend(),
                        ms.stream().map(LoraModule::b).toList()));
            }
            for (Map.Entry<String, List<List<FactorBases.Pair>>> e : raw.entrySet()) {
                for (Side side : options.similarity().sides()) {
                    maps.add(betweenAdapters(backend, module, e.getKey(), side, i, j, layerIdx, e.getValue(), null,
                            0, 0, null, ranks, Set.of()));
                }
            }
            progress.progress("compare", ++done, modules.size());
        }
        List<Provenance.InputFile> inputs;
        try {
            inputs = Provenance.inputsOf(ckpts);
        } catch (CheckpointException e) {
            throw Analysis.discardingCache(cache, e);
        }
        timings.put("compare", (System.nanoTime() - t0) / 1e9);
        // what ReportedComparison reads back: the inputs as given and how they were read, then the options
        Map<String, Object> opts = new LinkedHashMap<>();
        opts.put(ReportedComparison.ADAPTERS, ckpts.stream()
                .map(c -> c.adapterDir().toAbsolutePath().normalize().toString()).toList());
        opts.put(ReportedComparison.BASE, ckpts.get(0).base().location().toAbsolutePath().normalize().toString());
        opts.put(ReportedComparison.BASE_CHECK, ckpts.get(0).baseCheck().name().toLowerCase(java.util.Locale.ROOT));
        opts.putAll(options.toMap());
        opts.put("i", options.similarity().i() == 0 ? ReportedComparison.SMALLEST_RANK : options.similarity().i());
        opts.put("j", options.similarity().j() == 0 ? ReportedComparison.SMALLEST_RANK : options.similarity().j());
        opts.put("modules", options.modules().isEmpty() ? ReportedComparison.ALL_COMMON : options.modules());
        opts.remove("controls"); // compare's controls are always the raw factors A^T and B
        // without the W0 null nothing is drawn (the options' draws are a placeholder then)
        int w0Draws = options.similarity().nulls().contains(NullModel.W0) ? options.similarity().draws() : 0;
        opts.put("draws", w0Draws);
        opts.put("w0_null_draws", w0Draws);
        if (w0Draws == 0) {
            opts.remove("seed");
        }
        Map<String, Object> resources = new LinkedHashMap<>(MemoryUse.resources(streaming));
        if (cache != null) {
            resources.put("w0_cache", cache.summary());
        }
        Provenance prov = Provenance.of("convsim compare", backend, inputs, opts, timings, resources);
        return new ComparisonResult(names, steps(ckpts.stream().map(LoraCheckpoint::adapterDir).toList()), maps, prov,
                List.copyOf(notes), List.copyOf(conditions));
    }

    /**
     * phi between every pair of adapters at each layer, from each adapter's bases (byAdapter[adapter][layer]), with
     * the W0 null for pairs (factor {@code fi} and side {@code si} of {@code nulls}: the map's, and each pair's where
     * ranks differ or a pair's phi is undefined at some layer) and the planted pairs' power curve (null for a
     * raw-factor control, or without draws).
     */
    private static ComparisonMap betweenAdapters(Backends.Choice backend, String module, String subject, Side side,
                                                 int i, int j, int[] layerIdx, List<List<FactorBases.Pair>> byAdapter,
                                                 PairedW0Null nulls, int fi, int si,
                                                 Map<PlantedPairs.Ranks, double[][][]> planted, int[][] ranks,
                                                 Set<String> speaksFor) {
        double[][][] perLayer = new double[layerIdx.length][][];
        int[][] subspaceRanks = new int[byAdapter.size()][layerIdx.length];
        int dim = 0;
        for (int l = 0; l < layerIdx.length; l++) {
            List<SubspaceBasis> atLayer = new ArrayList<>();
            for (List<FactorBases.Pair> adapterBases : byAdapter) {
                atLayer.add(adapterBases.get(l).side(side));
            }
            dim = atLayer.get(0).dimension();
            for (int a = 0; a < atLayer.size(); a++) {
                subspaceRanks[a][l] = atLayer.get(a).rank();
            }
            perLayer[l] = SubspaceSimilarity.phi(backend.backend(), atLayer.stream().map(SubspaceBasis::vectors).toList(),
                    atLayer.stream().mapToInt(SubspaceBasis::rank).toArray(), i, j);
        }
        return new ComparisonMap(module, subject, side, i, j, layerIdx, ranks, subspaceRanks, perLayer,
                SubspaceSimilarity.analyticExpectation(dim, i, j),
                nulls == null ? null : nulls.forMap(fi, si, perLayer),
                nulls == null ? null : nulls.forPairs(fi, si, perLayer),
                planted == null ? null : PlantedPairs.curve(planted, ranks, perLayer, speaksFor));
    }

    /**
     * "a and a' are the same directory (...)": an adapter given twice (on purpose, as a positive control, or through
     * a run directory beside one of its checkpoints) is compared with itself.
     */
    private static List<String> sameDirectories(List<LoraCheckpoint> ckpts, List<String> names) {
        List<String> out = new ArrayList<>();
        for (int a = 0; a < ckpts.size(); a++) {
            Path dir = ckpts.get(a).adapterDir().toAbsolutePath().normalize();
            for (int b = a + 1; b < ckpts.size(); b++) {
                if (dir.equals(ckpts.get(b).adapterDir().toAbsolutePath().normalize())) {
                    out.add(names.get(a) + " and " + names.get(b) + " are the same directory (" + dir + "): their phi"
                            + " is 1 by construction, a positive control");
                }
            }
        }
        return out;
    }

    /** "module key is left out: only a, b adapt it", for each module some adapters adapt and others do not. */
    private static List<String> leftOutModules(List<LoraCheckpoint> ckpts, List<String> names, Set<String> common) {
        Set<String> all = new LinkedHashSet<>();
        ckpts.forEach(c -> all.addAll(c.moduleNames()));
        List<String> out = new ArrayList<>();
        for (String m : all) {
            if (!common.contains(m)) {
                List<String> who = new ArrayList<>();
                for (int k = 0; k < ckpts.size(); k++) {
                    if (ckpts.get(k).moduleNames().contains(m)) {
                        who.add(names.get(k));
                    }
                }
                out.add("module " + m + " is left out: only " + String.join(", ", who) + " adapt" + (who.size() == 1
                        ? "s" : "") + " it");
            }
        }
        return out;
    }

    /** "query: layers 6, 7 are left out (sub6 does not adapt layers 6, 7); ...", where adapters' layers differ. */
    private static List<String> leftOutLayers(List<LoraCheckpoint> ckpts, List<String> names, String module,
                                              List<Integer> common) {
        Set<Integer> all = new java.util.TreeSet<>();
        ckpts.forEach(c -> c.layersOf(module).forEach(m -> all.add(m.layer())));
        all.removeAll(common);
        if (all.isEmpty()) {
            return List.of();
        }
        List<String> lacking = new ArrayList<>();
        for (int k = 0; k < ckpts.size(); k++) {
            Set<Integer> missing = new java.util.TreeSet<>(all);
            ckpts.get(k).layersOf(module).forEach(m -> missing.remove(m.layer()));
            if (!missing.isEmpty()) {
                lacking.add(names.get(k) + " does not adapt " + layerList(missing));
            }
        }
        return List.of(module + ": " + layerList(all) + (all.size() == 1 ? " is" : " are") + " left out ("
                + String.join("; ", lacking) + "); its maps compare the " + common.size() + " layers every adapter"
                + " adapts");
    }

    /** "layer 3" or "layers 6, 7, 8". */
    private static String layerList(Set<Integer> layers) {
        return (layers.size() == 1 ? "layer " : "layers ") + layers.stream().map(String::valueOf)
                .collect(java.util.stream.Collectors.joining(", "));
    }

    private static List<Integer> commonLayers(List<LoraCheckpoint> ckpts, String module) {
        Set<Integer> layers = new LinkedHashSet<>();
        ckpts.get(0).layersOf(module).forEach(m -> layers.add(m.layer()));
        for (LoraCheckpoint c : ckpts) {
            layers.retainAll(c.layersOf(module).stream().map(LoraModule::layer).toList());
        }
        if (layers.isEmpty()) {
            throw new IllegalArgumentException("the adapters share no layer of module " + module);
        }
        return List.copyOf(layers);
    }

    /** Directory names, made unique with their parent's name where two agree. */
    private static List<String> names(List<LoraCheckpoint> ckpts) {
        List<String> plain = ckpts.stream().map(c -> c.adapterDir().toAbsolutePath().normalize().getFileName()
                .toString()).toList();
        List<String> out = new ArrayList<>();
        for (int k = 0; k < plain.size(); k++) {
            String n = plain.get(k);
            boolean clash = plain.indexOf(n) != plain.lastIndexOf(n);
            Path abs = ckpts.get(k).adapterDir().toAbsolutePath().normalize();
            String name = clash && abs.getParent() != null ? abs.getParent().getFileName() + "/" + n : n;
            while (out.contains(name)) {
                name = name + "'";
            }
            out.add(name);
        }
        return out;
    }
}
