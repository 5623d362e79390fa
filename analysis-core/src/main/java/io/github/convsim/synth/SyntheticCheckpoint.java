package io.github.convsim.synth;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import io.github.convsim.common.ProgressListener;
import io.github.convsim.common.Seeds;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.IoJobs;
import io.github.convsim.io.SafetensorsWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Writes a synthetic but correctly shaped checkpoint: a base model as Hugging Face stores it (bf16 safetensors shards,
 * {@code model.safetensors.index.json}, {@code config.json}) and a PEFT LoRA adapter for it, every value reproducible
 * from one seed. Each tensor draws from its own stream, seeded by (seed, tensor name), so a tensor's values do not
 * depend on sharding or thread count.
 *
 * <p>Values: linear weights and embeddings are approximately N(0, 0.02^2) (LLaMA's initialisation scale), drawn as a
 * scaled sum of four uniforms (Irwin-Hall, variance matched; bounded at 3.5 sigma), about ten times cheaper than exact
 * normal draws for the 6.7e9 values of a 7B model; RMSNorm weights are 1. LoRA A is uniform in +-1/sqrt(in) (PEFT's
 * Kaiming-uniform initialisation), B normal with standard deviation 1e-3, as after some training. There is no planted
 * structure: conversion matrices of different layers are unrelated, which is what the W0 null describes.
 */
public final class SyntheticCheckpoint {
    static final double WEIGHT_STD = 0.02;
    static final double B_STD = 1e-3;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /**
     * What to generate.
     *
     * @param targets    linear modules carrying LoRA, e.g. q_proj, k_proj, v_proj, o_proj
     * @param shardBytes largest shard of the base, in bytes of tensor data
     * @param threads    shards written at once
     */
    public record Options(long seed, int rank, double alpha, List<String> targets, long shardBytes, int threads) {
        public Options {
            if (rank < 1) {
                throw new IllegalArgumentException("rank must be positive, got " + rank);
            }
            if (shardBytes < 1) {
                throw new IllegalArgumentException("shard size must be positive");
            }
            if (targets.isEmpty()) {
                throw new IllegalArgumentException("at least one target module is needed");
            }
            targets = List.copyOf(targets);
        }

        public static final List<String> ATTENTION = List.of("q_proj", "k_proj", "v_proj", "o_proj");
        public static final List<String> ALL_LINEAR = List.of("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj",
                "up_proj", "down_proj");
    }

    /** What was written. */
    public record Written(Path base, Path adapter, int shards, long baseBytes, long adapterBytes) {}

    private SyntheticCheckpoint() {}

    /** Writes {@code dir}/base and {@code dir}/adapter; {@code dir} must exist and should be empty. */
    public static Written write(ModelShape shape, Options o, Path dir, ProgressListener progress) throws IOException {
        String narrowest = o.targets().stream().min(java.util.Comparator.comparingLong(t -> Math.min(shape.linear(t)[0],
                shape.linear(t)[1]))).orElseThrow();
        long[] outIn = shape.linear(narrowest);
        if (o.rank() > Math.min(outIn[0], outIn[1])) {
            throw new IllegalArgumentException("rank " + o.rank() + " is above the smaller side of " + shape.name()
                    + "'s " + narrowest + " (" + outIn[0] + "x" + outIn[1] + "), which convsim cannot analyse; use"
                    + " --rank " + Math.min(outIn[0], outIn[1]) + " or less");
        }
        Path base = Files.createDirectories(dir.resolve("base"));
        Path adapter = Files.createDirectories(dir.resolve("adapter"));
        List<List<ModelShape.Tensor>> shards = shard(shape.tensors(), o.shardBytes());
        long total = shape.tensors().stream().mapToLong(SyntheticCheckpoint::bytes).sum();
        AtomicLong done = new AtomicLong();
        Map<String, String> weightMap = new LinkedHashMap<>();
        List<String> names = new ArrayList<>();
        for (int s = 0; s < shards.size(); s++) {
            String file = String.format(Locale.ROOT, "model-%05d-of-%05d.safetensors", s + 1, shards.size());
            names.add(file);
            shards.get(s).forEach(t -> weightMap.put(t.name(), file));
        }
        List<IoJobs.Job> jobs = new ArrayList<>();
        for (int s = 0; s < shards.size(); s++) {
            List<ModelShape.Tensor> tensors = shards.get(s);
            Path file = base.resolve(names.get(s));
            jobs.add(() -> {
                SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
                for (ModelShape.Tensor t : tensors) {
                    w.add(t.name(), Dtype.BF16, t.shape(), counted(baseValues(o.seed(), t), done, total, progress));
                }
                w.write(file);
            });
        }
        IoJobs.runAll(jobs, o.threads());
        Map<String, Object> index = new LinkedHashMap<>();
        index.put("metadata", Map.of("total_size", total));
        index.put("weight_map", weightMap);
        JSON.writeValue(base.resolve("model.safetensors.index.json").toFile(), index);
        JSON.writeValue(base.resolve("config.json").toFile(), config(shape, o));
        long adapterBytes = writeAdapter(shape, o, adapter);
        return new Written(base, adapter, shards.size(), total, adapterBytes);
    }

    /** Bytes of a base tensor's data, stored as bf16. */
    private static long bytes(ModelShape.Tensor t) {
        return SafetensorsWriter.dataBytes(Dtype.BF16, t.shape());
    }

    /** Consecutive tensors, a new shard whenever the next tensor would take one past {@code shardBytes}. */
    static List<List<ModelShape.Tensor>> shard(List<ModelShape.Tensor> tensors, long shardBytes) {
        List<List<ModelShape.Tensor>> out = new ArrayList<>();
        List<ModelShape.Tensor> current = new ArrayList<>();
        long size = 0;
        for (ModelShape.Tensor t : tensors) {
            long b = bytes(t);
            if (!current.isEmpty() && size + b > shardBytes) {
                out.add(current);
                current = new ArrayList<>();
                size = 0;
            }
            current.add(t);
            size += b;
        }
        out.add(current);
        return out;
    }

    private static SafetensorsWriter.Values baseValues(long seed, ModelShape.Tensor t) {
        if (t.norm()) {
            return (chunk, count) -> java.util.Arrays.fill(chunk, 0, count, 1f);
        }
        return normalish(new SplittableRandom(Seeds.derive(seed, "synth-base", t.name())), WEIGHT_STD);
    }

    /** (u1 + u2 + u3 + u4 - 2) * sqrt(3): mean 0, variance 1, from one 64-bit draw (16 bits per uniform). */
    static SafetensorsWriter.Values normalish(SplittableRandom rng, double std) {
        double scale = std * Math.sqrt(3) / 65536.0;
        return (chunk, count) -> {
            for (int i = 0; i < count; i++) {
                long r = rng.nextLong();
                long sum = (r & 0xffff) + ((r >>> 16) & 0xffff) + ((r >>> 32) & 0xffff) + (r >>> 48);
                chunk[i] = (float) ((sum + 2 - 2 * 65536.0) * scale);
            }
        };
    }

    private static SafetensorsWriter.Values counted(SafetensorsWriter.Values v, AtomicLong done, long total,
                                                    ProgressListener progress) {
        return (chunk, count) -> {
            v.fill(chunk, count);
            progress.progress("write base", done.addAndGet((long) count * Dtype.BF16.size()), total);
        };
    }

    private static long writeAdapter(ModelShape shape, Options o, Path adapter) throws IOException {
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt");
        long bytes = 0;
        for (int l = 0; l < shape.layers(); l++) {
            for (String m : o.targets()) {
                long[] outIn = shape.linear(m);
                String key = "base_model.model.model.layers." + l + "." + ModelShape.modulePath(m);
                long[] aShape = {o.rank(), outIn[1]};
                long[] bShape = {outIn[0], o.rank()};
                double bound = 1 / Math.sqrt(outIn[1]);
                SplittableRandom ra = new SplittableRandom(Seeds.derive(o.seed(), "synth-lora-A", key));
                SplittableRandom rb = new SplittableRandom(Seeds.derive(o.seed(), "synth-lora-B", key));
                w.add(key + ".lora_A.weight", Dtype.F32, aShape, (chunk, count) -> {
                    for (int i = 0; i < count; i++) {
                        chunk[i] = (float) ((2 * ra.nextDouble() - 1) * bound);
                    }
                });
                w.add(key + ".lora_B.weight", Dtype.F32, bShape, (chunk, count) -> {
                    for (int i = 0; i < count; i++) {
                        chunk[i] = (float) (rb.nextGaussian() * B_STD);
                    }
                });
                bytes += SafetensorsWriter.dataBytes(Dtype.F32, aShape) + SafetensorsWriter.dataBytes(Dtype.F32, bShape);
            }
        }
        w.write(adapter.resolve("adapter_model.safetensors"));
        Map<String, Object> cfg = new LinkedHashMap<>();
        cfg.put("peft_type", "LORA");
        cfg.put("task_type", "CAUSAL_LM");
        cfg.put("base_model_name_or_path", "../base");
        cfg.put("r", o.rank());
        cfg.put("lora_alpha", o.alpha());
        cfg.put("lora_dropout", 0.0);
        cfg.put("target_modules", o.targets());
        cfg.put("bias", "none");
        cfg.put("fan_in_fan_out", false);
        cfg.put("use_rslora", false);
        cfg.put("use_dora", false);
        cfg.put("init_lora_weights", true);
        cfg.put("inference_mode", true);
        cfg.put("convsim_synthetic", origin(shape, o));
        JSON.writeValue(adapter.resolve("adapter_config.json").toFile(), cfg);
        return bytes;
    }

    private static Map<String, Object> config(ModelShape shape, Options o) {
        Map<String, Object> c = new LinkedHashMap<>();
        c.put("architectures", List.of("LlamaForCausalLM"));
        c.put("model_type", "llama");
        c.put("hidden_size", shape.hidden());
        c.put("intermediate_size", shape.intermediate());
        c.put("num_hidden_layers", shape.layers());
        c.put("num_attention_heads", shape.heads());
        c.put("num_key_value_heads", shape.kvHeads());
        c.put("vocab_size", shape.vocab());
        c.put("torch_dtype", "bfloat16");
        Map<String, Object> origin = origin(shape, o);
        origin.put("values", "linear weights ~ N(0, 0.02^2) (Irwin-Hall of 4), RMSNorm weights 1; no structure");
        c.put("convsim_synthetic", origin);
        return c;
    }

    /** Seed and shape, in this order: the same options write the same bytes. */
    private static Map<String, Object> origin(ModelShape shape, Options o) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("seed", o.seed());
        m.put("shape", shape.name());
        return m;
    }
}
