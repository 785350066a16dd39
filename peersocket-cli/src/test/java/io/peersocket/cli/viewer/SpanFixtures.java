package io.peersocket.cli.viewer;

import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/** Span lines in the traces.jsonl format (see {@link Spans}) for PING → PONG exchanges, and fake peer ids. */
final class SpanFixtures {
    static final String PROTOCOL = "/peersocket/despatch/1.0.0";
    private static final String B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

    private final Random random;

    SpanFixtures(long seed) { this.random = new Random(seed); }

    /** A peer id shaped like a libp2p Ed25519 one (not a real key). */
    String peerId() {
        StringBuilder sb = new StringBuilder("12D3KooW");
        while (sb.length() < 52) sb.append(B58.charAt(random.nextInt(B58.length())));
        return sb.toString();
    }

    String hex(int bytes) {
        byte[] b = new byte[bytes];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    /**
     * One PING → PONG trace between {@code a} and {@code b} starting at {@code t} (epoch ns): a's CLIENT span
     * "send PING" (ends when the PONG arrives), b's SERVER span "receive PING" (its child), b's PRODUCER span
     * "send PONG", a's CONSUMER span "receive PONG" (the PONG has its own message id and names the PING's in
     * {@code peersocket.message.in_reply_to}).
     *
     * @return four maps, as a node would write them
     */
    List<Map<String, Object>> pingPong(String a, String b, long t, long messageId) {
        String trace = hex(16);
        String s1 = hex(8), s2 = hex(8), s3 = hex(8), s4 = hex(8);
        List<Map<String, Object>> out = new ArrayList<>();
        out.add(span(trace, s1, "", "send PING", "CLIENT", t, t + 1_200_000, a, b, 20, "PING", messageId));
        out.add(span(trace, s2, s1, "receive PING", "SERVER", t + 300_000, t + 700_000, b, a, 20, "PING", messageId));
        out.add(span(trace, s3, s2, "send PONG", "PRODUCER", t + 500_000, t + 550_000, b, a, 21, "PONG", messageId + 1_000_000));
        out.add(span(trace, s4, s3, "receive PONG", "CONSUMER", t + 1_100_000, t + 1_150_000, a, b, 21, "PONG", messageId + 1_000_000));
        for (Map<String, Object> s : out.subList(2, 4)) attributes(s).put("peersocket.message.in_reply_to", messageId);
        return out;
    }

    @SuppressWarnings("unchecked")
    static Map<String, Object> attributes(Map<String, Object> span) {
        return (Map<String, Object>) span.get("attributes");
    }

    static Map<String, Object> span(String trace, String id, String parent, String name, String kind, long start, long end,
            String peer, String remote, int type, String msg, long messageId) {
        Map<String, Object> attrs = new LinkedHashMap<>();
        attrs.put("peersocket.remote_peer", remote);
        attrs.put("peersocket.protocol", PROTOCOL);
        attrs.put("peersocket.message.type", type);
        attrs.put("peersocket.message.name", msg);
        attrs.put("peersocket.message.id", messageId);
        attrs.put("peersocket.message.bytes", 16);
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("traceId", trace);
        m.put("spanId", id);
        m.put("parentSpanId", parent);
        m.put("name", name);
        m.put("kind", kind);
        m.put("startNanos", start);
        m.put("endNanos", end);
        m.put("peer", peer);
        m.put("status", "OK");
        m.put("attributes", attrs);
        return m;
    }
}
