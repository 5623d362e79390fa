package io.github.convsim.linalg;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.bytedeco.javacpp.Loader;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.Pointer;
import org.bytedeco.openblas.global.openblas;

/**
 * Which OpenBLAS computes, and with which kernels. A DYNAMIC_ARCH build (the JavaCPP presets ship one) picks a kernel
 * table per CPU when it loads; the presets do not bind {@code openblas_get_corename}, so the core is found the way
 * that function finds it: the exported pointer {@code gotoblas} is compared with each exported {@code gotoblas_<CORE>}
 * table.
 *
 * @param version e.g. "OpenBLAS 0.3.31"
 * @param core the kernel table in use (e.g. "SKYLAKEX", "HASWELL"); the build target when not DYNAMIC_ARCH
 * @param buildTarget the target the library was compiled for (its baseline kernels)
 * @param dynamicArch whether the kernels were chosen at load time for this CPU
 * @param environment the OpenBLAS variables set in this process' environment, which change the kernels or threads
 */
public record OpenBlasIdentity(String version, String core, String buildTarget, boolean dynamicArch,
                               Map<String, String> environment) {
    /** x86-64 and arm64 kernel tables of OpenBLAS's dynamic.c / dynamic_arm64.c, most recent first. */
    private static final List<String> CORES = List.of("SAPPHIRERAPIDS", "COOPERLAKE", "SKYLAKEX", "HASWELL",
            "SANDYBRIDGE", "ZEN", "EXCAVATOR", "STEAMROLLER", "PILEDRIVER", "BULLDOZER", "NEHALEM", "BARCELONA",
            "OPTERON_SSE3", "OPTERON", "BOBCAT", "ATOM", "NANO", "DUNNINGTON", "PENRYN", "CORE2", "PRESCOTT", "ATHLON",
            "NORTHWOOD", "COPPERMINE", "KATMAI", "BANIAS", "NEOVERSEV2", "NEOVERSEV1", "NEOVERSEN2", "NEOVERSEN1",
            "CORTEXA710", "CORTEXA510", "CORTEXX2", "CORTEXX1", "ARMV8SVE", "A64FX", "VORTEX", "THUNDERX3T110",
            "THUNDERX2T99", "THUNDERX", "TSV110", "EMAG8180", "FALKOR", "CORTEXA73", "CORTEXA72", "CORTEXA57",
            "CORTEXA55", "CORTEXA53", "ARMV8");
    private static final List<String> VARIABLES = List.of("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS",
            "OPENBLAS_L2_SIZE", "OPENBLAS_THREAD_TIMEOUT", "OPENBLAS_VERBOSE", "GOTO_NUM_THREADS", "OMP_NUM_THREADS");

    /**
     * A string constant of the presets on the class path, read at run time: javac copies {@code static final String}
     * constants into the classes compiled against them, which would name the build's OpenBLAS, not the one loaded.
     */
    private static String loadedConstant(String name) {
        try {
            return String.valueOf(openblas.class.getField(name).get(null)).trim();
        } catch (ReflectiveOperationException e) {
            return "unknown";
        }
    }

    /** The loaded library's identity (the kernels are chosen once, when it loads). */
    public static OpenBlasIdentity current() {
        return Holder.CURRENT;
    }

    private static final class Holder {
        static final OpenBlasIdentity CURRENT = read();
    }

    private static OpenBlasIdentity read() {
        Loader.load(openblas.class);
        String target = loadedConstant("OPENBLAS_CHAR_CORENAME");
        Pointer table = Loader.addressof("gotoblas");
        String core = target;
        if (table != null) {
            long inUse = new LongPointer(table).get(0);
            core = "unknown";
            for (String c : CORES) {
                Pointer candidate = Loader.addressof("gotoblas_" + c);
                if (candidate != null && candidate.address() == inUse) {
                    core = c;
                    break;
                }
            }
        }
        Map<String, String> env = new LinkedHashMap<>();
        for (String v : VARIABLES) {
            String value = System.getenv(v);
            if (value != null) {
                env.put(v, value);
            }
        }
        return new OpenBlasIdentity(loadedConstant("OPENBLAS_VERSION"), core, target, table != null,
                java.util.Collections.unmodifiableMap(env));
    }
}
