package io.github.convsim.condlora;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import java.util.List;

/**
 * The single linear layer fitted to one module across layers: Wa and Wb [r, in], per-layer fits, overall R^2 and
 * the nulls.
 *
 * @param wa         null where A is not fitted ({@code aNotFitted})
 * @param plants     what the fit reaches on planted adapters that share one layer, by noise level ({@link
 *                   SharedLayerPlants}); null where not estimated
 * @param chanceR2   R^2 a shared map reaches on unrelated targets of a full-rank W0 [out, in]: about in / (L out), 1/L
 *                   where W0 is square
 * @param aNotFitted why A (and so dW) has no fit, W0 not being square ({@link CondLoraFit#aNotFitted}); null where
 *                   A is fitted. R^2 of A and dW's error are then undefined (NaN)
 */
public record ModuleFit(String module, List<LoraModule> layers, Matrix wa, Matrix wb, List<LayerFit> perLayer,
                        double r2A, double r2B, double dwError, R2Null gaussian, R2Null shuffled,
                        SharedLayerPlants plants, double chanceR2, double ridge, String aNotFitted) {

    public ModuleFit(String module, List<LoraModule> layers, Matrix wa, Matrix wb, List<LayerFit> perLayer,
                     double r2A, double r2B, double dwError, R2Null gaussian, R2Null shuffled,
                     SharedLayerPlants plants, double chanceR2, double ridge) {
        this(module, layers, wa, wb, perLayer, r2A, r2B, dwError, gaussian, shuffled, plants, chanceR2, ridge, null);
    }

    /**
     * Whether one shared layer fits any targets exactly: the L stacked W0 have no more rows (L out) than the layer has
     * unknowns per column (in), as grouped-query k and v of a model with few layers can. R^2 is then 1 for the
     * adapter and every null alike, and says nothing.
     */
    public boolean fitsAnyTargets() {
        return chanceR2 >= 1 - 1e-12;
    }
}
