package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.FileStamp;
import io.github.convsim.io.InputFiles;
import io.github.convsim.io.PatternTimeoutException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.TensorInfo;
import io.github.convsim.io.WeightSource;
import io.github.convsim.io.WeightSources;
import io.github.convsim.linalg.Matrix;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * A PEFT LoRA adapter paired with the base weights it adapts, seen as modules and layers: every LoRA factor resolved to
 * its layer, module and W0 ({@link AdapterKeys} sorts the tensor names, {@link BaseIndex} finds each W0,
 * {@link ModulePairing} checks shapes and fixes orientation; a CondLoRA checkpoint is materialised by
 * {@link CondLoraLayers}). Factors are held in memory (they are small); W0 is read on demand by {@link #baseWeight}.
 *
 * <pre>{@code
 * try (LoraCheckpoint ckpt = LoraCheckpoint.open(Path.of("lora-imdb"), Path.of("model.safetensors"))) {
 *     for (LoraModule m : ckpt.layersOf("query")) {
 *         Matrix w0 = ckpt.baseWeight(m); // [out, in], oriented and sliced
 *     }
 * }
 * }</pre>
 */
public final class LoraCheckpoint implements AutoCloseable {
    private final Path adapterDir;
    private final PeftConfig config;
    private final WeightSource adapterWeights;
    private final WeightSource base;
    private final List<LoraModule> modules;
    private final List<SkippedTensor> skipped;
    private final CondLoraWeights condLora;
    private final List<String> notes;
    private final BaseMatch.BaseCheck baseCheck;
    /** Every input file as it was when opened, its headers parsed and its tensors not yet read. */
    private final List<FileStamp> stamps;

    private LoraCheckpoint(Path adapterDir, PeftConfig config, WeightSource adapterWeights, WeightSource base,
                           List<LoraModule> modules, List<SkippedTensor> skipped, CondLoraWeights condLora,
                           List<String> notes, BaseMatch.BaseCheck baseCheck) throws CheckpointException {
        this.adapterDir = adapterDir;
        this.baseCheck = baseCheck;
        this.notes = List.copyOf(notes);
        this.config = config;
        this.adapterWeights = adapterWeights;
        this.base = base;
        this.modules = modules;
        this.skipped = skipped;
        this.condLora = condLora;
        List<FileStamp> st = new ArrayList<>();
        for (Path f : inputFiles()) {
            st.add(FileStamp.of(f));
        }
        this.stamps = List.copyOf(st);
    }

    /**
     * Checks that no input file changed since this checkpoint was opened ({@link FileStamp}: size, modification and
     * status-change times, file key), to be called once everything is read and hashed.
     *
     * @throws CheckpointException naming the first file that changed
     */
    public void requireUnchanged() throws CheckpointException {
        for (FileStamp s : stamps) {
            s.requireUnchanged();
        }
    }

    /** The shared layers when this checkpoint is a CondLoRA one (its factors were materialised from them). */
    public java.util.Optional<CondLoraWeights> condLora() {
        return java.util.Optional.ofNullable(condLora);
    }

    /**
     * Opens an adapter directory (adapter_config.json with adapter_model.safetensors or adapter_model.bin) against
     * base weights (see {@link WeightSources#open}).
     */
    public static LoraCheckpoint open(Path adapterDir, Path basePath) throws CheckpointException {
        return open(adapterDir, basePath, BaseMatch.BaseCheck.STRICT);
    }

    /**
     * Checks that {@code dir} looks like a PEFT adapter: a directory holding adapter_config.json. Base weights given
     * where the adapter belongs (a .safetensors file, a model directory) are the usual mistake, and the message says
     * where they go.
     *
     * @throws CheckpointException naming {@code dir} and what it is instead
     */
    public static void requireAdapterDirectory(Path dir) throws CheckpointException {
        if (!InputFiles.attributes(dir).isDirectory()) {
            throw new CheckpointException(dir, "not a directory: an adapter is a directory holding"
                    + " adapter_config.json and adapter_model.safetensors (or .bin); base weights go to --base");
        }
        if (!InputFiles.present(dir.resolve("adapter_config.json"))) {
            throw new CheckpointException(dir, "not a PEFT adapter: it holds no adapter_config.json (base weights go"
                    + " to --base)");
        }
    }

    /**
     * As {@link #open(Path, Path)}; {@code check} says whether a base shown to be of another model family than the
     * adapter's is refused (see {@link BaseMatch}).
     */
    public static LoraCheckpoint open(Path adapterDir, Path basePath, BaseMatch.BaseCheck check)
            throws CheckpointException {
        requireAdapterDirectory(adapterDir);
        PeftConfig config = PeftConfig.read(adapterDir.resolve("adapter_config.json"));
        WeightSource adapter = openAdapterWeights(adapterDir);
        WeightSource base = null;
        try {
            base = WeightSources.open(basePath);
            if (CondLoraWeights.isCondLora(adapter)) {
                CondLoraWeights shared = CondLoraWeights.read(adapter);
                ResolvedModules r = CondLoraLayers.materialise(config, shared, base, check);
                return new LoraCheckpoint(adapterDir, config, adapter, base, r.modules(), r.skipped(), shared, r.notes(), check);
            }
            ResolvedModules r = ModulePairing.resolve(config, adapter, base, check);
            return new LoraCheckpoint(adapterDir, config, adapter, base, r.modules(), r.skipped(), null, r.notes(), check);
        } catch (PatternTimeoutException e) {
            adapter.close();
            if (base != null) {
                base.close();
            }
            throw new CheckpointException(config.file(), e.getMessage());
        } catch (CheckpointException | RuntimeException e) {
            adapter.close();
            if (base != null) {
                base.close();
            }
            throw e;
        }
    }

    static WeightSource openAdapterWeights(Path dir) throws CheckpointException {
        for (String name : List.of("adapter_model.safetensors", "adapter_model.bin")) {
            Path p = dir.resolve(name);
            if (InputFiles.present(p)) {
                return WeightSources.open(p);
            }
        }
        throw new CheckpointException(dir, "no adapter_model.safetensors or adapter_model.bin in the adapter directory");
    }

    public Path adapterDir() {
        return adapterDir;
    }

    /**
     * How the checkpoint was read, where a reader could have read it otherwise: prefixes substituted to match the
     * base, flags PEFT ignores or implies, DoRA magnitudes recorded, the evidence on whether the base matches.
     */
    public List<String> notes() {
        return notes;
    }

    /** Whether a base shown to be of another model family than the adapter's was refused ({@link BaseMatch}). */
    public BaseMatch.BaseCheck baseCheck() {
        return baseCheck;
    }

    public PeftConfig config() {
        return config;
    }

    public WeightSource adapterWeights() {
        return adapterWeights;
    }

    public WeightSource base() {
        return base;
    }

    /** Resolved modules, ordered by module name, then layer. */
    public List<LoraModule> modules() {
        return modules;
    }

    /** Module names in order, e.g. [query, value]. */
    public List<String> moduleNames() {
        Set<String> names = new LinkedHashSet<>();
        modules.forEach(m -> names.add(m.module()));
        return List.copyOf(names);
    }

    /** The layers of one module, ordered by layer index. */
    public List<LoraModule> layersOf(String module) {
        return modules.stream().filter(m -> m.module().equals(module)).toList();
    }

    public List<SkippedTensor> skipped() {
        return skipped;
    }

    /** Every file read: the config, the adapter weights and the base files, for provenance. */
    public List<Path> inputFiles() {
        List<Path> files = new ArrayList<>();
        files.add(config.file());
        files.addAll(adapterWeights.files());
        files.addAll(base.files());
        return files;
    }

    /**
     * W0 of a module as [out, in], oriented and sliced, checked for NaN and infinity.
     *
     * @throws CheckpointException if the base tensor cannot be read or holds a non-finite value
     */
    public Matrix baseWeight(LoraModule m) throws CheckpointException {
        TensorInfo wi = base.info(m.baseKey());
        int d0 = (int) wi.dim(0);
        int d1 = (int) wi.dim(1);
        // row-major [in, out] is column-major [out, in]: a transposed base needs no copy
        Matrix w = m.baseTransposed() ? new Matrix(d1, d0, base.readDoubles(m.baseKey()))
                : new Matrix(d0, d1, base.readColumnMajor(m.baseKey()));
        if (m.outOffset() != 0 || w.rows() != m.out()) {
            w = w.rowSlice(m.outOffset(), m.out());
        }
        int[] bad = w.firstNonFinite();
        if (bad != null) {
            throw new CheckpointException(base.location(), "tensor '" + m.baseKey() + "' holds a non-finite value "
                    + w.get(bad[0], bad[1]) + " at [" + bad[0] + ", " + bad[1] + "]");
        }
        return w;
    }

    @Override
    public void close() {
        adapterWeights.close();
        base.close();
    }
}
