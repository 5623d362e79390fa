package io.github.convsim.results;

import static org.junit.jupiter.api.Assertions.*;

import io.github.convsim.TestData;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ProvenanceTest {
    @TempDir
    Path dir;

    @Test
    void sha256MatchesKnownDigestsWhicheverWayItIsComputed() throws Exception {
        Path abc = dir.resolve("name with spaces");
        Files.write(abc, "abc".getBytes(StandardCharsets.US_ASCII));
        String expected = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; // FIPS 180-2 example
        assertEquals(expected, Provenance.sha256(abc));
        assertEquals(expected, Provenance.javaSha256(abc));
        // the bundled demo's published checksum (data/README.md)
        assertEquals("f007d7f7184519489a0ac0b20dec7468879809fd452c08d3bc75321581928b9e",
                Provenance.sha256(TestData.bertBase()));
    }

    /**
     * Each external hasher gives the JDK's digest, on a file whose name could pass for an option and on an empty one;
     * one that is missing or fails gives null, so the next is asked. The CI machine has both (openssl and coreutils).
     */
    @Test
    void everyExternalHasherAgreesWithTheJdkAndAMissingOneGivesWay() throws Exception {
        Path odd = dir.resolve("-r name");
        Files.write(odd, new byte[] {0, 1, 2, (byte) 255});
        Path empty = Files.createFile(dir.resolve("empty"));
        for (java.util.List<String> hasher : Provenance.HASHERS) {
            for (Path f : new Path[] {odd, empty, TestData.bertBase()}) {
                assertEquals(Provenance.javaSha256(f), Provenance.externalSha256(hasher, f), hasher + " on " + f);
            }
        }
        assertNull(Provenance.externalSha256(java.util.List.of("convsim-no-such-hasher"), odd));
        assertNull(Provenance.externalSha256(java.util.List.of("false"), odd));
        assertNull(Provenance.externalSha256(java.util.List.of("echo", "not a digest"), odd));
    }
}
