package io.github.convsim.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.PeftConfig;
import io.github.convsim.io.SafetensorsFile;
import io.github.convsim.io.TorchStateDict;
import io.github.convsim.io.WeightSource;
import io.github.convsim.io.WeightSources;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Coverage-guided fuzzing of every reader of untrusted input (Jazzer). A reader may accept an input or refuse it with
 * a {@link CheckpointException}; anything else (another exception, a hang over 5 s, memory beyond what the file could
 * hold) is a finding. Plain {@code mvn verify} replays the seeds under {@code src/test/resources/.../*Inputs/} and
 * every past finding; {@code JAZZER_FUZZ=1} fuzzes (see .ci/run and bench/fuzz.sh).
 */
class ReaderFuzzTest {
    static Path dir;
    /** Runs each input with a deadline; JUnit's @Timeout would cover the whole fuzzing run, not one input. */
    static final ExecutorService WATCHDOG = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "fuzz-input");
        t.setDaemon(true);
        return t;
    });

    interface Input {
        void run() throws IOException;
    }

    /** A hang over 5 s is a finding. */
    static void withinFiveSeconds(Input input) throws IOException {
        Future<?> f = WATCHDOG.submit(() -> {
            input.run();
            return null;
        });
        try {
            f.get(5, TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            f.cancel(true);
            throw new AssertionError("input took more than 5 s: a hang");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            if (e.getCause() instanceof Error err) {
                throw err;
            }
            throw new AssertionError(e.getCause());
        }
    }

    @BeforeAll
    static void scratch() throws IOException {
        dir = Files.createTempDirectory("convsim-fuzz");
    }

    @AfterAll
    static void clean() throws IOException {
        try (var s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        }
    }

    private static Path write(String name, byte[] data) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, data);
        return p;
    }

    /** Reads every tensor; what comes back can never exceed what the file holds. */
    private static void readAll(WeightSource s, long fileBytes) throws CheckpointException {
        for (String name : s.names()) {
            long numel = s.info(name).numel();
            if (numel > 1 << 22) {
                continue; // a valid but large declaration: reading it is not the reader's risk, allocating is
            }
            double[] v = s.readDoubles(name);
            assertTrue(v.length == numel, "read " + v.length + " elements of " + numel);
        }
        assertTrue(s.names().size() <= fileBytes, "more tensors than bytes");
    }

    @FuzzTest(maxDuration = "40s")
    void safetensors(byte[] input) throws IOException {
        withinFiveSeconds(() -> safetensorsInput(input));
    }

    private static void safetensorsInput(byte[] input) throws IOException {
        Path p = write("f.safetensors", input);
        try (SafetensorsFile f = SafetensorsFile.open(p)) {
            readAll(f, input.length);
        } catch (CheckpointException refused) {
            assertTrue(refused.getMessage().startsWith(p.toString()), refused.getMessage());
        }
    }

    @FuzzTest(maxDuration = "40s")
    void torchZip(byte[] input) throws IOException {
        withinFiveSeconds(() -> torchZipInput(input));
    }

    private static void torchZipInput(byte[] input) throws IOException {
        Path p = write("f.bin", input);
        try (TorchStateDict f = TorchStateDict.open(p)) {
            readAll(f, input.length);
        } catch (CheckpointException refused) {
            assertTrue(refused.getMessage().startsWith(p.toString()), refused.getMessage());
        }
    }

    @FuzzTest(maxDuration = "40s")
    void shardedIndex(byte[] input) throws IOException {
        withinFiveSeconds(() -> shardedIndexInput(input));
    }

    private static void shardedIndexInput(byte[] input) throws IOException {
        Path shardDir = Files.createDirectories(dir.resolve("sharded"));
        Path shard = shardDir.resolve("model-00001-of-00001.safetensors");
        if (!Files.exists(shard)) {
            new io.github.convsim.io.SafetensorsWriter()
                    .add("w.weight", io.github.convsim.io.Dtype.F32, new long[] {2, 2}, new double[] {1, 2, 3, 4})
                    .write(shard);
        }
        Path index = write("sharded/model.safetensors.index.json", input);
        try (WeightSource s = WeightSources.open(index)) {
            readAll(s, input.length + Files.size(shard));
        } catch (CheckpointException refused) {
            assertTrue(refused.getMessage().startsWith(shardDir.toString()), refused.getMessage());
        }
    }

    @FuzzTest(maxDuration = "40s")
    void adapterConfig(byte[] input) throws IOException {
        withinFiveSeconds(() -> adapterConfigInput(input));
    }

    private static void adapterConfigInput(byte[] input) throws IOException {
        Path p = write("adapter_config.json", input);
        try {
            PeftConfig c = PeftConfig.read(p);
            for (String path : new String[] {"model.layers.0.self_attn.q_proj", "bert.encoder.layer.11.attention."
                    + "self.value", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!"}) {
                int r = c.rankFor(path);
                c.alphaFor(path);
                c.targets(path);
                assertTrue(r > 0, "rank " + r);
                c.scalingFor(path, r);
            }
        } catch (CheckpointException refused) {
            assertTrue(refused.getMessage().startsWith(p.toString()), refused.getMessage());
        } catch (io.github.convsim.io.PatternTimeoutException refused) {
            assertTrue(refused.getMessage().contains("takes too long"), refused.getMessage());
        }
    }
}
