package io.peersocket.cli;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Scope;
import io.peersocket.content.BinEntry;
import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkNotFoundException;
import io.peersocket.content.ChunkStore;
import io.peersocket.content.InvalidChunkException;
import io.peersocket.protocol.content.Content;
import io.peersocket.protocol.content.IntervalStore;
import io.peersocket.protocol.content.Intervals;
import java.util.concurrent.CompletableFuture;
import io.peersocket.content.files.ContentFiles;
import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.node.Node;
import io.peersocket.protocol.ping.Ping;
import io.peersocket.protocol.kad.Kademlia;
import io.peersocket.protocol.kad.RoutingTable;
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
import java.util.function.Consumer;

/**
 * Commands a running node answers on its control endpoints (the control socket and, for the testbed,
 * stdin). A request is a JSON object with {@code "cmd"} and arguments; the answer is a JSON object with
 * {@code "ok": true} and results, or {@code "ok": false, "error": "…"}. See docs/cli.md.
 *
 * <p>Commands: {@code status} (incl. direct and relayed connection counts); {@code connections} (each open connection:
 * peer, direction, remote address, relayed); {@code peers} (our recency list, then peers learned from others); {@code dial {addr}}; {@code ping {peer, count}};
 * {@code request {peer, bytes}} (demo echo, returns the RTT);
 * the demo commands ({@code request}, {@code count}, {@code demo-ping}, {@code demo-forward}) run in a root span
 * {@code "control CMD"} and answer its {@code traceId} when tracing records it; {@code count {peer, limit}} (demo counting
 * conversation); {@code demo-ping {peer, bytes?}} (demo PING → PONG request, returns the RTT);
 * {@code demo-forward {via, to}} (demo FORWARD request to {@code via}, which forwards it to {@code to} — a peer id
 * or a list of them — and answers when the last one has; returns the RTT and the path); {@code stats} (counters, connected peers);
 * {@code connect {peer | addr, direct?, attempts?, dialTimeoutMs?, via?}} (a connection; {@code direct}: introduction and
 * hole punching, {@link Node#connectDirect}; {@code via}: through that Circuit Relay v2 relay; answers
 * {@code peer, direct, limited, relayed, remoteAddress, ms});
 * {@code disconnect {peer}} (closes every connection to it; answers {@code closed}, and {@code drained} false if the
 * closes took over 3 s);
 * {@code firewall {block?, unblock?, clear?}} (drop all UDP traffic to/from listed addresses: a network cut for tests); {@code kad {network?}} (routing table in seed 001 terms);
 * {@code dht-find-peer {peer}}, {@code dht-put {key, value}}, {@code dht-get {key}}, {@code dht-provide {name}},
 * {@code dht-find-providers {name}}; {@code share {path}} and {@code get {root, out}} (absolute paths, read and
 * written by the node itself; progress lines before the answer, see {@link #handle(Map, Consumer)}; over the
 * network when the node runs the content protocols, see {@link #contentFiles}); {@code chunks {list?}} (chunk store and
 * content view: count, depth, content peers, optionally every address); {@code sync-intervals} (persisted pull sync
 * intervals); {@code pubsub-*} ops ({@link PubSubControl}); the {@code ledger-*} commands of {@link LedgerControl}.
 * Thread-safe: each call blocks its caller (bounded, except share/get, which take as long as the transfer).
 */
final class ControlHandler {
    private static final long TIMEOUT_S = 30;
    /** Longest wait for {@code disconnect}'s closes to finish, s. */
    private static final long DISCONNECT_WAIT_S = 3;
    /** Most chunk addresses {@code chunks {list:true}} answers (one JSON line of ~67 bytes each). */
    static final long MAX_LISTED_CHUNKS = 1_000_000;
    /** Least time between two progress lines, ms. */
    static final long PROGRESS_INTERVAL_MS = 200;
    private final Node node;
    private final PubSubControl pubsub;
    /** Whether share and get go over the network: the node runs the content protocols over its chunk store. */
    private final boolean network;

    ControlHandler(Node node) {
        this.node = node;
        this.pubsub = new PubSubControl(node);
        this.network = node.content() != null && node.chunks() != null;
    }

    /**
     * How one {@code share} or {@code get} reaches chunks. With the content protocols ({@link Node#content()}):
     * fetch tries the node's store, then retrieval from the network ({@link Content#retrieve}, verified against the
     * address); push is push sync with a receipt ({@link Content#push}), counted in {@code stats}. Without them: the
     * node's own chunk store only (get fetches locally, share pushes nowhere).
     *
     * @throws IllegalStateException if the node has no chunk store (no data dir)
     */
    private ContentFiles contentFiles(NetStats stats) {
        if (node.chunks() == null) throw new IllegalStateException("this node has no chunk store (no data dir)");
        return network ? networkContent(node, stats) : ContentFiles.local(node.chunks());
    }

    /** Transfer statistics of one share or get over the network. Thread-safe. */
    static final class NetStats {
        final java.util.concurrent.atomic.AtomicLong local = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong retrieved = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong receipts = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong ownReceipts = new java.util.concurrent.atomic.AtomicLong();
        final java.util.concurrent.atomic.AtomicLong badReceipts = new java.util.concurrent.atomic.AtomicLong();
        final Set<PeerId> storers = java.util.concurrent.ConcurrentHashMap.newKeySet();
    }

    /** Store-then-retrieval fetch and push sync with receipts, counted in {@code stats}. */
    static ContentFiles networkContent(Node node, NetStats stats) {
        Content c = node.content();
        ChunkStore store = node.chunks();
        java.util.function.Function<ChunkAddress, CompletableFuture<Chunk>> fetch = a -> store.get(a).thenCompose(o -> {
            if (o.isPresent()) {
                stats.local.incrementAndGet();
                return CompletableFuture.completedFuture(o.get());
            }
            return c.retrieve(a).handle((ch, err) -> {
                if (err != null) {
                    Throwable t = io.peersocket.util.Futures.unwrap(err);
                    ChunkNotFoundException x = new ChunkNotFoundException(a, "chunk " + a
                            + " is not in the local store and was not retrieved from the network: " + t.getMessage());
                    x.initCause(t);
                    throw x;
                }
                if (!ch.address().equals(a)) throw new InvalidChunkException("asked for chunk " + a + " but got " + ch.address());
                stats.retrieved.incrementAndGet();
                return ch;
            });
        });
        java.util.function.Function<Chunk, CompletableFuture<?>> push = ch -> c.push(ch).thenApply(r -> {
            if (!r.address().equals(ch.address()) || !r.verify()) {
                stats.badReceipts.incrementAndGet();
                throw new IllegalStateException("bad receipt for chunk " + ch.address() + ": " + r);
            }
            stats.receipts.incrementAndGet();
            stats.storers.add(r.storer());
            if (r.storer().equals(node.peerId())) stats.ownReceipts.incrementAndGet();
            return r;
        });
        return new ContentFiles(store, fetch, push, ContentFiles.DEFAULT_TIMEOUT_MS, c::holdBack);
    }

    /** Answers one request; never throws. */
    Map<String, Object> handle(Map<String, Object> request) {
        return handle(request, p -> { });
    }

    /**
     * Answers one request; never throws. Long commands ({@code share}, {@code get}) first hand progress
     * objects to {@code progress} ({@code {"progress":true, "bytes", "totalBytes", "chunks", "elapsedMs"}}, at
     * most one per {@value #PROGRESS_INTERVAL_MS} ms), on the calling thread.
     */
    Map<String, Object> handle(Map<String, Object> request, Consumer<Map<String, Object>> progress) {
        String cmd = String.valueOf(request.get("cmd"));
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("ok", true);
        out.put("cmd", cmd);
        try {
            handle(cmd, request, out, progress);
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

    private void handle(String cmd, Map<String, Object> r, Map<String, Object> out,
            Consumer<Map<String, Object>> progress) throws Exception {
        if (PubSubControl.handles(cmd)) {
            pubsub.handle(cmd, r, out);
            return;
        }
        switch (cmd) {
            case "share" -> {
                java.nio.file.Path path = absolute(r, "path");
                long t0 = System.nanoTime();
                NetStats ns = new NetStats();
                ContentFiles files = contentFiles(ns);
                ContentFiles.ShareResult res = files.share(path, throttled(progress, t0));
                out.put("root", res.root().toHex());
                out.put("kind", res.kind().name().toLowerCase(java.util.Locale.ROOT));
                out.put("files", res.files());
                out.put("bytes", res.bytes());
                out.put("chunks", res.chunks());
                out.put("stored", res.stored());
                out.put("pushed", res.pushed());
                out.put("pushFailed", res.pushFailed());
                out.put("skipped", res.skipped());
                out.put("network", network);
                if (network) {
                    out.put("receipts", ns.receipts.get());
                    out.put("ownReceipts", ns.ownReceipts.get());
                    out.put("badReceipts", ns.badReceipts.get());
                    out.put("storers", ns.storers.size());
                }
                out.put("elapsedMs", (System.nanoTime() - t0) / 1_000_000);
            }
            case "get" -> {
                ChunkAddress root = ChunkAddress.parse(str(r, "root"));
                java.nio.file.Path dst = absolute(r, "out");
                long t0 = System.nanoTime();
                NetStats ns = new NetStats();
                ContentFiles files = contentFiles(ns);
                ContentFiles.GetResult res = files.get(root, dst, throttled(progress, t0));
                out.put("root", root.toHex());
                out.put("kind", res.kind().name().toLowerCase(java.util.Locale.ROOT));
                out.put("files", res.files());
                out.put("bytes", res.bytes());
                out.put("chunks", res.chunks());
                out.put("network", network);
                if (network) {
                    out.put("fromStore", ns.local.get());
                    out.put("retrieved", ns.retrieved.get());
                }
                out.put("elapsedMs", (System.nanoTime() - t0) / 1_000_000);
            }
            case "chunks" -> chunks(r, out);
            case "sync-intervals" -> syncIntervals(out);
            case "status" -> {
                out.put("peerId", node.peerId().toString());
                out.put("addresses", node.addresses().stream().map(Multiaddr::toString).toList());
                out.put("circuitAddresses", node.relay().circuitAddresses().stream()
                        .map(a -> a.withPeerId(node.peerId()).toString()).toList());
                out.put("relayService", node.relayService() != null);
                out.put("connected", node.connectedPeers().get(TIMEOUT_S, TimeUnit.SECONDS).size());
                out.put("protocols", node.protocols());
                out.put("reachability", node.reachability().name());
                out.put("externalAddresses", node.externalAddresses().stream().map(Multiaddr::toString).toList());
                out.put("dhtMode", node.kademlia() == null ? "off" : node.kademlia().mode().name().toLowerCase(java.util.Locale.ROOT));
                List<Connection> open = node.openConnections().get(TIMEOUT_S, TimeUnit.SECONDS);
                long relayed = open.stream().filter(Connection::isLimited).count();
                out.put("directConnections", open.size() - relayed);
                out.put("relayedConnections", relayed);
            }
            case "connections" -> {
                // Issue 7: which connections are direct and which go through a relay (limited).
                List<Map<String, Object>> list = new ArrayList<>();
                for (Connection c : node.openConnections().get(TIMEOUT_S, TimeUnit.SECONDS)) {
                    Map<String, Object> m = new LinkedHashMap<>();
                    m.put("peer", c.remotePeer().toString());
                    m.put("direction", c.direction().name().toLowerCase(java.util.Locale.ROOT));
                    m.put("remoteAddress", c.remoteAddress().toString());
                    m.put("relayed", c.isLimited());
                    list.add(m);
                }
                out.put("connections", list);
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
            case "connect" -> connect(r, out);
            case "disconnect" -> {
                PeerId peer = PeerId.parse(str(r, "peer"));
                int n = node.openConnections(peer).get(TIMEOUT_S, TimeUnit.SECONDS).size();
                boolean done = true;
                try {
                    // a QUIC close completes after the draining period; do not hold the caller beyond a few seconds
                    node.disconnect(peer).get(DISCONNECT_WAIT_S, TimeUnit.SECONDS);
                } catch (java.util.concurrent.TimeoutException e) {
                    done = false;
                }
                out.put("peer", peer.toString());
                out.put("closed", n);
                out.put("drained", done);
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
                Message reply = traced(cmd, out, () -> node.despatcher().request(peer, DemoApp.ECHO_REQUEST, payload))
                        .get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("rttMs", (System.nanoTime() - t0) / 1e6);
                if (!Arrays.equals(reply.payload(), payload)) throw new IllegalStateException("echo payload differs");
            }
            case "demo-ping" -> {
                PeerId peer = PeerId.parse(str(r, "peer"));
                byte[] payload = new byte[num(r, "bytes", 16)];
                if (payload.length > 65536) throw new IllegalArgumentException("bytes must be <= 65536");
                new Random().nextBytes(payload);
                long t0 = System.nanoTime();
                Message reply = traced(cmd, out, () -> node.despatcher().request(peer, DemoApp.PING, payload))
                        .get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("rttMs", (System.nanoTime() - t0) / 1e6);
                if (reply.type() != DemoApp.PONG || !Arrays.equals(reply.payload(), payload)) {
                    throw new IllegalStateException("PONG payload differs");
                }
            }
            case "demo-forward" -> {
                List<PeerId> route = new ArrayList<>();
                route.add(PeerId.parse(str(r, "via")));
                Object to = r.get("to");
                if (to instanceof String s) route.add(PeerId.parse(s));
                else if (to instanceof List<?> l) for (Object o : l) route.add(PeerId.parse(String.valueOf(o)));
                else throw new IllegalArgumentException("missing \"to\" (a peer id or a list of them)");
                long t0 = System.nanoTime();
                List<String> path = traced(cmd, out, () -> DemoApp.forward(node.despatcher(), route))
                        .get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("rttMs", (System.nanoTime() - t0) / 1e6);
                out.put("path", path);
            }
            case "count" -> {
                PeerId peer = PeerId.parse(str(r, "peer"));
                int limit = num(r, "limit", 20);
                long received = traced(cmd, out, () -> DemoApp.count(node.despatcher(), peer, limit)).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("received", received);
            }
            case "stats" -> {
                List<PeerId> connectedPeers = node.connectedPeers().get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("connected", connectedPeers.size());
                out.put("connectedPeers", connectedPeers.stream().map(PeerId::toString).sorted().toList());
                out.put("counters", node.counters().snapshot());
            }
            case "kad" -> kad(r, out);
            case "dht-find-peer" -> {
                var res = dht().findPeer(PeerId.parse(str(r, "peer"))).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("found", res.peer() != null);
                if (res.peer() != null) out.put("addresses", res.peer().addresses().stream().map(Multiaddr::toString).toList());
                stats(res.stats(), out);
            }
            case "dht-put" -> {
                var res = dht().putValue(utf8(str(r, "key")), utf8(str(r, "value"))).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("stored", res.stored());
                out.put("failed", res.failed());
                stats(res.stats(), out);
            }
            case "dht-get" -> {
                var res = dht().getValue(utf8(str(r, "key"))).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("value", new String(res.value(), java.nio.charset.StandardCharsets.UTF_8));
                out.put("from", res.from() == null ? null : res.from().toString());
                stats(res.stats(), out);
            }
            case "dht-provide" -> {
                var res = dht().provide(DhtNames.contentKey(str(r, "name"))).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("announced", res.announced());
                stats(res.stats(), out);
            }
            case "dht-find-providers" -> {
                var res = dht().findProviders(DhtNames.contentKey(str(r, "name"))).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("providers", res.providers().stream().map(p -> Map.of("peerId", p.id().toString(),
                        "addresses", p.addresses().stream().map(Multiaddr::toString).toList())).toList());
                stats(res.stats(), out);
            }
            case "firewall" -> firewall(r, out);
            case "snapshot", "tokens-start", "tokens-stop", "tokens" -> SnapshotControl.handle(node, cmd, r, out);
            case "ledger-info", "ledger-height", "ledger-block", "ledger-submit", "ledger-produce",
                    "ledger-rebuilds" -> LedgerControl.handle(node, cmd, r, out);
            default -> throw new IllegalArgumentException("unknown command \"" + cmd + "\"");
        }
    }

    /**
     * Starts {@code work} inside a new root span {@code "control CMD"} (ended when the work completes) and puts
     * its trace id in {@code out} as {@code "traceId"} when tracing records it.
     */
    private <T> java.util.concurrent.CompletableFuture<T> traced(String cmd, Map<String, Object> out,
            java.util.function.Supplier<java.util.concurrent.CompletableFuture<T>> work) {
        Span span = node.telemetry().tracer().spanBuilder("control " + cmd).setNoParent()
                .setSpanKind(SpanKind.INTERNAL).startSpan();
        if (span.getSpanContext().isSampled()) out.put("traceId", span.getSpanContext().getTraceId());
        java.util.concurrent.CompletableFuture<T> f;
        try (Scope ignored = span.makeCurrent()) {
            f = work.get();
        } catch (RuntimeException e) {
            io.peersocket.telemetry.Telemetry.end(span, e);
            throw e;
        }
        return f.whenComplete((v, err) -> io.peersocket.telemetry.Telemetry.end(span,
                err == null ? null : io.peersocket.util.Futures.unwrap(err)));
    }


    private static java.nio.file.Path absolute(Map<String, Object> r, String key) {
        java.nio.file.Path p = java.nio.file.Path.of(str(r, key));
        if (!p.isAbsolute()) throw new IllegalArgumentException("\"" + key + "\" must be an absolute path: " + p);
        return p;
    }

    /** Progress objects at most every PROGRESS_INTERVAL_MS (the first update and completion always pass). */
    private static ContentFiles.Progress throttled(Consumer<Map<String, Object>> sink, long t0) {
        long[] last = {Long.MIN_VALUE};
        return (bytes, total, chunks) -> {
            long now = System.nanoTime();
            boolean finished = total >= 0 && bytes >= total;
            if (!finished && last[0] != Long.MIN_VALUE && now - last[0] < PROGRESS_INTERVAL_MS * 1_000_000) return;
            last[0] = now;
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("progress", true);
            m.put("bytes", bytes);
            m.put("totalBytes", total);
            m.put("chunks", chunks);
            m.put("elapsedMs", (now - t0) / 1_000_000);
            sink.accept(m);
        };
    }

    /**
     * {@code chunks {list?}}: the node's chunk store and content view — {@code count} (chunks stored),
     * {@code pinned}, {@code overlay} (hex), and with the content protocols {@code depth} (over connected content
     * peers) and {@code contentPeers}; with {@code "list": true} also {@code addresses}, every stored chunk address
     * (hex), bin by bin. The testbed's content scenario checks neighbourhood convergence with it.
     */
    private void chunks(Map<String, Object> r, Map<String, Object> out) throws Exception {
        ChunkStore store = node.chunks();
        if (store == null) throw new IllegalStateException("this node has no chunk store (no data dir)");
        out.put("count", store.size());
        out.put("pinned", store.pinnedCount());
        out.put("overlay", java.util.HexFormat.of().formatHex(store.overlay()));
        Content c = node.content();
        if (c != null) {
            int[] view = CompletableFuture.supplyAsync(() -> new int[] {c.depth(), c.peers().size(), c.inFlightCount()},
                    node.loop()).get(TIMEOUT_S, TimeUnit.SECONDS);
            out.put("depth", view[0]);
            out.put("contentPeers", view[1]);
            out.put("inFlight", view[2]);
        }
        if (Boolean.TRUE.equals(r.get("list"))) {
            if (store.size() > MAX_LISTED_CHUNKS) {
                throw new IllegalStateException("the store holds " + store.size() + " chunks; \"list\" answers at most "
                        + MAX_LISTED_CHUNKS);
            }
            List<String> addresses = new ArrayList<>();
            for (int po = 0; po < 256; po++) {
                long from = 0;
                while (true) {
                    List<BinEntry> page = store.chunksInBin(po, from, 10_000).get(TIMEOUT_S, TimeUnit.SECONDS);
                    for (BinEntry e : page) addresses.add(e.address().toHex());
                    if (page.size() < 10_000) break;
                    from = page.get(page.size() - 1).binIndex();
                }
            }
            out.put("addresses", addresses);
        }
    }

    /**
     * {@code sync-intervals}: the pull sync intervals persisted in the node's store — per upstream and bin, the
     * covered index ranges and how many indices they cover ({@code covered} in all).
     */
    private void syncIntervals(Map<String, Object> out) throws Exception {
        if (node.store() == null) throw new IllegalStateException("this node has no store (no data dir)");
        List<IntervalStore.Entry> entries = IntervalStore.sqlite(node.store()).all().get(TIMEOUT_S, TimeUnit.SECONDS);
        List<Map<String, Object>> rows = new ArrayList<>();
        long covered = 0;
        for (IntervalStore.Entry e : entries) {
            Intervals iv = e.intervals();
            long n = 0;
            List<List<Long>> ranges = new ArrayList<>();
            for (long[] x : iv.list()) {
                n += x[1] - x[0] + 1;
                ranges.add(List.of(x[0], x[1]));
            }
            covered += n;
            rows.add(Map.of("upstream", e.upstream().toString(), "bin", e.bin(), "covered", n, "ranges", ranges));
        }
        out.put("covered", covered);
        out.put("intervals", rows);
    }

    private Kademlia dht() {
        if (node.kademlia() == null) throw new IllegalStateException("this node runs without the DHT");
        return node.kademlia();
    }

    /**
     * {@code firewall {block?, unblock?, clear?}}: a packet filter at the node's UDP socket (a real network cut to
     * QUIC, see {@link Node#block}). {@code clear: true} unblocks everything first, then {@code unblock} and
     * {@code block} (lists of multiaddrs, {@code /p2p/} allowed) apply; answers the addresses blocked now.
     */
    private void firewall(Map<String, Object> r, Map<String, Object> out) {
        if (Boolean.TRUE.equals(r.get("clear"))) node.unblock(node.blocked());
        List<Multiaddr> unblock = addresses(r, "unblock"), block = addresses(r, "block");
        if (!unblock.isEmpty()) node.unblock(unblock);
        if (!block.isEmpty()) node.block(block);
        out.put("blocked", node.blocked().stream().map(Multiaddr::toString).sorted().toList());
    }

    /** The list of multiaddrs under {@code key} (absent: empty); at most 4096. */
    private static List<Multiaddr> addresses(Map<String, Object> r, String key) {
        Object v = r.get(key);
        if (v == null) return List.of();
        if (!(v instanceof List<?> list)) throw new IllegalArgumentException("\"" + key + "\" must be a list of multiaddrs");
        if (list.size() > 4096) throw new IllegalArgumentException("\"" + key + "\" has more than 4096 addresses");
        List<Multiaddr> out = new ArrayList<>();
        for (Object o : list) out.add(Multiaddr.parse(String.valueOf(o)));
        return out;
    }

    /** The routing table in seed 001 terms: bins by proximity order, depth, saturation, health. */
    private void kad(Map<String, Object> r, Map<String, Object> out) throws Exception {
        List<PeerId> network = new ArrayList<>();
        if (r.get("network") instanceof List<?> l) for (Object o : l) network.add(PeerId.parse(String.valueOf(o)));
        var view = dht().inspect(t -> {
            Map<String, Object> m = new LinkedHashMap<>();
            List<Map<String, Object>> bins = new ArrayList<>();
            for (int po = 0; po < RoutingTable.BINS; po++) {
                if (t.memberCount(po) == 0) continue;
                bins.add(Map.of("po", po, "members", t.memberCount(po), "connected", t.connectedCount(po),
                        "peers", t.bin(po).stream().map(i -> i.peer().toString()).toList()));
            }
            RoutingTable.Health h = network.isEmpty() ? t.health() : t.health(network);
            m.put("size", t.size());
            m.put("known", t.knownCount());
            m.put("depth", t.depth());
            m.put("saturation", t.saturation());
            m.put("bins", bins);
            m.put("healthy", h.healthy());
            m.put("knowsNearestNeighbours", h.knowsNearestNeighbours());
            m.put("connectedToNearestNeighbours", h.connectedToNearestNeighbours());
            m.put("nearestNeighbours", h.nearestNeighbours().size());
            m.put("emptyBins", h.emptyBins());
            return m;
        }).get(TIMEOUT_S, TimeUnit.SECONDS);
        out.putAll(view);
    }

    private static void stats(Kademlia.LookupStats s, Map<String, Object> out) {
        out.put("hops", s.hops());
        out.put("durationMs", s.durationMs());
        out.put("queried", s.queried());
    }

    private static byte[] utf8(String s) { return s.getBytes(java.nio.charset.StandardCharsets.UTF_8); }

    private static String str(Map<String, Object> r, String key) { return ControlArgs.str(r, key); }
    /**
     * {@code connect}: {@code peer} (id) or {@code addr} (multiaddr, with {@code /p2p/} when direct); {@code direct}
     * (default false) asks for a direct connection by introduction and hole punching with {@code attempts} tries
     * (1..10, default from the node's settings); {@code via} (a relay's multiaddr ending in {@code /p2p/RELAY}) dials
     * the target through that relay ({@code …/p2p/RELAY/p2p-circuit/p2p/TARGET}), giving a limited (relayed)
     * connection; {@code via} and {@code direct} together are refused.
     */
    private void connect(Map<String, Object> r, Map<String, Object> out) throws Exception {
        boolean direct = Boolean.TRUE.equals(r.get("direct"));
        long t0 = System.nanoTime();
        io.peersocket.transport.Connection c;
        if (r.get("via") != null) {
            if (direct) throw new IllegalArgumentException("\"via\" and \"direct\" exclude each other");
            Multiaddr relay = Multiaddr.parse(str(r, "via"));
            if (relay.peerId() == null || relay.has(io.peersocket.multiaddr.Protocol.P2P_CIRCUIT)) {
                throw new IllegalArgumentException("\"via\" must be a relay address ending in /p2p/RELAY: " + relay);
            }
            PeerId target = r.get("addr") != null ? Multiaddr.parse(str(r, "addr")).peerId() : PeerId.parse(str(r, "peer"));
            if (target == null) throw new IllegalArgumentException("a connect via a relay needs the target's /p2p/PEER");
            Multiaddr circuit = Multiaddr.parse(relay + "/p2p-circuit/p2p/" + target);
            c = node.connect(circuit).get(TIMEOUT_S, TimeUnit.SECONDS);
            out.put("circuitAddress", circuit.toString());
        } else if (r.get("addr") != null) {
            Multiaddr addr = Multiaddr.parse(str(r, "addr"));
            if (direct) {
                PeerId peer = addr.peerId();
                if (peer == null) throw new IllegalArgumentException("a direct connect by address needs /p2p/PEER");
                node.addAddresses(peer, List.of(addr.withoutPeerId()));
                c = connectDirect(peer, r);
            } else {
                c = node.connect(addr).get(TIMEOUT_S, TimeUnit.SECONDS);
            }
        } else {
            PeerId peer = PeerId.parse(str(r, "peer"));
            c = direct ? connectDirect(peer, r) : node.connection(peer).get(TIMEOUT_S, TimeUnit.SECONDS);
        }
        out.put("peer", c.remotePeer().toString());
        out.put("direct", !c.isLimited());
        out.put("limited", c.isLimited());
        out.put("relayed", c.isLimited());
        out.put("remoteAddress", c.remoteAddress().toString());
        out.put("connectionDirection", c.direction().name().toLowerCase(java.util.Locale.ROOT));
        out.put("ms", (System.nanoTime() - t0) / 1_000_000);
    }

    private io.peersocket.transport.Connection connectDirect(PeerId peer, Map<String, Object> r) throws Exception {
        Object attempts = r.get("attempts");
        Object timeout = r.get("dialTimeoutMs");
        if (attempts == null && timeout == null) return node.connectDirect(peer).get(TIMEOUT_S, TimeUnit.SECONDS);
        int n = num(r, "attempts", 3);
        if (n < 1 || n > 10) throw new IllegalArgumentException("\"attempts\" must be 1..10");
        int t = num(r, "dialTimeoutMs", 5_000);
        if (t < 100 || (long) n * t > 25_000) {
            throw new IllegalArgumentException("\"dialTimeoutMs\" must be >= 100 and attempts x dialTimeoutMs <= 25000");
        }
        return node.connectDirect(peer, n, t).get(TIMEOUT_S, TimeUnit.SECONDS);
    }


    private static int num(Map<String, Object> r, String key, int dflt) {
        long v = ControlArgs.num(r, key, dflt);
        if (v != (int) v) throw new IllegalArgumentException("\"" + key + "\" out of range: " + v);
        return (int) v;
    }
}
