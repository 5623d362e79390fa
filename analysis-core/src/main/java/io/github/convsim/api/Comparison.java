package io.github.convsim.api;

import io.github.convsim.conversion.ConversionSolver;
import io.github.convsim.conversion.Equation;
import io.github.convsim.conversion.Factor;
import io.github.convsim.conversion.W0System;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.BaseMatch;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.report.Provenance;
import io.github.convsim.similarity.FactorBases;
import io.github.convsim.similarity.NullDistribution;
import io.github.convsim.similarity.NullModel;
import io.github.convsim.similarity.W0Null;
import io.github.convsim.similarity.Side;
import io.github.convsim.similarity.SubspaceBasis;
import io.github.convsim.similarity.SubspaceSimilarity;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
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
 * adapters. W0 of each layer is factored once and shared by all adapters.
 */
public final class Comparison {
    private static final Pattern CHECKPOINT = Pattern.compile("checkpoint-(\\d+)");

    private Comparison() {}

    /**
     * The adapter directories to compare: the given ones, a directory of checkpoint-N directories expanded; ordered by
     * step when every one is a checkpoint-N.
     */
    public static List<Path> expand(List<Path> dirs) throws CheckpointException {
        List<Path> out = new ArrayList<>();
        for (Path d : dirs) {
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

    public static ComparisonResult run(List<Path> adapterDirs, Path base, AnalysisOptions options,
                                       Backends.Choice backend, ProgressListener progress) throws CheckpointException {
        return run(adapterDirs, base, BaseMatch.BaseCheck.STRICT, options, backend, progress);
    }

    /** As {@link #run(List, Path, AnalysisOptions, Backends.Choice, ProgressListener)}, with the base check chosen. */
    public static ComparisonResult run(List<Path> adapterDirs, Path base, BaseMatch.BaseCheck baseCheck,
                                       AnalysisOptions options, Backends.Choice backend, ProgressListener progress)
            throws CheckpointException {
        if (adapterDirs.size() < 2) {
            throw new IllegalArgumentException("compare needs at least two adapters, got " + adapterDirs.size());
        }
        List<LoraCheckpoint> ckpts = new ArrayList<>();
        try {
            for (Path d : adapterDirs) {
                ckpts.add(LoraCheckpoint.open(d, base, baseCheck));
            }
            return compare(ckpts, options, backend, progress);
        } finally {
            ckpts.forEach(LoraCheckpoint::close);
        }
    }

    private static ComparisonResult compare(List<LoraCheckpoint> ckpts, AnalysisOptions options,
                                            Backends.Choice backend, ProgressListener progress)
            throws CheckpointException {
        long t0 = System.nanoTime();
        List<String> names = names(ckpts);
        Set<String> modules = new LinkedHashSet<>(ckpts.get(0).moduleNames());
        ckpts.forEach(c -> modules.retainAll(c.moduleNames()));
        if (!options.modules().isEmpty()) {
            for (String m : options.modules()) {
                if (!modules.contains(m)) {
                    throw new IllegalArgumentException("module '" + m + "' is not in every adapter (common: "
                            + modules + ")");
                }
            }
            modules.retainAll(options.modules());
        }
        if (modules.isEmpty()) {
            throw new IllegalArgumentException("the adapters have no module in common");
        }
        List<ComparisonMap> maps = new ArrayList<>();
        int done = 0;
        for (String module : modules) {
            List<Integer> layers = commonLayers(ckpts, module);
            List<List<LoraModule>> perAdapter = new ArrayList<>();
            for (LoraCheckpoint c : ckpts) {
                perAdapter.add(c.layersOf(module).stream().filter(m -> layers.contains(m.layer())).toList());
            }
            List<LoraModule> first = perAdapter.get(0);
            List<Matrix> w0s = new ArrayList<>();
            for (LoraModule m : first) {
                w0s.add(ckpts.get(0).baseWeight(m));
            }
            boolean square = w0s.stream().allMatch(w -> w.rows() == w.cols());
            ConversionSolver solver = new ConversionSolver(backend.backend(), options.solveOptions(square));
            List<W0System> systems = solver.factor(first, w0s);
            Equation eqA = ConversionSolver.equationForA(systems.get(0));
            int minRank = perAdapter.stream().flatMap(List::stream).mapToInt(LoraModule::rank).min().orElseThrow();
            int i = options.similarity().i() == 0 ? minRank : options.similarity().i();
            int j = options.similarity().j() == 0 ? minRank : options.similarity().j();
            if (i > minRank || j > minRank) {
                throw new IllegalArgumentException("i=" + i + ", j=" + j + " exceed the smallest rank r=" + minRank
                        + " among the adapters' " + module + " modules");
            }
            // bases[factor][adapter][layer]
            Map<Factor, List<List<FactorBases.Pair>>> bases = new LinkedHashMap<>();
            for (List<LoraModule> ms : perAdapter) {
                List<Matrix> cA = solver.solve(systems, ms.stream().map(m -> m.a().transpose()).toList(), eqA);
                List<Matrix> cB = solver.solve(systems, ms.stream().map(LoraModule::b).toList(), Equation.W0_X);
                for (Factor f : options.similarity().factors()) {
                    List<FactorBases.Pair> b = switch (f) {
                        case A -> FactorBases.of(backend.backend(), cA);
                        case B -> FactorBases.of(backend.backend(), cB);
                        case DW -> FactorBases.ofProducts(backend.backend(), cB, ms.stream().map(LoraModule::a).toList());
                    };
                    bases.computeIfAbsent(f, k -> new ArrayList<>()).add(b);
                }
            }
            int[] layerIdx = first.stream().mapToInt(LoraModule::layer).toArray();
            int draws = options.similarity().nulls().contains(NullModel.W0) ? options.similarity().draws() : 0;
            Map<Factor, List<List<FactorBases.Pair>>> nullBases = draws < 2 ? Map.of()
                    : W0Null.sample(backend.backend(), solver, systems, first, eqA, options.similarity().factors(),
                            draws, options.similarity().seed());
            for (Factor f : options.similarity().factors()) {
                for (Side side : options.similarity().sides()) {
                    maps.add(betweenAdapters(backend, module, "C_" + f.label(), side, i, j, layerIdx, bases.get(f),
                            draws < 2 ? null : pairedNull(backend, nullBases.get(f), side, layerIdx.length, i, j)));
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
                    maps.add(betweenAdapters(backend, module, e.getKey(), side, i, j, layerIdx, e.getValue(), null));
                }
            }
            progress.progress("compare", ++done, modules.size());
        }
        List<Provenance.InputFile> inputs = new ArrayList<>();
        Set<Path> seen = new LinkedHashSet<>();
        for (LoraCheckpoint c : ckpts) {
            for (Path f : c.inputFiles()) {
                if (seen.add(f.toAbsolutePath().normalize())) {
                    inputs.add(hash(f, c));
                }
            }
        }
        Map<String, Double> timings = Map.of("compare", (System.nanoTime() - t0) / 1e9);
        Map<String, Object> opts = new LinkedHashMap<>();
        opts.put("mode", options.mode() == null ? "auto (paper where W0 is square, else lstsq)" : options.mode().label());
        opts.put("precision", options.precision().name().toLowerCase());
        opts.put("factors", options.similarity().factors().stream().map(Factor::label).toList());
        opts.put("sides", options.similarity().sides().stream().map(Side::label).toList());
        opts.put("i", options.similarity().i() == 0 ? "smallest rank" : options.similarity().i());
        opts.put("j", options.similarity().j() == 0 ? "smallest rank" : options.similarity().j());
        opts.put("modules", options.modules().isEmpty() ? "all common" : options.modules());
        opts.put("w0_null_draws", options.similarity().nulls().contains(NullModel.W0) ? options.similarity().draws() : 0);
        opts.put("seed", options.similarity().seed());
        Provenance prov = new Provenance("convsim compare", Provenance.currentToolVersion(), Provenance.currentJava(),
                Provenance.currentOs(), backend.backend().name() + ": " + backend.backend().description(),
                backend.reason(), backend.provenance(),
                Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), inputs, opts, timings);
        return new ComparisonResult(names, steps(ckpts.stream().map(LoraCheckpoint::adapterDir).toList()), maps, prov);
    }

    /**
     * phi at each layer between draws 2k and 2k+1 of the W0 null: samples of what two unrelated adapters on this base
     * share, kept as a layers-long diagonal; each draw's statistic (its {@code averages} entry) is the mean over
     * layers, the same statistic a pair of adapters is tested on.
     */
    private static NullDistribution pairedNull(Backends.Choice backend, List<List<FactorBases.Pair>> byDraw, Side side,
                                               int layers, int i, int j) {
        int pairs = byDraw.size() / 2;
        double[][][] samples = new double[pairs][layers][layers];
        for (int k = 0; k < pairs; k++) {
            for (int l = 0; l < layers; l++) {
                SubspaceBasis a = byDraw.get(2 * k).get(l).side(side);
                SubspaceBasis b = byDraw.get(2 * k + 1).get(l).side(side);
                double[][] phi = SubspaceSimilarity.phi(backend.backend(), List.of(a.vectors(), b.vectors()),
                        new int[] {a.rank(), b.rank()}, i, j);
                for (int m = 0; m < layers; m++) {
                    samples[k][l][m] = m == l ? phi[0][1] : Double.NaN;
                }
            }
        }
        NullDistribution cells = NullDistribution.of("w0", samples);
        double[] means = new double[pairs];
        for (int k = 0; k < pairs; k++) {
            double s = 0;
            int n = 0;
            for (int l = 0; l < layers; l++) {
                if (!Double.isNaN(samples[k][l][l])) {
                    s += samples[k][l][l];
                    n++;
                }
            }
            means[k] = n == 0 ? Double.NaN : s / n;
        }
        return new NullDistribution(cells.name(), pairs, cells.mean(), cells.lo(), cells.hi(), means);
    }

    /**
     * phi between every pair of adapters at each layer, from each adapter's bases (byAdapter[adapter][layer]), with
     * the W0 null for pairs (null for a raw-factor control, or without draws).
     */
    private static ComparisonMap betweenAdapters(Backends.Choice backend, String module, String subject, Side side,
                                                 int i, int j, int[] layerIdx, List<List<FactorBases.Pair>> byAdapter,
                                                 NullDistribution w0Null) {
        double[][][] perLayer = new double[layerIdx.length][][];
        int dim = 0;
        for (int l = 0; l < layerIdx.length; l++) {
            List<SubspaceBasis> atLayer = new ArrayList<>();
            for (List<FactorBases.Pair> adapterBases : byAdapter) {
                atLayer.add(adapterBases.get(l).side(side));
            }
            dim = atLayer.get(0).dimension();
            perLayer[l] = SubspaceSimilarity.phi(backend.backend(), atLayer.stream().map(SubspaceBasis::vectors).toList(),
                    atLayer.stream().mapToInt(SubspaceBasis::rank).toArray(), i, j);
        }
        return new ComparisonMap(module, subject, side, i, j, layerIdx, perLayer,
                SubspaceSimilarity.analyticExpectation(dim, i, j), w0Null);
    }

    private static Provenance.InputFile hash(Path f, LoraCheckpoint c) throws CheckpointException {
        String role = f.equals(c.config().file()) ? "adapter_config"
                : c.adapterWeights().files().contains(f) ? "adapter_weights" : "base_weights";
        try {
            return new Provenance.InputFile(role, f.toAbsolutePath().normalize().toString(), Files.size(f),
                    Provenance.sha256(f));
        } catch (IOException e) {
            throw new CheckpointException(f, "cannot hash: " + e.getMessage());
        }
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
