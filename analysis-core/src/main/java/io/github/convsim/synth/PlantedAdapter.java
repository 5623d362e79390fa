package io.github.convsim.synth;

import io.github.convsim.common.RandomMatrices;
import io.github.convsim.common.Seeds;
import io.github.convsim.io.AtomicFile;
import io.github.convsim.io.Dtype;
import io.github.convsim.io.SafetensorsWriter;
import io.github.convsim.io.WeightSource;
import io.github.convsim.linalg.LinalgBackend;
import io.github.convsim.linalg.Matrix;
import io.github.convsim.linalg.Precision;
import io.github.convsim.model.LoraCheckpoint;
import io.github.convsim.model.LoraModule;
import io.github.convsim.results.Provenance;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;

/**
 * A positive control for any adapter and base: the adapter with every layer's lora_A replaced by a factor whose
 * conversion matrix is shared by all layers of its module, plus noise. Layer l gets A_l^T = op(W0_l) M + noise with one
 * Gaussian M per module and Gaussian noise of the given size relative to op(W0_l) M (op(W0) = W0 where W0 is square,
 * W0^T otherwise, as C_A's equation has it), rescaled to the layer's own ||A_l||; where the module's layers have
 * different ranks, M has the largest and a layer of rank r takes its first r columns. lora_B and every other tensor are
 * kept. Analysing it must find the shared C_A when the noise is below the detectable level the analysis reports; the
 * same construction gives that level (see io.github.convsim.similarity.PlantedControl).
 */
public final class PlantedAdapter {
    private PlantedAdapter() {}

    /** The file beside a planted adapter that records how it was made: noise, seed and the source's provenance. */
    public static final String RECORD = "convsim_plant.json";

    /** Writes the planted adapter (adapter_config.json and adapter_model.safetensors) into {@code dir}. */
    public static void write(LoraCheckpoint source, LinalgBackend backend, double noise, long seed, Path dir)
            throws IOException {
        write(source, backend, noise, seed, dir, null);
    }

    /**
     * As {@link #write(LoraCheckpoint, LinalgBackend, double, long, Path)}, and where {@code provenance} is given (the
     * source adapter's and base's hashes, options, versions) {@link #RECORD} beside it.
     */
    public static void write(LoraCheckpoint source, LinalgBackend backend, double noise, long seed, Path dir,
                             Provenance provenance) throws IOException {
        if (!(noise >= 0) || Double.isInfinite(noise)) {
            throw new IllegalArgumentException("--noise must be a non-negative number, got " + noise);
        }
        Map<String, double[]> replaced = new TreeMap<>();
        for (String module : source.moduleNames()) {
            Matrix m = null;
            // layers of different ranks (rank_pattern) take the first r columns of one M of the largest rank
            int largest = source.layersOf(module).stream().mapToInt(LoraModule::rank).max().orElseThrow();
            for (LoraModule layer : source.layersOf(module)) {
                Matrix w0 = source.baseWeight(layer);
                boolean square = w0.rows() == w0.cols();
                if (m == null) {
                    m = RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed, "planted-adapter", module)),
                            square ? w0.cols() : w0.rows(), largest, 1);
                }
                Matrix own = layer.rank() == largest ? m : m.columnSlice(0, layer.rank());
                Matrix shared = backend.gemm(List.of(w0), !square, List.of(own), false, Precision.FP64).get(0);
                Matrix n = RandomMatrices.gaussian(new SplittableRandom(Seeds.derive(seed, "planted-adapter-noise",
                        module, layer.layer())), shared.rows(), shared.cols(), noise * shared.frobeniusNorm());
                double[] at = shared.data().clone();
                for (int i = 0; i < at.length; i++) {
                    at[i] += n.data()[i];
                }
                Matrix a = new Matrix(shared.rows(), shared.cols(), at).transpose();
                a = a.scale(layer.a().frobeniusNorm() / a.frobeniusNorm());
                // row-major [r, in] as PyTorch stores lora_A: the column-major data of the transpose
                if (replaced.put(aKey(source, layer), a.transpose().data()) != null) {
                    throw new IllegalArgumentException("module " + module + " shares one lora_A between fused"
                            + " projections (GPT-2's c_attn); a planted control needs one lora_A per layer");
                }
            }
        }
        Files.createDirectories(dir);
        WeightSource weights = source.adapterWeights();
        SafetensorsWriter w = new SafetensorsWriter().metadata("format", "pt").metadata("written_by", "convsim plant")
                .metadata("planted_noise", String.valueOf(noise)).metadata("planted_seed", String.valueOf(seed));
        for (String name : weights.names()) {
            if (replaced.containsKey(name)) {
                w.add(name, Dtype.F32, weights.info(name).shape(), replaced.get(name));
            } else {
                w.addCopy(weights, name);
            }
        }
        w.write(dir.resolve("adapter_model.safetensors"));
        byte[] config = Files.readAllBytes(source.config().file());
        AtomicFile.write(dir.resolve("adapter_config.json"), out -> out.write(config));
        if (provenance != null) {
            Map<String, Object> record = new java.util.LinkedHashMap<>();
            record.put("written_by", "convsim plant");
            record.put("noise", noise);
            record.put("seed", seed);
            record.put("provenance", provenance.asMap());
            AtomicFile.write(dir.resolve(RECORD), out -> new com.fasterxml.jackson.databind.ObjectMapper()
                    .enable(com.fasterxml.jackson.databind.SerializationFeature.INDENT_OUTPUT).writeValue(out, record));
        }
    }

    /** The adapter's own key of a layer's lora_A. */
    private static String aKey(LoraCheckpoint source, LoraModule layer) throws IOException {
        for (String name : source.adapterWeights().names()) {
            if (name.endsWith(layer.modulePath() + ".lora_A.weight")
                    || name.endsWith(layer.modulePath() + ".lora_A.default.weight")) {
                return name;
            }
        }
        throw new IOException("no lora_A tensor of " + layer.modulePath() + " in " + source.adapterWeights().location());
    }
}
