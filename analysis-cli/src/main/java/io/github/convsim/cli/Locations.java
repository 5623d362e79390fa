package io.github.convsim.cli;

import io.github.convsim.cache.BaseCache;
import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.HubCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Adapters and bases as users name them: a local path, or a Hugging Face repository id ({@code org/name[@revision]})
 * found in the local hub cache ({@link HubCache}). A path that exists is always taken as a path.
 */
final class Locations {
    private Locations() {}

    /**
     * The W0 cache in {@code dir}, or (null) in its default place (see analyze --no-cache); null when no directory is
     * given and CONVSIM_CACHE is "off".
     *
     * @throws InputException when CONVSIM_CACHE_MAX_BYTES is not a non-negative whole number
     */
    static BaseCache cache(Path dir) throws InputException {
        Map<String, String> env = System.getenv();
        if (dir == null && "off".equalsIgnoreCase(env.getOrDefault("CONVSIM_CACHE", "").trim())) {
            return null;
        }
        long max = BaseCache.DEFAULT_MAX_BYTES;
        String given = env.get("CONVSIM_CACHE_MAX_BYTES");
        if (given != null && !given.isBlank()) {
            try {
                max = Long.parseLong(given.trim());
            } catch (NumberFormatException e) {
                max = -1;
            }
            if (max < 0) {
                throw new InputException("CONVSIM_CACHE_MAX_BYTES must be a whole number of bytes, got '" + given + "'");
            }
        }
        return BaseCache.open(dir != null ? dir : BaseCache.defaultDirectory(env, System.getProperty("user.home")), max);
    }

    static HubCache hub() {
        return HubCache.fromEnvironment(System.getenv(), Path.of(System.getProperty("user.home")));
    }

    /** {@code given} itself, or its snapshot in the hub cache; null stays null. */
    static Path resolve(Path given) throws CheckpointException {
        if (given == null || Files.exists(given) || !HubCache.looksLikeRepoId(given.toString())) {
            return given;
        }
        return hub().snapshot(given.toString());
    }

    static List<Path> resolveAll(List<Path> given) throws CheckpointException {
        List<Path> out = new ArrayList<>(given.size());
        for (Path p : given) {
            out.add(resolve(p));
        }
        return out;
    }
}
