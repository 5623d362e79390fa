package io.github.convsim.conversion;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Every layer's conversion matrices for one module, and the factored W0 systems they were solved against (kept for
 * the W0 null model, which pushes random factors through the same solves), with the seconds spent per step
 * (factor, cond, solve, residuals_and_fp32_check).
 */
public record ModuleConversion(String module, List<LayerConversion> layers, List<W0System> systems,
                               Equation equationA, Map<String, Double> seconds) {

    public List<LayerDiagnostics> diagnostics() {
        return layers.stream().map(LayerConversion::diagnostics).toList();
    }

    public List<Matrix> cA() {
        return layers.stream().map(LayerConversion::cA).toList();
    }

    public List<Matrix> cB() {
        return layers.stream().map(LayerConversion::cB).toList();
    }

    public List<LoraModule> modules() {
        List<LoraModule> m = new ArrayList<>();
        layers.forEach(l -> m.add(l.module()));
        return m;
    }
}
