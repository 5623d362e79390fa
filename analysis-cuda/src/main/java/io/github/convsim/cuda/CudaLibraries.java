package io.github.convsim.cuda;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Finds the CUDA runtime, cuBLAS and cuSOLVER that the machine already has, by soname, for CUDA 13 and 12: first in
 * the directories the user names ({@code convsim.cuda.lib} or {@code CONVSIM_CUDA_LIB}, colon-separated), then wherever the dynamic
 * loader looks (LD_LIBRARY_PATH, the ld.so cache), then in the usual install directories.
 */
public final class CudaLibraries {
    /** Sonames tried, newest first: CUDA 13 ships libcublas.so.13 and libcusolver.so.12, CUDA 12 .12 and .11. */
    static final List<String> CUDART = List.of("libcudart.so.13", "libcudart.so.12");
    static final List<String> CUBLAS = List.of("libcublas.so.13", "libcublas.so.12");
    static final List<String> CUSOLVER = List.of("libcusolver.so.12", "libcusolver.so.11");
    static final List<String> USUAL_DIRS = List.of("/usr/local/cuda/lib64", "/usr/local/cuda/targets/x86_64-linux/lib",
            "/usr/lib/x86_64-linux-gnu");

    private final Linker linker = Linker.nativeLinker();
    final SymbolLookup cudart;
    final SymbolLookup cublas;
    final SymbolLookup cusolver;
    final List<String> loaded = new ArrayList<>();

    private CudaLibraries(Arena arena, List<Path> userDirs) {
        this.cudart = load(arena, "CUDA runtime", CUDART, userDirs);
        this.cublas = load(arena, "cuBLAS", CUBLAS, userDirs);
        this.cusolver = load(arena, "cuSOLVER", CUSOLVER, userDirs);
    }

    /** Loads the three libraries for the life of {@code arena}. */
    public static CudaLibraries load(Arena arena) {
        return new CudaLibraries(arena, userDirs());
    }

    /** Directories named by -Dconvsim.cuda.lib and CONVSIM_CUDA_LIB, each a colon-separated list. */
    static List<Path> userDirs() {
        List<Path> dirs = new ArrayList<>();
        for (String s : new String[] {System.getProperty("convsim.cuda.lib"), System.getenv("CONVSIM_CUDA_LIB")}) {
            if (s != null) {
                for (String part : s.split(":")) {
                    if (!part.isBlank()) {
                        dirs.add(Path.of(part));
                    }
                }
            }
        }
        return dirs;
    }

    private SymbolLookup load(Arena arena, String what, List<String> sonames, List<Path> userDirs) {
        List<String> tried = new ArrayList<>();
        for (Path dir : userDirs) {
            for (String so : sonames) {
                Path p = dir.resolve(so);
                tried.add(p.toString());
                if (Files.exists(p)) {
                    loaded.add(p.toString());
                    return SymbolLookup.libraryLookup(p, arena);
                }
            }
        }
        for (String so : sonames) {
            tried.add(so);
            try {
                SymbolLookup l = SymbolLookup.libraryLookup(so, arena);
                loaded.add(so);
                return l;
            } catch (IllegalArgumentException notFound) {
                // next soname
            }
        }
        for (String dir : USUAL_DIRS) {
            for (String so : sonames) {
                Path p = Path.of(dir, so);
                if (Files.exists(p)) {
                    loaded.add(p.toString());
                    return SymbolLookup.libraryLookup(p, arena);
                }
            }
        }
        throw new CudaException(what + " not found (tried " + String.join(", ", sonames) + " through the dynamic loader"
                + (userDirs.isEmpty() ? "" : ", in " + userDirs) + " and in " + USUAL_DIRS + "); install CUDA 12 or 13,"
                + " or point -Dconvsim.cuda.lib / CONVSIM_CUDA_LIB at the directory holding " + sonames.get(0));
    }

    /** A downcall handle to {@code name} in {@code lib}. */
    MethodHandle function(SymbolLookup lib, String name, FunctionDescriptor descriptor) {
        return linker.downcallHandle(lib.find(name).orElseThrow(
                () -> new CudaException("symbol " + name + " missing from the loaded CUDA libraries " + loaded)),
                descriptor);
    }
}
