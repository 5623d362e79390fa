package io.github.convsim.linalg;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * The processor the CPU arithmetic runs on: its model and the instruction-set flags that decide which kernels OpenBLAS
 * picks (avx2, avx512f, avx512_bf16, amx). Read from /proc/cpuinfo on Linux; elsewhere the model is the JVM's
 * os.arch and no flags are known.
 */
public record CpuIdentity(String model, List<String> flags) {
    /** The flags worth recording: the ones that move OpenBLAS between its Haswell, SkylakeX, Cooperlake, SPR kernels. */
    private static final List<String> RELEVANT = List.of("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16",
            "asimd", "sve");

    private static final CpuIdentity CURRENT = read(Path.of("/proc/cpuinfo"));

    public static CpuIdentity current() {
        return CURRENT;
    }

    static CpuIdentity read(Path cpuinfo) {
        String model = null;
        Set<String> present = Set.of();
        try {
            for (String line : Files.readAllLines(cpuinfo)) {
                int colon = line.indexOf(':');
                if (colon < 0) {
                    continue;
                }
                String key = line.substring(0, colon).trim();
                String value = line.substring(colon + 1).trim();
                if (model == null && (key.equals("model name") || key.equals("Model") || key.equals("cpu model"))) {
                    model = value;
                } else if (present.isEmpty() && (key.equals("flags") || key.equals("Features"))) {
                    present = new HashSet<>(Arrays.asList(value.split("\\s+")));
                }
                if (model != null && !present.isEmpty()) {
                    break;
                }
            }
        } catch (IOException | RuntimeException e) {
            // not Linux, or unreadable: the model falls back to the architecture below
        }
        List<String> flags = new ArrayList<>();
        for (String f : RELEVANT) {
            if (present.contains(f)) {
                flags.add(f);
            }
        }
        return new CpuIdentity(model == null ? "unknown " + System.getProperty("os.arch") + " CPU" : model,
                List.copyOf(flags));
    }
}
