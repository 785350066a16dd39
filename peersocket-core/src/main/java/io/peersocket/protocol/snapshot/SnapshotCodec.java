package io.peersocket.protocol.snapshot;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Encodes and decodes the two snapshot frames, each a {@link StateValues} map (version 1). Payloads of despatch
 * messages {@link Snapshots#MARKER} and {@link Snapshots#REPORT}:
 *
 * <pre>
 *   marker  {v: 1, id: bytes (8), initiator: bytes (peer id), startedAtMs: int, timeoutMs: int,
 *            addrs: [bytes (multiaddr)] (optional, ≤ 8: where to send the report)}
 *   report  {v: 1, id: bytes (8), busy: bool, state: map, to: [bytes], problems: [string],
 *            channels: [{from: bytes, complete: bool, problem: string|null, dropped: int,
 *                        messages: [{t: int, i: int, p: bytes}]}]}
 * </pre>
 *
 * Decoding checks every field's presence, type and bound and throws {@link MalformedSnapshotException} naming
 * the bad one. Thread-safe.
 */
public final class SnapshotCodec {
    public static final int VERSION = 1;
    /** Largest marker, bytes. */
    public static final int MAX_MARKER_BYTES = 2048;
    /** Most initiator addresses in a marker. */
    public static final int MAX_MARKER_ADDRESSES = 8;
    private static final int MAX_PROBLEM_CHARS = 1000;
    private static final int MAX_PROBLEMS = 100;

    private SnapshotCodec() {}

    /**
     * A marker: "record your state, and this channel is empty from here".
     *
     * @param id snapshot id (chosen at random by the initiator)
     * @param initiator where reports go
     * @param startedAtMs the initiator's clock when it recorded, epoch ms
     * @param timeoutMs how long the initiator waits for reports, ms (≥ 1)
     * @param initiatorAddresses where the initiator listens (so a node that is not connected to it can deliver
     *     its report), at most {@value #MAX_MARKER_ADDRESSES}
     */
    public record Marker(long id, PeerId initiator, long startedAtMs, long timeoutMs, List<Multiaddr> initiatorAddresses) {
        public Marker {
            initiatorAddresses = List.copyOf(initiatorAddresses);
        }
    }

    /** A decoded report: snapshot id and the sender's part. */
    public record Report(long id, NodeSnapshot node) {}

    public static byte[] encodeMarker(Marker m) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("v", VERSION);
        v.put("id", idBytes(m.id()));
        v.put("initiator", m.initiator().toBytes());
        v.put("startedAtMs", m.startedAtMs());
        v.put("timeoutMs", m.timeoutMs());
        int total = 0;
        List<byte[]> addrs = new ArrayList<>();
        for (Multiaddr a : m.initiatorAddresses()) {
            if (addrs.size() == MAX_MARKER_ADDRESSES || total + a.byteLength() > MAX_MARKER_BYTES - 256) break;
            addrs.add(a.toBytes());
            total += a.byteLength() + 2;
        }
        if (!addrs.isEmpty()) v.put("addrs", addrs);
        return StateValues.encode(v);
    }

    /**
     * @param maxTimeoutMs largest timeout accepted, ms
     * @throws MalformedSnapshotException for oversized, malformed or out-of-bounds input
     */
    public static Marker decodeMarker(byte[] data, long maxTimeoutMs) {
        if (data.length > MAX_MARKER_BYTES) throw new MalformedSnapshotException("marker of " + data.length + " bytes exceeds " + MAX_MARKER_BYTES);
        Map<String, Object> m = map(StateValues.decode(data), "marker");
        version(m, "marker");
        long id = id(m);
        PeerId initiator = peer(m.get("initiator"), "marker initiator");
        long started = integer(m, "startedAtMs", 0, StateValues.MAX_INTEGER);
        long timeout = integer(m, "timeoutMs", 1, maxTimeoutMs);
        List<Multiaddr> addrs = new ArrayList<>();
        if (m.containsKey("addrs")) {
            for (Object o : list(m.get("addrs"), "marker addrs", MAX_MARKER_ADDRESSES)) {
                if (!(o instanceof byte[] b)) throw new MalformedSnapshotException("marker address is not bytes");
                try {
                    addrs.add(Multiaddr.fromBytes(b));
                } catch (IllegalArgumentException e) {
                    throw new MalformedSnapshotException("marker address: " + e.getMessage());
                }
            }
        }
        return new Marker(id, initiator, started, timeout, addrs);
    }

    /** Encodes {@code node}'s part of snapshot {@code id} (the peer is the sender, not encoded). */
    public static byte[] encodeReport(long id, NodeSnapshot node) {
        Map<String, Object> v = new LinkedHashMap<>();
        v.put("v", VERSION);
        v.put("id", idBytes(id));
        v.put("busy", node.busy());
        v.put("state", node.state());
        v.put("to", node.markersSentTo().stream().map(PeerId::toBytes).toList());
        v.put("problems", node.problems());
        List<Object> channels = new ArrayList<>();
        for (ChannelState c : node.channels()) {
            Map<String, Object> cm = new LinkedHashMap<>();
            cm.put("from", c.from().toBytes());
            cm.put("complete", c.complete());
            cm.put("problem", c.problem());
            cm.put("dropped", c.dropped());
            List<Object> msgs = new ArrayList<>(c.messages().size());
            for (ChannelMessage x : c.messages()) {
                Map<String, Object> mm = new LinkedHashMap<>();
                mm.put("t", x.type());
                mm.put("i", x.id());
                mm.put("p", x.payload());
                msgs.add(mm);
            }
            cm.put("messages", msgs);
            channels.add(cm);
        }
        v.put("channels", channels);
        return StateValues.encode(v);
    }

    /**
     * Decodes a report from {@code sender}.
     *
     * @throws MalformedSnapshotException for oversized, malformed or out-of-bounds input
     */
    public static Report decodeReport(byte[] data, PeerId sender, SnapshotConfig limits) {
        if (data.length > limits.maxReportBytes()) {
            throw new MalformedSnapshotException("report of " + data.length + " bytes exceeds " + limits.maxReportBytes());
        }
        Map<String, Object> m = map(StateValues.decode(data), "report");
        version(m, "report");
        long id = id(m);
        boolean busy = bool(m, "busy");
        @SuppressWarnings("unchecked")
        Map<String, Object> state = (Map<String, Object>) map(m.get("state"), "report state");
        List<Object> to = list(m.get("to"), "report to", limits.maxChannels());
        List<PeerId> sentTo = new ArrayList<>(to.size());
        for (Object o : to) sentTo.add(peer(o, "report to"));
        List<Object> probs = list(m.get("problems"), "report problems", MAX_PROBLEMS);
        List<String> problems = new ArrayList<>();
        for (Object o : probs) problems.add(string(o, "report problem"));
        List<Object> chans = list(m.get("channels"), "report channels", limits.maxChannels());
        List<ChannelState> channels = new ArrayList<>(chans.size());
        for (Object o : chans) {
            Map<String, Object> c = map(o, "channel");
            PeerId from = peer(c.get("from"), "channel from");
            boolean complete = bool(c, "complete");
            Object p = c.get("problem");
            String problem = p == null ? null : string(p, "channel problem");
            if (complete != (problem == null)) throw new MalformedSnapshotException("channel complete flag and problem disagree");
            long dropped = integer(c, "dropped", 0, StateValues.MAX_INTEGER);
            List<Object> msgs = list(c.get("messages"), "channel messages", limits.maxMessagesPerChannel());
            List<ChannelMessage> messages = new ArrayList<>(msgs.size());
            for (Object x : msgs) {
                Map<String, Object> mm = map(x, "channel message");
                int type = (int) integer(mm, "t", 0, Integer.MAX_VALUE);
                long mid = integer(mm, "i", 1, StateValues.MAX_INTEGER);
                if (!(mm.get("p") instanceof byte[] payload)) throw new MalformedSnapshotException("channel message payload missing or not bytes");
                if (mm.size() != 3) throw new MalformedSnapshotException("channel message has unknown fields");
                messages.add(new ChannelMessage(type, mid, payload));
            }
            channels.add(new ChannelState(from, sender, complete, problem, dropped, messages));
        }
        return new Report(id, new NodeSnapshot(sender, busy, state, channels, sentTo, problems));
    }

    private static byte[] idBytes(long id) { return java.nio.ByteBuffer.allocate(8).putLong(id).array(); }

    private static long id(Map<String, Object> m) {
        if (!(m.get("id") instanceof byte[] b) || b.length != 8) throw new MalformedSnapshotException("\"id\" missing or not 8 bytes");
        return java.nio.ByteBuffer.wrap(b).getLong();
    }

    private static void version(Map<String, Object> m, String what) {
        Object v = m.get("v");
        if (!(v instanceof Long l) || l != VERSION) throw new MalformedSnapshotException(what + " version " + v + " unsupported");
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> map(Object o, String what) {
        if (!(o instanceof Map<?, ?> m)) throw new MalformedSnapshotException(what + " is not a map");
        return (Map<String, Object>) m;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o, String what, int max) {
        if (!(o instanceof List<?> l)) throw new MalformedSnapshotException(what + " missing or not a list");
        if (l.size() > max) throw new MalformedSnapshotException(what + ": " + l.size() + " items exceed " + max);
        return (List<Object>) l;
    }

    private static long integer(Map<String, Object> m, String key, long min, long max) {
        if (!(m.get(key) instanceof Long l)) throw new MalformedSnapshotException("\"" + key + "\" missing or not an integer");
        if (l < min || l > max) throw new MalformedSnapshotException("\"" + key + "\" " + l + " outside " + min + " … " + max);
        return l;
    }

    private static boolean bool(Map<String, Object> m, String key) {
        if (!(m.get(key) instanceof Boolean b)) throw new MalformedSnapshotException("\"" + key + "\" missing or not a boolean");
        return b;
    }

    private static String string(Object o, String what) {
        if (!(o instanceof String s)) throw new MalformedSnapshotException(what + " is not a string");
        if (s.length() > MAX_PROBLEM_CHARS) throw new MalformedSnapshotException(what + " longer than " + MAX_PROBLEM_CHARS + " chars");
        return s;
    }

    private static PeerId peer(Object o, String what) {
        if (!(o instanceof byte[] b)) throw new MalformedSnapshotException(what + " missing or not bytes");
        if (b.length > PeerId.MAX_BYTES) throw new MalformedSnapshotException(what + " longer than " + PeerId.MAX_BYTES + " bytes");
        try {
            return PeerId.fromBytes(b);
        } catch (IllegalArgumentException e) {
            throw new MalformedSnapshotException(what + " is not a peer id: " + e.getMessage());
        }
    }
}
