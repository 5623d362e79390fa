package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Adapters and bases named as PEFT users name them, resolved from a hub cache laid out as huggingface_hub writes it
 * (refs, snapshots of symlinks into blobs): the demo adapter as convsim-demo/bert-imdb-lora (main and a tag v1) and
 * the demo base as bert-base-uncased, the name its adapter_config.json gives. Each run is its own JVM with
 * HF_HUB_CACHE set, as a user's would be; nothing is downloaded.
 */
class HubCacheCommandTest {
    static final String MAIN = "1111111111111111111111111111111111111111";
    static final String V1 = "2222222222222222222222222222222222222222";

    @TempDir
    Path dir;

    /** A cached repository whose snapshots hold the given files as links to blobs. */
    static void cache(Path hub, String repo, List<Path> files, List<String> names) throws Exception {
        Path r = Files.createDirectories(hub.resolve("models--" + repo.replace("/", "--")));
        Files.createDirectories(r.resolve("refs"));
        Files.writeString(r.resolve("refs/main"), MAIN);
        Files.writeString(r.resolve("refs/v1"), V1);
        Path blobs = Files.createDirectories(r.resolve("blobs"));
        for (String commit : List.of(MAIN, V1)) {
            Path snap = Files.createDirectories(r.resolve("snapshots").resolve(commit));
            for (int k = 0; k < files.size(); k++) {
                Path blob = blobs.resolve("blob-" + names.get(k));
                if (!Files.exists(blob)) {
                    Files.createSymbolicLink(blob, files.get(k).toAbsolutePath());
                }
                Files.createSymbolicLink(snap.resolve(names.get(k)), snap.relativize(blob));
            }
        }
    }

    CliRunner.Result run(Path hub, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xss16m", "-Djava.awt.headless=true", "-Dconvsim.home=" + CliRunner.repo(), "-cp",
                System.getProperty("java.class.path"), "io.github.convsim.cli.Main"));
        cmd.addAll(List.of(args));
        Path out = Files.createTempFile(dir, "out", ".txt");
        Path err = Files.createTempFile(dir, "err", ".txt");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
        pb.environment().remove("HF_HOME");
        pb.environment().put("HF_HUB_CACHE", hub.toString());
        Process p = pb.start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS));
        return new CliRunner.Result(p.exitValue(), Files.readString(out), Files.readString(err));
    }

    @Test
    void anAdapterAndItsBaseAreFoundByName() throws Exception {
        Path hub = Files.createDirectories(dir.resolve("hub"));
        Path demo = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
        cache(hub, "convsim-demo/bert-imdb-lora", List.of(demo.resolve("adapter_config.json"),
                demo.resolve("adapter_model.safetensors")), List.of("adapter_config.json", "adapter_model.safetensors"));
        cache(hub, "bert-base-uncased", List.of(CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors")),
                List.of("model.safetensors"));

        CliRunner.Result r = run(hub, "analyze", "--adapter", "convsim-demo/bert-imdb-lora@v1", "--modules", "value",
                "--draws", "2", "--nulls", "w0", "--out", dir.resolve("report").toString());
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("base: " + hub.resolve("models--bert-base-uncased/snapshots/" + MAIN)), r.out());
        assertTrue(r.out().contains("base_model_name_or_path 'bert-base-uncased'") && r.out().contains("hub cache"),
                r.out());
        // the same numbers as the bundled demo: 0.0186 for value C_A
        assertTrue(r.out().contains("value C_A (left, i=8, j=8): average 0.0186"), r.out());
        String summary = Files.readString(dir.resolve("report/summary.json"));
        assertTrue(summary.contains("models--convsim-demo--bert-imdb-lora/snapshots/" + V1), "the v1 snapshot was read");

        CliRunner.Result inspect = run(hub, "inspect", "convsim-demo/bert-imdb-lora", "--base", "bert-base-uncased");
        assertEquals(0, inspect.exit(), inspect.err());
        assertTrue(inspect.out().contains("value"), inspect.out());

        CliRunner.Result missing = run(hub, "analyze", "--adapter", "convsim-demo/other-lora", "--out",
                dir.resolve("x").toString());
        assertEquals(Main.EXIT_INPUT, missing.exit(), missing.err());
        assertTrue(missing.err().contains("looked in " + hub.resolve("models--convsim-demo--other-lora")),
                missing.err());
        assertEquals(1, missing.err().lines().filter(l -> l.startsWith("convsim:")).count(), missing.err());
    }
}
