package io.github.convsim;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The layering of the library, read from its sources: which package refers to which (imports and fully qualified
 * names), no cycle among them, and a core that never prints.
 */
class ArchitectureTest {
    private static final Path MAIN = Path.of("src/main/java/io/github/convsim");
    private static final Pattern REFERENCE = Pattern.compile("\\bio\\.github\\.convsim\\.([a-z0-9]+)\\.");

    /** Package to the packages its sources refer to. */
    static Map<String, Set<String>> dependencies() throws IOException {
        Map<String, Set<String>> deps = new TreeMap<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                String pkg = MAIN.relativize(f).getName(0).toString();
                Set<String> to = deps.computeIfAbsent(pkg, k -> new TreeSet<>());
                Matcher m = REFERENCE.matcher(Files.readString(f));
                while (m.find()) {
                    if (!m.group(1).equals(pkg)) {
                        to.add(m.group(1));
                    }
                }
            }
        }
        return deps;
    }

    @Test
    void packagesFormNoCycle() throws IOException {
        Map<String, Set<String>> deps = dependencies();
        assertTrue(deps.keySet().containsAll(List.of("io", "linalg", "model", "conversion", "similarity", "pipeline",
                "results", "report", "api", "condlora", "common")), deps.keySet().toString());
        List<String> cycles = new ArrayList<>();
        for (String start : deps.keySet()) {
            List<String> path = cycleFrom(start, start, deps, new ArrayList<>(List.of(start)), new HashMap<>());
            if (path != null) {
                cycles.add(String.join(" -> ", path));
            }
        }
        assertEquals(List.of(), cycles, "package cycles");
        // the bottom stays at the bottom
        assertEquals(Set.of(), deps.get("io"));
        assertEquals(Set.of(), deps.get("linalg"));
        assertFalse(deps.get("results").contains("report") || deps.get("results").contains("api"));
    }

    private static List<String> cycleFrom(String start, String at, Map<String, Set<String>> deps, List<String> path,
                                          Map<String, Boolean> seen) {
        for (String next : deps.getOrDefault(at, Set.of())) {
            if (next.equals(start)) {
                List<String> cycle = new ArrayList<>(path);
                cycle.add(start);
                return cycle;
            }
            if (seen.putIfAbsent(next, true) == null) {
                path.add(next);
                List<String> found = cycleFrom(start, next, deps, path, seen);
                if (found != null) {
                    return found;
                }
                path.remove(path.size() - 1);
            }
        }
        return null;
    }

    @Test
    void theCoreNeverPrints() throws IOException {
        List<String> printing = new ArrayList<>();
        try (Stream<Path> files = Files.walk(MAIN)) {
            for (Path f : files.filter(p -> p.toString().endsWith(".java")).toList()) {
                // code only: a Javadoc example may print
                String src = Files.readString(f).replaceAll("(?s)/\\*.*?\\*/", "").replaceAll("//[^\n]*", "");
                if (src.contains("System.out") || src.contains("System.err") || src.contains("printStackTrace")) {
                    printing.add(MAIN.relativize(f).toString());
                }
            }
        }
        assertEquals(List.of(), printing);
    }
}
