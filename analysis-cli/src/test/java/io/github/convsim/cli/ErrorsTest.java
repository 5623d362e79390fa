package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Bad options exit 2, bad inputs exit 3, with one line naming the problem and no output left behind. */
class ErrorsTest {
    @TempDir
    Path dir;

    private static final String DEMO = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8").toString();

    private void assertOneLine(CliRunner.Result r, int code, String fragment) throws Exception {
        assertEquals(code, r.exit(), r.err());
        String[] lines = r.err().strip().split("\n");
        assertTrue(lines[0].startsWith("convsim: "), r.err());
        assertTrue(r.err().contains(fragment), r.err());
        assertFalse(r.err().contains("\tat "), "no stack trace: " + r.err());
        try (var s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().startsWith("out")
                    || p.getFileName().toString().startsWith(".out")), "nothing written");
        }
    }

    /** --draws 0 is refused with the way to draw none, and that way runs and says why there is no verdict. */
    @Test
    void noDrawsNamesTheNullsToLeaveOut() throws Exception {
        Path out = dir.resolve("no-draws");
        assertOneLine(CliRunner.run("analyze", "--out", out.toString(), "--draws", "0"), 2,
                "to draw none, leave them out (--nulls analytic, with no verdicts)");
        CliRunner.Result r = CliRunner.run("analyze", "--out", out.toString(), "--draws", "0", "--nulls", "analytic",
                "--modules", "query");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("query C_A (left, i=8, j=8): average 0.0112; random subspaces give 0.0104. No"
                + " sampled null was drawn (gaussian, w0), so there is no verdict."), r.out());
    }

    @Test
    void badOptionsExitTwo() throws Exception {
        String out = dir.resolve("out").toString();
        // each names what the option takes
        assertOneLine(CliRunner.run("analyze", "--out", out, "--mode", "magic"), 2,
                "--mode: unknown mode 'magic' (expected paper, lstsq, pinv or ridge)");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--nulls", "w1"), 2,
                "--nulls: unknown null model 'w1' (expected gaussian, w0 or analytic)");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--factors", "C"), 2,
                "--factors: unknown factor 'C' (expected A, B or dW)");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--side", "up"), 2, "--side");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--i", "9"), 2, "exceed the rank r=8");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--modules", "key"), 2, "no module 'key'");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--draws", "1"), 2, "at least 2 draws");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--backend", "cuda"), 2, "backend 'cuda'");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--gpu-memory", "lots"), 2,
                "--gpu-memory: cannot read 'lots' as a size");
        assertOneLine(CliRunner.run("condlora", "fit", "--out", out, "--backend", "auto", "--gpu-memory", "-4GiB"), 2,
                "--gpu-memory: cannot read '-4GiB'");
        // the cuda backend's limit where the cpu backend runs: it did nothing, silently
        assertOneLine(CliRunner.run("condlora", "fit", "--out", out, "--gpu-memory", "4GiB"), 2,
                "--gpu-memory is the cuda backend's limit and does nothing with --backend cpu (condlora fit's"
                        + " default): add --backend cuda or auto, or leave --gpu-memory out");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--backend", "cpu", "--gpu-memory", "4GiB"), 2,
                "--gpu-memory is the cuda backend's limit and does nothing with --backend cpu: add");
        assertOneLine(CliRunner.run("compare", "--out", out, "--backend", "CPU", "--gpu-memory", "4GiB", DEMO, DEMO),
                2, "--gpu-memory is the cuda backend's limit and does nothing with --backend cpu: add");
        assertOneLine(CliRunner.run("condlora", "fit", "--out", out, "--backend", "cuda"), 2, "backend 'cuda'");
        // a name that is no backend at all (it was "not built into this installation; it needs Java 22+")
        assertOneLine(CliRunner.run("condlora", "fit", "--out", out, "--backend", "gpu"), 2,
                "unknown backend 'gpu' (expected auto, cpu, cuda, ");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--frobnicate"), 2, "Unknown option");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--precision", "fp16"), 2, "--precision");
        // a mode's parameter without its mode would be silently unused: paper mode ran where ridge was meant
        assertOneLine(CliRunner.run("analyze", "--out", out, "--lambda", "0.01"), 2, "--lambda is ridge's parameter and"
                + " does nothing in the default mode: add --mode ridge, or leave --lambda out");
        assertOneLine(CliRunner.run("compare", "--out", out, "--mode", "ridge", "--rcond", "1e-4",
                DEMO, DEMO), 2,
                "--rcond is pinv's cut-off and does nothing with --mode ridge: add --mode pinv, or leave --rcond out");
        // options of the sampled nulls and of the tests, given where there are none: the report recorded them as used
        assertOneLine(CliRunner.run("analyze", "--out", out, "--nulls", "analytic", "--draws", "100"), 2,
                "--draws is for the sampled nulls (gaussian, w0) and does nothing with --nulls analytic: add one of"
                        + " them to --nulls, or leave --draws out");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--nulls", "none", "--seed", "3"), 2,
                "--seed is for the sampled nulls (gaussian, w0) and does nothing with --nulls none: ");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--nulls", "analytic", "--correction", "bh"), 2,
                "--correction is for the sampled nulls (gaussian, w0) and does nothing with --nulls analytic: ");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--controls", "A,x"), 2,
                "--controls: unknown control 'x' (expected A, B, W0 or none)");
        // refused before the analysis (compare parsed it after comparing every adapter, then failed)
        assertOneLine(CliRunner.run("analyze", "--out", out, "--correction", "bonferoni"), 2,
                "--correction: unknown correction 'bonferoni' (expected holm, bh or none)");
        assertOneLine(CliRunner.run("compare", "--out", out, "--correction", "bonferoni",
                DEMO, DEMO), 2,
                "--correction: unknown correction 'bonferoni' (expected holm, bh or none)");

        assertOneLine(CliRunner.run("analyze", "--out", out, "--cond", "guess"), 2,
                "--cond: unknown cond method 'guess' (expected auto, lanczos, exact or estimate)");
        assertOneLine(CliRunner.run("synth", "--out", out, "--shape", "gpt-5"), 2, "unknown shape 'gpt-5'");
        // an empty system is the user's mistake, not wrong arithmetic (it was exit 1, "OpenBLAS ... computed a solve
        // by LU wrongly ... not finite")
        assertOneLine(CliRunner.run("bench", "--n", "0"), 2, "--n, --count and --reps must be at least 1, got 0, 4 and 3");
        assertOneLine(CliRunner.run("bench", "--n", "8", "--rank", "9"), 2, "--rank must be from 1 to --n (8), got 9");
        assertOneLine(CliRunner.run("synth", "--out", out, "--shape", "tiny-llama", "--shard-size", "lots"), 2,
                "--shard-size");
        assertOneLine(CliRunner.run("synth", "--out", out, "--shape", "tiny-llama", "--targets", "mlp"), 2,
                "--targets");
        assertOneLine(CliRunner.run("synth", "--out", out, "--shape", "tiny-llama", "--rank", "0"), 2,
                "rank must be positive");
    }

    /**
     * A LoRA of rank above W0's smaller side (r = 10 on 6 x 6 weights) is refused by analyze and compare in one line
     * naming module, layer and shapes; it failed deep inside ("basis of layer index 0 has 6 vectors, fewer than 10";
     * with --i 6, "orthonormalBasis: problem 0 is 6x10"). synth no longer writes one.
     */
    @Test
    void aRankAboveW0sSmallerSideIsRefused() throws Exception {
        java.util.Random rng = new java.util.Random(5);
        int n = 6;
        int r = 10;
        io.github.convsim.io.SafetensorsWriter base = new io.github.convsim.io.SafetensorsWriter();
        io.github.convsim.io.SafetensorsWriter lora = new io.github.convsim.io.SafetensorsWriter();
        for (int l = 0; l < 3; l++) {
            base.add("bert.encoder.layer." + l + ".attention.self.query.weight", io.github.convsim.io.Dtype.F64,
                    new long[] {n, n}, rng.doubles(n * n).toArray());
            String p = "base_model.model.bert.encoder.layer." + l + ".attention.self.query";
            lora.add(p + ".lora_A.weight", io.github.convsim.io.Dtype.F64, new long[] {r, n}, rng.doubles(r * n).toArray());
            lora.add(p + ".lora_B.weight", io.github.convsim.io.Dtype.F64, new long[] {n, r}, rng.doubles(n * r).toArray());
        }
        Path inputs = Files.createDirectories(dir.resolve("inputs"));
        Path basePath = inputs.resolve("base.safetensors");
        base.write(basePath);
        Path adapter = Files.createDirectories(inputs.resolve("r10"));
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"peft_type\": \"LORA\", \"r\": 10,"
                + " \"lora_alpha\": 10, \"target_modules\": [\"query\"]}");
        lora.write(adapter.resolve("adapter_model.safetensors"));
        String out = dir.resolve("out").toString();
        String refused = "module query layer 0 has rank r = 10 above the smaller side of its 6x6 W0: A and B then have"
                + " at most 6 independent directions, and convsim compares conversion matrices of r <= min(out, in) only"
                + " (--modules leaves the module out)";
        assertOneLine(CliRunner.run("analyze", adapter.toString(), "--base", basePath.toString(), "--out", out), 2,
                refused);
        assertOneLine(CliRunner.run("analyze", adapter.toString(), "--base", basePath.toString(), "--out", out, "--i",
                "6", "--j", "6"), 2, refused);
        assertOneLine(CliRunner.run("compare", adapter.toString(), adapter.toString(), "--base", basePath.toString(),
                "--out", out), 2, refused);
        assertOneLine(CliRunner.run("synth", "--out", out, "--shape", "tiny-llama", "--rank", "17"), 2,
                "rank 17 is above the smaller side of tiny-llama's k_proj (16x64), which convsim cannot analyse; use"
                        + " --rank 16 or less");
    }

    @Test
    void badInputsExitThree() throws Exception {
        String out = dir.resolve("out").toString();
        Path missing = dir.resolve("nothing-here");
        assertOneLine(CliRunner.run("analyze", "--out", out, "--adapter", missing.toString()), 3,
                missing + ": no such file or directory");
        // base weights where the adapter belongs: the file, or a model directory
        String base = CliRunner.repo().resolve("data/bert-base-uncased.query-value.safetensors").toString();
        assertOneLine(CliRunner.run("analyze", "--out", out, base), 3, base + ": not a directory: an adapter is a"
                + " directory holding adapter_config.json");
        assertOneLine(CliRunner.run("analyze", "--out", out, base), 3, "base weights go to --base");
        // and the other way round: an adapter (its weights file or its directory) where the base belongs (it said
        // "module '...query' has no weight in the base", as if the base were of another model)
        Path demo = CliRunner.repo().resolve("data/adapters/bert-base-uncased-imdb-lora-r8");
        for (Path asBase : List.of(demo.resolve("adapter_model.safetensors"), demo)) {
            assertOneLine(CliRunner.run("analyze", "--out", out, "--base", asBase.toString()), 3,
                    demo.resolve("adapter_model.safetensors") + ": holds LoRA factors ('base_model.model.bert.encoder"
                            + ".layer.0.attention.self.query.lora_A.weight'), where the base model's weights belong: it"
                            + " is an adapter's weights file, and --base takes the model the adapter was trained on");
        }
        // an adapter of another model (GPT-2's, whose module paths name no family) against BERT's base: no module
        // matches, and the error says why from the config's base_model_name_or_path and the base's keys
        Path gpt2 = CliRunner.repo().resolve("data/adapters/gpt2-reviews-lora-r8");
        assertOneLine(CliRunner.run("analyze", "--out", out, gpt2.toString(), "--base", base), 3,
                gpt2.resolve("adapter_model.safetensors") + ": module 'transformer.h.0.attn.c_attn' has no weight in the"
                        + " base " + base + " (looked for 'transformer.h.0.attn.c_attn.weight' under any prefix): it is"
                        + " not the adapter's base, as " + gpt2.resolve("adapter_config.json") + " names the base"
                        + " 'gpt2' (gpt2) but the base is bert (its keys); pass the base the adapter was trained on");
        Path model = Files.createDirectories(dir.resolve("model"));
        Files.writeString(model.resolve("config.json"), "{}");
        assertOneLine(CliRunner.run("analyze", "--out", out, model.toString()), 3, model + ": not a PEFT adapter: it"
                + " holds no adapter_config.json (base weights go to --base)");
        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, new byte[] {2, 0, 0, 0, 0, 0, 0, 0, '{', '}', ' ', ' '});
        assertOneLine(CliRunner.run("analyze", "--out", out, "--base", corrupt.toString()), 3, corrupt.toString());
        assertOneLine(CliRunner.run("inspect", "--base", corrupt.toString()), 3, "after the last tensor");
        Path adapter = dir.resolve("adapter");
        Files.createDirectories(adapter);
        Files.writeString(adapter.resolve("adapter_config.json"), "{\"init_lora_weights\": \"pissa\"}");
        assertOneLine(CliRunner.run("inspect", adapter.toString()), 3, "rewrites the base weights");
    }

    @Test
    void wrongArithmeticExitsOneWithOneLineAndNothingWritten() throws Exception {
        CliRunner.Result r = CliRunner.run("analyze", "--out", dir.resolve("out").toString(), "--backend",
                "perturbed-lu");
        assertOneLine(r, 1, "failed convsim's arithmetic self-check: dgetrf+getrs n=128");
        assertEquals(1, r.err().strip().split("\n").length, r.err());
        assertTrue(r.err().contains(io.github.convsim.linalg.CpuIdentity.current().model()), r.err());
        assertTrue(r.err().contains("no analysis was run"), r.err());
        assertTrue(r.err().contains("OPENBLAS_CORETYPE="), r.err());
    }

    @Test
    void aDefectIsOneLineWithItsTraceInALogFile() throws Exception {
        CliRunner.Result r = CliRunner.run("analyze", "--out", dir.resolve("out").toString(), "--backend", "crashing");
        assertOneLine(r, 1, "internal error: deliberate defect for the tests (a defect in convsim; its trace is in ");
        String log = r.err().replaceFirst("(?s).*its trace is in (\\S+): please report it.*", "$1");
        assertTrue(Files.readString(Path.of(log)).contains("at io.github.convsim.linalg.Backends.checked"), log);
        Files.delete(Path.of(log));
        CliRunner.Result debug = CliRunner.run("analyze", "--out", dir.resolve("out").toString(), "--backend",
                "crashing", "--debug");
        assertEquals(1, debug.exit());
        assertTrue(debug.err().contains("\tat io.github.convsim.linalg.Backends.checked"), "--debug prints the trace");
    }

    @Test
    void outputThatCannotBeWrittenExitsFour() throws Exception {
        Files.writeString(dir.resolve("file"), "x");
        assertOneLine(CliRunner.run("analyze", "--out", dir.resolve("file/report").toString()), 4,
                "cannot write to " + dir.resolve("file/report") + ": a file is in the way");
        assertOneLine(CliRunner.run("analyze", "--out", dir.toString(), "--force"), 4,
                "convsim replaces only its own reports");
    }

    @Test
    void controlCharactersFromAFileAreShownEscaped() {
        String evil = "layer\u001b[32m all good\u001b[0m\nfake line\u0007";
        String shown = Main.oneLine(new IllegalArgumentException(evil));
        assertEquals("layer\\u001b[32m all good\\u001b[0m fake line\\u0007", shown);
        String flood = Main.oneLine(new IllegalArgumentException("x".repeat(100_000)));
        assertTrue(flood.length() < Main.MAX_MESSAGE + 40, "capped: " + flood.length());
        assertTrue(flood.endsWith("(100000 characters)"), flood.substring(flood.length() - 30));
    }

    @Test
    void inspectPrintsTheModuleTable() {
        CliRunner.Result r = CliRunner.run("inspect");
        assertEquals(0, r.exit(), r.err());
        assertTrue(r.out().contains("24 adapted weights: query, value in 12 layers"), r.out());
        assertTrue(r.out().contains("bert.encoder.layer.11.attention.self.value.weight"), r.out());
        assertTrue(r.out().contains("modules_to_save"), r.out());
    }

    @Test
    void helpTeaches() {
        CliRunner.Result r = CliRunner.run("analyze", "--help");
        assertEquals(0, r.exit());
        assertTrue(r.out().contains("summary.json"));
        assertTrue(r.out().contains("Examples:"));
    }

    /**
     * Running out of memory inside a class initialiser or a service lookup reaches the command as another Error (or an
     * exception) caused by it: still a shortage, exit code 5 and the one line, not an internal error.
     */
    @Test
    void aShortageWrappedInAnotherErrorIsStillAShortage() {
        OutOfMemoryError heap = new OutOfMemoryError("Java heap space");
        Error lookup = new java.util.ServiceConfigurationError("Locale provider adapter \"CLDR\" cannot be instantiated",
                new RuntimeException("provider", heap));
        assertSame(heap, Main.outOfMemoryIn(lookup));
        assertSame(heap, Main.outOfMemoryIn(heap));
        assertNull(Main.outOfMemoryIn(new IllegalStateException("no shortage", new StackOverflowError())));
        String line = Main.outOfMemory(Main.outOfMemoryIn(new ExceptionInInitializerError(heap)), "analyze");
        assertEquals("convsim: out of memory (Java heap space): run it with a larger heap, e.g."
                + " CONVSIM_JAVA_OPTS=-Xmx8g ./convsim analyze", line);
    }

    /** An Error is a defect like any other (it passed picocli's handler and ended in a Java trace and exit 1). */
    @Test
    void anErrorIsADefectOnOneLineWithItsTraceInALogFile() throws Exception {
        java.io.StringWriter text = new java.io.StringWriter();
        int code = Main.failure(new StackOverflowError(), false, new java.io.PrintWriter(text, true), "analyze");
        assertEquals(1, code);
        String line = text.toString().strip();
        assertFalse(line.contains("\n"), line);
        assertTrue(line.startsWith("convsim: internal error: StackOverflowError (a defect in convsim; its trace is in "),
                line);
        Path log = Path.of(line.replaceFirst(".*its trace is in (\\S+): please report it.*", "$1"));
        assertTrue(Files.readString(log).contains("java.lang.StackOverflowError\n\tat io.github.convsim.cli.ErrorsTest"),
                Files.readString(log));
        Files.delete(log);

        java.io.StringWriter debug = new java.io.StringWriter();
        assertEquals(1, Main.failure(new StackOverflowError(), true, new java.io.PrintWriter(debug, true)));
        assertTrue(debug.toString().contains("; the trace follows)\njava.lang.StackOverflowError\n\tat "),
                debug.toString());
    }

    /** A mapped file that shrank under a read surfaces as Java's InternalError: the input's problem, exit 3. */
    @Test
    void aMappedFileThatShrankIsTheInputsProblem() throws Exception {
        java.io.StringWriter text = new java.io.StringWriter();
        int code = Main.failure(new InternalError("a fault occurred in a recent unsafe memory access operation in"
                + " compiled Java code"), false, new java.io.PrintWriter(text, true), "analyze");
        assertEquals(3, code);
        assertEquals("convsim: a file convsim had mapped into memory shrank while it was read (a checkpoint rewritten"
                + " by another program?): run again once it is written", text.toString().strip());
        java.io.StringWriter other = new java.io.StringWriter();
        assertEquals(1, Main.failure(new InternalError("something else"), false, new java.io.PrintWriter(other, true)));
        assertTrue(other.toString().startsWith("convsim: internal error: something else (a defect"), other.toString());
        Files.delete(Path.of(other.toString().replaceFirst("(?s).*its trace is in (\\S+): please report it.*", "$1")));
    }
}
