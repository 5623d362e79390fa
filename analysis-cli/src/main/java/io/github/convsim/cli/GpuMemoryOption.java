package io.github.convsim.cli;

import picocli.CommandLine.Option;

/** {@code --gpu-memory}, for every command that can run on the cuda backend. */
final class GpuMemoryOption {
    @Option(names = "--gpu-memory", paramLabel = "SIZE", description = {"Most GPU memory the cuda backend holds at"
            + " once, e.g. 40GiB or 500MB (default: all but 10 %% of what is free when it opens). A batch that does not"
            + " fit runs in smaller parts; only a single layer larger than SIZE is an error."})
    String gpuMemory;

    /**
     * --gpu-memory in bytes, 0 when not given; refused with {@code backend} cpu, where it would do nothing ({@code
     * defaultNote} says when cpu is the command's default rather than the user's choice).
     */
    long bytesFor(String backend, String defaultNote) {
        if (gpuMemory == null) {
            return 0;
        }
        if (backend.trim().equalsIgnoreCase("cpu")) {
            throw new IllegalArgumentException("--gpu-memory is the cuda backend's limit and does nothing with"
                    + " --backend cpu" + defaultNote + ": add --backend cuda or auto, or leave --gpu-memory out");
        }
        return SynthCommand.parseSize("--gpu-memory", gpuMemory);
    }
}
