package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.WeightSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Key resolution: a PEFT adapter's tensors sorted by name into LoRA factors (lora_A and lora_B per module path, PEFT's
 * prefix stripped), DoRA magnitudes, and everything else skipped with the reason; one adapter per file, every A with
 * its B. Nothing is read but the names.
 */
final class AdapterKeys {
    private static final Pattern LORA_KEY = Pattern.compile("^(.*)\\.lora_([AB])(?:\\.([^.]+))?\\.weight$");
    private static final Pattern DORA_KEY = Pattern.compile("^(.*)\\.lora_magnitude_vector(?:\\.([^.]+))?(?:\\.weight)?$");
    private static final Pattern EMBEDDING_KEY = Pattern.compile("^(.*)\\.lora_embedding_[AB](?:\\.([^.]+))?$");
    private static final String PEFT_PREFIX = "base_model.model.";

    /** One factor's tensor, by the module path it adapts. */
    record Factor(String modulePath, String key) {}

    final Map<String, Factor> aKeys;
    final Map<String, Factor> bKeys;
    final Set<String> dora;
    final List<SkippedTensor> skipped;
    final Set<String> notes;

    private AdapterKeys(Map<String, Factor> aKeys, Map<String, Factor> bKeys, Set<String> dora,
                        List<SkippedTensor> skipped, Set<String> notes) {
        this.aKeys = aKeys;
        this.bKeys = bKeys;
        this.dora = dora;
        this.skipped = skipped;
        this.notes = notes;
    }

    static AdapterKeys of(PeftConfig config, WeightSource adapter) throws CheckpointException {
        Set<String> notes = new LinkedHashSet<>();
        Map<String, Factor> aKeys = new LinkedHashMap<>();
        Map<String, Factor> bKeys = new LinkedHashMap<>();
        Set<String> dora = new LinkedHashSet<>();
        List<SkippedTensor> skipped = new ArrayList<>();
        Set<String> adapterNames = new LinkedHashSet<>();
        for (String key : adapter.names()) {
            Matcher m = LORA_KEY.matcher(key);
            if (m.matches()) {
                String path = stripPeftPrefix(m.group(1));
                if (m.group(3) != null) {
                    adapterNames.add(m.group(3));
                }
                Map<String, Factor> target = m.group(2).equals("A") ? aKeys : bKeys;
                if (target.put(path, new Factor(path, key)) != null) {
                    throw new CheckpointException(adapter.location(), "module '" + path + "' has two lora_"
                            + m.group(2) + " tensors (several adapters in one file are not supported)");
                }
                continue;
            }
            Matcher d = DORA_KEY.matcher(key);
            if (d.matches()) {
                dora.add(stripPeftPrefix(d.group(1)));
                skipped.add(new SkippedTensor(key, "DoRA magnitude vector (recorded; directions A, B are analysed)"));
                continue;
            }
            if (EMBEDDING_KEY.matcher(key).matches()) {
                skipped.add(new SkippedTensor(key, "embedding LoRA: no square W0 to convert from, not analysed"));
                continue;
            }
            boolean saved = config.modulesToSave().stream().anyMatch(s -> key.contains("." + s + ".")
                    || key.startsWith(s + "."));
            skipped.add(new SkippedTensor(key, saved ? "modules_to_save: trained in full, not a LoRA factor"
                    : "not a LoRA factor"));
        }
        if (config.useDora() && dora.isEmpty()) {
            throw new CheckpointException(adapter.location(), "adapter_config.json sets use_dora, but the weights hold"
                    + " no lora_magnitude_vector: a DoRA adapter cannot be read without its magnitudes (re-save it with"
                    + " PEFT)");
        }
        if (!dora.isEmpty()) {
            notes.add("DoRA: the magnitude vectors of " + dora.size() + " modules are recorded, not analysed; the"
                    + " conversion matrices are those of the directions A and B");
        }
        if (adapterNames.size() > 1) {
            throw new CheckpointException(adapter.location(), "holds several adapters " + adapterNames
                    + "; save them separately");
        }
        for (String p : aKeys.keySet()) {
            if (!bKeys.containsKey(p)) {
                throw new CheckpointException(adapter.location(), "module '" + p + "' has lora_A but no lora_B");
            }
        }
        for (String p : bKeys.keySet()) {
            if (!aKeys.containsKey(p)) {
                throw new CheckpointException(adapter.location(), "module '" + p + "' has lora_B but no lora_A");
            }
        }
        return new AdapterKeys(aKeys, bKeys, dora, skipped, notes);
    }

    static String stripPeftPrefix(String path) {
        return path.startsWith(PEFT_PREFIX) ? path.substring(PEFT_PREFIX.length()) : path;
    }

    /**
     * The layer of a module path: the index after PEFT's layers_pattern ("model.layers.3.mlp" with pattern "layers"),
     * or, without a pattern, the first numeric token. Null when the path has none.
     */
    static Integer layerIndex(PeftConfig config, String path) {
        if (config.layersPattern().isEmpty()) {
            return layerOf(path);
        }
        String[] t = path.split("\\.");
        for (int k = 0; k + 1 < t.length; k++) {
            if (config.layersPattern().contains(t[k]) && !t[k + 1].isEmpty() && t[k + 1].length() < 7
                    && t[k + 1].chars().allMatch(Character::isDigit)) {
                return Integer.parseInt(t[k + 1]);
            }
        }
        return null;
    }

    /** The first purely numeric token of a dotted path: the layer (block) index. */
    static Integer layerOf(String path) {
        for (String t : path.split("\\.")) {
            if (!t.isEmpty() && t.length() < 7 && t.chars().allMatch(Character::isDigit)) {
                return Integer.parseInt(t);
            }
        }
        return null;
    }

    static String withoutLayer(String path) {
        List<String> tokens = new ArrayList<>(List.of(path.split("\\.")));
        for (int i = 0; i < tokens.size(); i++) {
            if (tokens.get(i).chars().allMatch(Character::isDigit)) {
                tokens.remove(i);
                break;
            }
        }
        return String.join(".", tokens);
    }
}
