package io.github.convsim.report;

import io.github.convsim.results.Provenance;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * A self-contained HTML report page: inline style, no script, no external URL, every link relative to the report
 * directory. Every command's index.html is built with it, so each says which convsim (version and commit) wrote it,
 * links every file the report holds, and shows provenance as tables a reader can scan.
 */
final class HtmlPage {
    private static final String STYLE = "body{font-family:sans-serif;margin:2em;max-width:1900px;color:#222}"
            + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;"
            + "text-align:right;vertical-align:top}th{background:#f3f3f3}td.l,th.l{text-align:left}"
            + ".figs{display:flex;gap:12px;flex-wrap:wrap}figure{margin:0;width:32%;min-width:380px}"
            + "figure img{width:100%}figcaption{font-size:90%;color:#444}.no{color:#555}"
            + ".yes{color:#070;font-weight:bold}code{background:#f5f5f5}.meta{color:#555}";

    private final StringBuilder h = new StringBuilder();

    HtmlPage(String title) {
        h.append("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>").append(esc(title))
                .append("</title><style>").append(STYLE).append("</style></head><body><h1>").append(esc(title))
                .append("</h1><p class=\"meta\">Written by convsim ").append(esc(Provenance.currentToolVersion()))
                .append(".</p>");
    }

    HtmlPage heading(String text) {
        h.append("<h2>").append(esc(text)).append("</h2>");
        return this;
    }

    HtmlPage subheading(String text) {
        h.append("<h3>").append(esc(text)).append("</h3>");
        return this;
    }

    HtmlPage paragraph(String text) {
        h.append("<p>").append(esc(text)).append("</p>");
        return this;
    }

    /** What a report says before its results, as "Note: ..." items; nothing where there are none. */
    HtmlPage notes(List<String> notes) {
        return notes.isEmpty() ? this : list(notes.stream().map(n -> "Note: " + n).toList());
    }

    HtmlPage list(List<String> items) {
        h.append("<ul>");
        items.forEach(i -> h.append("<li>").append(esc(i)).append("</li>"));
        h.append("</ul>");
        return this;
    }

    /**
     * A table; the first {@code leftColumns} columns are text (left-aligned). A cell "yes" or "no" is coloured as a
     * verdict.
     */
    HtmlPage table(List<String> header, List<List<String>> rows, int leftColumns) {
        h.append("<table><tr>");
        for (int c = 0; c < header.size(); c++) {
            h.append(c < leftColumns ? "<th class=\"l\">" : "<th>").append(esc(header.get(c))).append("</th>");
        }
        h.append("</tr>");
        for (List<String> row : rows) {
            h.append("<tr>");
            for (int c = 0; c < row.size(); c++) {
                String v = row.get(c) == null ? "" : row.get(c);
                String cls = c < leftColumns ? "l" : v.equals("yes") ? "yes" : v.equals("no") ? "no" : "";
                h.append(cls.isEmpty() ? "<td>" : "<td class=\"" + cls + "\">").append(esc(v)).append("</td>");
            }
            h.append("</tr>");
        }
        h.append("</table>");
        return this;
    }

    /** Figures side by side, each with its caption; {@code files} are relative paths. */
    HtmlPage figures(List<String> files, List<String> captions) {
        h.append("<div class=\"figs\">");
        for (int k = 0; k < files.size(); k++) {
            h.append("<figure><a href=\"").append(esc(files.get(k))).append("\"><img src=\"").append(esc(files.get(k)))
                    .append("\" alt=\"").append(esc(captions.get(k))).append("\"></a><figcaption>")
                    .append(esc(captions.get(k))).append("</figcaption></figure>");
        }
        h.append("</div>");
        return this;
    }

    /** Links to every file under {@code dir} but this page, relative, sorted. */
    HtmlPage files(Path dir) throws IOException {
        h.append("<h2>Files</h2><ul>");
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                String rel = dir.relativize(f).toString().replace('\\', '/');
                if (rel.equals("index.html") || rel.startsWith(".")) {
                    continue;
                }
                h.append("<li><a href=\"").append(esc(rel)).append("\">").append(esc(rel)).append("</a> (")
                        .append(Files.size(f)).append(" bytes)</li>");
            }
        }
        h.append("</ul>");
        return this;
    }

    /** Provenance as tables: the run, its inputs with their hashes, its options, timings and resources. */
    HtmlPage provenance(Provenance p) {
        h.append("<h2>Provenance</h2><p>Arithmetic: ").append(esc(p.arithmeticSentence())).append(".</p>");
        table(List.of("", ""), List.of(List.of("tool", p.tool()), List.of("convsim", p.toolVersion()),
                List.of("java", p.javaVersion()), List.of("os", p.os()), List.of("backend", p.backend()),
                List.of("backend chosen because", p.backendReason()), List.of("created", p.created())), 2);
        h.append("<h3>Inputs</h3>");
        table(List.of("role", "path", "bytes", "sha256"), p.inputs().stream().map(f -> List.of(f.role(), f.path(),
                String.valueOf(f.bytes()), f.sha256())).toList(), 2);
        h.append("<h3>Options</h3>");
        keyValues(p.options());
        h.append("<h3>Arithmetic</h3>");
        keyValues(p.arithmetic());
        h.append("<h3>Seconds per phase</h3>");
        keyValues(Map.copyOf(p.timingsSeconds()));
        if (!p.resources().isEmpty()) {
            h.append("<h3>Resources</h3>");
            keyValues(p.resources());
        }
        return this;
    }

    /** A map as a two-column table, nested maps as nested tables. */
    private void keyValues(Map<String, ?> m) {
        h.append("<table>");
        for (Map.Entry<String, ?> e : new java.util.TreeMap<>(m).entrySet()) {
            h.append("<tr><th class=\"l\">").append(esc(e.getKey())).append("</th><td class=\"l\">");
            if (e.getValue() instanceof Map<?, ?> nested) {
                @SuppressWarnings("unchecked")
                Map<String, ?> n = (Map<String, ?>) nested;
                keyValues(n);
            } else {
                h.append("<code>").append(esc(String.valueOf(e.getValue()))).append("</code>");
            }
            h.append("</td></tr>");
        }
        h.append("</table>");
    }

    void write(Path file) throws IOException {
        Files.writeString(file, h + "</body></html>\n", StandardCharsets.UTF_8);
    }

    static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
