package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PatternTimeoutException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.WeightSource;
import java.nio.file.Path;
import java.util.List;

/**
 * An adapter read without its base, for {@code convsim inspect} where the base is not at hand: the modules, layers,
 * shapes, ranks and norms of its factors, checked as against a base, with W0's shape taken from the factors. Nothing
 * that needs W0 (its key, the size of the update relative to it, the base's family) is known.
 *
 * @param rows    one per module and layer, with no base key and a relative update of NaN
 * @param condLora whether the checkpoint holds CondLoRA's shared maps, whose factors are made from W0: then there are
 *                 no rows
 */
public record AdapterAlone(PeftConfig config, List<ModuleSummary> rows, List<SkippedTensor> skipped,
                           List<String> notes, boolean condLora) {

    public static AdapterAlone read(Path adapterDir) throws CheckpointException {
        LoraCheckpoint.requireAdapterDirectory(adapterDir);
        PeftConfig config = PeftConfig.read(adapterDir.resolve("adapter_config.json"));
        try (WeightSource adapter = LoraCheckpoint.openAdapterWeights(adapterDir)) {
            if (CondLoraWeights.isCondLora(adapter)) {
                return new AdapterAlone(config, List.of(), List.of(), List.of(), true);
            }
            ResolvedModules r = ModulePairing.resolve(config, adapter, null, BaseMatch.BaseCheck.STRICT);
            // paired with no base, every module's base key is null
            List<ModuleSummary> rows = r.modules().stream().map(m -> ModuleSummary.of(m, Double.NaN)).toList();
            return new AdapterAlone(config, rows, r.skipped(), r.notes(), false);
        } catch (PatternTimeoutException e) {
            throw new CheckpointException(config.file(), e.getMessage());
        }
    }
}
