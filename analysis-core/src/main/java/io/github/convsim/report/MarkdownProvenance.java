package io.github.convsim.report;

import io.github.convsim.results.Provenance;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * A report's "Provenance" section in Markdown, laid out as index.html lays it out: the run, a table of the inputs with
 * their hashes, then options, arithmetic, seconds per phase and resources as (nested) lists. summary.json keeps the
 * same facts for scripts.
 */
final class MarkdownProvenance {
    private MarkdownProvenance() {}

    static String of(Provenance p) {
        StringBuilder md = new StringBuilder("## Provenance\n\n");
        md.append("Arithmetic: ").append(p.arithmeticSentence()).append(".\n\n");
        md.append("| | |\n|---|---|\n");
        row(md, List.of("tool", p.tool()));
        row(md, List.of("convsim", p.toolVersion()));
        row(md, List.of("java", p.javaVersion()));
        row(md, List.of("os", p.os()));
        row(md, List.of("backend", p.backend()));
        row(md, List.of("backend chosen because", p.backendReason()));
        row(md, List.of("created", p.created()));
        md.append("\n### Inputs\n\n| role | path | bytes | sha256 |\n|---|---|---|---|\n");
        for (Provenance.InputFile f : p.inputs()) {
            row(md, List.of(f.role(), "`" + f.path() + "`", String.valueOf(f.bytes()), "`" + f.sha256() + "`"));
        }
        section(md, "Options", p.options());
        section(md, "Arithmetic", p.arithmetic());
        md.append("\n### Seconds per phase\n\n");
        new TreeMap<>(p.timingsSeconds()).forEach((phase, s) ->
                md.append("- ").append(phase).append(": ").append(String.format(Locale.ROOT, "%.3f", s)).append('\n'));
        if (!p.resources().isEmpty()) {
            section(md, "Resources", p.resources());
        }
        return md.toString();
    }

    private static void section(StringBuilder md, String title, Map<String, ?> values) {
        md.append("\n### ").append(title).append("\n\n");
        if (values.isEmpty()) {
            md.append("(none)\n");
        }
        list(md, values, "");
    }

    /** A map as a bullet list in key order, nested maps as indented lists (as index.html nests tables). */
    private static void list(StringBuilder md, Map<String, ?> values, String indent) {
        for (Map.Entry<String, ?> e : new TreeMap<>(values).entrySet()) {
            md.append(indent).append("- ").append(e.getKey()).append(':');
            if (e.getValue() instanceof Map<?, ?> nested) {
                md.append('\n');
                @SuppressWarnings("unchecked")
                Map<String, ?> n = (Map<String, ?>) nested;
                list(md, n, indent + "  ");
            } else {
                md.append(" `").append(value(e.getValue())).append("`\n");
            }
        }
    }

    private static String value(Object v) {
        if (v instanceof List<?> items) {
            return items.isEmpty() ? "(none)" : String.join(", ", items.stream().map(String::valueOf).toList());
        }
        return String.valueOf(v).replace("`", "'");
    }

    private static void row(StringBuilder md, List<String> cells) {
        md.append('|');
        cells.forEach(c -> md.append(' ').append(c.replace("|", "\\|").replace("\n", " ")).append(" |"));
        md.append('\n');
    }
}
