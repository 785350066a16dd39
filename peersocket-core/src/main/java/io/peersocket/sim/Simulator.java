package io.peersocket.sim;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.transport.memory.LinkModel;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.transport.memory.MemoryNetwork.LinkConditions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A deterministic simulation of many real {@link Node}s in one JVM: the whole node stack (transport contract,
 * multistream, identify, handshake, peer exchange, despatch, Kademlia if {@link SimConfig#nodeOptions} enables
 * it, and whatever {@link SimConfig#setup} attaches) over one {@link MemoryNetwork}, in virtual time. Nodes have
 * no data dir (no store).
 *
 * <pre>{@code
 * try (Simulator sim = Simulator.start(KadDiscovery.configure(SimConfig.of(1000, 42), KadConfig.defaults()))) {
 *     sim.introduce(1, 0);
 *     sim.app(1, Discovery.class).join(sim.simNode(0));
 *     sim.runFor(60_000);                                   // virtual ms
 *     var found = sim.await(sim.node(1).kademlia().findPeer(sim.peerId(7)), 30_000);
 * }
 * }</pre>
 *
 * <p><b>Threading.</b> All nodes share one {@link SimLoop}, driven by the thread that creates the simulator (every
 * method must be called from it). The loop is a discrete-event scheduler: it runs whatever is due, then jumps to
 * the next timer, so idle virtual time is free and there is no thread per node (a node costs only its objects).
 * One loop rather than a loop per node under a global scheduler: the same order, less bookkeeping, and no
 * cross-thread hand-offs — on a 2-core machine one busy thread is the fastest deterministic option. Despatch
 * handlers run as tasks on that loop ({@link io.peersocket.despatch.DespatchConfig#withHandlerExecutor}) instead of
 * on virtual threads, so they must not block.
 *
 * <p><b>Determinism.</b> Same {@link SimConfig} (seed) and the same calls from the driving thread give the same
 * run: the same tasks in the same order at the same virtual times, the same latencies and losses, the same
 * results. {@link #traceDigest()} folds every send (virtual time, sender, receiver, latency) into a 64-bit digest
 * for comparing runs; {@link SimStats#foreignSubmissions()} counts work that escaped to another thread (0 in a
 * sound run). Wall-clock time is only measured ({@link SimStats#wallMs()}), never used. Random bytes that only
 * fill payloads (ping payloads, the peer exchange log id) still come from {@code SecureRandom}; they change
 * message contents, never sizes or the order of events.
 *
 * <p><b>Links.</b> Every send asks the {@link SimConfig#linkModel} for its latency and loss; on top of it the
 * simulator makes crashed nodes and partitioned pairs unreachable (dials time out at the handshake timeout,
 * datagrams are lost) and breaks their connections (both sides close at once, as with a zero idle timeout).
 *
 * <p><b>Crash and restart.</b> {@link #crash} breaks the node's connections, closes its application object and
 * node and drops all their state; {@link #restart} starts a fresh node with the same key on the same address and
 * runs the setup again (no state survives: nodes have no data dir; a later issue can give each a store).
 *
 * <p>Not thread-safe: call from the driving thread only.
 */
public final class Simulator implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Simulator.class);

    private final SimConfig config;
    private final SimLoop loop;
    private final MemoryNetwork network;
    private final SimLinks links;
    private final List<SimNode> nodes;
    private final Map<PeerId, Integer> indexOf;
    private final Thread driver;
    private long wallNanos;
    private long cpuNanos;
    private final java.lang.management.ThreadMXBean threads = java.lang.management.ManagementFactory.getThreadMXBean();
    private boolean closed;

    private Simulator(SimConfig config) {
        this.config = config;
        this.driver = Thread.currentThread();
        this.loop = new SimLoop(config.startMs());
        this.network = new MemoryNetwork(config.seed());
        this.nodes = new ArrayList<>(config.nodes());
        this.indexOf = new HashMap<>(config.nodes() * 2);
        for (int i = 0; i < config.nodes(); i++) {
            SimNode n = new SimNode(i, keyFor(config.seed(), i), MemoryNetwork.address(i + 1L));
            nodes.add(n);
            if (indexOf.put(n.peerId(), i) != null) throw new IllegalStateException("duplicate identity for node " + i);
        }
        this.links = new SimLinks(config.linkModel());
        network.setLinkModel(links);
    }

    /**
     * Builds the network and starts every node in index order (each listening, none connected), then runs the
     * loop until nothing is pending at the start time.
     *
     * @throws UncheckedIOException if a node cannot start
     */
    public static Simulator start(SimConfig config) {
        Simulator sim = new Simulator(config);
        try {
            for (SimNode n : sim.nodes) sim.startNode(n);
            sim.runPending();
        } catch (RuntimeException | Error e) {
            sim.close();
            throw e;
        }
        return sim;
    }

    /** {@code HostKey.fromSeed(SHA-256(seed as 8 bytes big-endian ‖ index as 4 bytes big-endian))}. */
    public static HostKey keyFor(long seed, int index) {
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            return HostKey.fromSeed(sha.digest(ByteBuffer.allocate(12).putLong(seed).putInt(index).array()));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    private void startNode(SimNode n) {
        try {
            n.node = config.nodeOptions().apply(Node.builder())
                    .eventLoop(loop)
                    .transport(network::transport)
                    .listen(n.listenAddress())
                    .hostKey(n.hostKey())
                    .despatch(config.despatch().withHandlerExecutor(loop))
                    .transportSettings(config.transportSettings())
                    .start();
        } catch (IOException e) {
            throw new UncheckedIOException("node " + n.index() + " did not start: " + e.getMessage(), e);
        }
        n.alive = true;
        n.starts++;
        n.app = config.setup().apply(n);
    }

    // ---- access -------------------------------------------------------------------------------------

    public SimConfig config() { return config; }

    /** How many nodes (alive or crashed). */
    public int size() { return nodes.size(); }

    /** The shared event loop (virtual clock). */
    public SimLoop loop() { return loop; }

    public MemoryNetwork network() { return network; }

    /** Node {@code i}'s slot (identity, address, current node, application object). */
    public SimNode simNode(int i) { return nodes.get(i); }

    /** Node {@code i} (after a crash: the stopped one). */
    public Node node(int i) { return nodes.get(i).node(); }

    /** Node {@code i}'s application object as {@code type} (see {@link SimConfig#setup}). */
    public <T> T app(int i, Class<T> type) { return nodes.get(i).app(type); }

    public PeerId peerId(int i) { return nodes.get(i).peerId(); }

    /** {@code /memory/<i+1>/p2p/<id>}. */
    public Multiaddr address(int i) { return nodes.get(i).address(); }

    /** The index of {@code peer}, or -1 if it is not a simulated node. */
    public int indexOf(PeerId peer) { return indexOf.getOrDefault(peer, -1); }

    /** Virtual time, ms. */
    public long nowMs() { return loop.nowMs(); }

    /** Virtual ms since the start. */
    public long elapsedMs() { return loop.elapsedMs(); }

    /** Tells node {@code i} the address of node {@code j} (so {@code node(i).connection(peerId(j))} can dial it). */
    public void introduce(int i, int j) {
        nodes.get(i).node().addAddresses(peerId(j), List.of(nodes.get(j).listenAddress()));
    }

    // ---- running ------------------------------------------------------------------------------------

    /** Runs what is due now without moving time. */
    public void runPending() {
        long[] t0 = clocks();
        try {
            loop.runPending();
        } finally {
            account(t0);
        }
    }

    /** Advances virtual time by {@code virtualMs}, running everything due on the way. */
    public void runFor(long virtualMs) {
        checkThread();
        long[] t0 = clocks();
        try {
            loop.runFor(virtualMs);
        } finally {
            account(t0);
        }
    }

    /**
     * Runs until {@code condition} holds (checked now and after each virtual instant) or {@code virtualTimeoutMs}
     * of virtual time pass.
     *
     * @return whether the condition holds
     */
    public boolean runUntil(BooleanSupplier condition, long virtualTimeoutMs) {
        checkThread();
        if (virtualTimeoutMs < 0) throw new IllegalArgumentException("timeout must be >= 0, got " + virtualTimeoutMs);
        long[] t0 = clocks();
        try {
            return loop.runUntil(condition, loop.nowMs() + virtualTimeoutMs);
        } finally {
            account(t0);
        }
    }

    /** Real time and this thread's CPU time now, ns (measured only, never used to decide anything). */
    private long[] clocks() {
        return new long[] {System.nanoTime(), threads.isCurrentThreadCpuTimeSupported() ? threads.getCurrentThreadCpuTime() : 0};
    }

    private void account(long[] t0) {
        long[] t1 = clocks();
        wallNanos += t1[0] - t0[0];
        cpuNanos += t1[1] - t0[1];
    }

    /**
     * Runs until {@code f} completes, at most {@code virtualTimeoutMs} of virtual time, and returns its value.
     *
     * @throws CompletionException with the future's failure
     * @throws IllegalStateException if it is not done in time
     */
    public <T> T await(CompletableFuture<T> f, long virtualTimeoutMs) {
        if (!runUntil(f::isDone, virtualTimeoutMs)) {
            throw new IllegalStateException("not done within " + virtualTimeoutMs + " virtual ms");
        }
        return f.join();
    }

    private void checkThread() {
        if (Thread.currentThread() != driver) {
            throw new IllegalStateException("simulator used from " + Thread.currentThread() + "; it belongs to " + driver);
        }
        if (closed) throw new IllegalStateException("simulator closed");
    }

    // ---- faults -------------------------------------------------------------------------------------

    /**
     * Crashes node {@code i}: it becomes unreachable, its connections break (peers see them close now), its
     * application object (if {@link AutoCloseable}) and node are closed and their state dropped. No-op if it is
     * already down.
     */
    public void crash(int i) {
        checkThread();
        SimNode n = nodes.get(i);
        if (!n.alive) return;
        n.alive = false;
        links.down.set(i);
        PeerId p = n.peerId();
        network.breakConnections((a, b) -> a.equals(p), "link broken: peer crashed");
        closeQuietly(n);
        runPending();
    }

    /**
     * Starts node {@code i} again after a {@link #crash}: a fresh node with the same key on the same address, set
     * up again by {@link SimConfig#setup}; it knows no peers.
     *
     * @throws IllegalStateException if it is running
     */
    public void restart(int i) {
        checkThread();
        SimNode n = nodes.get(i);
        if (n.alive) throw new IllegalStateException("node " + i + " is running");
        links.down.clear(i);
        startNode(n);
        runPending();
    }

    /**
     * Cuts every link between a node of {@code a} and a node of {@code b} (both directions): their connections
     * break at once and new dials or datagrams across the cut do not get through, until {@link #heal()}. Cuts add
     * up.
     */
    public void partition(Collection<Integer> a, Collection<Integer> b) {
        checkThread();
        BitSet sa = bits(a), sb = bits(b);
        if (sa.intersects(sb)) throw new IllegalArgumentException("the two sides of a partition overlap");
        links.cuts.add(new BitSet[] {sa, sb});
        network.breakConnections((x, y) -> links.cut(indexOf(x), indexOf(y)), "link broken: partition");
        runPending();
    }

    /** Removes every partition (crashed nodes stay down). */
    public void heal() {
        checkThread();
        links.cuts.clear();
    }

    /** Whether packets from node {@code i} reach node {@code j} now (both alive and not partitioned). */
    public boolean reachable(int i, int j) { return links.reachable(i, j); }

    private BitSet bits(Collection<Integer> ids) {
        BitSet s = new BitSet(nodes.size());
        for (int i : ids) {
            if (i < 0 || i >= nodes.size()) throw new IndexOutOfBoundsException("no node " + i);
            s.set(i);
        }
        return s;
    }

    // ---- inspection ---------------------------------------------------------------------------------

    /** Progress and cost so far. */
    public SimStats stats() {
        int alive = 0;
        for (SimNode n : nodes) if (n.alive) alive++;
        return new SimStats(nodes.size(), alive, loop.elapsedMs(), loop.tasksRun(), wallNanos / 1_000_000, cpuNanos / 1_000_000,
                links.sends, network.datagramsSent(), network.datagramsLost(), network.connectionCount(),
                loop.failedTasks(), loop.foreignSubmissions());
    }

    /**
     * A digest of every send so far (virtual time, sender, receiver, latency, in order): two runs with the same
     * digest, task count and results took the same course.
     */
    public long traceDigest() { return links.digest; }

    /** Every running node's counters, summed by name (sorted). */
    public Map<String, Long> counters() {
        Map<String, Long> sum = new TreeMap<>();
        for (SimNode n : nodes) {
            if (!n.alive) continue;
            n.node().counters().snapshot().forEach((k, v) -> sum.merge(k, v, Long::sum));
        }
        return sum;
    }

    /** Closes every node and application object. Idempotent. */
    @Override public void close() {
        if (closed) return;
        for (SimNode n : nodes) {
            if (n.alive) closeQuietly(n);
            n.alive = false;
        }
        try {
            loop.runPending();
        } catch (RuntimeException e) {
            log.debug("draining at close: {}", e.toString());
        }
        closed = true;
    }

    private static void closeQuietly(SimNode n) {
        if (n.app instanceof AutoCloseable c) {
            try {
                c.close();
            } catch (Exception e) {
                log.warn("closing the application of node {} failed", n.index(), e);
            }
        }
        n.app = null;
        if (n.node != null) n.node.close();
    }

    // ---- the link model with faults on top ------------------------------------------------------------

    private final class SimLinks implements LinkModel {
        final LinkModel base;
        final BitSet down = new BitSet();
        final List<BitSet[]> cuts = new ArrayList<>();
        long digest = 0x243F6A8885A308D3L;
        long sends;

        SimLinks(LinkModel base) { this.base = base; }

        @Override public LinkConditions conditions(PeerId from, PeerId to) { return count(from, to, base.conditions(from, to)); }

        @Override public LinkConditions conditions(PeerId from, PeerId to, int bytes, long nowNanos) {
            return count(from, to, base.conditions(from, to, bytes, nowNanos));
        }

        private LinkConditions count(PeerId from, PeerId to, LinkConditions c) {
            sends++;
            long h = digest + loop.nowMs() * 0x9E3779B97F4A7C15L + (indexOf(from) + 1L) * 0xC2B2AE3D27D4EB4FL
                    + (indexOf(to) + 1L) * 0x165667B19E3779F9L + c.latencyMs();
            digest = SeededLinkModel.mix(h);
            return c;
        }

        @Override public boolean reachable(PeerId from, PeerId to) {
            return reachable(indexOf(from), indexOf(to)) && base.reachable(from, to);
        }

        @Override public boolean canDial(PeerId dialer, PeerId listener) {
            int d = indexOf(dialer), l = indexOf(listener);
            return reachable(d, l) && reachable(l, d) && base.canDial(dialer, listener);
        }

        boolean reachable(int a, int b) {
            if (a >= 0 && down.get(a) || b >= 0 && down.get(b)) return false;
            return !cut(a, b);
        }

        boolean cut(int a, int b) {
            if (a < 0 || b < 0) return false;
            for (BitSet[] c : cuts) {
                if (c[0].get(a) && c[1].get(b) || c[1].get(a) && c[0].get(b)) return true;
            }
            return false;
        }
    }
}
