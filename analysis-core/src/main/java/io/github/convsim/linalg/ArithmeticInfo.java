package io.github.convsim.linalg;

import java.util.Map;

/**
 * What a backend's numbers are computed on, for provenance and for the one-line error when its arithmetic is wrong.
 *
 * @param summary one line: library, version and kernels, on which processor or device
 * @param details the same as named fields (CPU model and flags, OpenBLAS core and build, threads, environment)
 * @param workaround what a user can do when this arithmetic fails its checks
 */
public record ArithmeticInfo(String summary, Map<String, Object> details, String workaround) {
    public ArithmeticInfo {
        details = java.util.Collections.unmodifiableMap(new java.util.LinkedHashMap<>(details));
    }
}
