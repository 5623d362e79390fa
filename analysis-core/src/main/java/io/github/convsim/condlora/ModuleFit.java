package io.github.convsim.condlora;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;
import java.util.List;

/**
 * The single linear layer fitted to one module across layers: Wa and Wb [r, in], per-layer fits, overall R^2 and
 * the nulls.
 *
 * @param plants   what the fit reaches on planted adapters that share one layer, by noise level ({@link
 *                 SharedLayerPlants}); null where not estimated
 * @param chanceR2 R^2 a shared map reaches on unrelated targets when W0 is square and full rank: about 1/L
 */
public record ModuleFit(String module, List<LoraModule> layers, Matrix wa, Matrix wb, List<LayerFit> perLayer,
                        double r2A, double r2B, double dwError, R2Null gaussian, R2Null shuffled,
                        SharedLayerPlants plants, double chanceR2, double ridge) {}
