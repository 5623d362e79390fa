package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.Matrix;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Turns a CondLoRA checkpoint into per-layer LoRA factors, so every analysis reads it like any LoRA: the shared
 * layers ({@link CondLoraWeights}) applied to each layer's W0 of the base.
 */
final class CondLoraLayers {
    private CondLoraLayers() {}

    /**
     * A CondLoRA checkpoint's layers, made LoRA factors: A_l = Wa W0_l^T [r, in] and B_l = W0_l Wb^T [out, r] for every
     * numbered layer whose module name has shared weights (CondLoRA conditions on a square W0).
     */
    static ResolvedModules materialise(PeftConfig config, CondLoraWeights shared, WeightSource base,
                                       BaseMatch.BaseCheck check) throws CheckpointException {
        List<LoraModule> modules = new ArrayList<>();
        // the base keys the layers were made from, for the family check a LoRA's module paths get (no prefix to map)
        Map<String, String[]> keysUsed = new LinkedHashMap<>();
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
                Integer layer = AdapterKeys.layerOf(path);
                if (layer == null || !config.targets(path)) {
                    continue;
                }
                Matrix w0 = WeightChecks.readMatrix(base, key);
                if (w0.rows() != w0.cols() || w0.cols() != wa.cols()) {
                    throw new CheckpointException(base.location(), "CondLoRA module '" + name + "' has shared layers of"
                            + " input size " + wa.cols() + " but W0 '" + key + "' is " + w0.shapeString()
                            + " (CondLoRA needs a square W0 of that size)");
                }
                keysUsed.putIfAbsent(name, new String[] {key, key, key});
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
        List<String> notes = new ArrayList<>(List.of(BY_CONSTRUCTION));
        notes.addAll(BaseMatch.check(config, base.location(), keysUsed.values(), check));
        return new ResolvedModules(Collections.unmodifiableList(modules), List.copyOf(shared.skipped()),
                List.copyOf(notes));
    }

    /**
     * What every report on such a checkpoint must say first: W0 C_A = A^T = W0 Wa^T gives C_A = Wa^T in every layer
     * (and C_B = Wb^T), so the similarity the paper measures is 1 and a shared-layer fit is exact whatever was learned.
     */
    static final String BY_CONSTRUCTION = "a CondLoRA checkpoint: every layer's factors are made from one shared layer"
            + " per module (A_l = Wa W0_l^T, B_l = W0_l Wb^T), so the exact solve gives that layer back in every layer"
            + " (C_A = Wa^T, C_B = Wb^T): phi between layers and condlora fit's R^2 are 1 by construction, a positive"
            + " control rather than a finding about training";
}
