package io.github.convsim.cli;

import picocli.CommandLine.Option;

/** {@code --gpu-memory}, for every command that can run on the cuda backend. */
final class GpuMemoryOption {
    @Option(names = "--gpu-memory", paramLabel = "SIZE", description = {"Most GPU memory the cuda backend holds at"
            + " once, e.g. 40GiB or 500MB (default: all but 10 %% of what is free when it opens). A batch that does not"
            + " fit runs in smaller parts; only a single layer larger than SIZE is an error."})
    String gpuMemory;

    /** --gpu-memory in bytes, 0 when not given. */
    long bytes() {
        return gpuMemory == null ? 0 : SynthCommand.parseSize("--gpu-memory", gpuMemory);
    }
}
