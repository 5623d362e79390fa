package io.github.convsim.synth;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The tensor shapes of a LLaMA-architecture decoder, in Hugging Face's names and PyTorch's (out, in) convention:
 * attention q/o [hidden, hidden], k/v [kvHeads * headDim, hidden] (grouped-query attention when kvHeads < heads),
 * MLP gate/up [intermediate, hidden] and down [hidden, intermediate], RMSNorm weights, embeddings and LM head.
 */
public record ModelShape(String name, int layers, int hidden, int intermediate, int heads, int kvHeads, int vocab) {

    /** LLaMA-2-7B: 32 layers, 4096 hidden, 11008 intermediate, 32 heads, no GQA, 32000 tokens. */
    public static final ModelShape LLAMA2_7B = new ModelShape("llama-2-7b", 32, 4096, 11008, 32, 32, 32000);
    /** LLaMA-3-8B: 32 layers, 4096 hidden, 14336 intermediate, 32 query and 8 key/value heads, 128256 tokens. */
    public static final ModelShape LLAMA3_8B = new ModelShape("llama-3-8b", 32, 4096, 14336, 32, 8, 128256);
    /** A few-megabyte model of the same architecture (GQA included), for tests and trying the pipeline. */
    public static final ModelShape TINY = new ModelShape("tiny-llama", 4, 64, 172, 8, 2, 256);

    public ModelShape {
        if (layers < 1 || hidden < 1 || intermediate < 1 || heads < 1 || kvHeads < 1 || vocab < 1) {
            throw new IllegalArgumentException("every dimension of a model shape must be positive");
        }
        if (hidden % heads != 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("hidden (" + hidden + ") must divide into " + heads
                    + " heads, and the heads into " + kvHeads + " key/value heads");
        }
    }

    public static List<ModelShape> presets() {
        return List.of(LLAMA2_7B, LLAMA3_8B, TINY);
    }

    public static ModelShape preset(String name) {
        for (ModelShape s : presets()) {
            if (s.name.equals(name.trim().toLowerCase(Locale.ROOT))) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown shape '" + name + "' (expected one of "
                + String.join(", ", presets().stream().map(ModelShape::name).toList()) + ")");
    }

    /** The same architecture with another number of layers. */
    public ModelShape withLayers(int n) {
        return new ModelShape(name + "-" + n + "l", n, hidden, intermediate, heads, kvHeads, vocab);
    }

    public int kvDim() {
        return hidden / heads * kvHeads;
    }

    /** A named weight and its shape (out, in) or (n). */
    public record Tensor(String name, long[] shape, boolean norm) {
        public long elements() {
            long n = 1;
            for (long d : shape) {
                n *= d;
            }
            return n;
        }
    }

    /** Every tensor of the base model, in the order Hugging Face checkpoints store them. */
    public List<Tensor> tensors() {
        List<Tensor> out = new ArrayList<>();
        out.add(new Tensor("model.embed_tokens.weight", new long[] {vocab, hidden}, false));
        for (int l = 0; l < layers; l++) {
            String p = "model.layers." + l + ".";
            for (String m : List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")) {
                out.add(new Tensor(p + modulePath(m) + ".weight", linear(m), false));
            }
            out.add(new Tensor(p + "input_layernorm.weight", new long[] {hidden}, true));
            out.add(new Tensor(p + "post_attention_layernorm.weight", new long[] {hidden}, true));
        }
        out.add(new Tensor("model.norm.weight", new long[] {hidden}, true));
        out.add(new Tensor("lm_head.weight", new long[] {vocab, hidden}, false));
        return out;
    }

    /** (out, in) of a linear module: q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj or down_proj. */
    public long[] linear(String module) {
        return switch (module) {
            case "q_proj", "o_proj" -> new long[] {hidden, hidden};
            case "k_proj", "v_proj" -> new long[] {kvDim(), hidden};
            case "gate_proj", "up_proj" -> new long[] {intermediate, hidden};
            case "down_proj" -> new long[] {hidden, intermediate};
            default -> throw new IllegalArgumentException("no linear module '" + module + "' in a LLaMA layer");
        };
    }

    /** Path of a linear module inside a layer: self_attn.q_proj or mlp.gate_proj. */
    public static String modulePath(String module) {
        return (module.startsWith("gate") || module.startsWith("up") || module.startsWith("down") ? "mlp." : "self_attn.")
                + module;
    }
}
