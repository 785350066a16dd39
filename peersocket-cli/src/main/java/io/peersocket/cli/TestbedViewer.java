package io.peersocket.cli;

import io.peersocket.cli.viewer.Graph;
import io.peersocket.cli.viewer.SpanStore;
import io.peersocket.cli.viewer.TraceTail;
import io.peersocket.cli.viewer.ViewerServer;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The live side of {@code testbed --view}: follows every node's {@code DATA/traces.jsonl} into a {@link SpanStore},
 * asks every node for its connected peers (control op {@code peers}) once a second to build the {@link Graph},
 * serves both through a {@link ViewerServer}, and on request keeps traffic going: once a second each node that is
 * not busy sends the demo PING request ({@code demo-ping}) to a random connected peer. One scheduler thread; node
 * commands complete on the testbed's threads.
 */
final class TestbedViewer implements AutoCloseable {
    /** Traces file a node writes in its data dir. */
    static final String TRACES_FILE = "traces.jsonl";
    private static final long TAIL_MS = 250, GRAPH_MS = 1000, TRAFFIC_MS = 1000;

    /** One testbed node as the viewer sees it. */
    record Node(TestbedCommand.Peer peer, int index, String peerId, String address, Path dataDir) {}

    private final List<Node> nodes;
    private final SpanStore store = new SpanStore(SpanStore.DEFAULT_CAPACITY);
    private final List<TraceTail> tails = new ArrayList<>();
    private final Map<String, Set<String>> connected = new ConcurrentHashMap<>();
    private final Map<Integer, AtomicBoolean> polling = new ConcurrentHashMap<>(), pinging = new ConcurrentHashMap<>();
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "testbed-viewer");
        t.setDaemon(true);
        return t;
    });
    private final AtomicLong pingsOk = new AtomicLong(), pingsFailed = new AtomicLong();
    private volatile Graph graph = Graph.EMPTY;
    private volatile String lastTrafficError;
    private ScheduledFuture<?> traffic;
    private ViewerServer server;

    private TestbedViewer(List<Node> nodes) {
        this.nodes = List.copyOf(nodes);
        for (Node n : nodes) {
            tails.add(new TraceTail(n.dataDir().resolve(TRACES_FILE), store));
            polling.put(n.index(), new AtomicBoolean());
            pinging.put(n.index(), new AtomicBoolean());
        }
        rebuildGraph();
    }

    /**
     * Starts following the nodes and serving the page on 127.0.0.1.
     *
     * @param port TCP port, 0 for any
     * @throws IOException if the port cannot be bound
     */
    static TestbedViewer start(List<Node> nodes, int port, String title) throws IOException {
        TestbedViewer v = new TestbedViewer(nodes);
        v.server = ViewerServer.start(port, title, () -> v.graph, v.store);
        v.scheduler.scheduleWithFixedDelay(v::pollTails, 0, TAIL_MS, TimeUnit.MILLISECONDS);
        v.scheduler.scheduleWithFixedDelay(v::pollGraph, 0, GRAPH_MS, TimeUnit.MILLISECONDS);
        return v;
    }

    URI uri() { return server.uri(); }

    /** Starts the background pings (see the class comment). */
    synchronized void startTraffic(Random random) {
        if (traffic == null) traffic = scheduler.scheduleWithFixedDelay(() -> pingRound(random), 0, TRAFFIC_MS, TimeUnit.MILLISECONDS);
    }

    /** Stops starting new background pings (those under way finish). */
    synchronized void stopTraffic() {
        if (traffic != null) traffic.cancel(false);
    }

    long pingsOk() { return pingsOk.get(); }

    long pingsFailed() { return pingsFailed.get(); }

    /** Spans read from all nodes so far. */
    long spansSeen() { return store.newest(); }

    /** The last failed background ping's error, or null. */
    String lastTrafficError() { return lastTrafficError; }

    @Override public void close() {
        scheduler.shutdownNow();
        if (server != null) server.close();
    }

    private void pollTails() {
        for (TraceTail t : tails) {
            try {
                t.poll();
            } catch (IOException | RuntimeException e) {
                // unreadable now (e.g. the data dir is being removed): try again next round
            }
        }
    }

    private void pollGraph() {
        for (Node n : nodes) {
            AtomicBoolean busy = polling.get(n.index());
            if (!n.peer().process.isAlive()) {
                connected.remove(n.peerId());
                continue;
            }
            if (!busy.compareAndSet(false, true)) continue; // last answer still pending
            n.peer().command(Map.of("cmd", "peers")).whenComplete((r, err) -> {
                busy.set(false);
                if (err != null || r == null || !r.ok()) return;
                Set<String> ids = new java.util.HashSet<>();
                for (String list : List.of("peers", "learned")) {
                    if (!(r.values().get(list) instanceof List<?> l)) continue;
                    for (Object o : l) {
                        if (o instanceof Map<?, ?> m && Boolean.TRUE.equals(m.get("connected")) && m.get("peerId") instanceof String id) ids.add(id);
                    }
                }
                connected.put(n.peerId(), Set.copyOf(ids));
            });
        }
        rebuildGraph();
    }

    private void rebuildGraph() {
        List<Graph.Node> gn = new ArrayList<>();
        for (Node n : nodes) {
            gn.add(new Graph.Node(n.peerId(), "peer-" + n.index(), List.of(n.address()), n.peer().process.isAlive()));
        }
        graph = Graph.of(gn, connected);
    }

    private void pingRound(Random random) {
        for (Node n : nodes) {
            List<String> peers = new ArrayList<>(connected.getOrDefault(n.peerId(), Set.of()));
            if (peers.isEmpty() || !n.peer().process.isAlive()) continue;
            AtomicBoolean busy = pinging.get(n.index());
            if (!busy.compareAndSet(false, true)) continue;
            peers.sort(null);
            String target = peers.get(random.nextInt(peers.size()));
            n.peer().command(Map.of("cmd", "demo-ping", "peer", target)).whenComplete((r, err) -> {
                busy.set(false);
                if (err == null && r != null && r.ok()) {
                    pingsOk.incrementAndGet();
                } else {
                    pingsFailed.incrementAndGet();
                    lastTrafficError = err != null ? err.toString() : r == null ? "no answer" : r.error();
                }
            });
        }
    }
}
