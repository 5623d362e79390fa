package io.github.convsim.io;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Models and adapters where the Hugging Face hub client keeps them, found offline: {@code [org/]name[@revision]} is
 * looked up under {@code models--org--name/} of the hub cache ({@code HF_HUB_CACHE}, else the legacy
 * {@code HUGGINGFACE_HUB_CACHE}, else {@code $HF_HOME/hub}, else {@code $XDG_CACHE_HOME/huggingface/hub}, else
 * {@code ~/.cache/huggingface/hub}). A revision is a branch or tag (its commit read from {@code refs/<revision>}) or a
 * commit hash, full or a prefix of at least 7 characters; without one, {@code main}. The answer is the snapshot
 * directory, whose files are links into {@code blobs/}. Nothing is ever downloaded.
 *
 * <pre>{@code
 * HubCache hub = HubCache.fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
 * Path adapter = hub.snapshot("someone/bert-imdb-lora@v1"); // .../models--someone--bert-imdb-lora/snapshots/<hash>
 * }</pre>
 */
public final class HubCache {
    /**
     * org/name, or a legacy name without an org (bert-base-uncased, gpt2), with an optional @revision, as the hub
     * names repositories (letters, digits, '-', '_', '.').
     */
    private static final Pattern REPO_ID = Pattern.compile("^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?"
            + "(@[A-Za-z0-9][A-Za-z0-9._/-]*)?$");
    private static final Pattern COMMIT = Pattern.compile("^[0-9a-f]{7,40}$");

    private final List<Path> roots;

    private HubCache(List<Path> roots) {
        this.roots = List.copyOf(roots);
    }

    /** The hub cache the hub client would use with this environment and home directory. */
    public static HubCache fromEnvironment(Map<String, String> env, Path home) {
        Set<Path> roots = new LinkedHashSet<>();
        if (nonEmpty(env.get("HF_HUB_CACHE"))) {
            roots.add(Path.of(env.get("HF_HUB_CACHE")));
        } else if (nonEmpty(env.get("HUGGINGFACE_HUB_CACHE"))) {
            roots.add(Path.of(env.get("HUGGINGFACE_HUB_CACHE")));
        } else if (nonEmpty(env.get("HF_HOME"))) {
            roots.add(Path.of(env.get("HF_HOME"), "hub"));
        } else if (nonEmpty(env.get("XDG_CACHE_HOME"))) {
            roots.add(Path.of(env.get("XDG_CACHE_HOME"), "huggingface", "hub"));
        } else {
            roots.add(home.resolve(".cache/huggingface/hub"));
        }
        return new HubCache(new ArrayList<>(roots));
    }

    /** A cache at the given directories, searched in order. */
    public static HubCache at(List<Path> roots) {
        return new HubCache(roots);
    }

    /** The directories searched, in order. */
    public List<Path> roots() {
        return roots;
    }

    private static boolean nonEmpty(String s) {
        return s != null && !s.isBlank();
    }

    /** Whether {@code spec} reads as a hub repository id ({@code org/name[@revision]}) rather than a path. */
    public static boolean looksLikeRepoId(String spec) {
        return REPO_ID.matcher(spec).matches() && !spec.startsWith(".") && !spec.contains("//");
    }

    /**
     * The snapshot directory of {@code org/name[@revision]}.
     *
     * @throws CheckpointException naming the repository, the revision and every place looked at
     */
    public Path snapshot(String spec) throws CheckpointException {
        Optional<Path> found = find(spec);
        if (found.isPresent()) {
            return found.get();
        }
        String repo = spec.contains("@") ? spec.substring(0, spec.indexOf('@')) : spec;
        String revision = spec.contains("@") ? spec.substring(spec.indexOf('@') + 1) : "main";
        List<String> looked = new ArrayList<>();
        for (Path dir : repositoryDirs(repo)) {
            looked.add(Files.isDirectory(dir) ? dir + " (no snapshot for revision '" + revision + "')" : dir.toString());
        }
        throw new CheckpointException(Path.of(spec), "not a local path, and not in the Hugging Face hub cache (looked"
                + " in " + String.join(", ", looked) + "); convsim works offline: download it first (huggingface-cli"
                + " download " + repo + (revision.equals("main") ? "" : " --revision " + revision)
                + ") or pass a path, and set HF_HUB_CACHE or HF_HOME if the cache is elsewhere");
    }

    /** The snapshot directory of {@code org/name[@revision]}, if the cache holds it. */
    public Optional<Path> find(String spec) {
        if (!looksLikeRepoId(spec)) {
            return Optional.empty();
        }
        int at = spec.indexOf('@');
        String repo = at < 0 ? spec : spec.substring(0, at);
        String revision = at < 0 ? "main" : spec.substring(at + 1);
        for (Path dir : repositoryDirs(repo)) {
            Optional<Path> snap = snapshotIn(dir, revision);
            if (snap.isPresent()) {
                return snap;
            }
        }
        return Optional.empty();
    }

    /** Where the cache keeps a repository ({@code org/name}, no revision): models--org--name under each root. */
    public List<Path> repositoryDirs(String repo) {
        return roots.stream().map(r -> r.resolve("models--" + repo.replace("/", "--"))).toList();
    }

    private static Optional<Path> snapshotIn(Path repoDir, String revision) {
        Path snapshots = repoDir.resolve("snapshots");
        if (!Files.isDirectory(snapshots)) {
            return Optional.empty();
        }
        try {
            Path ref = repoDir.resolve("refs").resolve(revision).normalize();
            if (ref.startsWith(repoDir.resolve("refs")) && Files.isRegularFile(ref)) {
                String commit = Files.readString(ref, StandardCharsets.US_ASCII).trim();
                Path snap = snapshots.resolve(commit);
                if (COMMIT.matcher(commit).matches() && Files.isDirectory(snap)) {
                    return Optional.of(snap);
                }
            }
            if (COMMIT.matcher(revision).matches()) {
                try (var s = Files.list(snapshots)) {
                    List<Path> hits = s.filter(p -> p.getFileName().toString().startsWith(revision)).toList();
                    if (hits.size() == 1 && Files.isDirectory(hits.get(0))) {
                        return Optional.of(hits.get(0));
                    }
                }
            }
        } catch (IOException e) {
            return Optional.empty();
        }
        return Optional.empty();
    }
}
