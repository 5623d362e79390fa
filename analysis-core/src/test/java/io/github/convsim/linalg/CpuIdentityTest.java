package io.github.convsim.linalg;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The processor's model and the flags that choose OpenBLAS's kernels, read from /proc/cpuinfo. */
class CpuIdentityTest {
    @TempDir
    Path dir;

    @Test
    void intelWithAvx512AndAmx() throws Exception {
        Path f = dir.resolve("cpuinfo");
        Files.writeString(f, """
                processor\t: 0
                vendor_id\t: GenuineIntel
                cpu family\t: 6
                model\t\t: 143
                model name\t: Intel(R) Xeon(R) Platinum 8480+
                flags\t\t: fpu sse2 avx avx2 fma avx512f avx512dq avx512_bf16 amx_bf16 amx_tile amx_int8 fma

                processor\t: 1
                model name\t: Intel(R) Xeon(R) Platinum 8480+
                """);
        CpuIdentity c = CpuIdentity.read(f);
        assertEquals("Intel(R) Xeon(R) Platinum 8480+", c.model());
        assertEquals(List.of("avx2", "fma", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16"), c.flags());
    }

    @Test
    void armFeaturesAndAMissingFile() throws Exception {
        Path f = dir.resolve("cpuinfo");
        Files.writeString(f, "processor\t: 0\nFeatures\t: fp asimd evtstrm sve\nCPU implementer\t: 0x41\n");
        CpuIdentity arm = CpuIdentity.read(f);
        assertEquals(List.of("asimd", "sve"), arm.flags());
        assertTrue(arm.model().startsWith("unknown "), arm.model());
        CpuIdentity none = CpuIdentity.read(dir.resolve("absent"));
        assertEquals(List.of(), none.flags());
        assertTrue(none.model().contains(System.getProperty("os.arch")), none.model());
    }
}
