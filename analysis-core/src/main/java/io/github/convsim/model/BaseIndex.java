package io.github.convsim.model;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.WeightSource;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Matches an adapter's module path to a base weight whatever prefixes either side adds. */
final class BaseIndex {
    private final Map<String, List<String>> bySuffix = new LinkedHashMap<>();
    private final WeightSource base;
    private final PeftConfig config;

    BaseIndex(WeightSource base, PeftConfig config) {
        this.base = base;
        this.config = config;
        for (String name : base.names()) {
            if (!name.endsWith(".weight")) {
                continue;
            }
            String module = name.substring(0, name.length() - ".weight".length());
            String[] t = module.split("\\.");
            for (int k = 0; k < t.length; k++) {
                String suffix = String.join(".", java.util.Arrays.copyOfRange(t, k, t.length));
                bySuffix.computeIfAbsent(suffix, s -> new ArrayList<>()).add(name);
            }
        }
    }

    /** A base weight matched to an adapter's module path, and the prefixes each side had before the common part. */
    record Match(String key, String adapterPrefix, String basePrefix) {}

    /** Longest suffix of the path that names exactly one base weight; it must keep the layer index. */
    Match find(String path, Path adapterFile) throws CheckpointException {
        String[] t = path.split("\\.");
        for (int k = 0; k < t.length; k++) {
            String suffix = String.join(".", java.util.Arrays.copyOfRange(t, k, t.length));
            if (AdapterKeys.layerOf(suffix) == null) {
                break;
            }
            List<String> hits = bySuffix.get(suffix);
            if (hits == null) {
                continue;
            }
            if (hits.size() == 1) {
                String key = hits.get(0);
                String module = key.substring(0, key.length() - ".weight".length());
                return new Match(key, path.substring(0, path.length() - suffix.length()),
                        module.substring(0, module.length() - suffix.length()));
            }
            throw new CheckpointException(adapterFile, "module '" + path + "' matches several base weights "
                    + hits.subList(0, Math.min(3, hits.size())) + " in " + base.location());
        }
        String lora = base.names().stream().filter(n -> n.contains("lora_A") || n.contains("lora_B")).findFirst()
                .orElse(null);
        if (lora != null) {
            throw new CheckpointException(base.location(), "holds LoRA factors ('" + lora + "'), where the base"
                    + " model's weights belong: it is an adapter's weights file, and --base takes the model the"
                    + " adapter was trained on");
        }
        String other = BaseMatch.otherFamily(config, base.location(), base.names(), path);
        throw new CheckpointException(adapterFile, "module '" + path + "' has no weight in the base "
                + base.location() + " (looked for '" + path + ".weight' under any prefix)" + (other == null ? ""
                : ": it is not the adapter's base, as " + other + "; pass the base the adapter was trained on"));
    }
}
