package io.github.convsim.results;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.linalg.Backends;
import io.github.convsim.model.LoraCheckpoint;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;

/**
 * Where a result came from, enough to reproduce and diff it: every input file's SHA-256, the adapter config, all
 * options and seeds, tool and runtime versions, the backend and the arithmetic under it, the time spent per phase and
 * the memory used.
 *
 * @param arithmetic what the numbers were computed on (CPU model and flags, OpenBLAS core and build, threads) and the
 *     backend's self-check (passed, cases, milliseconds); see {@link io.github.convsim.linalg.Backends.Choice}
 * @param resources peak heap and resident memory and how the work was streamed; empty where not measured
 */
public record Provenance(String tool, String toolVersion, String javaVersion, String os, String backend,
                         String backendReason, Map<String, Object> arithmetic, String created, List<InputFile> inputs,
                         Map<String, Object> options, Map<String, Double> timingsSeconds,
                         Map<String, Object> resources) {

    public Provenance(String tool, String toolVersion, String javaVersion, String os, String backend,
                      String backendReason, Map<String, Object> arithmetic, String created, List<InputFile> inputs,
                      Map<String, Object> options, Map<String, Double> timingsSeconds) {
        this(tool, toolVersion, javaVersion, os, backend, backendReason, arithmetic, created, inputs, options,
                timingsSeconds, Map.of());
    }

    /** The options' key of {@link #checkpointNotes}. */
    public static final String CHECKPOINT_NOTES = "checkpoint_notes";

    /**
     * What reading the checkpoint noted, which a report says before its verdicts: a base of another family allowed,
     * fan_in_fan_out corrected, DoRA magnitudes left out, a CondLoRA checkpoint. Recorded with the options (where
     * {@code --from} reads them back); none where the options hold none.
     */
    public List<String> checkpointNotes() {
        return options.get(CHECKPOINT_NOTES) instanceof List<?> notes
                ? notes.stream().map(String::valueOf).toList() : List.of();
    }

    /** One file read, with its role (adapter_config, adapter_weights, base_weights). */
    public record InputFile(String role, String path, long bytes, String sha256) {}

    /**
     * The provenance of a run finished now, on this convsim, Java and OS: {@code tool} names the command ("convsim"
     * for analyze, "convsim compare", "convsim condlora fit").
     */
    public static Provenance of(String tool, Backends.Choice backend, List<InputFile> inputs,
                                Map<String, Object> options, Map<String, Double> timings,
                                Map<String, Object> resources) {
        return new Provenance(tool, currentToolVersion(), currentJava(), currentOs(),
                backend.backend().name() + ": " + backend.backend().description(), backend.reason(),
                backend.provenance(), Instant.now().truncatedTo(ChronoUnit.SECONDS).toString(), inputs, options,
                timings, resources);
    }

    /**
     * The adapter and base as read (absolute paths) and how the base was checked, under the keys a rerun reads back
     * ({@link ReportedRun}, {@link ReportedFit}).
     */
    public static Map<String, Object> inputsAsGiven(LoraCheckpoint ckpt) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put(RecordedSummary.ADAPTER, ckpt.adapterDir().toAbsolutePath().normalize().toString());
        m.put(RecordedSummary.BASE, ckpt.base().location().toAbsolutePath().normalize().toString());
        m.put(RecordedSummary.BASE_CHECK, ckpt.baseCheck().name().toLowerCase(java.util.Locale.ROOT));
        return m;
    }

    /**
     * Every file the checkpoints read (config, adapter weights, base), hashed, with its role; a file several of them
     * share (the base) is listed once. Called once the files are read, it also refuses a file rewritten since its
     * checkpoint opened it ({@link LoraCheckpoint#requireUnchanged}), whose hash would not be what was read.
     */
    public static List<InputFile> inputsOf(List<LoraCheckpoint> checkpoints) throws CheckpointException {
        List<InputFile> out = new ArrayList<>();
        Set<Path> seen = new HashSet<>();
        for (LoraCheckpoint c : checkpoints) {
            for (Path f : c.inputFiles()) {
                Path abs = f.toAbsolutePath().normalize();
                if (!seen.add(abs)) {
                    continue;
                }
                String role = f.equals(c.config().file()) ? "adapter_config"
                        : c.adapterWeights().files().contains(f) ? "adapter_weights" : "base_weights";
                try {
                    out.add(new InputFile(role, abs.toString(), Files.size(f), sha256(f)));
                } catch (IOException e) {
                    throw new CheckpointException(f, "cannot hash: " + e.getMessage());
                }
            }
            c.requireUnchanged();
        }
        return out;
    }

    /**
     * convsim's version and the git commit it was built from, from the build: "0.1.0 (commit 1a2b3c4d5e)", with
     * "+ uncommitted changes" when the checkout was dirty; the version alone outside a git checkout.
     */
    public static String currentToolVersion() {
        try (InputStream in = Provenance.class.getResourceAsStream("/io/github/convsim/version.properties")) {
            if (in == null) {
                return "dev";
            }
            Properties p = new Properties();
            p.load(in);
            String version = p.getProperty("version", "dev");
            String commit = p.getProperty("commit", "");
            if (commit.isEmpty() || commit.startsWith("${")) {
                return version;
            }
            return version + " (commit " + commit + ("true".equals(p.getProperty("dirty")) ? " + uncommitted changes"
                    : "") + ")";
        } catch (IOException e) {
            return "dev";
        }
    }

    public static String currentJava() {
        return System.getProperty("java.vendor") + " " + System.getProperty("java.runtime.version");
    }

    public static String currentOs() {
        return System.getProperty("os.name") + " " + System.getProperty("os.version") + " " + System.getProperty("os.arch")
                + ", " + Runtime.getRuntime().availableProcessors() + " cores";
    }

    /**
     * SHA-256 of a file, hex, by the first of {@link #HASHERS} that is installed and answers, else by the JDK. The JDK's
     * SHA-256 reaches the CPU's SHA instructions only in the C2 compiler, which the launcher leaves off for start-up
     * speed: hashing the demo's 57 MB took about 0.5 s of CPU. OpenSSL uses those instructions where the CPU has them
     * (1.55 GB/s on this project's Xeon against 0.38 GB/s for coreutils' sha256sum, 9.1): a 7B base's 13.5 GB are
     * 9 CPU-seconds instead of 35, taken from the numerics on a small machine.
     */
    public static String sha256(Path file) throws IOException {
        String id = identity(file);
        try {
            // one computation per file and version in a process: provenance and the W0 cache's keys ask for the same
            return HASHES.computeIfAbsent(id, k -> {
                try {
                    for (List<String> hasher : HASHERS) {
                        String external = externalSha256(hasher, file);
                        if (external != null) {
                            return external;
                        }
                    }
                    return javaSha256(file);
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            });
        } catch (java.io.UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private static final java.util.concurrent.ConcurrentHashMap<String, String> HASHES =
            new java.util.concurrent.ConcurrentHashMap<>();

    /** A file's path and version: size, modification and status-change times, inode (a rewrite changes one). */
    private static String identity(Path file) throws IOException {
        var a = Files.readAttributes(file, java.nio.file.attribute.BasicFileAttributes.class);
        Object ctime = null;
        try {
            ctime = Files.getAttribute(file, "unix:ctime");
        } catch (UnsupportedOperationException | IllegalArgumentException notUnix) {
            // the other attributes still tell versions apart
        }
        return file.toAbsolutePath().normalize() + "|" + a.size() + "|"
                + a.lastModifiedTime().to(java.util.concurrent.TimeUnit.NANOSECONDS) + "|" + ctime + "|" + a.fileKey();
    }

    /**
     * Commands that print a file's SHA-256 as the first 64 characters of their output, given its absolute path last
     * (which starts with '/', so no command reads it as an option).
     */
    static final List<List<String>> HASHERS = List.of(List.of("openssl", "dgst", "-sha256", "-r"),
            List.of("sha256sum", "--"));

    /** The digest {@code command} prints for {@code file}, or null where it is missing, fails or prints no digest. */
    static String externalSha256(List<String> command, Path file) {
        List<String> args = new ArrayList<>(command);
        args.add(file.toAbsolutePath().toString());
        try {
            Process p = new ProcessBuilder(args).redirectErrorStream(true).start();
            byte[] out = p.getInputStream().readNBytes(4096);
            if (!p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return null;
            }
            String line = new String(out, java.nio.charset.StandardCharsets.US_ASCII);
            if (p.exitValue() == 0 && line.length() >= 64 && line.substring(0, 64).matches("[0-9a-f]{64}")) {
                return line.substring(0, 64);
            }
            return null;
        } catch (IOException e) {
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return null;
        }
    }

    static String javaSha256(Path file) throws IOException {
        MessageDigest md;
        try {
            md = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every Java runtime", e);
        }
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer buf = ByteBuffer.allocateDirect(1 << 20);
            while (ch.read(buf) >= 0) {
                buf.flip();
                md.update(buf);
                buf.clear();
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * One sentence on what computed the numbers and whether its self-check passed, for the reports, e.g. "OpenBLAS
     * 0.3.31 with SKYLAKEX kernels on Intel(R) Xeon(R) Processor (avx2, avx512f), 2 threads; self-check passed (26
     * cases in 48 ms, worst error 4.3 % of its bound)".
     */
    public String arithmeticSentence() {
        Object check = arithmetic.get("self_check");
        String what = arithmetic.containsKey("openblas_version")
                ? arithmetic.get("openblas_version") + " with " + arithmetic.get("openblas_core") + " kernels on "
                + arithmetic.get("cpu_model") + flags(arithmetic.get("cpu_flags")) + ", " + arithmetic.get("threads")
                + (Integer.valueOf(1).equals(arithmetic.get("threads")) ? " thread" : " threads")
                : backend;
        if (!(check instanceof Map<?, ?> c)) {
            return what;
        }
        return what + "; self-check " + (Boolean.TRUE.equals(c.get("passed")) ? "passed" : "FAILED") + " ("
                + c.get("cases") + " cases in " + c.get("milliseconds") + " ms, worst error "
                + String.format(java.util.Locale.ROOT, "%.2g", 100 * ((Number) c.get("worst_error_fraction_of_bound"))
                .doubleValue()) + " % of its bound)";
    }

    private static String flags(Object flags) {
        return flags instanceof List<?> l ? l.isEmpty() ? "" : " (" + String.join(", ", l.stream().map(String::valueOf)
                .toList()) + ")" : flags == null ? "" : " " + flags;
    }

    public Map<String, Object> asMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("tool", tool);
        m.put("tool_version", toolVersion);
        m.put("java", javaVersion);
        m.put("os", os);
        m.put("backend", backend);
        m.put("backend_reason", backendReason);
        m.put("arithmetic", arithmetic);
        m.put("created", created);
        m.put("inputs", inputs);
        m.put("options", options);
        m.put("timings_seconds", timingsSeconds);
        if (!resources.isEmpty()) {
            m.put("resources", resources);
        }
        return m;
    }
}
