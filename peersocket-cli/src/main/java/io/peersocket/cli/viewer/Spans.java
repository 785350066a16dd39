package io.peersocket.cli.viewer;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The span line format of a node's {@code traces.jsonl}: one JSON object per line,
 * <pre>{"traceId":"&lt;32 hex&gt;","spanId":"&lt;16 hex&gt;","parentSpanId":"&lt;16 hex or ""&gt;","name":"send PING",
 *  "kind":"CLIENT|SERVER|PRODUCER|CONSUMER|INTERNAL","startNanos":&lt;epoch ns&gt;,"endNanos":&lt;epoch ns&gt;,
 *  "peer":"&lt;local PeerId&gt;","status":"OK|ERROR","attributes":{"peersocket.remote_peer":…,
 *  "peersocket.protocol":…,"peersocket.message.type":…,"peersocket.message.name":…,"peersocket.message.id":…,
 *  "peersocket.message.bytes":…}}</pre>
 */
public final class Spans {
    /** Longest span line accepted, bytes. */
    public static final int MAX_LINE_BYTES = 64 * 1024;
    private static final Pattern TRACE_ID = Pattern.compile("[0-9a-fA-F]{32}");
    private static final Pattern SPAN_ID = Pattern.compile("[0-9a-fA-F]{16}");
    private static final Set<String> KINDS = Set.of("CLIENT", "SERVER", "PRODUCER", "CONSUMER", "INTERNAL");
    private static final int MAX_STRING = 512;

    private Spans() {}

    /**
     * Parses one line.
     *
     * @throws IllegalArgumentException if it is longer than {@link #MAX_LINE_BYTES}, not a JSON object or not
     *     a valid span (the message names the bad field)
     */
    public static Map<String, Object> parse(String line) {
        if (line.length() > MAX_LINE_BYTES) throw new IllegalArgumentException("span line of " + line.length() + " chars");
        Map<String, Object> m;
        try {
            m = JSON.std.mapFrom(line);
        } catch (IOException e) {
            throw new IllegalArgumentException("not a JSON object: " + e.getMessage().lines().findFirst().orElse(""));
        }
        if (m == null) throw new IllegalArgumentException("not a JSON object");
        validate(m);
        return m;
    }

    /**
     * Checks the required fields: traceId (32 hex), spanId (16 hex), parentSpanId (16 hex or empty, may be
     * absent), name, kind, startNanos ≤ endNanos, peer, and attributes (an object if present).
     *
     * @throws IllegalArgumentException naming the first bad field
     */
    public static void validate(Map<String, Object> m) {
        str(m, "traceId", TRACE_ID);
        str(m, "spanId", SPAN_ID);
        Object parent = m.get("parentSpanId");
        if (parent != null && !(parent instanceof String p && (p.isEmpty() || SPAN_ID.matcher(p).matches()))) {
            throw new IllegalArgumentException("bad parentSpanId: " + abbrev(parent));
        }
        str(m, "name", null);
        String kind = str(m, "kind", null);
        if (!KINDS.contains(kind)) throw new IllegalArgumentException("bad kind: " + abbrev(kind));
        long start = num(m, "startNanos");
        long end = num(m, "endNanos");
        if (end < start) throw new IllegalArgumentException("endNanos " + end + " before startNanos " + start);
        str(m, "peer", null);
        Object attrs = m.get("attributes");
        if (attrs != null && !(attrs instanceof Map)) throw new IllegalArgumentException("attributes must be an object");
    }

    /** The span as one JSON object (no line break). */
    public static String toJson(Map<String, Object> span) {
        try {
            return JSON.std.asString(span);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String str(Map<String, Object> m, String key, Pattern p) {
        Object v = m.get(key);
        if (!(v instanceof String s) || s.isEmpty() || s.length() > MAX_STRING || (p != null && !p.matcher(s).matches())) {
            throw new IllegalArgumentException("bad " + key + ": " + abbrev(v));
        }
        return s;
    }

    private static long num(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof Number n)) throw new IllegalArgumentException("bad " + key + ": " + abbrev(m.get(key)));
        return n.longValue();
    }

    private static String abbrev(Object v) {
        String s = String.valueOf(v);
        return s.length() > 40 ? s.substring(0, 40) + "…" : s;
    }
}
