package io.github.convsim.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;

/**
 * Whether an adapter was trained on the base it is analysed against. Module paths are matched under any prefix (a
 * task model's "bert." against a bare encoder), which would also pair a RoBERTa adapter with BERT's weights: so the
 * evidence is weighed here, and a base shown to be of another model family is refused unless the user allows it.
 *
 * <p>Evidence of a mismatch, any one of which suffices: the adapter's module paths and the base's keys start with
 * different model families (roberta.encoder... against bert.encoder...); or the adapter's base_model_name_or_path
 * names a model family, and the base's family (its config.json model_type beside the weights, else its keys' first
 * component) is another. A name that names no known family (TinyLlama, a local path) is not evidence either way.
 */
public final class BaseMatch {
    /** Whether a base shown to differ from the adapter's is refused. */
    public enum BaseCheck { STRICT, ALLOW_MISMATCH }

    /** Hugging Face model_type values of the families LoRA adapters are commonly trained on. */
    static final Set<String> FAMILIES = Set.of("bert", "roberta", "xlm-roberta", "xlm_roberta", "distilbert", "albert",
            "electra", "deberta", "deberta-v2", "mpnet", "gpt2", "gpt_neox", "gptj", "gpt_neo", "llama", "mistral",
            "mixtral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3", "phi", "phi3", "t5", "mt5", "bart", "opt",
            "bloom", "falcon", "mpt", "starcoder2", "olmo", "vit");

    private static final ObjectMapper JSON = new ObjectMapper();

    private BaseMatch() {}

    /**
     * Weighs the evidence; returns notes for the report (what was compared, prefixes substituted) or throws.
     *
     * @param prefixes the distinct (adapter prefix, base prefix, a base key matched under them) under which module
     *     paths matched base keys
     * @throws CheckpointException naming both families and the --allow-base-mismatch way out, under STRICT
     */
    static List<String> check(PeftConfig config, Path baseLocation, Collection<String[]> prefixes,
                              BaseCheck check) throws CheckpointException {
        List<String> notes = new ArrayList<>();
        String mismatch = null;
        for (String[] s : prefixes) {
            if (!s[0].equals(s[1])) {
                notes.add("module paths matched with the prefix '" + s[0] + "' replaced by '" + s[1] + "'");
            }
            String a = family(s[0]);
            String b = family(s[1]);
            if (mismatch == null && a != null && b != null && !a.equals(b)) {
                mismatch = "the adapter's modules are " + a + " ('" + s[0] + "') and the base's are " + b + " ('"
                        + s[1] + "')";
            }
        }
        String named = config.baseModelNameOrPath().orElse(null);
        Optional<String> baseType = modelType(baseLocation);
        // without a config.json, the family the base's keys start with ("bert.encoder.layer.0..."), whether or not
        // a prefix was substituted to match them
        String baseFamily = baseType.orElseGet(() -> prefixes.stream()
                .map(s -> family(s[1]) != null ? family(s[1]) : s.length > 2 ? family(s[2]) : null)
                .filter(f -> f != null).findFirst().orElse(null));
        if (named != null && baseFamily != null) {
            String namedFamily = namedFamily(named);
            String by = evidence(baseType);
            if (mismatch == null) {
                mismatch = namedMismatch(config, baseFamily, by);
            }
            if (mismatch == null) {
                notes.add(namedFamily != null
                        ? "the base is " + baseFamily + by + ", as the adapter's base_model_name_or_path '" + named
                                + "' says"
                        : "the base is " + baseFamily + by + "; the adapter's base_model_name_or_path '" + named
                                + "' names no model family convsim knows, so the base is not checked against it");
            }
        } else if (named != null && mismatch == null) {
            notes.add("the base's model family is not known (no config.json beside it, and its keys name none), so it"
                    + " is not checked against the adapter's base_model_name_or_path '" + named + "'");
        }
        if (mismatch != null) {
            if (check == BaseCheck.STRICT) {
                throw new CheckpointException(baseLocation, "this base does not match the adapter: " + mismatch
                        + "; pass the base it was trained on, or --allow-base-mismatch to analyse it anyway");
            }
            notes.add("base mismatch allowed by --allow-base-mismatch: " + mismatch);
        }
        return notes;
    }

    /**
     * Where a module of the adapter has no weight in the base: the evidence that the base is of another model family
     * (the module's path names one, or the adapter's base_model_name_or_path does, and the base's is another), or null
     * where there is none.
     */
    static String otherFamily(PeftConfig config, Path baseLocation, Collection<String> baseKeys, String modulePath) {
        Optional<String> baseType = modelType(baseLocation);
        String baseFamily = baseType.orElseGet(() -> baseKeys.stream().map(BaseMatch::family)
                .filter(java.util.Objects::nonNull).findFirst().orElse(null));
        if (baseFamily == null) {
            return null;
        }
        String by = evidence(baseType);
        String pathFamily = family(modulePath);
        if (pathFamily != null && !pathFamily.equals(baseFamily)) {
            return "the adapter's modules are " + pathFamily + "'s and the base is " + baseFamily + by;
        }
        return namedMismatch(config, baseFamily, by);
    }

    /** Where the base's family was read: its config.json's model_type when there is one, else its keys. */
    private static String evidence(Optional<String> baseType) {
        return baseType.isPresent() ? " (model_type in its config.json)" : " (its keys)";
    }

    /** The adapter's base_model_name_or_path naming a family other than {@code baseFamily}, or null. */
    private static String namedMismatch(PeftConfig config, String baseFamily, String by) {
        String named = config.baseModelNameOrPath().orElse(null);
        String namedFamily = named == null ? null : namedFamily(named);
        if (namedFamily == null || namedFamily.equals(baseFamily) || nameTokens(named).contains(baseFamily)) {
            return null;
        }
        return config.file() + " names the base '" + named + "' (" + namedFamily + ") but the base is " + baseFamily
                + by;
    }

    /** The known model family a model name or path names ("meta-llama/Llama-2-7b-hf" -> llama), or null. */
    private static String namedFamily(String named) {
        return nameTokens(named).stream().filter(FAMILIES::contains).findFirst().orElse(null);
    }

    private static List<String> nameTokens(String named) {
        return List.of(named.toLowerCase(Locale.ROOT).split("[-/.\\s]+"));
    }

    /** The model family a key prefix starts with ("roberta.encoder." -> roberta), if it is a known one. */
    static String family(String prefix) {
        for (String token : prefix.toLowerCase(Locale.ROOT).split("\\.")) {
            if (FAMILIES.contains(token)) {
                return token;
            }
        }
        return null;
    }

    /** model_type of the config.json beside the weights (or in their directory), if there is one. */
    static Optional<String> modelType(Path baseLocation) {
        Path dir = Files.isDirectory(baseLocation) ? baseLocation : baseLocation.toAbsolutePath().getParent();
        Path config = dir == null ? null : dir.resolve("config.json");
        if (config == null || !Files.isRegularFile(config)) {
            return Optional.empty();
        }
        try {
            if (Files.size(config) > (1 << 20)) {
                return Optional.empty();
            }
            JsonNode t = JSON.readTree(config.toFile()).get("model_type");
            return t != null && t.isTextual() ? Optional.of(t.asText().toLowerCase(Locale.ROOT)) : Optional.empty();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }
}
