package io.github.convsim.results;

import java.util.List;

/**
 * Several adapters on one base compared layer by layer.
 *
 * @param steps training step of each adapter when they are the checkpoint-N directories of one run (ordered by step),
 *              else null
 */
public record ComparisonResult(List<String> adapters, List<Integer> steps, List<ComparisonMap> maps,
                               Provenance provenance) {

    public boolean isTrajectory() {
        return steps != null;
    }
}
