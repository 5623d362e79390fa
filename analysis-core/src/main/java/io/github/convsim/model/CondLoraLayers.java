package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.Matrix;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.List;

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
    static ResolvedModules materialise(PeftConfig config, CondLoraWeights shared, WeightSource base)
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
        return new ResolvedModules(Collections.unmodifiableList(modules), List.copyOf(shared.skipped()), List.of());
    }
}
