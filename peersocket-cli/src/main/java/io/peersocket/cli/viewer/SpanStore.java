package io.peersocket.cli.viewer;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/**
 * A bounded window of the most recent spans from every node, for the viewer. Each added span gets a sequence
 * number (1, 2, …) that clients use as a cursor: {@link #since} returns the spans added after a cursor, so a
 * client polling every second fetches only what is new. When the window is full the oldest span is dropped.
 *
 * <p>Thread-safe: any thread may add and query.
 */
public final class SpanStore {
    /** Default number of spans kept. */
    public static final int DEFAULT_CAPACITY = 20_000;

    /**
     * One span as stored: the fields the server filters on, and the span re-serialized as one JSON object.
     *
     * @param seq sequence number, from 1
     * @param traceId 32 lower-case hex digits
     * @param peer the local peer of the node that recorded it (base58)
     * @param remotePeer {@code peersocket.remote_peer}, or empty
     * @param protocol {@code peersocket.protocol}, or empty
     * @param json the span as a JSON object
     */
    public record Stored(long seq, String traceId, String peer, String remotePeer, String protocol, String json) {}

    /**
     * The answer to {@link #since}.
     *
     * @param cursor pass this as the next {@code since}: the sequence number of the newest span looked at
     * @param oldest sequence number of the oldest span still kept (0 if none)
     * @param truncated true if spans after the asked cursor were already dropped from the window
     * @param spans matching spans, oldest first
     */
    public record Page(long cursor, long oldest, boolean truncated, List<Stored> spans) {}

    /**
     * Which spans to return; empty strings match everything.
     *
     * @param peer a peer id: spans recorded by it or naming it as the remote peer
     * @param protocol a protocol id (exact)
     * @param trace a trace id (exact, lower-case hex)
     */
    public record Filter(String peer, String protocol, String trace) {
        public static final Filter ALL = new Filter("", "", "");

        public Filter {
            peer = peer == null ? "" : peer;
            protocol = protocol == null ? "" : protocol;
            trace = trace == null ? "" : trace.toLowerCase(java.util.Locale.ROOT);
        }

        boolean matches(Stored s) {
            return (peer.isEmpty() || peer.equals(s.peer) || peer.equals(s.remotePeer))
                    && (protocol.isEmpty() || protocol.equals(s.protocol))
                    && (trace.isEmpty() || trace.equals(s.traceId));
        }
    }

    private final int capacity;
    private final ArrayDeque<Stored> window;
    private long nextSeq = 1;

    /** @param capacity spans kept (1..1,000,000) */
    public SpanStore(int capacity) {
        if (capacity < 1 || capacity > 1_000_000) throw new IllegalArgumentException("capacity must be 1..1000000: " + capacity);
        this.capacity = capacity;
        this.window = new ArrayDeque<>(Math.min(capacity, 1024));
    }

    /**
     * Adds one validated span.
     *
     * @param span a span in the traces.jsonl shape (see {@link Spans#validate})
     * @throws IllegalArgumentException if it is not a valid span (the message names the bad field)
     */
    public void add(Map<String, Object> span) {
        Spans.validate(span);
        String json = Spans.toJson(span);
        @SuppressWarnings("unchecked")
        Map<String, Object> attrs = span.get("attributes") instanceof Map<?, ?> m ? (Map<String, Object>) m : Map.of();
        String remote = attrs.get("peersocket.remote_peer") instanceof String s ? s : "";
        String protocol = attrs.get("peersocket.protocol") instanceof String s ? s : "";
        synchronized (this) {
            if (window.size() == capacity) window.removeFirst();
            window.addLast(new Stored(nextSeq++, ((String) span.get("traceId")).toLowerCase(java.util.Locale.ROOT),
                    (String) span.get("peer"), remote, protocol, json));
        }
    }

    /** Number of spans kept now. */
    public synchronized int size() { return window.size(); }

    /** Sequence number of the newest span (0 if none was ever added). */
    public synchronized long newest() { return nextSeq - 1; }

    /**
     * The spans added after {@code since} that match {@code filter}, oldest first, at most {@code limit}.
     *
     * @param since a cursor from an earlier page, or 0 for everything kept
     * @param limit most spans returned (≥ 1); if more match, the page's cursor stops at the last one returned
     */
    public synchronized Page since(long since, Filter filter, int limit) {
        if (limit < 1) throw new IllegalArgumentException("limit must be >= 1: " + limit);
        long oldest = window.isEmpty() ? 0 : window.peekFirst().seq();
        boolean truncated = !window.isEmpty() && since + 1 < oldest && since < nextSeq - 1;
        List<Stored> out = new ArrayList<>();
        long cursor = Math.max(since, 0);
        if (window.isEmpty() || since >= nextSeq - 1) return new Page(Math.min(cursor, nextSeq - 1), oldest, false, out);
        // Walk from the newest end when the cursor is recent (the usual poll), else from the oldest.
        long skip = Math.max(0, since - oldest + 1);
        Iterator<Stored> it;
        if (skip > window.size() / 2) {
            Iterator<Stored> back = window.descendingIterator();
            long keep = window.size() - skip;
            ArrayDeque<Stored> tail = new ArrayDeque<>();
            for (long i = 0; i < keep && back.hasNext(); i++) tail.addFirst(back.next());
            it = tail.iterator();
        } else {
            it = window.iterator();
            for (long i = 0; i < skip && it.hasNext(); i++) it.next();
        }
        while (it.hasNext()) {
            Stored s = it.next();
            cursor = s.seq();
            if (filter.matches(s)) {
                out.add(s);
                if (out.size() >= limit) break;
            }
        }
        return new Page(cursor, oldest, truncated, out);
    }
}
