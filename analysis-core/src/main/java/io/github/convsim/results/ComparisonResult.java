package io.github.convsim.results;

import java.util.List;

/**
 * Several adapters on one base compared layer by layer.
 *
 * @param steps training step of each adapter when they are the checkpoint-N directories of one run (ordered by step),
 *              else null
 * @param notes what reading each adapter noted (a base mismatch allowed, a CondLoRA checkpoint, ...), prefixed with
 *              its name; the same directory given twice; what was left out because not every adapter has it (a module,
 *              some layers of a module), naming who has it
 * @param conditions cond(W0) of every layer solved, module by module (the adapters share the base, so its W0)
 */
public record ComparisonResult(List<String> adapters, List<Integer> steps, List<ComparisonMap> maps,
                               Provenance provenance, List<String> notes, List<LayerCondition> conditions) {

    public ComparisonResult(List<String> adapters, List<Integer> steps, List<ComparisonMap> maps,
                            Provenance provenance) {
        this(adapters, steps, maps, provenance, List.of(), List.of());
    }

    public boolean isTrajectory() {
        return steps != null;
    }
}
