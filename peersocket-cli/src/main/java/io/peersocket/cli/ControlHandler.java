package io.peersocket.cli;

import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.ping.Ping;
import io.peersocket.protocol.peers.KnownPeer;
import io.peersocket.protocol.peers.PeerEntry;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Commands a running node answers on its control endpoints (the control socket and, for the testbed,
 * stdin). A request is a JSON object with {@code "cmd"} and arguments; the answer is a JSON object with
 * {@code "ok": true} and results, or {@code "ok": false, "error": "…"}. See docs/cli.md.
 *
 * <p>Commands: {@code status}; {@code peers} (our recency list, then peers learned from others); {@code dial {addr}}; {@code ping {peer, count}};
 * {@code request {peer, bytes}} (demo echo, returns the RTT); {@code count {peer, limit}} (demo counting
 * conversation); {@code stats} (counters). Thread-safe: each call blocks its caller (bounded).
 */
final class ControlHandler {
    private static final long TIMEOUT_S = 30;
    private final Node node;

    ControlHandler(Node node) { this.node = node; }

    /** Answers one request; never throws. */
    Map<String, Object> handle(Map<String, Object> request) {
        String cmd = String.valueOf(request.get("cmd"));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ok", true);
        out.put("cmd", cmd);
        try {
            handle(cmd, request, out);
        } catch (Exception e) {
            Throwable t = e;
            while (t.getCause() != null && (t instanceof java.util.concurrent.ExecutionException
                    || t instanceof java.util.concurrent.CompletionException)) t = t.getCause();
            out.clear();
            out.put("ok", false);
            out.put("cmd", cmd);
            out.put("error", t.getMessage() == null ? t.toString() : t.getMessage());
        }
        return out;
    }

    private void handle(String cmd, Map<String, Object> r, Map<String, Object> out) throws Exception {
        switch (cmd) {
            case "status" -> {
                out.put("peerId", node.peerId().toString());
                out.put("addresses", node.addresses().stream().map(Multiaddr::toString).toList());
                out.put("connected", node.connectedPeers().get(TIMEOUT_S, TimeUnit.SECONDS).size());
                out.put("protocols", node.protocols());
            }
            case "peers" -> {
                // Seed 000: the peers we connected to, most recent first; then those others told us about.
                Set<PeerId> connected = Set.copyOf(node.connectedPeers().get(TIMEOUT_S, TimeUnit.SECONDS));
                List<Map<String, Object>> peers = new ArrayList<>();
                for (PeerEntry e : node.peerExchange().recencyList()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("peerId", e.peer().toString());
                    m.put("connected", connected.contains(e.peer()));
                    m.put("lastSeenMs", e.lastSeenMs());
                    var info = node.identifyInfo(e.peer());
                    m.put("agent", info == null ? null : info.agentVersion());
                    m.put("addresses", e.addresses().stream().map(Multiaddr::toString).toList());
                    peers.add(m);
                }
                List<Map<String, Object>> learned = new ArrayList<>();
                for (KnownPeer k : node.peerExchange().knownPeers()) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("peerId", k.peer().toString());
                    m.put("connected", connected.contains(k.peer()));
                    m.put("lastSeenMs", k.lastSeenMs());
                    m.put("via", k.via().toString());
                    m.put("addresses", k.addresses().stream().map(Multiaddr::toString).toList());
                    learned.add(m);
                }
                out.put("peers", peers);
                out.put("learned", learned);
            }
            case "dial" -> {
                var c = node.connect(Multiaddr.parse(str(r, "addr"))).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("peer", c.remotePeer().toString());
            }
            case "ping" -> {
                PeerId peer = PeerId.parse(str(r, "peer"));
                int count = num(r, "count", 1);
                if (count < 1 || count > 1000) throw new IllegalArgumentException("count must be 1..1000");
                Ping.Session s = node.pingSession(peer).get(TIMEOUT_S, TimeUnit.SECONDS);
                try {
                    List<Double> rtts = new ArrayList<>();
                    for (int i = 0; i < count; i++) rtts.add(s.ping().get(TIMEOUT_S, TimeUnit.SECONDS) / 1e6);
                    out.put("rttMs", rtts);
                } finally {
                    s.close();
                }
            }
            case "request" -> {
                PeerId peer = PeerId.parse(str(r, "peer"));
                byte[] payload = new byte[num(r, "bytes", 64)];
                new Random().nextBytes(payload);
                long t0 = System.nanoTime();
                Message reply = node.despatcher().request(peer, DemoApp.ECHO_REQUEST, payload).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("rttMs", (System.nanoTime() - t0) / 1e6);
                if (!Arrays.equals(reply.payload(), payload)) throw new IllegalStateException("echo payload differs");
            }
            case "count" -> {
                PeerId peer = PeerId.parse(str(r, "peer"));
                long received = DemoApp.count(node.despatcher(), peer, num(r, "limit", 20)).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("received", received);
            }
            case "stats" -> {
                out.put("connected", node.connectedPeers().get(TIMEOUT_S, TimeUnit.SECONDS).size());
                out.put("counters", node.counters().snapshot());
            }
            default -> throw new IllegalArgumentException("unknown command \"" + cmd + "\"");
        }
    }

    private static String str(Map<String, Object> r, String key) {
        Object v = r.get(key);
        if (!(v instanceof String s) || s.isEmpty()) throw new IllegalArgumentException("missing \"" + key + "\"");
        return s;
    }

    private static int num(Map<String, Object> r, String key, int dflt) {
        Object v = r.get(key);
        if (v == null) return dflt;
        if (!(v instanceof Number n)) throw new IllegalArgumentException("\"" + key + "\" must be a number");
        return n.intValue();
    }
}
