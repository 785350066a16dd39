package io.peersocket.protocol.snapshot;

import io.peersocket.identity.PeerId;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

/**
 * A global snapshot as assembled at the initiator (Chandy–Lamport): every reached node's recorded local state and
 * the state of each of its inbound channels.
 *
 * @param id snapshot id
 * @param initiator the node that started it
 * @param startedAtMs the initiator's clock when it recorded, epoch ms
 * @param durationMs from the start until the result was assembled, ms
 * @param nodes the reports received, by node (the initiator's included), in arrival order
 * @param missing nodes named as channel ends in some report that did not report before the timeout
 * @param problems snapshot-wide problems (timeout, missing reports); per-node ones are in {@link NodeSnapshot}
 */
public record GlobalSnapshot(long id, PeerId initiator, long startedAtMs, long durationMs, Map<PeerId, NodeSnapshot> nodes,
                             List<PeerId> missing, List<String> problems) {
    public GlobalSnapshot {
        nodes = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(nodes));
        missing = List.copyOf(missing);
        problems = List.copyOf(problems);
    }

    /**
     * True if the result is a consistent cut: every node reached reported, none was busy, every channel was
     * recorded until its marker without a reset, nothing was dropped. An incomplete result must not be used for
     * global checks such as conservation.
     */
    public boolean complete() {
        return missing.isEmpty() && problems.isEmpty() && nodes.values().stream().allMatch(NodeSnapshot::complete);
    }

    /** Messages recorded on all channels. */
    public long channelMessageCount() {
        return nodes.values().stream().flatMap(n -> n.channels().stream()).mapToLong(c -> c.messages().size()).sum();
    }

    /** Why the result is incomplete: snapshot-wide, per node and per channel problems, one line each. */
    public List<String> allProblems() {
        List<String> out = new ArrayList<>(problems);
        for (PeerId p : missing) out.add("no report from " + p);
        for (NodeSnapshot n : nodes.values()) {
            if (n.busy()) out.add(n.peer() + " was busy with another snapshot");
            for (String s : n.problems()) out.add(n.peer() + ": " + s);
            for (ChannelState c : n.channels()) {
                if (!c.complete()) out.add("channel " + c.from() + " -> " + c.to() + ": " + c.problem());
            }
        }
        return out;
    }

    /**
     * A JSON-ready view (maps, lists, strings, numbers, booleans; bytes as hex).
     *
     * @param describe gives a readable form of a channel message (type, payload), or null; may be null
     */
    public Map<String, Object> toMap(BiFunction<Integer, byte[], Object> describe) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", Long.toUnsignedString(id, 16));
        m.put("initiator", initiator.toString());
        m.put("complete", complete());
        m.put("startedAtMs", startedAtMs);
        m.put("durationMs", durationMs);
        m.put("channelMessages", channelMessageCount());
        m.put("problems", allProblems());
        m.put("missing", missing.stream().map(PeerId::toString).toList());
        List<Object> ns = new ArrayList<>();
        for (NodeSnapshot n : nodes.values()) {
            Map<String, Object> nm = new LinkedHashMap<>();
            nm.put("peer", n.peer().toString());
            nm.put("busy", n.busy());
            nm.put("state", jsonable(n.state()));
            nm.put("markersSentTo", n.markersSentTo().stream().map(PeerId::toString).toList());
            nm.put("problems", n.problems());
            List<Object> cs = new ArrayList<>();
            for (ChannelState c : n.channels()) {
                Map<String, Object> cm = new LinkedHashMap<>();
                cm.put("from", c.from().toString());
                cm.put("complete", c.complete());
                cm.put("problem", c.problem());
                cm.put("dropped", c.dropped());
                List<Object> msgs = new ArrayList<>();
                for (ChannelMessage x : c.messages()) {
                    Map<String, Object> mm = new LinkedHashMap<>();
                    mm.put("type", x.type());
                    mm.put("id", x.id());
                    mm.put("bytes", x.payload().length);
                    Object d = describe == null ? null : describe.apply(x.type(), x.payload());
                    if (d != null) mm.put("value", jsonable(d));
                    msgs.add(mm);
                }
                cm.put("messages", msgs);
                cs.add(cm);
            }
            nm.put("channels", cs);
            ns.add(nm);
        }
        m.put("nodes", ns);
        return m;
    }

    private static Object jsonable(Object v) {
        if (v instanceof byte[] b) return HexFormat.of().formatHex(b);
        if (v instanceof Map<?, ?> map) {
            Map<String, Object> out = new LinkedHashMap<>();
            map.forEach((k, x) -> out.put(String.valueOf(k), jsonable(x)));
            return out;
        }
        if (v instanceof List<?> l) return l.stream().map(GlobalSnapshot::jsonable).toList();
        return v;
    }
}
