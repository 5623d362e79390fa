package io.github.convsim.cli;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/** A report's index.html is self-contained: every href and src a file of the report, nothing from the network. */
final class HtmlLinks {
    private static final Pattern LINK = Pattern.compile("(?:href|src)=\"([^\"]*)\"");

    private HtmlLinks() {}

    /** Checks the page and returns its relative links. */
    static List<String> assertSelfContained(Path reportDir) throws Exception {
        String html = Files.readString(reportDir.resolve("index.html"));
        assertFalse(html.contains("http://") || html.contains("https://") || html.contains("<script"),
                "an external URL or a script in " + reportDir.resolve("index.html"));
        assertTrue(html.contains("Written by convsim "), "the page says which convsim wrote it");
        List<String> links = new ArrayList<>();
        Matcher m = LINK.matcher(html);
        while (m.find()) {
            String target = m.group(1).replace("&amp;", "&");
            assertFalse(target.startsWith("/") || target.contains(".."), "not relative: " + target);
            assertTrue(Files.isRegularFile(reportDir.resolve(target)), "broken link: " + target);
            links.add(target);
        }
        // every file of the report is linked (the page itself and the output marker aside)
        try (Stream<Path> s = Files.walk(reportDir)) {
            for (Path f : s.filter(Files::isRegularFile).toList()) {
                String rel = reportDir.relativize(f).toString().replace('\\', '/');
                if (!rel.equals("index.html") && !rel.startsWith(".")) {
                    assertTrue(links.contains(rel), "not linked from index.html: " + rel);
                }
            }
        }
        assertTrue(html.contains("<h2>Provenance</h2>") && html.contains("<h3>Inputs</h3>"), "provenance as tables");
        return links;
    }
}
