package io.github.convsim.model;

import java.util.List;

/** An adapter resolved against its base: the modules, the tensors skipped with the reason, how it was read. */
record ResolvedModules(List<LoraModule> modules, List<SkippedTensor> skipped, List<String> notes) {}
