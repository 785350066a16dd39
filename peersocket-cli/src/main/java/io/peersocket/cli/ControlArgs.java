package io.peersocket.cli;

import java.util.Map;

/**
 * Arguments of a control request (one JSON object, docs/cli.md "Control socket"), read the same way by every
 * control op: a bad or missing argument throws {@link IllegalArgumentException} naming it, which the socket
 * answers as {@code {"ok":false,"error":…}}.
 */
final class ControlArgs {
    private ControlArgs() {}

    /** The non-empty string {@code key}; a number is taken as its decimal text. */
    static String str(Map<String, Object> r, String key) {
        Object v = r.get(key);
        if (v instanceof Number n) return n.toString();
        if (!(v instanceof String s) || s.isEmpty()) throw new IllegalArgumentException("missing \"" + key + "\"");
        return s;
    }

    /** The integer {@code key} (a JSON number or a decimal string), or {@code dflt} if absent. */
    static long num(Map<String, Object> r, String key, long dflt) {
        return r.get(key) == null ? dflt : requiredNum(r, key);
    }

    /** The integer {@code key} (a JSON number or a decimal string). */
    static long requiredNum(Map<String, Object> r, String key) {
        Object v = r.get(key);
        if (v == null) throw new IllegalArgumentException("missing \"" + key + "\"");
        if (v instanceof Number n) return n.longValue();
        try {
            return Long.parseLong(String.valueOf(v).strip());
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("\"" + key + "\" must be a number, got " + v);
        }
    }
}
