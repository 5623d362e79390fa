package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.TensorInfo;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.Matrix;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The adapter's factors paired with their W0 in the base ({@link BaseIndex}): shapes and ranks checked against
 * adapter_config.json, Conv1D weights read transposed as PEFT does, fused projections (GPT-2's c_attn) split into
 * their q, k, v blocks, layers outside target_modules or layers_to_transform skipped, and every module named by the
 * shortest suffix of its path that no other module shares.
 */
final class ModulePairing {
    /** Fused projections stored as one weight whose output rows are consecutive equal blocks. */
    private static final Map<String, List<String>> FUSED = Map.of("c_attn", List.of("q", "k", "v"));
    /** transformers' Conv1D layers (GPT-2 family): the only ones whose weight PEFT reads [in, out]. */
    private static final Set<String> CONV1D = Set.of("c_attn", "c_proj", "c_fc", "q_attn");

    private ModulePairing() {}

    /**
     * The adapter's modules paired with their W0 in {@code base}; with no base (null), the adapter alone: the same
     * modules, shapes and ranks checked, W0's shape taken from the factors and no base key.
     */
    static ResolvedModules resolve(PeftConfig config, WeightSource adapter, WeightSource base,
                                   BaseMatch.BaseCheck check) throws CheckpointException {
        AdapterKeys keys = AdapterKeys.of(config, adapter);
        Set<String> notes = keys.notes;
        Map<String, AdapterKeys.Factor> bKeys = keys.bKeys;
        Set<String> dora = keys.dora;
        List<SkippedTensor> skipped = keys.skipped;
        BaseIndex index = base == null ? null : new BaseIndex(base, config);
        List<Pending> pending = new ArrayList<>();
        Map<String, String[]> prefixes = new LinkedHashMap<>();
        for (AdapterKeys.Factor fa : keys.aKeys.values()) {
            String path = fa.modulePath();
            Integer layer = AdapterKeys.layerIndex(config, path);
            if (layer == null) {
                skipped.add(new SkippedTensor(fa.key(), "not in a numbered layer, so it has no place on a layers x"
                        + " layers heatmap"));
                skipped.add(new SkippedTensor(bKeys.get(path).key(), "not in a numbered layer"));
                continue;
            }
            if (!config.targets(path)) {
                skipped.add(new SkippedTensor(fa.key(), "module is not matched by target_modules '"
                        + config.targetModulesDescription() + "'"));
                continue;
            }
            if (!config.layersToTransform().isEmpty() && !config.layersToTransform().contains(layer)) {
                String why = "layer " + layer + " is not in layers_to_transform " + config.layersToTransform();
                skipped.add(new SkippedTensor(fa.key(), why));
                skipped.add(new SkippedTensor(bKeys.get(path).key(), why));
                continue;
            }
            String baseKey = null;
            if (index != null) {
                BaseIndex.Match match = index.find(path, adapter.location());
                prefixes.putIfAbsent(match.adapterPrefix() + " -> " + match.basePrefix(),
                        new String[] {match.adapterPrefix(), match.basePrefix(), match.key()});
                baseKey = match.key();
            }
            pending.addAll(pair(config, adapter, base, path, layer, fa.key(), bKeys.get(path).key(), baseKey,
                    dora.contains(path), notes));
        }
        List<LoraModule> modules = nameModules(pending);
        modules.sort(Comparator.comparing(LoraModule::module).thenComparingInt(LoraModule::layer));
        if (base != null) {
            notes.addAll(BaseMatch.check(config, base.location(), prefixes.values(), check));
        }
        return new ResolvedModules(Collections.unmodifiableList(modules), Collections.unmodifiableList(skipped),
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
        TensorInfo wi = base == null ? null : base.info(baseKey);
        Path af = adapter.location();
        WeightChecks.requireWeights(af, aKey, ai);
        WeightChecks.requireWeights(af, bKey, bi);
        if (wi != null) {
            WeightChecks.requireWeights(base.location(), baseKey, wi);
        }
        if (ai.rank() != 2 || bi.rank() != 2 || (wi != null && wi.rank() != 2)) {
            throw new CheckpointException(af, "module '" + path + "': lora_A " + ai.shapeString() + ", lora_B "
                    + bi.shapeString() + (wi == null ? "" : " and W0 '" + baseKey + "' " + wi.shapeString())
                    + " must all be matrices");
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
        long w0Out = wi == null ? out : transposed ? wi.dim(1) : wi.dim(0);
        long w0In = wi == null ? in : transposed ? wi.dim(0) : wi.dim(1);
        if (w0Out != out || w0In != in) {
            throw new CheckpointException(af, "module '" + path + "': scaling * B A is [" + out + ", " + in
                    + "] but W0 '" + baseKey + "' is " + wi.shapeString() + (transposed ? " (stored [in, out] under "
                    + "fan_in_fan_out)" : "") + "; the adapter does not fit this base");
        }
        double alpha = config.alphaFor(path);
        double scaling = config.scalingFor(path, r);
        Matrix a = Matrix.fromRowMajor(r, in, adapter.readDoubles(aKey));
        Matrix b = Matrix.fromRowMajor(out, r, adapter.readDoubles(bKey));
        WeightChecks.requireFinite(af, aKey, a);
        WeightChecks.requireFinite(af, bKey, b);
        String fullName = AdapterKeys.withoutLayer(path);
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
}
