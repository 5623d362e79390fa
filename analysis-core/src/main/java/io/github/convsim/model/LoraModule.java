package io.github.convsim.model;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Norms;

/**
 * One adapted weight of one layer: the LoRA factors A [r, in] and B [out, r] (the scaling not applied), and where its
 * frozen weight W0 [out, in] lies in the base model.
 *
 * @param module      short module name shared by all layers, e.g. {@code query}, or {@code c_attn.q} for one block of a
 *                    fused projection
 * @param modulePath  the adapted module's path in the model, e.g. {@code bert.encoder.layer.0.attention.self.query}
 * @param layer       layer index, the first number in the module path
 * @param baseKey     name of W0's tensor in the base checkpoint
 * @param baseTransposed whether the base stores W0 as [in, out] (GPT-2's Conv1D, PEFT's fan_in_fan_out)
 * @param outOffset   first row of W0 [out, in] belonging to this module (non-zero for fused q/k/v blocks)
 * @param scaling     alpha / r, or alpha / sqrt(r) with rsLoRA: dW = scaling * B A
 * @param dora        whether the adapter carries a DoRA magnitude vector for this module
 */
public record LoraModule(String module, String modulePath, int layer, String baseKey, boolean baseTransposed,
                         int outOffset, int rank, double alpha, double scaling, Matrix a, Matrix b, boolean dora) {

    public int in() {
        return a.cols();
    }

    public int out() {
        return b.rows();
    }

    /** ||scaling * B A||_F, from r x r Gram matrices (see {@link Norms#productFrobenius}). */
    public double deltaNorm() {
        return Math.abs(scaling) * Norms.productFrobenius(b, a);
    }

    @Override
    public String toString() {
        return module + "[" + layer + "]";
    }
}
