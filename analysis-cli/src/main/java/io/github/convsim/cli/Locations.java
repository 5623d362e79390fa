package io.github.convsim.cli;

import io.github.convsim.io.CheckpointException;
import io.github.convsim.io.HubCache;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Adapters and bases as users name them: a local path, or a Hugging Face repository id ({@code org/name[@revision]})
 * found in the local hub cache ({@link HubCache}). A path that exists is always taken as a path.
 */
final class Locations {
    private Locations() {}

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
