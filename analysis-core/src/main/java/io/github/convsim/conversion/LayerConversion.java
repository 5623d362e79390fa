package io.github.convsim.conversion;

import io.github.convsim.linalg.Matrix;
import io.github.convsim.model.LoraModule;

/**
 * The conversion matrices of one layer. C_dW = C_B A is never formed: its singular vectors come from C_B and A.
 *
 * @param cA C_A, [in, r] for a square W0 (the paper's W0^-1 A^T), [out, r] otherwise
 * @param cB C_B = W0^-1 B (or its least-squares analogue), [in, r]
 */
public record LayerConversion(LoraModule module, Matrix cA, Matrix cB, LayerDiagnostics diagnostics) {}
