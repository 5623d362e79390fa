package io.github.convsim.results;

import java.util.List;
import java.util.Map;

/** Typed reads of the options a report recorded, each refusal naming the option and what it holds instead. */
final class RecordedValues {
    private RecordedValues() {}

    static Object entry(Map<String, ?> m, String key) {
        Object v = m.get(key);
        if (v == null) {
            throw new IllegalArgumentException("the options have no '" + key + "'");
        }
        return v;
    }

    static String text(Map<String, ?> m, String key) {
        if (!(entry(m, key) instanceof String s)) {
            throw new IllegalArgumentException("option '" + key + "' is " + m.get(key) + ", not a string");
        }
        return s;
    }

    static double number(Map<String, ?> m, String key) {
        if (!(entry(m, key) instanceof Number n)) {
            throw new IllegalArgumentException("option '" + key + "' is " + m.get(key) + ", not a number");
        }
        return n.doubleValue();
    }

    /** An integer exactly, seeds above 2^53 included. */
    static long integer(Map<String, ?> m, String key) {
        if (!(entry(m, key) instanceof Number n) || n instanceof Double || n instanceof Float
                || n instanceof java.math.BigDecimal) {
            throw new IllegalArgumentException("option '" + key + "' is " + m.get(key) + ", not an integer");
        }
        if (n instanceof java.math.BigInteger b) {
            return b.longValueExact();
        }
        return n.longValue();
    }

    static List<String> texts(Map<String, ?> m, String key) {
        if (!(entry(m, key) instanceof List<?> l) || !l.stream().allMatch(x -> x instanceof String)) {
            throw new IllegalArgumentException("option '" + key + "' is " + m.get(key) + ", not a list of strings");
        }
        return l.stream().map(x -> (String) x).toList();
    }
}
