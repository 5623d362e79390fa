package io.github.convsim.io;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A PEFT LoRA {@code adapter_config.json}, with PEFT's defaults for missing fields and PEFT's rules for per-module
 * rank and alpha ({@code rank_pattern}, {@code alpha_pattern}) and for {@code target_modules}.
 */
public final class PeftConfig {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final long MAX_CONFIG_BYTES = 16L << 20;
    /** peft_type of CondLoRA checkpoints as convsim writes them (the authors' code extends PEFT's LoRA). */
    public static final String CONDLORA = "CONDLORA";

    /** Initialisations that change the base weights, so the W0 on disk is not the one the adapter was trained on. */
    private static final List<String> BASE_CHANGING_INITS = List.of("pissa", "olora", "loftq", "corda", "lora_ga");

    private final Path file;
    private final ObjectNode raw;
    private final String peftType;
    private final int r;
    private final double loraAlpha;
    private final boolean useRslora;
    private final Map<String, Integer> rankPattern;
    private final Map<String, Double> alphaPattern;
    private final List<String> targetModuleList;
    private final String targetModuleRegex;
    private final boolean fanInFanOut;
    private final List<String> modulesToSave;
    private final boolean useDora;
    private final List<Integer> layersToTransform;
    private final String baseModelNameOrPath;
    private final List<String> layersPattern;
    private final String taskType;

    private PeftConfig(Path file, ObjectNode raw) throws CheckpointException {
        this.file = file;
        this.raw = raw;
        this.peftType = text("peft_type").orElse("LORA");
        if (!peftType.equals("LORA") && !peftType.equals(CONDLORA)) {
            throw new CheckpointException(file, "peft_type is '" + peftType + "'; only LORA (and CondLoRA) adapters are"
                    + " analysed");
        }
        this.r = integer("r", 8);
        if (r <= 0) {
            throw new CheckpointException(file, "r must be a positive integer, got " + r);
        }
        this.loraAlpha = number("lora_alpha", 8);
        this.useRslora = bool("use_rslora", false);
        this.rankPattern = intMap("rank_pattern");
        this.alphaPattern = doubleMap("alpha_pattern");
        JsonNode targets = raw.get("target_modules");
        if (targets == null || targets.isNull()) {
            this.targetModuleList = List.of();
            this.targetModuleRegex = null;
        } else if (targets.isTextual()) {
            this.targetModuleList = List.of();
            this.targetModuleRegex = targets.asText();
            if (!targetModuleRegex.equals("all-linear")) {
                compile(targetModuleRegex, "target_modules");
            }
        } else if (targets.isArray()) {
            this.targetModuleList = strings("target_modules");
            this.targetModuleRegex = null;
        } else {
            throw new CheckpointException(file, "target_modules must be a list of names or a regex string");
        }
        this.fanInFanOut = bool("fan_in_fan_out", false);
        this.modulesToSave = raw.hasNonNull("modules_to_save") ? strings("modules_to_save") : List.of();
        this.useDora = bool("use_dora", false);
        JsonNode layers = raw.get("layers_to_transform");
        if (layers == null || layers.isNull()) {
            this.layersToTransform = List.of();
        } else if (layers.isInt()) {
            this.layersToTransform = List.of(layers.asInt());
        } else if (layers.isArray()) {
            List<Integer> l = new ArrayList<>();
            for (JsonNode n : layers) {
                if (!n.isInt()) {
                    throw new CheckpointException(file, "layers_to_transform must hold integers");
                }
                l.add(n.asInt());
            }
            this.layersToTransform = List.copyOf(l);
        } else {
            throw new CheckpointException(file, "layers_to_transform must be an integer or a list of integers");
        }
        JsonNode pattern = raw.get("layers_pattern");
        if (pattern == null || pattern.isNull()) {
            this.layersPattern = List.of();
        } else if (pattern.isTextual()) {
            this.layersPattern = List.of(pattern.asText());
        } else {
            this.layersPattern = strings("layers_pattern");
        }
        this.baseModelNameOrPath = text("base_model_name_or_path").orElse(null);
        this.taskType = text("task_type").orElse(null);
        checkInit();
    }

    public static PeftConfig read(Path file) throws CheckpointException {
        InputFiles.requireRegularFile(file);
        try {
            if (Files.size(file) > MAX_CONFIG_BYTES) {
                throw new CheckpointException(file, "adapter config is larger than " + MAX_CONFIG_BYTES + " bytes");
            }
            HeapBudget.requireFor(file, Files.size(file), "adapter config");
            JsonNode root = JSON.readTree(file.toFile());
            if (root == null || !root.isObject()) {
                throw new CheckpointException(file, "adapter config is not a JSON object");
            }
            return new PeftConfig(file, (ObjectNode) root);
        } catch (NoSuchFileException e) {
            throw new CheckpointException(file, "no such file");
        } catch (CheckpointException e) {
            throw e;
        } catch (IOException e) {
            String m = e.getMessage() == null ? "" : e.getMessage().lines().findFirst().orElse("");
            throw new CheckpointException(file, "adapter config is not valid JSON: " + m);
        }
    }

    private void checkInit() throws CheckpointException {
        JsonNode init = raw.get("init_lora_weights");
        if (init == null || !init.isTextual()) {
            return;
        }
        String v = init.asText().toLowerCase(Locale.ROOT).replace('-', '_');
        for (String bad : BASE_CHANGING_INITS) {
            if (v.startsWith(bad)) {
                throw new CheckpointException(file, "init_lora_weights '" + init.asText() + "' rewrites the base"
                        + " weights before training, so the base model on disk is not the W0 this adapter adapts;"
                        + " conversion matrices against it would be meaningless");
            }
        }
    }

    /** The file this config was read from. */
    public Path file() {
        return file;
    }

    /** The config as written, for provenance. */
    public ObjectNode raw() {
        return raw.deepCopy();
    }

    public String peftType() {
        return peftType;
    }

    /** Default rank. */
    public int r() {
        return r;
    }

    /** Default lora_alpha. */
    public double loraAlpha() {
        return loraAlpha;
    }

    public boolean useRslora() {
        return useRslora;
    }

    public boolean fanInFanOut() {
        return fanInFanOut;
    }

    public boolean useDora() {
        return useDora;
    }

    public List<String> modulesToSave() {
        return modulesToSave;
    }

    public List<Integer> layersToTransform() {
        return layersToTransform;
    }

    /** PEFT's layers_pattern: the name(s) of the module list whose index is the layer ("layers", "h"); empty if unset. */
    public List<String> layersPattern() {
        return layersPattern;
    }

    public Optional<String> baseModelNameOrPath() {
        return Optional.ofNullable(baseModelNameOrPath);
    }

    public Optional<String> taskType() {
        return Optional.ofNullable(taskType);
    }

    /** target_modules as written: a list joined by commas, or the regex string. */
    public String targetModulesDescription() {
        return targetModuleRegex != null ? targetModuleRegex : String.join(",", targetModuleList);
    }

    /**
     * Whether PEFT would target the module at {@code modulePath} (e.g. {@code
     * bert.encoder.layer.0.attention.self.query}): a regex string must match the whole path; a list entry must equal
     * the path or its last dotted part(s); "all-linear" targets everything that carries LoRA weights.
     */
    public boolean targets(String modulePath) {
        if (targetModuleRegex != null) {
            return targetModuleRegex.equals("all-linear")
                    || matchesWithin(Pattern.compile(targetModuleRegex), modulePath, "target_modules");
        }
        if (targetModuleList.isEmpty()) {
            return true;
        }
        for (String t : targetModuleList) {
            if (modulePath.equals(t) || modulePath.endsWith("." + t)) {
                return true;
            }
        }
        return false;
    }

    /** Rank of the module at {@code modulePath}: rank_pattern's first key matching it, else r. */
    public int rankFor(String modulePath) {
        return patternValue(rankPattern, modulePath).orElse(r);
    }

    /** lora_alpha of the module at {@code modulePath}: alpha_pattern's first key matching it, else lora_alpha. */
    public double alphaFor(String modulePath) {
        return patternValue(alphaPattern, modulePath).orElse(loraAlpha);
    }

    /** The factor PEFT multiplies B A by: alpha / r, or alpha / sqrt(r) with use_rslora. */
    public double scalingFor(String modulePath, int rank) {
        double alpha = alphaFor(modulePath);
        return useRslora ? alpha / Math.sqrt(rank) : alpha / rank;
    }

    /**
     * PEFT's key matching for rank_pattern and alpha_pattern: a key matches a module whose path is the key or ends
     * with "." + key, the key being a regex (PEFT: re.match(rf"(.*\.)?{key}$", path)).
     */
    private static <T> Optional<T> patternValue(Map<String, T> pattern, String modulePath) {
        for (Map.Entry<String, T> e : pattern.entrySet()) {
            if (matchesWithin(Pattern.compile("(.*\\.)?" + e.getKey()), modulePath, "pattern key '" + e.getKey() + "'")) {
                return Optional.of(e.getValue());
            }
        }
        return Optional.empty();
    }

    /** Regex budget per match: module paths are short, so only a pathological pattern comes near it. */
    static final long MATCH_BUDGET_NANOS = 100_000_000L;

    /**
     * Whole-string match that gives up after {@link #MATCH_BUDGET_NANOS}: the path is read through a CharSequence that
     * checks the clock, so a backtracking pattern ends with a {@link PatternTimeoutException} instead of a hang.
     */
    static boolean matchesWithin(Pattern pattern, String input, String what) {
        long deadline = System.nanoTime() + MATCH_BUDGET_NANOS;
        CharSequence timed = new CharSequence() {
            private int calls;

            @Override
            public int length() {
                return input.length();
            }

            @Override
            public char charAt(int index) {
                if ((++calls & 0x3ff) == 0 && System.nanoTime() > deadline) {
                    throw new PatternTimeoutException(what + " takes too long to match '" + input
                            + "' (catastrophic backtracking?)");
                }
                return input.charAt(index);
            }

            @Override
            public CharSequence subSequence(int start, int end) {
                return input.subSequence(start, end);
            }

            @Override
            public String toString() {
                return input;
            }
        };
        return pattern.matcher(timed).matches();
    }

    private Optional<String> text(String field) throws CheckpointException {
        JsonNode n = raw.get(field);
        if (n == null || n.isNull()) {
            return Optional.empty();
        }
        if (!n.isTextual()) {
            throw new CheckpointException(file, field + " must be a string");
        }
        return Optional.of(n.asText());
    }

    private int integer(String field, int dflt) throws CheckpointException {
        JsonNode n = raw.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.canConvertToInt() || !n.isIntegralNumber()) {
            throw new CheckpointException(file, field + " must be an integer");
        }
        return n.asInt();
    }

    private double number(String field, double dflt) throws CheckpointException {
        JsonNode n = raw.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isNumber() || !Double.isFinite(n.asDouble())) {
            throw new CheckpointException(file, field + " must be a finite number");
        }
        return n.asDouble();
    }

    private boolean bool(String field, boolean dflt) throws CheckpointException {
        JsonNode n = raw.get(field);
        if (n == null || n.isNull()) {
            return dflt;
        }
        if (!n.isBoolean()) {
            throw new CheckpointException(file, field + " must be true or false");
        }
        return n.asBoolean();
    }

    private List<String> strings(String field) throws CheckpointException {
        JsonNode n = raw.get(field);
        List<String> out = new ArrayList<>();
        if (!n.isArray()) {
            throw new CheckpointException(file, field + " must be a list of strings");
        }
        for (JsonNode e : n) {
            if (!e.isTextual()) {
                throw new CheckpointException(file, field + " must be a list of strings");
            }
            out.add(e.asText());
        }
        return List.copyOf(out);
    }

    private Map<String, Integer> intMap(String field) throws CheckpointException {
        Map<String, Integer> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : objectFields(field)) {
            if (!e.getValue().isIntegralNumber() || e.getValue().asInt() <= 0) {
                throw new CheckpointException(file, field + "['" + e.getKey() + "'] must be a positive integer");
            }
            compile("(.*\\.)?" + e.getKey(), field);
            out.put(e.getKey(), e.getValue().asInt());
        }
        return Collections.unmodifiableMap(out);
    }

    private Map<String, Double> doubleMap(String field) throws CheckpointException {
        Map<String, Double> out = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : objectFields(field)) {
            if (!e.getValue().isNumber()) {
                throw new CheckpointException(file, field + "['" + e.getKey() + "'] must be a number");
            }
            compile("(.*\\.)?" + e.getKey(), field);
            out.put(e.getKey(), e.getValue().asDouble());
        }
        return Collections.unmodifiableMap(out);
    }

    private List<Map.Entry<String, JsonNode>> objectFields(String field) throws CheckpointException {
        JsonNode n = raw.get(field);
        List<Map.Entry<String, JsonNode>> out = new ArrayList<>();
        if (n == null || n.isNull()) {
            return out;
        }
        if (!n.isObject()) {
            throw new CheckpointException(file, field + " must be an object");
        }
        for (Iterator<Map.Entry<String, JsonNode>> it = n.fields(); it.hasNext(); ) {
            out.add(it.next());
        }
        return out;
    }

    private void compile(String regex, String field) throws CheckpointException {
        try {
            Pattern.compile(regex);
        } catch (PatternSyntaxException e) {
            throw new CheckpointException(file, field + " holds an invalid regex '" + regex + "'");
        }
    }
}
