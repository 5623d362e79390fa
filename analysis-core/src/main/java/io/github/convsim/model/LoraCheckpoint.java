package io.github.convsim.model;

import io.github.convsim.condlora.CondLoraWeights;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.InputFiles;
import io.github.convsim.io.PatternTimeoutException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.TensorInfo;
import io.github.convsim.io.WeightSource;
import io.github.convsim.io.WeightSources;
import io.github.convsim.linalg.Matrix;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A PEFT LoRA adapter paired with the base weights it adapts: every LoRA factor resolved to its layer, module and W0,
 * shapes checked, orientation fixed. Factors are held in memory (they are small); W0 is read on demand.
 */
public final class LoraCheckpoint implements AutoCloseable {
    private static final Pattern LORA_KEY = Pattern.compile("^(.*)\\.lora_([AB])(?:\\.([^.]+))?\\.weight$");
    private static final Pattern DORA_KEY = Pattern.compile("^(.*)\\.lora_magnitude_vector(?:\\.([^.]+))?(?:\\.weight)?$");
    private static final Pattern EMBEDDING_KEY = Pattern.compile("^(.*)\\.lora_embedding_[AB](?:\\.([^.]+))?$");
    private static final String PEFT_PREFIX = "base_model.model.";
    /** Fused projections stored as one weight whose output rows are consecutive equal blocks. */
    private static final Map<String, List<String>> FUSED = Map.of("c_attn", List.of("q", "k", "v"));
    /** transformers' Conv1D layers (GPT-2 family): the only ones whose weight PEFT reads [in, out]. */
    private static final Set<String> CONV1D = Set.of("c_attn", "c_proj", "c_fc", "q_attn");

    private final Path adapterDir;
    private final PeftConfig config;
    private final WeightSource adapterWeights;
    private final WeightSource base;
    private final List<LoraModule> modules;
    private final List<SkippedTensor> skipped;
    private final CondLoraWeights condLora;
    private final List<String> notes;

    private LoraCheckpoint(Path adapterDir, PeftConfig config, WeightSource adapterWeights, WeightSource base,
                           List<LoraModule> modules, List<SkippedTensor> skipped, CondLoraWeights condLora,
                           List<String> notes) {
        this.adapterDir = adapterDir;
        this.notes = List.copyOf(notes);
        this.config = config;
        this.adapterWeights = adapterWeights;
        this.base = base;
        this.modules = modules;
        this.skipped = skipped;
        this.condLora = condLora;
    }

    /**
     * A CondLoRA checkpoint's layers, made LoRA factors: A_l = Wa W0_l^T [r, in] and B_l = W0_l Wb^T [out, r] for every
     * numbered layer whose module name has shared weights (CondLoRA conditions on a square W0).
     */
    private static Resolution materialise(PeftConfig config, CondLoraWeights shared, WeightSource base)
            throws CheckpointException {
        List<LoraModule> modules = new ArrayList<>();
        for (String name : shared.wa().keySet()) {
            Matrix wa = shared.wa().get(name);
            Matrix wb = shared.wb().get(name);
            int r = wa.rows();
            int found = 0;
            for (String key : base.names()) {
                if (!key.endsWith("." + name + ".weight")) {
                    continue;
                }
                String path = key.substring(0, key.length() - ".weight".length());
                Integer layer = layerOf(path);
                if (layer == null || !config.targets(path)) {
                    continue;
                }
                Matrix w0 = readMatrix(base, key);
                if (w0.rows() != w0.cols() || w0.cols() != wa.cols()) {
                    throw new CheckpointException(base.location(), "CondLoRA module '" + name + "' has shared layers of"
                            + " input size " + wa.cols() + " but W0 '" + key + "' is " + w0.shapeString()
                            + " (CondLoRA needs a square W0 of that size)");
                }
                Matrix a = wa.times(w0.transpose());
                Matrix b = w0.times(wb.transpose());
                modules.add(new LoraModule(name, path, layer, key, false, 0, r, config.alphaFor(path),
                        config.scalingFor(path, r), a, b, false));
                found++;
            }
            if (found == 0) {
                throw new CheckpointException(base.location(), "no numbered layer of module '" + name
                        + "' in the base, so the CondLoRA layers cannot be materialised");
            }
        }
        modules.sort(Comparator.comparing(LoraModule::module).thenComparingInt(LoraModule::layer));
        return new Resolution(Collections.unmodifiableList(modules), List.copyOf(shared.skipped()), List.of());
    }

    /** W0 and the LoRA factors are weights: integer or boolean tensors (a relabelled dtype) are refused. */
    private static void requireWeights(Path file, String key, TensorInfo info) throws CheckpointException {
        if (!info.dtype().isFloatingPoint()) {
            throw new CheckpointException(file, "tensor '" + key + "' is " + info.dtype() + ", which cannot hold"
                    + " weights (W0 and the LoRA factors must be F64, F32, F16, BF16 or F8)");
        }
    }

    private static Matrix readMatrix(WeightSource source, String key) throws CheckpointException {
        TensorInfo i = source.info(key);
        requireWeights(source.location(), key, i);
        return Matrix.fromRowMajor((int) i.dim(0), (int) i.dim(1), source.readDoubles(key));
    }

    /** The shared layers when this checkpoint is a CondLoRA one (its factors were materialised from them). */
    public java.util.Optional<CondLoraWeights> condLora() {
        return java.util.Optional.ofNullable(condLora);
    }

    /**
     * Opens an adapter directory (adapter_config.json with adapter_model.safetensors or adapter_model.bin) against
     * base weights (see {@link WeightSources#open}).
     */
    public static LoraCheckpoint open(Path adapterDir, Path basePath) throws CheckpointException {
        return open(adapterDir, basePath, BaseMatch.BaseCheck.STRICT);
    }

    /**
     * As {@link #open(Path, Path)}; {@code check} says whether a base shown to be of another model family than the
     * adapter's is refused (see {@link BaseMatch}).
     */
    public static LoraCheckpoint open(Path adapterDir, Path basePath, BaseMatch.BaseCheck check)
            throws CheckpointException {
        if (!InputFiles.attributes(adapterDir).isDirectory()) {
            throw new CheckpointException(adapterDir, "not a directory: an adapter is a directory holding"
                    + " adapter_config.json and adapter_model.safetensors (or .bin)");
        }
        PeftConfig config = PeftConfig.read(adapterDir.resolve("adapter_config.json"));
        WeightSource adapter = openAdapterWeights(adapterDir);
        WeightSource base = null;
        try {
            base = WeightSources.open(basePath);
            if (CondLoraWeights.isCondLora(adapter)) {
                CondLoraWeights shared = CondLoraWeights.read(adapter);
                Resolution r = materialise(config, shared, base);
                return new LoraCheckpoint(adapterDir, config, adapter, base, r.modules, r.skipped, shared, r.notes);
            }
            Resolution r = resolve(config, adapter, base, check);
            return new LoraCheckpoint(adapterDir, config, adapter, base, r.modules, r.skipped, null, r.notes);
        } catch (PatternTimeoutException e) {
            adapter.close();
            if (base != null) {
                base.close();
            }
            throw new CheckpointException(config.file(), e.getMessage());
        } catch (CheckpointException | RuntimeException e) {
            adapter.close();
            if (base != null) {
                base.close();
            }
            throw e;
        }
    }

    private static WeightSource openAdapterWeights(Path dir) throws CheckpointException {
        for (String name : List.of("adapter_model.safetensors", "adapter_model.bin")) {
            Path p = dir.resolve(name);
            if (InputFiles.present(p)) {
                return WeightSources.open(p);
            }
        }
        throw new CheckpointException(dir, "no adapter_model.safetensors or adapter_model.bin in the adapter directory");
    }

    private record Factor(String modulePath, String key) {}

    private record Resolution(List<LoraModule> modules, List<SkippedTensor> skipped, List<String> notes) {}

    private static Resolution resolve(PeftConfig config, WeightSource adapter, WeightSource base,
                                      BaseMatch.BaseCheck check) throws CheckpointException {
        Set<String> notes = new LinkedHashSet<>();
        Map<String, Factor> aKeys = new LinkedHashMap<>();
        Map<String, Factor> bKeys = new LinkedHashMap<>();
        Set<String> dora = new LinkedHashSet<>();
        List<SkippedTensor> skipped = new ArrayList<>();
        Set<String> adapterNames = new LinkedHashSet<>();
        for (String key : adapter.names()) {
            Matcher m = LORA_KEY.matcher(key);
            if (m.matches()) {
                String path = stripPeftPrefix(m.group(1));
                if (m.group(3) != null) {
                    adapterNames.add(m.group(3));
                }
                Map<String, Factor> target = m.group(2).equals("A") ? aKeys : bKeys;
                if (target.put(path, new Factor(path, key)) != null) {
                    throw new CheckpointException(adapter.location(), "module '" + path + "' has two lora_"
                            + m.group(2) + " tensors (several adapters in one file are not supported)");
                }
                continue;
            }
            Matcher d = DORA_KEY.matcher(key);
            if (d.matches()) {
                dora.add(stripPeftPrefix(d.group(1)));
                skipped.add(new SkippedTensor(key, "DoRA magnitude vector (recorded; directions A, B are analysed)"));
                continue;
            }
            if (EMBEDDING_KEY.matcher(key).matches()) {
                skipped.add(new SkippedTensor(key, "embedding LoRA: no square W0 to convert from, not analysed"));
                continue;
            }
            boolean saved = config.modulesToSave().stream().anyMatch(s -> key.contains("." + s + ".")
                    || key.startsWith(s + "."));
            skipped.add(new SkippedTensor(key, saved ? "modules_to_save: trained in full, not a LoRA factor"
                    : "not a LoRA factor"));
        }
        if (config.useDora() && dora.isEmpty()) {
            throw new CheckpointException(adapter.location(), "adapter_config.json sets use_dora, but the weights hold"
                    + " no lora_magnitude_vector: a DoRA adapter cannot be read without its magnitudes (re-save it with"
                    + " PEFT)");
        }
        if (!dora.isEmpty()) {
            notes.add("DoRA: the magnitude vectors of " + dora.size() + " modules are recorded, not analysed; the"
                    + " conversion matrices are those of the directions A and B");
        }
        if (adapterNames.size() > 1) {
            throw new CheckpointException(adapter.location(), "holds several adapters " + adapterNames
                    + "; save them separately");
        }
        for (String p : aKeys.keySet()) {
            if (!bKeys.containsKey(p)) {
                throw new CheckpointException(adapter.location(), "module '" + p + "' has lora_A but no lora_B");
            }
        }
        for (String p : bKeys.keySet()) {
            if (!aKeys.containsKey(p)) {
                throw new CheckpointException(adapter.location(), "module '" + p + "' has lora_B but no lora_A");
            }
        }
        BaseIndex index = new BaseIndex(base);
        List<Pending> pending = new ArrayList<>();
        Map<String, String[]> prefixes = new LinkedHashMap<>();
        for (Factor fa : aKeys.values()) {
            String path = fa.modulePath;
            Integer layer = layerIndex(config, path);
            if (layer == null) {
                skipped.add(new SkippedTensor(fa.key, "not in a numbered layer, so it has no place on a layers x"
                        + " layers heatmap"));
                skipped.add(new SkippedTensor(bKeys.get(path).key, "not in a numbered layer"));
                continue;
            }
            if (!config.targets(path)) {
                skipped.add(new SkippedTensor(fa.key, "module is not matched by target_modules '"
                        + config.targetModulesDescription() + "'"));
                continue;
            }
            if (!config.layersToTransform().isEmpty() && !config.layersToTransform().contains(layer)) {
                String why = "layer " + layer + " is not in layers_to_transform " + config.layersToTransform();
                skipped.add(new SkippedTensor(fa.key, why));
                skipped.add(new SkippedTensor(bKeys.get(path).key, why));
                continue;
            }
            BaseIndex.Match match = index.find(path, adapter.location());
            prefixes.putIfAbsent(match.adapterPrefix() + " -> " + match.basePrefix(),
                    new String[] {match.adapterPrefix(), match.basePrefix()});
            pending.addAll(pair(config, adapter, base, path, layer, fa.key, bKeys.get(path).key, match.key(),
                    dora.contains(path), notes));
        }
        List<LoraModule> modules = nameModules(pending);
        modules.sort(Comparator.comparing(LoraModule::module).thenComparingInt(LoraModule::layer));
        notes.addAll(BaseMatch.check(config, base.location(), prefixes.values(), check));
        return new Resolution(Collections.unmodifiableList(modules), Collections.unmodifiableList(skipped),
                List.copyOf(notes));
    }

    /** {@code minTokens}: a fused block keeps its projection's name ("c_attn.q", never just "q"). */
    private record Pending(String fullName, int minTokens, String path, int layer, String baseKey, boolean transposed, int outOffset,
                           int rank, double alpha, double scaling, Matrix a, Matrix b, boolean dora) {}

    private static List<Pending> pair(PeftConfig config, WeightSource adapter, WeightSource base, String path,
                                      int layer, String aKey, String bKey, String baseKey, boolean dora,
                                      Set<String> notes) throws CheckpointException {
        TensorInfo ai = adapter.info(aKey);
        TensorInfo bi = adapter.info(bKey);
        TensorInfo wi = base.info(baseKey);
        Path af = adapter.location();
        requireWeights(af, aKey, ai);
        requireWeights(af, bKey, bi);
        requireWeights(base.location(), baseKey, wi);
        if (ai.rank() != 2 || bi.rank() != 2 || wi.rank() != 2) {
            throw new CheckpointException(af, "module '" + path + "': lora_A " + ai.shapeString() + ", lora_B "
                    + bi.shapeString() + " and W0 '" + baseKey + "' " + wi.shapeString() + " must all be matrices");
        }
        int r = (int) ai.dim(0);
        int in = (int) ai.dim(1);
        int out = (int) bi.dim(0);
        if (bi.dim(1) != r) {
            throw new CheckpointException(af, "module '" + path + "': lora_A is " + ai.shapeString() + " but lora_B is "
                    + bi.shapeString() + "; their ranks differ");
        }
        int configRank = config.rankFor(path);
        if (configRank != r) {
            throw new CheckpointException(af, "module '" + path + "': adapter_config gives r=" + configRank
                    + " but lora_A has " + r + " rows (check r and rank_pattern)");
        }
        // PEFT honours fan_in_fan_out only where the layer is a Conv1D (GPT-2's, weight stored [in, out]); it warns
        // and ignores the flag on an ordinary Linear, and sets it for a Conv1D: so does convsim
        String last = path.substring(path.lastIndexOf('.') + 1);
        boolean transposed = CONV1D.contains(last);
        if (config.fanInFanOut() != transposed) {
            notes.add(transposed ? "fan_in_fan_out is false in adapter_config.json, but " + last + " is a Conv1D layer"
                    + " (weight stored [in, out]): it is read transposed, as PEFT does"
                    : "fan_in_fan_out is true in adapter_config.json, but " + last + " is an ordinary Linear layer"
                    + " (weight stored [out, in]): the flag is ignored, as PEFT ignores it");
        }
        long w0Out = transposed ? wi.dim(1) : wi.dim(0);
        long w0In = transposed ? wi.dim(0) : wi.dim(1);
        if (w0Out != out || w0In != in) {
            throw new CheckpointException(af, "module '" + path + "': scaling * B A is [" + out + ", " + in
                    + "] but W0 '" + baseKey + "' is " + wi.shapeString() + (transposed ? " (stored [in, out] under "
                    + "fan_in_fan_out)" : "") + "; the adapter does not fit this base");
        }
        double alpha = config.alphaFor(path);
        double scaling = config.scalingFor(path, r);
        Matrix a = Matrix.fromRowMajor(r, in, adapter.readDoubles(aKey));
        Matrix b = Matrix.fromRowMajor(out, r, adapter.readDoubles(bKey));
        requireFinite(af, aKey, a);
        requireFinite(af, bKey, b);
        String fullName = withoutLayer(path);
        List<String> pieces = FUSED.get(last);
        List<Pending> result = new ArrayList<>();
        if (pieces != null && out == pieces.size() * in) {
            int block = out / pieces.size();
            for (int k = 0; k < pieces.size(); k++) {
                result.add(new Pending(fullName + "." + pieces.get(k), 2, path, layer, baseKey, transposed, k * block, r,
                        alpha, scaling, a, b.rowSlice(k * block, block), dora));
            }
        } else {
            result.add(new Pending(fullName, 1, path, layer, baseKey, transposed, 0, r, alpha, scaling, a, b, dora));
        }
        return result;
    }

    private static void requireFinite(Path file, String key, Matrix m) throws CheckpointException {
        int[] bad = m.firstNonFinite();
        if (bad != null) {
            throw new CheckpointException(file, "tensor '" + key + "' holds a non-finite value " + m.get(bad[0], bad[1])
                    + " at [" + bad[0] + ", " + bad[1] + "]");
        }
    }

    /** Gives every module the shortest dotted suffix of its full name that no other module shares. */
    private static List<LoraModule> nameModules(List<Pending> pending) {
        Map<String, Integer> fullNames = new LinkedHashMap<>();
        pending.forEach(p -> fullNames.put(p.fullName, p.minTokens));
        Map<String, String> shortName = new TreeMap<>();
        for (String full : fullNames.keySet()) {
            String[] tokens = full.split("\\.");
            String chosen = full;
            for (int k = tokens.length - fullNames.get(full); k >= 0; k--) {
                String suffix = String.join(".", java.util.Arrays.copyOfRange(tokens, k, tokens.length));
                long sharing = fullNames.keySet().stream().filter(f -> f.equals(suffix) || f.endsWith("." + suffix)).count();
                if (sharing == 1) {
                    chosen = suffix;
                    break;
                }
            }
            shortName.put(full, chosen);
        }
        List<LoraModule> out = new ArrayList<>();
        for (Pending p : pending) {
            out.add(new LoraModule(shortName.get(p.fullName), p.path, p.layer, p.baseKey, p.transposed, p.outOffset,
                    p.rank, p.alpha, p.scaling, p.a, p.b, p.dora));
        }
        return out;
    }

    private static String stripPeftPrefix(String path) {
        return path.startsWith(PEFT_PREFIX) ? path.substring(PEFT_PREFIX.length()) : path;
    }

    /**
     * The layer of a module path: the index after PEFT's layers_pattern ("model.layers.3.mlp" with pattern "layers"),
     * or, without a pattern, the first numeric token. Null when the path has none.
     */
    static Integer layerIndex(PeftConfig config, String path) {
        if (config.layersPattern().isEmpty()) {
            return layerOf(path);
        }
        String[] t = path.split("\\.");
        for (int k = 0; k + 1 < t.length; k++) {
            if (config.layersPattern().contains(t[k]) && !t[k + 1].isEmpty() && t[k + 1].length() < 7
                    && t[k + 1].chars().allMatch(Character::isDigit)) {
                return Integer.parseInt(t[k + 1]);
            }
        }
        return null;
    }

    /** The first purely numeric token of a dotted path: the layer (block) index. */
    static Integer layerOf(String path) {
        for (String t : path.split("\\.")) {
            if (!t.isEmpty() && t.length() < 7 && t.chars().allMatch(Character::isDigit)) {
                return Integer.parseInt(t);
            }
        }
        return null;
    }

    private static String withoutLayer(String path) {
        List<String> tokens = new ArrayList<>(List.of(path.split("\\.")));
        for (int i = 0; i < tokens.size(); i++) {
            if (tokens.get(i).chars().allMatch(Character::isDigit)) {
                tokens.remove(i);
                break;
            }
        }
        return String.join(".", tokens);
    }

    /** Matches an adapter's module path to a base weight whatever prefixes either side adds. */
    private static final class BaseIndex {
        private final Map<String, List<String>> bySuffix = new LinkedHashMap<>();
        private final WeightSource base;

        BaseIndex(WeightSource base) {
            this.base = base;
            for (String name : base.names()) {
                if (!name.endsWith(".weight")) {
                    continue;
                }
                String module = name.substring(0, name.length() - ".weight".length());
                String[] t = module.split("\\.");
                for (int k = 0; k < t.length; k++) {
                    String suffix = String.join(".", java.util.Arrays.copyOfRange(t, k, t.length));
                    bySuffix.computeIfAbsent(suffix, s -> new ArrayList<>()).add(name);
                }
            }
        }

        /** A base weight matched to an adapter's module path, and the prefixes each side had before the common part. */
        record Match(String key, String adapterPrefix, String basePrefix) {}

        /** Longest suffix of the path that names exactly one base weight; it must keep the layer index. */
        Match find(String path, Path adapterFile) throws CheckpointException {
            String[] t = path.split("\\.");
            for (int k = 0; k < t.length; k++) {
                String suffix = String.join(".", java.util.Arrays.copyOfRange(t, k, t.length));
                if (layerOf(suffix) == null) {
                    break;
                }
                List<String> hits = bySuffix.get(suffix);
                if (hits == null) {
                    continue;
                }
                if (hits.size() == 1) {
                    String key = hits.get(0);
                    String module = key.substring(0, key.length() - ".weight".length());
                    return new Match(key, path.substring(0, path.length() - suffix.length()),
                            module.substring(0, module.length() - suffix.length()));
                }
                throw new CheckpointException(adapterFile, "module '" + path + "' matches several base weights "
                        + hits.subList(0, Math.min(3, hits.size())) + " in " + base.location());
            }
            throw new CheckpointException(adapterFile, "module '" + path + "' has no weight in the base "
                    + base.location() + " (looked for '" + path + ".weight' under any prefix)");
        }
    }

    public Path adapterDir() {
        return adapterDir;
    }

    /**
     * How the checkpoint was read, where a reader could have read it otherwise: prefixes substituted to match the
     * base, flags PEFT ignores or implies, DoRA magnitudes recorded, the evidence on whether the base matches.
     */
    public List<String> notes() {
        return notes;
    }

    public PeftConfig config() {
        return config;
    }

    public WeightSource adapterWeights() {
        return adapterWeights;
    }

    public WeightSource base() {
        return base;
    }

    /** Resolved modules, ordered by module name, then layer. */
    public List<LoraModule> modules() {
        return modules;
    }

    /** Module names in order, e.g. [query, value]. */
    public List<String> moduleNames() {
        Set<String> names = new LinkedHashSet<>();
        modules.forEach(m -> names.add(m.module()));
        return List.copyOf(names);
    }

    /** The layers of one module, ordered by layer index. */
    public List<LoraModule> layersOf(String module) {
        return modules.stream().filter(m -> m.module().equals(module)).toList();
    }

    public List<SkippedTensor> skipped() {
        return skipped;
    }

    /** Every file read: the config, the adapter weights and the base files, for provenance. */
    public List<Path> inputFiles() {
        List<Path> files = new ArrayList<>();
        files.add(config.file());
        files.addAll(adapterWeights.files());
        files.addAll(base.files());
        return files;
    }

    /**
     * W0 of a module as [out, in], oriented and sliced, checked for NaN and infinity.
     *
     * @throws CheckpointException if the base tensor cannot be read or holds a non-finite value
     */
    public Matrix baseWeight(LoraModule m) throws CheckpointException {
        TensorInfo wi = base.info(m.baseKey());
        int d0 = (int) wi.dim(0);
        int d1 = (int) wi.dim(1);
        double[] rowMajor = base.readDoubles(m.baseKey());
        // row-major [in, out] is column-major [out, in]: a transposed base needs no copy
        Matrix w = m.baseTransposed() ? new Matrix(d1, d0, rowMajor) : Matrix.fromRowMajor(d0, d1, rowMajor);
        if (m.outOffset() != 0 || w.rows() != m.out()) {
            w = w.rowSlice(m.outOffset(), m.out());
        }
        int[] bad = w.firstNonFinite();
        if (bad != null) {
            throw new CheckpointException(base.location(), "tensor '" + m.baseKey() + "' holds a non-finite value "
                    + w.get(bad[0], bad[1]) + " at [" + bad[0] + ", " + bad[1] + "]");
        }
        return w;
    }

    @Override
    public void close() {
        adapterWeights.close();
        base.close();
    }
}
