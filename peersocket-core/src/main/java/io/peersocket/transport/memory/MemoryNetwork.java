package io.peersocket.transport.memory;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;

/**
 * An in-process network of {@link MemoryTransport}s for deterministic unit tests and simulation: a registry of
 * listening transports by {@code /memory/<n>} address, plus link conditions (one-way latency in ms and datagram
 * loss rate) per pair of peers, from {@link #setLink}, a {@link LinkModel} or the default link.
 *
 * <p>Determinism: every delivery across a link is scheduled on the receiving side's event loop (when its
 * {@link TransportConfig#eventExecutor()} is an {@link io.peersocket.util.EventLoop}, e.g. a
 * {@link io.peersocket.util.ManualEventLoop} with virtual time), and datagram loss is drawn from one
 * {@link Random} seeded at construction. So with one manual loop driven by one thread, the same seed and the
 * same calls give the same run. Executors that are not event loops get real-time delays from a timer thread of
 * this network.
 *
 * <p>Model: reliable stream data, FIN, reset, stream opening and connection close travel in order with the
 * link latency; they are never lost. Datagrams are lost at the link's loss rate, otherwise delivered in order
 * with the same latency. Dialling takes one round trip (the listener sees the connection after one latency, the
 * dialer after two); a dial to an address nobody listens on fails with {@code REFUSED} after one round trip,
 * and one whose round trip exceeds the handshake timeout, or that the {@link LinkModel} does not let through
 * (partition, crashed peer, NAT), fails with {@code TIMEOUT} at the timeout. There is no idle timeout (a live
 * QUIC connection keeps itself alive); {@link #breakConnections} ends connections a partition cuts.
 *
 * <p>Thread-safe: all state is guarded by one lock per network; upcalls never run under it.
 */
public final class MemoryNetwork {
    /** Default largest datagram payload, bytes (a safe QUIC DATAGRAM size on a 1280-byte IPv6 path). */
    public static final int DEFAULT_MAX_DATAGRAM_BYTES = 1200;
    /** Upper bound accepted by {@link #setMaxDatagramBytes}, bytes. */
    public static final int MAX_DATAGRAM_BYTES_LIMIT = 65_527;

    /**
     * Conditions of the link between two peers, the same in both directions.
     *
     * @param latencyMs one-way delay, ms (≥ 0)
     * @param lossRate fraction of datagrams dropped, 0.0 … 1.0 (streams are reliable and never lose data)
     */
    public record LinkConditions(long latencyMs, double lossRate) {
        /** No delay, no loss. */
        public static final LinkConditions PERFECT = new LinkConditions(0, 0.0);

        public LinkConditions {
            if (latencyMs < 0) throw new IllegalArgumentException("latencyMs must be >= 0, got " + latencyMs);
            if (!(lossRate >= 0.0 && lossRate <= 1.0)) {
                throw new IllegalArgumentException("lossRate must be in [0, 1], got " + lossRate);
            }
        }
    }

    private record PeerPair(PeerId a, PeerId b) {
        static PeerPair of(PeerId x, PeerId y) { return x.compareTo(y) <= 0 ? new PeerPair(x, y) : new PeerPair(y, x); }
    }

    /** Guards all state of this network and of its transports, connections and streams. */
    final Object lock = new Object();

    private final long seed;
    private final Random random;
    private final Map<Long, MemoryTransport> listeners = new HashMap<>();
    private final Set<Long> boundIds = new HashSet<>();
    private final Map<PeerPair, LinkConditions> links = new HashMap<>();
    private final Map<PeerPair, LinkConditions> limited = new HashMap<>();
    private LinkConditions defaultLink = LinkConditions.PERFECT;
    private LinkModel linkModel; // null: defaultLink for every pair without its own conditions
    private int maxDatagramBytes = DEFAULT_MAX_DATAGRAM_BYTES;
    private long nextAddressId = 1;
    private long nextConnectionId = 1;
    private long datagramsSent;
    private long datagramsLost;
    private ScheduledExecutorService timer;

    /** A network whose datagram loss is drawn from {@code new Random(0)}. */
    public MemoryNetwork() { this(0); }

    /** A network whose datagram loss is drawn from {@code new Random(seed)}. */
    public MemoryNetwork(long seed) {
        this.seed = seed;
        this.random = new Random(seed);
    }

    public long seed() { return seed; }

    /**
     * Creates a transport on this network (not yet listening). Use as a {@code NodeBuilder.transport} factory:
     * {@code .transport(network::transport)}.
     */
    public MemoryTransport transport(TransportConfig config, TransportHandler handler) {
        return new MemoryTransport(this, config, handler);
    }

    /**
     * Conditions for links without their own, initially {@link LinkConditions#PERFECT}; also removes a
     * {@link #setLinkModel link model}.
     */
    public void setDefaultLink(LinkConditions conditions) {
        synchronized (lock) {
            defaultLink = Objects.requireNonNull(conditions);
            linkModel = null;
        }
    }

    /**
     * Decides the conditions and reachability of every link without its own {@link #setLink conditions}
     * (replaces the default link); null goes back to the default link. Applies to later sends and dials;
     * connections already established stay up even if the model now calls their peers unreachable (use
     * {@link #breakConnections}).
     */
    public void setLinkModel(LinkModel model) {
        synchronized (lock) {
            linkModel = model;
        }
    }

    /** Sets the conditions of the link between {@code a} and {@code b} (both directions); applies to later sends. */
    public void setLink(PeerId a, PeerId b, LinkConditions conditions) {
        Objects.requireNonNull(conditions);
        synchronized (lock) {
            links.put(PeerPair.of(a, b), conditions);
        }
    }

    /**
     * Makes connections between {@code a} and {@code b} (either dialling) established from now on limited, like a
     * relayed (Circuit Relay v2) connection: {@link io.peersocket.transport.Connection#isLimited()} is true on both
     * sides, they carry no datagrams ({@code maxDatagramSize() == 0}: a relayed circuit is a byte stream), and their
     * handshake, streams and close travel with {@code relayed}'s latency instead of the pair's link (a relay path is
     * usually slower). {@code null} makes later connections direct again. Connections already established keep what
     * they were, so a test can hold a limited and a direct connection between the same pair.
     */
    public void setLimited(PeerId a, PeerId b, LinkConditions relayed) {
        synchronized (lock) {
            if (relayed != null) limited.put(PeerPair.of(a, b), relayed);
            else limited.remove(PeerPair.of(a, b));
        }
    }

    /** The relayed conditions of a connection between {@code a} and {@code b} established now, or null if direct. */
    LinkConditions limitedLocked(PeerId a, PeerId b) {
        return limited.isEmpty() ? null : limited.get(PeerPair.of(a, b));
    }

    /** The conditions between {@code a} and {@code b}. */
    public LinkConditions link(PeerId a, PeerId b) {
        synchronized (lock) {
            return linkLocked(a, b);
        }
    }

    /** Conditions of one send from {@code a} to {@code b}: the pair's own, else the model's, else the default. */
    LinkConditions linkLocked(PeerId a, PeerId b) {
        if (!links.isEmpty()) {
            LinkConditions own = links.get(PeerPair.of(a, b));
            if (own != null) return own;
        }
        return linkModel != null ? Objects.requireNonNull(linkModel.conditions(a, b), "link model returned null")
                : defaultLink;
    }

    /** Conditions of one stream write of {@code bytes} from {@code a} to {@code b} at {@code nowNanos}. */
    LinkConditions linkLocked(PeerId a, PeerId b, int bytes, long nowNanos) {
        if (!links.isEmpty()) {
            LinkConditions own = links.get(PeerPair.of(a, b));
            if (own != null) return own;
        }
        return linkModel != null
                ? Objects.requireNonNull(linkModel.conditions(a, b, bytes, nowNanos), "link model returned null")
                : defaultLink;
    }

    /** Whether datagrams from {@code a} reach {@code b} (the link model's verdict; true without a model). */
    boolean reachableLocked(PeerId a, PeerId b) {
        return linkModel == null || linkModel.reachable(a, b);
    }

    /** Whether a dial from {@code dialer} to {@code listener} gets through (true without a model). */
    boolean canDialLocked(PeerId dialer, PeerId listener) {
        return linkModel == null || linkModel.canDial(dialer, listener);
    }

    /**
     * Breaks every connection (established or being dialled) between a listening transport's peer and a remote
     * for which {@code which.test(localPeer, remotePeer)} holds, in either direction: both sides close at once,
     * nothing more is delivered over them, and each side gets its close upcalls (reason {@code reason}) on its
     * executor, or its pending dial fails with {@code CLOSED}. Models a partition or a crash that both sides
     * notice immediately (as with a zero idle timeout). Transports that never listened are only reached through
     * their peers.
     *
     * @return how many connections (counting each pair of sides once) were broken
     */
    public int breakConnections(java.util.function.BiPredicate<PeerId, PeerId> which, String reason) {
        Objects.requireNonNull(which);
        Objects.requireNonNull(reason);
        int n = 0;
        synchronized (lock) {
            List<Long> ids = new ArrayList<>(listeners.keySet());
            java.util.Collections.sort(ids);
            for (long id : ids) {
                MemoryTransport t = listeners.get(id);
                for (MemoryConnection c : new ArrayList<>(t.conns)) {
                    if (c.isClosedLocked() || c.remotePeer() == null) continue;
                    if (!which.test(t.peerId(), c.remotePeer()) && !which.test(c.remotePeer(), t.peerId())) continue;
                    c.closeLocked(reason, false);
                    if (c.peer != null) c.peer.closeLocked(reason, false);
                    n++;
                }
            }
        }
        return n;
    }

    /**
     * Sets the largest datagram payload in bytes for connections on this network (default
     * {@value #DEFAULT_MAX_DATAGRAM_BYTES}).
     *
     * @throws IllegalArgumentException unless 1 … {@value #MAX_DATAGRAM_BYTES_LIMIT}
     */
    public void setMaxDatagramBytes(int bytes) {
        if (bytes < 1 || bytes > MAX_DATAGRAM_BYTES_LIMIT) {
            throw new IllegalArgumentException("max datagram bytes must be 1.." + MAX_DATAGRAM_BYTES_LIMIT + ", got " + bytes);
        }
        synchronized (lock) {
            maxDatagramBytes = bytes;
        }
    }

    public int maxDatagramBytes() {
        synchronized (lock) {
            return maxDatagramBytes;
        }
    }

    /** Datagrams accepted for sending so far (including lost ones). */
    public long datagramsSent() {
        synchronized (lock) {
            return datagramsSent;
        }
    }

    /** Datagrams dropped by link loss so far. */
    public long datagramsLost() {
        synchronized (lock) {
            return datagramsLost;
        }
    }

    /** Established connections on this network (each counted once, by its listening side). */
    public int connectionCount() {
        synchronized (lock) {
            int n = 0;
            for (MemoryTransport t : listeners.values()) {
                for (MemoryConnection c : t.conns) {
                    if (c.direction() == io.peersocket.transport.Connection.Direction.INBOUND && c.isEstablishedLocked()) n++;
                }
            }
            return n;
        }
    }

    /** Addresses currently listened on, in ascending order. */
    public List<Multiaddr> listeningAddresses() {
        synchronized (lock) {
            return listeners.keySet().stream().sorted().map(MemoryNetwork::address).toList();
        }
    }

    /** {@code /memory/<id>}. */
    public static Multiaddr address(long id) {
        if (id <= 0) throw new IllegalArgumentException("memory address id must be > 0, got " + id);
        return Multiaddr.parse("/memory/" + id);
    }

    /**
     * True for {@code /memory/<n>} optionally followed by {@code /p2p/<id>}, with {@code n} in 1 … 2^63-1 (the
     * addresses a {@link MemoryTransport} dials).
     */
    public static boolean isMemoryAddress(Multiaddr address) {
        List<Multiaddr.Component> cs = address.components();
        if (cs.isEmpty() || cs.size() > 2 || cs.get(0).protocol() != Protocol.MEMORY) return false;
        if (cs.size() == 2 && cs.get(1).protocol() != Protocol.P2P) return false;
        return idOf(address) > 0;
    }

    /** The {@code n} of {@code /memory/<n>…}; negative if it does not fit in a signed long. */
    static long idOf(Multiaddr address) {
        String v = address.components().get(0).value();
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    // ---- registry (under lock) ----------------------------------------------------------------------

    long allocateIdLocked() {
        while (boundIds.contains(nextAddressId)) nextAddressId++;
        long id = nextAddressId++;
        boundIds.add(id);
        return id;
    }

    boolean reserveIdLocked(long id) {
        if (boundIds.contains(id)) return false;
        boundIds.add(id);
        return true;
    }

    void releaseIdLocked(long id) {
        boundIds.remove(id);
        listeners.remove(id);
    }

    void registerListenerLocked(long id, MemoryTransport t) { listeners.put(id, t); }

    MemoryTransport listenerLocked(long id) { return listeners.get(id); }

    long nextConnectionIdLocked() { return nextConnectionId++; }

    /** Decides whether one datagram over a link with {@code lossRate} is lost; counts it. */
    boolean datagramLostLocked(double lossRate) {
        datagramsSent++;
        boolean lost = lossRate >= 1.0 || (lossRate > 0.0 && random.nextDouble() < lossRate);
        if (lost) datagramsLost++;
        return lost;
    }

    /** A timer for transports whose executor is not an event loop (real time). */
    ScheduledExecutorService timer() {
        synchronized (lock) {
            if (timer == null) {
                ScheduledThreadPoolExecutor t = new ScheduledThreadPoolExecutor(1, r -> {
                    Thread th = new Thread(r, "memory-network-timer");
                    th.setDaemon(true);
                    return th;
                });
                t.setRemoveOnCancelPolicy(true);
                timer = t;
            }
            return timer;
        }
    }

    @Override public String toString() {
        synchronized (lock) {
            return "MemoryNetwork[seed=" + seed + ", listeners=" + new ArrayList<>(listeners.keySet()) + "]";
        }
    }
}
