package io.github.convsim.io;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A hub cache laid out as huggingface_hub writes it: refs, snapshots of links into blobs. */
class HubCacheTest {
    static final String MAIN = "0123456789abcdef0123456789abcdef01234567";
    static final String V1 = "fedcba9876543210fedcba9876543210fedcba98";

    @TempDir
    Path dir;

    /** models--org--name with refs/main -> MAIN, refs/v1 -> V1, each snapshot's file a symlink to a blob. */
    static Path repo(Path hub, String org, String name) throws Exception {
        Path repo = Files.createDirectories(hub.resolve("models--" + org + "--" + name));
        Files.createDirectories(repo.resolve("refs"));
        Files.writeString(repo.resolve("refs/main"), MAIN);
        Files.writeString(repo.resolve("refs/v1"), V1 + "\n");
        for (String commit : List.of(MAIN, V1)) {
            Path blob = Files.writeString(Files.createDirectories(repo.resolve("blobs")).resolve("blob-" + commit),
                    "{\"revision\": \"" + commit + "\"}");
            Path snap = Files.createDirectories(repo.resolve("snapshots").resolve(commit));
            Files.createSymbolicLink(snap.resolve("adapter_config.json"), snap.relativize(blob));
        }
        return repo;
    }

    @Test
    void aRepositoryIsFoundByNameBranchTagAndCommit() throws Exception {
        Path hub = Files.createDirectories(dir.resolve("hub"));
        Path repo = repo(hub, "someone", "bert-imdb-lora");
        HubCache cache = HubCache.at(List.of(hub));
        assertEquals(repo.resolve("snapshots").resolve(MAIN), cache.snapshot("someone/bert-imdb-lora"));
        assertEquals(repo.resolve("snapshots").resolve(V1), cache.snapshot("someone/bert-imdb-lora@v1"));
        assertEquals(repo.resolve("snapshots").resolve(V1), cache.snapshot("someone/bert-imdb-lora@" + V1));
        assertEquals(repo.resolve("snapshots").resolve(V1), cache.snapshot("someone/bert-imdb-lora@fedcba98"));
        // the snapshot's files are links into blobs, read through
        assertTrue(Files.readString(cache.snapshot("someone/bert-imdb-lora@v1").resolve("adapter_config.json"))
                .contains(V1));
    }

    @Test
    void whatIsMissingIsAnErrorSayingWhereItLooked() throws Exception {
        Path hub = Files.createDirectories(dir.resolve("hub"));
        repo(hub, "someone", "bert-imdb-lora");
        HubCache cache = HubCache.at(List.of(hub));
        CheckpointException noRepo = assertThrows(CheckpointException.class, () -> cache.snapshot("other/model"));
        assertTrue(noRepo.getMessage().contains(hub.resolve("models--other--model").toString()), noRepo.getMessage());
        assertTrue(noRepo.getMessage().contains("huggingface-cli download other/model"), noRepo.getMessage());
        CheckpointException noRev = assertThrows(CheckpointException.class,
                () -> cache.snapshot("someone/bert-imdb-lora@v2"));
        assertTrue(noRev.getMessage().contains("no snapshot for revision 'v2'"), noRev.getMessage());
        // a ref may not climb out of refs/
        assertTrue(cache.find("someone/bert-imdb-lora@../../x").isEmpty());
    }

    @Test
    void theCacheIsWhereTheHubClientPutsIt() {
        Path home = Path.of("/home/u");
        assertEquals(Path.of("/c/hub"), only(HubCache.fromEnvironment(Map.of("HF_HUB_CACHE", "/c/hub",
                "HF_HOME", "/h"), home)));
        assertEquals(Path.of("/old"), only(HubCache.fromEnvironment(Map.of("HUGGINGFACE_HUB_CACHE", "/old"), home)));
        assertEquals(Path.of("/h/hub"), only(HubCache.fromEnvironment(Map.of("HF_HOME", "/h"), home)));
        assertEquals(Path.of("/x/huggingface/hub"), only(HubCache.fromEnvironment(Map.of("XDG_CACHE_HOME", "/x"),
                home)));
        assertEquals(Path.of("/home/u/.cache/huggingface/hub"), only(HubCache.fromEnvironment(Map.of(), home)));
    }

    @Test
    void onlyRepositoryIdsAreLookedUp() {
        assertTrue(HubCache.looksLikeRepoId("meta-llama/Llama-2-7b-hf"));
        assertTrue(HubCache.looksLikeRepoId("someone/lora.v2@refs-pr-1"));
        assertFalse(HubCache.looksLikeRepoId("./adapter"));
        assertFalse(HubCache.looksLikeRepoId("/abs/path"));
        assertFalse(HubCache.looksLikeRepoId("runs/imdb/checkpoint-100"));
        assertTrue(HubCache.looksLikeRepoId("bert-base-uncased"), "a legacy id without an org");
    }

    private static Path only(HubCache c) {
        assertEquals(1, c.roots().size());
        return c.roots().get(0);
    }
}
