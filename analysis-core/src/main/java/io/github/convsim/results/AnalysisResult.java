package io.github.convsim.results;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.util.List;

/**
 * The outcome of analysing one adapter: per module its diagnostics and heatmaps, the adapter's config, and the
 * provenance that makes it reproducible.
 *
 * @param adapter a short name for the adapter (its directory's name)
 */
public record AnalysisResult(String adapter, AnalysisOptions options, List<ModuleResult> modules, ObjectNode adapterConfig,
                             Provenance provenance) {

    public ModuleResult module(String name) {
        return modules.stream().filter(m -> m.module().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no module '" + name + "' in this result"));
    }
}
