package io.peersocket.node;

import io.peersocket.despatch.Despatcher;
import io.peersocket.identity.HostKey;
import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.autonat.AutoNat;
import io.peersocket.protocol.autonat.Reachability;
import io.peersocket.protocol.handshake.Handshake;
import io.peersocket.protocol.handshake.HandshakeInfo;
import io.peersocket.protocol.content.Content;
import io.peersocket.protocol.content.IntervalStore;
import io.peersocket.protocol.content.LocalChunks;
import io.peersocket.protocol.holepunch.Dcutr;
import io.peersocket.protocol.holepunch.Introduction;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.kad.KadConnectionManager;
import io.peersocket.protocol.kad.Kademlia;
import io.peersocket.protocol.peers.PeerExchange;
import io.peersocket.protocol.pubsub.GossipSub;
import io.peersocket.protocol.identify.Identify;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.protocol.ping.Ping;
import io.peersocket.protocol.relay.RelayClient;
import io.peersocket.protocol.relay.RelayService;
import io.peersocket.protocol.snapshot.SnapshotParticipant;
import io.peersocket.protocol.snapshot.Snapshots;
import io.peersocket.store.PeerRecord;
import io.peersocket.store.Store;
import io.peersocket.telemetry.Telemetry;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkStore;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.upgrade.Upgrader;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.Futures;
import io.peersocket.util.ThreadEventLoop;
import java.io.IOException;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A running Peersocket node (seed 004 "Peer vs Socket"): identity, transport, protocol negotiation, the
 * despatch layer, the handshake, ping and identify, and the store, wired together. Build with {@link #builder()}.
 *
 * <p>Threading: all protocol state lives on one event thread ({@code peersocket-event-…}); public methods
 * may be called from any thread and return futures completed on that thread (do not block in callbacks
 * attached to them — use the {@code ...Async} variants or join from your own thread). User despatch handlers
 * run on virtual threads.
 *
 * <p>Connections: a peer may have several (e.g. a limited, relayed one and a direct one after hole punching). New
 * streams go on an unlimited one when there is one ({@link #connection}); when a direct connection opens, the
 * despatch traffic to that peer moves onto it without loss ({@link Despatcher#onConnection}, docs/wire.md "Channel
 * succession"). The node does not close the limited connection afterwards: nothing new is opened on it and the
 * relay's limits end it.
 *
 * <p>Lifecycle: started by {@link NodeBuilder#start()}, stopped by {@link #close()} (idempotent; closes
 * connections, flushes the store, stops threads).
 */
public final class Node implements Host, AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Node.class);
    /** Known peers loaded from the store at start. */
    static final int MAX_LOADED_PEERS = 10_000;
    /** Addresses remembered per peer. */
    static final int MAX_ADDRESSES_PER_PEER = 16;

    private final NodeConfig config;
    private final HostKey hostKey;
    private final EventLoop loop;
    private final boolean ownsLoop;
    private final java.nio.channels.FileChannel lockChannel;
    private final Counters counters = new Counters();
    private final Telemetry telemetry;
    private AutoCloseable counterInstruments = () -> { };
    private final Store store; // null when ephemeral
    private final ChunkStore chunks; // null when ephemeral
    private final Transport transport;
    private final Despatcher despatcher;
    private final Ping ping;
    private final Identify identify;
    private final Handshake handshake;
    private final PeerExchange peerExchange;
    private final Kademlia kademlia; // null without the DHT
    private final KadConnectionManager kadManager;
    private final Snapshots snapshots;
    private final Content content; // null without the content protocols
    private final GossipSub pubsub; // null without pubsub
    private final AutoNat autoNat; // null without AutoNAT
    private final Handler transportHandler;
    private final RelayClient relay;
    private final RelayService relayService; // null unless serving as a relay
    private final Introduction introduction; // null without hole punching
    private final Dcutr dcutr; // null without hole punching
    private volatile CompletableFuture<Transport> dialBackTransport; // AutoNAT dial-backs; made on first use
    private boolean kadBootstrapped; // loop
    private final Map<String, ProtocolHandler> protocols = new ConcurrentHashMap<>();
    private final List<Consumer<PeerEvent>> listeners = new CopyOnWriteArrayList<>();
    private volatile List<Multiaddr> listenAddresses = List.of();
    private volatile boolean closed;

    // Event-loop state.
    private final Map<PeerId, List<Connection>> connections = new HashMap<>();
    private final Map<PeerId, LinkedHashSet<Multiaddr>> addressBook = new HashMap<>();
    private final Map<PeerId, IdentifyInfo> identified = new ConcurrentHashMap<>();
    private final Map<PeerId, CompletableFuture<Connection>> dialling = new HashMap<>();

    public static NodeBuilder builder() { return new NodeBuilder(); }

    private Node(NodeConfig config, HostKey hostKey, Store store, java.nio.channels.FileChannel lockChannel) {
        this.config = config;
        this.hostKey = hostKey;
        this.store = store;
        this.lockChannel = lockChannel;
        this.ownsLoop = config.eventLoop() == null;
        this.loop = ownsLoop ? new ThreadEventLoop("peersocket-event-" + hostKey.peerId().shortString()) : config.eventLoop();
        TransportConfig tc = config.transportSettings().apply(TransportConfig.defaults(hostKey, loop));
        this.transportHandler = new Handler();
        this.transport = config.transportFactory().apply(tc, transportHandler);
        this.telemetry = Telemetry.of(config.openTelemetry());
        this.despatcher = new Despatcher(loop, config.despatch(), this::connection, counters, telemetry);
        this.chunks = store == null ? null : ChunkStore.open(store, ChunkAddress.overlayOf(hostKey.peerId()),
                config.chunks(), loop, loop::nowMs, counters);
        this.ping = new Ping(loop);
        this.identify = new Identify(hostKey, config.agentVersion(), () -> List.copyOf(protocols.keySet()),
                this::advertisedAddresses);
        this.handshake = new Handshake(loop, counters, config.handshake(),
                (c, info) -> emit(new PeerEvent(PeerEvent.Kind.READY, c.remotePeer(), c, null)));
        protocols.put(Handshake.ID, handshake);
        protocols.put(Ping.ID, ping);
        protocols.put(Identify.ID, identify);
        protocols.put(Despatcher.PROTOCOL_ID, despatcher);
        // Protocols built on Host: they only register handlers and listeners here, so passing this is safe.
        this.peerExchange = new PeerExchange(this, config.peerExchange());
        this.kademlia = config.kademlia() == null ? null : new Kademlia(this, config.kademlia());
        this.kadManager = kademlia == null ? null : new KadConnectionManager(kademlia);
        this.snapshots = new Snapshots(this, despatcher, config.snapshot(), this::channelPeers);
        registerSnapshotState();
        this.content = config.content() == null ? null : new Content(this, hostKey,
                chunks != null ? LocalChunks.of(chunks) : LocalChunks.memory(ChunkAddress.overlayOf(hostKey.peerId()), loop),
                store != null ? IntervalStore.sqlite(store) : IntervalStore.memory(), config.content());
        this.pubsub = config.pubsub() == null ? null : new GossipSub(this, hostKey, config.pubsub());
        this.autoNat = config.autoNat() == null ? null : new AutoNat(this, config.autoNat(), new DialBackTransport());
        Upgrader upgrader = config.upgrader() == null ? null : config.upgrader().apply(hostKey, loop);
        this.relay = new RelayClient(this, upgrader, transportHandler);
        this.relayService = config.relayService() == null ? null : new RelayService(this, hostKey, config.relayService());
        if (config.holePunch() == null) {
            this.introduction = null;
            this.dcutr = null;
        } else {
            this.introduction = new Introduction(this, config.holePunch(), () -> List.copyOf(connections.keySet()),
                    target -> peerExchange.knownPeers().stream().filter(k -> k.peer().equals(target))
                            .map(io.peersocket.protocol.peers.KnownPeer::via).distinct().toList());
            this.dcutr = new Dcutr(this, config.holePunch(), true);
        }
        if (autoNat != null && kademlia != null && config.kademlia().mode() == KadConfig.Mode.SERVER) {
            // libp2p kad-dht: a node others cannot dial must not offer itself as a DHT server.
            autoNat.onChange(st -> kademlia.setMode(st == Reachability.State.PRIVATE ? KadConfig.Mode.CLIENT : KadConfig.Mode.SERVER));
        }
        if (kademlia != null) {
            // Join the DHT: a self-lookup as soon as the first DHT server is known (then the connection manager
            // and periodic refreshes keep the table healthy).
            listeners.add(e -> {
                if (e.kind() == PeerEvent.Kind.IDENTIFIED && !kadBootstrapped
                        && e.identify().protocols().contains(Kademlia.PROTOCOL_ID)) {
                    kadBootstrapped = true;
                    kademlia.bootstrap().whenComplete((r, err) -> {
                        if (err != null) log.debug("DHT bootstrap failed: {}", unwrap(err).getMessage());
                        else log.debug("DHT bootstrap: {} closest peers in {} hops", r.closest().size(), r.stats().hops());
                    });
                }
            });
        }
    }

    static Node start(NodeConfig config) throws IOException {
        java.nio.channels.FileChannel lock = config.dataDir() == null ? null : lockDataDir(config.dataDir());
        Store store = null;
        Node node;
        try {
            HostKey key = config.hostKey();
            if (key == null) key = config.dataDir() == null ? HostKey.generate() : HostKey.loadOrCreate(config.dataDir());
            store = config.dataDir() == null ? null : Store.open(config.dataDir());
            node = new Node(config, key, store, lock);
        } catch (IOException | RuntimeException e) {
            if (store != null) store.close();
            if (lock != null) lock.close();
            throw e;
        }
        try {
            node.startup();
        } catch (IOException | RuntimeException e) {
            node.close();
            throw e;
        }
        return node;
    }

    /** Takes an exclusive lock on {@code dir/lock} so two nodes cannot share a data dir. */
    private static java.nio.channels.FileChannel lockDataDir(java.nio.file.Path dir) throws IOException {
        java.nio.file.Files.createDirectories(dir);
        java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir.resolve("lock"),
                java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
        try {
            if (ch.tryLock() == null) throw new java.nio.channels.OverlappingFileLockException();
        } catch (java.nio.channels.OverlappingFileLockException e) {
            ch.close();
            throw new IOException("data dir " + dir + " is in use by another node");
        }
        return ch;
    }

    private void startup() throws IOException {
        List<Multiaddr> bound;
        try {
            bound = transport.listen(config.listenAddresses()).get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            throw new IOException("cannot listen on " + config.listenAddresses() + ": " + e.getCause().getMessage(), e.getCause());
        } catch (InterruptedException | TimeoutException e) {
            throw new IOException("cannot listen on " + config.listenAddresses() + ": " + e, e);
        }
        listenAddresses = expandWildcards(bound);
        if (store != null) pruneAddresslessPeers();
        if (store != null) {
            try {
                List<PeerRecord> known = store.peers().knownPeers(MAX_LOADED_PEERS).get(30, TimeUnit.SECONDS);
                loop.execute(() -> {
                    int redial = 0;
                    for (PeerRecord r : known) {
                        try {
                            PeerId id = PeerId.parse(r.peerId());
                            for (String a : r.addresses()) rememberAddress(id, Multiaddr.parse(a));
                            // Seed 000: a restarted node reconnects to the peers it knew most recently, so it
                            // needs no bootstrap address.
                            // Peers known only from inbound connections (no address; e.g. AutoNAT dial-backs from
                            // ephemeral identities) cannot be redialled and must not take a redial slot.
                            if (r.lastConnectedMs() >= 0 && !r.addresses().isEmpty() && redial++ < config.redialOnStart()) {
                                connection(id).whenComplete((c, err) -> {
                                    if (err != null) log.debug("redial failed peer={}: {}", id, unwrap(err).getMessage());
                                });
                            }
                        } catch (IllegalArgumentException e) {
                            log.debug("skipping unparseable stored peer {}: {}", r.peerId(), e.getMessage());
                        }
                    }
                });
            } catch (ExecutionException | InterruptedException | TimeoutException e) {
                throw new IOException("cannot read known peers from the store: " + e, e);
            }
        }
        counterInstruments = telemetry.observe(counters, store == null ? null : store::queueDepth);
        log.info("node peer={} listening on {}", hostKey.peerId(), listenAddresses);
        if (kadManager != null) kadManager.start();
        for (Multiaddr b : config.bootstrapPeers()) {
            connect(b).whenComplete((c, err) -> {
                if (err != null) log.warn("bootstrap peer unreachable addr={}: {}", b, unwrap(err).getMessage());
            });
        }
    }

    /** Address-less peer rows older than this are pruned, at start and then as often. */
    private static final long ADDRESSLESS_PEER_TTL_MS = 3_600_000;

    private void pruneAddresslessPeers() {
        if (closed) return;
        store.peers().pruneAddressless(loop.nowMs() - ADDRESSLESS_PEER_TTL_MS).whenComplete((n, err) -> {
            if (err != null) log.debug("pruning address-less peers failed: {}", unwrap(err).toString());
            else if (n > 0) log.debug("pruned {} address-less peers", n);
        });
        loop.schedule(this::pruneAddresslessPeers, ADDRESSLESS_PEER_TTL_MS);
    }

    // ---- identity and addresses ---------------------------------------------------------------------

    @Override public PeerId peerId() { return hostKey.peerId(); }

    public HostKey hostKey() { return hostKey; }

    /**
     * Addresses other nodes can dial, without {@code /p2p/}; a wildcard listen address (0.0.0.0, ::) is
     * expanded to this host's interface addresses.
     */
    @Override public List<Multiaddr> listenAddresses() { return listenAddresses; }

    /**
     * What identify tells peers: {@link #listenAddresses()}, with AutoNAT the external addresses confirmed by
     * observed-address consensus, and the circuit addresses of relay reservations held
     * ({@code /…/p2p/RELAY/p2p-circuit}).
     */
    private List<Multiaddr> advertisedAddresses() {
        List<Multiaddr> circuits = relay.circuitAddresses();
        if ((autoNat == null || autoNat.externalAddresses().isEmpty()) && circuits.isEmpty()) return listenAddresses;
        LinkedHashSet<Multiaddr> out = new LinkedHashSet<>(listenAddresses);
        if (autoNat != null) out.addAll(autoNat.externalAddresses());
        out.addAll(circuits);
        return List.copyOf(out);
    }

    /**
     * The Circuit Relay v2 client (always on): reserve slots on relays ({@link RelayClient#reserve}), whose circuit
     * addresses this node then advertises; accept relayed connections from relays it reserved on; dial circuit
     * addresses ({@link #connect} does that for {@code …/p2p/RELAY/p2p-circuit/p2p/TARGET}).
     */
    public RelayClient relay() { return relay; }

    /** The relay service (hop), or null unless built with {@link NodeBuilder#relayService}. */
    public RelayService relayService() { return relayService; }

    /** True if this node can dial {@code address} of {@code peer}: a transport address or a circuit address. */
    private boolean canDial(PeerId peer, Multiaddr address) {
        if (transport.canDial(address)) return true;
        if (!address.has(Protocol.P2P_CIRCUIT)) return false;
        Multiaddr full = address.peerId() != null && address.peerId().equals(peer)
                && address.components().get(address.components().size() - 1).protocol() == Protocol.P2P
                ? address : address.withPeerId(peer);
        if (!RelayClient.isCircuitAddress(full)) return false;
        Multiaddr relayPart = full.decapsulate(Protocol.P2P_CIRCUIT);
        return relayPart.components().size() == 1 || transport.canDial(relayPart);
    }

    private static boolean isCircuit(Multiaddr a) { return a.has(Protocol.P2P_CIRCUIT); }

    /** AutoNAT (reachability and observed-address consensus), or null if off ({@link NodeBuilder#autoNat}). */
    public AutoNat autoNat() { return autoNat; }

    /** Whether peers can dial this node, as AutoNAT decided; UNKNOWN without AutoNAT. Any thread. */
    @Override public Reachability.State reachability() {
        return autoNat == null ? Reachability.State.UNKNOWN : autoNat.reachability();
    }

    /** External addresses confirmed by ≥ the configured number of peers (empty without AutoNAT). Any thread. */
    @Override public List<Multiaddr> externalAddresses() { return autoNat == null ? List.of() : autoNat.externalAddresses(); }

    /** Listens for reachability changes (on the event loop); never called without AutoNAT. */
    @Override public void onReachabilityChange(Consumer<Reachability.State> listener) {
        if (autoNat != null) autoNat.onChange(listener);
    }

    /** {@link #listenAddresses()} with {@code /p2p/<this peer>} appended. */
    public List<Multiaddr> addresses() {
        return listenAddresses.stream().map(a -> a.withPeerId(peerId())).toList();
    }

    public Despatcher despatcher() { return despatcher; }

    /** The Kademlia DHT, or null if the node runs without it ({@link NodeBuilder#kademlia}). */
    public Kademlia kademlia() { return kademlia; }

    /** Chandy–Lamport snapshots (docs/snapshot.md): take one, register state and covered message types. */
    public Snapshots snapshots() { return snapshots; }

    /**
     * The peers this node has despatch channels with for snapshots: an open connection that passed the Peersocket
     * handshake. Event loop only.
     */
    private List<PeerId> channelPeers() {
        List<PeerId> out = new ArrayList<>();
        for (PeerId p : connections.keySet()) {
            if (openConnection(p) != null && handshake.infoOf(p) != null) out.add(p);
        }
        out.sort(null);
        return out;
    }

    /** What a snapshot records of the node itself: connections, counters, peer exchange cursors, the DHT table. */
    private void registerSnapshotState() {
        snapshots.register(participant("node", () -> {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("peerId", peerId().toString());
            List<String> peers = new ArrayList<>();
            for (PeerId p : connections.keySet()) if (openConnection(p) != null) peers.add(p.toString());
            Collections.sort(peers);
            m.put("connectedPeers", peers);
            m.put("channelPeers", channelPeers().stream().map(PeerId::toString).toList());
            m.put("despatchConversations", despatcher.conversationCount());
            m.put("despatchPendingRequests", despatcher.pendingRequestCount());
            m.put("counters", counters.snapshot());
            return m;
        }));
        snapshots.register(participant("peerExchange", () -> {
            Map<String, Object> m = new java.util.LinkedHashMap<>();
            m.put("lastSeq", peerExchange.lastSeq());
            m.put("recencyList", peerExchange.recencyList().size());
            m.put("knownPeers", peerExchange.knownPeers().size());
            Map<String, Object> cursors = new java.util.TreeMap<>();
            for (PeerId p : connections.keySet()) cursors.put(p.toString(), peerExchange.cursorFor(p));
            m.put("cursors", cursors);
            return m;
        }));
        if (kademlia != null) {
            snapshots.register(participant("kad", () -> {
                var t = kademlia.table();
                Map<String, Object> m = new java.util.LinkedHashMap<>();
                m.put("size", t.size());
                m.put("known", t.knownCount());
                m.put("depth", t.depth());
                Map<String, Object> bins = new java.util.LinkedHashMap<>();
                for (int po = 0; po < io.peersocket.protocol.kad.RoutingTable.BINS; po++) {
                    if (t.memberCount(po) > 0) bins.put(Integer.toString(po), List.of(t.memberCount(po), t.connectedCount(po)));
                }
                m.put("bins", bins);
                return m;
            }));
        }
    }

    private static SnapshotParticipant participant(String name, java.util.function.Supplier<Object> state) {
        return new SnapshotParticipant() {
            @Override public String name() { return name; }

            @Override public Object state() { return state.get(); }
        };
    }
    /** The content protocols (retrieval, push sync, pull sync), or null if the node runs without them ({@link NodeBuilder#content}). */
    public Content content() { return content; }
    /** GossipSub pubsub, or null if the node runs without it ({@link NodeBuilder#pubsub}). */
    public GossipSub pubsub() { return pubsub; }

    /** Peer exchange (seed 000 recency lists): our list, what others told us, per-counterparty cursors. */
    public PeerExchange peerExchange() { return peerExchange; }

    @Override public EventLoop loop() { return loop; }

    @Override public boolean isConnected(PeerId peer) { return openConnection(peer) != null; }

    @Override public List<Connection> connectionsTo(PeerId peer) {
        return connections.getOrDefault(peer, List.of()).stream().filter(Connection::isOpen).toList();
    }

    @Override public List<Multiaddr> addressesOf(PeerId peer) {
        LinkedHashSet<Multiaddr> set = addressBook.get(peer);
        return set == null ? List.of() : List.copyOf(set);
    }

    /** Spans and metrics of this node ({@link NodeBuilder#openTelemetry}). */
    @Override public Telemetry telemetry() { return telemetry; }

    /** Named counters: despatch messages and drops, connections, negotiation failures. */
    @Override public Counters counters() { return counters; }

    /** The store, or null for an ephemeral node. */
    @Override public Store store() { return store; }

    /**
     * The chunk store (seed 001), in the node's store; null for an ephemeral node. Bins are by proximity
     * order to {@link ChunkAddress#overlayOf}{@code (peerId())}; listeners run on the event loop.
     */
    @Override public ChunkStore chunks() { return chunks; }

    // ---- protocols ----------------------------------------------------------------------------------

    /** Serves {@code protocolId} on streams remotes open (multistream-select). Replaces an earlier handler. */
    @Override public void registerProtocol(String protocolId, ProtocolHandler handler) {
        protocols.put(protocolId, handler);
    }

    @Override public void unregisterProtocol(String protocolId) { protocols.remove(protocolId); }

    /** Protocol ids this node serves. */
    public List<String> protocols() { return List.copyOf(protocols.keySet()); }

    /**
     * Opens a stream to {@code peer} speaking {@code protocolId} (connecting first if needed).
     *
     * @param handler receives the stream's data once negotiated
     */
    @Override public CompletableFuture<Stream> openStream(PeerId peer, String protocolId, StreamHandler handler) {
        telemetry.streamOpened("outbound");
        return connection(peer).thenCompose(c -> onLoop(() -> Multistream.select(c, List.of(protocolId), id -> handler)))
                .thenApply(Multistream.Negotiated::stream);
    }

    // ---- connections --------------------------------------------------------------------------------

    /**
     * Dials {@code address}; if it ends in {@code /p2p/ID} the remote must be that peer.
     *
     * @return completes with the connection or fails with {@link TransportException}
     */
    @Override public CompletableFuture<Connection> connect(Multiaddr address) {
        if (closed) return CompletableFuture.failedFuture(new IllegalStateException("node closed"));
        PeerId expected = address.peerId();
        CompletableFuture<Connection> dial = isCircuit(address) ? relay.dial(address) : transport.dial(address, expected);
        return dial.whenComplete((c, err) -> {
            if (err == null) {
                loop.execute(() -> rememberAddress(c.remotePeer(), address.withoutPeerId()));
                return;
            }
            countDialFailure(err);
            if (expected != null && store != null) store.peers().recordDialFailure(expected.toString(), loop.nowMs());
        });
    }

    /**
     * An open connection to {@code peer}, dialling its known addresses in turn if there is none. An unlimited
     * (direct) connection is preferred to a limited (relayed, {@link Connection#isLimited()}) one; a limited one is
     * returned if it is the only one open (no dial is made to replace it).
     *
     * @return fails with {@link TransportException} if no address is known or none answers
     */
    @Override public CompletableFuture<Connection> connection(PeerId peer) {
        return onLoop(() -> {
            Connection c = openConnection(peer);
            if (c != null) return CompletableFuture.completedFuture(c);
            CompletableFuture<Connection> inFlight = dialling.get(peer);
            if (inFlight != null) return inFlight;
            List<Multiaddr> addrs = new ArrayList<>(addressBook.getOrDefault(peer, new LinkedHashSet<>()));
            Collections.reverse(addrs); // most recently learned first
            addrs.removeIf(a -> !canDial(peer, a));
            // direct addresses first, relayed (circuit) ones after them
            List<Multiaddr> ordered = new ArrayList<>(addrs.stream().filter(a -> !isCircuit(a)).toList());
            ordered.addAll(addrs.stream().filter(Node::isCircuit).toList());
            addrs = ordered;
            if (addrs.isEmpty()) {
                return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "no known address for " + peer));
            }
            CompletableFuture<Connection> result = new CompletableFuture<>();
            dialling.put(peer, result);
            dialInTurn(peer, addrs, 0, result, null);
            result.whenComplete((x, e) -> loop.execute(() -> dialling.remove(peer, result)));
            return result;
        });
    }

    private void dialInTurn(PeerId peer, List<Multiaddr> addrs, int i, CompletableFuture<Connection> result, Throwable last) {
        if (i >= addrs.size()) {
            result.completeExceptionally(last);
            return;
        }
        Multiaddr a = addrs.get(i);
        CompletableFuture<Connection> dial = isCircuit(a) ? relay.dial(a.withPeerId(peer)) : transport.dial(a, peer);
        // Async on the loop: a failed dial may complete on a transport thread, and result's dependents
        // (connection(), openStream()) expect the loop.
        dial.whenCompleteAsync((c, err) -> {
            if (err == null) {
                result.complete(c);
            } else {
                countDialFailure(err);
                dialInTurn(peer, addrs, i + 1, result, unwrap(err));
            }
        }, loop);
    }

    /** Counts a failed dial as {@code node.dial.failed.<kind>} (timeout, refused, bad_certificate, …). */
    private void countDialFailure(Throwable err) {
        Throwable t = unwrap(err);
        String kind = t instanceof TransportException te ? te.kind().name().toLowerCase() : "other";
        counters.increment("node.dial.failed." + kind);
    }

    /**
     * The connection new streams to {@code peer} go on: the first open unlimited (direct) one, else the first open
     * limited (relayed) one, else null. Event loop.
     */
    private Connection openConnection(PeerId peer) {
        List<Connection> list = connections.get(peer);
        if (list == null) return null;
        Connection limited = null;
        for (Connection c : list) {
            if (!c.isOpen()) continue;
            if (!c.isLimited()) return c;
            if (limited == null) limited = c;
        }
        return limited;
    }

    /** Every open connection (a snapshot, taken on the event loop): direct ones and limited (relayed) ones. */
    public CompletableFuture<List<Connection>> openConnections() {
        return onLoop(() -> CompletableFuture.completedFuture(connections.values().stream()
                .flatMap(List::stream).filter(Connection::isOpen).toList()));
    }

    /** Peers with an open connection. */
    public CompletableFuture<List<PeerId>> connectedPeers() {
        return onLoop(() -> CompletableFuture.completedFuture(List.copyOf(connections.keySet())));
    }

    /** The last identify answer from {@code peer}, or null. */
    public IdentifyInfo identifyInfo(PeerId peer) { return identified.get(peer); }

    /** What {@code peer} said in the Peersocket handshake of an open connection that passed it, or null. */
    @Override public HandshakeInfo handshakeOf(PeerId peer) { return handshake.infoOf(peer); }

    /** Adds a listener for connect / ready / identify / disconnect events (called on the event thread; keep it quick). */
    @Override public void onPeerEvent(Consumer<PeerEvent> listener) { listeners.add(listener); }

    // ---- hole punching ------------------------------------------------------------------------------

    /**
     * A direct (unlimited) connection to {@code peer}: an open one, else introduction by a mutual peer (seed 000,
     * {@code /peersocket/introduce/1.0.0}) and a hole-punched dial, retried with backoff (default 3 tries,
     * 0.5 / 1 / 2 s). A try without a mutual peer dials the known addresses.
     *
     * @return completes on the event thread with the connection, or fails with {@link TransportException}
     * @throws IllegalStateException if the node runs without hole punching ({@link NodeBuilder#holePunch})
     */
    public CompletableFuture<Connection> connectDirect(PeerId peer) {
        return requireIntroduction().connectDirect(peer);
    }

    /** {@link #connectDirect(PeerId)} with {@code attempts} tries (1..10). */
    public CompletableFuture<Connection> connectDirect(PeerId peer, int attempts) {
        return requireIntroduction().connectDirect(peer, attempts);
    }

    /** {@link #connectDirect(PeerId, int)} with {@code dialTimeoutMs} (100..60000) for each try's direct dial. */
    public CompletableFuture<Connection> connectDirect(PeerId peer, int attempts, long dialTimeoutMs) {
        return requireIntroduction().connectDirect(peer, attempts, dialTimeoutMs);
    }

    /** The introduction protocol, or null without hole punching. */
    public Introduction introduction() { return introduction; }

    /** DCUtR ({@code /libp2p/dcutr}), or null without hole punching; runs by itself on limited inbound connections. */
    public Dcutr dcutr() { return dcutr; }

    private Introduction requireIntroduction() {
        if (introduction == null) throw new IllegalStateException("this node runs without hole punching");
        return introduction;
    }

    /** Sends hole-punch datagrams from the listening socket ({@link Transport#punch}). Any thread. */
    @Override public CompletableFuture<Void> punch(Multiaddr target, int count) {
        if (closed) return CompletableFuture.failedFuture(new IllegalStateException("node closed"));
        return transport.punch(target, count);
    }

    /** Open connections to {@code peer} (any thread; a snapshot taken on the event thread). */
    public CompletableFuture<List<Connection>> openConnections(PeerId peer) {
        return onLoop(() -> CompletableFuture.completedFuture(connectionsTo(peer)));
    }

    /** Closes all connections to {@code peer}. */
    public CompletableFuture<Void> disconnect(PeerId peer) {
        return onLoop(() -> {
            List<CompletableFuture<Void>> fs = new ArrayList<>();
            for (Connection c : connections.getOrDefault(peer, List.of())) fs.add(c.close());
            return CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new));
        });
    }

    // ---- firewall (testing network cuts) ------------------------------------------------------------

    /**
     * Firewall of this node's transport ({@link Transport#block}): drops all traffic to and from the given remote
     * transport addresses (e.g. another node's {@code /ip4/127.0.0.1/udp/P/quic-v1[/p2p/ID]}) until {@link #unblock}.
     * To QUIC this is a real network cut: connections to them stall and close at the idle timeout
     * ({@link TransportConfig#idleTimeoutMs()}), dials time out. The AutoNAT dial-back transport is not filtered.
     * Any thread.
     *
     * @throws IllegalArgumentException if an address cannot be filtered by the transport (QUIC: not
     *     {@code /ip4|ip6/A/udp/P…})
     * @throws UnsupportedOperationException if the transport has no firewall
     */
    public void block(java.util.Collection<Multiaddr> remotes) { transport.block(remotes); }

    /** Ends {@link #block} for the given addresses; peers can connect again. Any thread. */
    public void unblock(java.util.Collection<Multiaddr> remotes) { transport.unblock(remotes); }

    /** The remote addresses blocked now ({@link #block}), without {@code /p2p/}. */
    public java.util.Set<Multiaddr> blocked() { return transport.blocked(); }

    // ---- ping ---------------------------------------------------------------------------------------

    /** One libp2p ping to {@code peer} (connecting if needed); completes with the round-trip time. */
    public CompletableFuture<Duration> ping(PeerId peer) {
        return pingSession(peer).thenCompose(s -> s.ping().whenComplete((r, e) -> s.close()))
                .thenApply(Duration::ofNanos);
    }

    /** A ping stream to {@code peer} for repeated pings; close it when done. */
    public CompletableFuture<Ping.Session> pingSession(PeerId peer) {
        return connection(peer).thenCompose(c -> onLoop(() -> ping.open(c)));
    }

    /** Runs identify against {@code peer} now. */
    public CompletableFuture<IdentifyInfo> identify(PeerId peer) {
        return connection(peer).thenCompose(c -> onLoop(() -> identify.request(c)))
                .whenComplete((info, err) -> {
                    if (info != null) loop.execute(() -> onIdentified(info, null));
                });
    }

    // ---- transport upcalls (event loop) -------------------------------------------------------------

    private final class Handler implements TransportHandler {
        @Override public void onConnection(Connection c) {
            if (closed) {
                c.close();
                return;
            }
            PeerId peer = c.remotePeer();
            connections.computeIfAbsent(peer, k -> new ArrayList<>()).add(c);
            counters.increment("node.connection.opened." + c.direction().name().toLowerCase());
            telemetry.connectionOpened(c.direction().name().toLowerCase());
            log.debug("connected {} peer={} {}", c.direction(), peer, c.remoteAddress());
            if (store != null) {
                List<String> addrs = c.direction() == Connection.Direction.OUTBOUND
                        ? List.of(c.remoteAddress().toString()) : List.of();
                store.peers().recordConnected(peer.toString(), addrs, loop.nowMs());
            }
            if (c.direction() == Connection.Direction.OUTBOUND) rememberAddress(peer, c.remoteAddress());
            emit(new PeerEvent(PeerEvent.Kind.CONNECTED, peer, c, null));
            // A direct connection to a peer we talk to over a relay: despatch moves its outbound stream there.
            despatcher.onConnection(c);
            handshake.start(c); // READY follows when it passes; a refused or stalled connection is closed
            identify.request(c).whenComplete((info, err) -> {
                if (err != null) {
                    counters.increment("node.identify.failed");
                    log.debug("identify failed peer={}: {}", peer, unwrap(err).getMessage());
                } else {
                    onIdentified(info, c);
                }
            });
        }

        @Override public StreamHandler onStream(Stream stream) {
            counters.increment("node.stream.inbound");
            telemetry.streamOpened("inbound");
            return Multistream.listener(stream, protocols, reason -> {
                counters.increment("node.negotiation.failed");
                log.debug("negotiation failed peer={}: {}", stream.connection().remotePeer(), reason);
            });
        }

        @Override public void onDatagram(Connection c, byte[] data) { despatcher.onDatagram(c, data); }

        @Override public void onConnectionClosed(Connection c, String reason) {
            PeerId peer = c.remotePeer();
            List<Connection> list = connections.get(peer);
            if (list != null) {
                list.remove(c);
                if (list.isEmpty()) connections.remove(peer);
            }
            counters.increment("node.connection.closed");
            telemetry.connectionClosed();
            log.debug("disconnected peer={} ({})", peer, reason);
            despatcher.onConnectionClosed(c);
            handshake.onConnectionClosed(c);
            emit(new PeerEvent(PeerEvent.Kind.DISCONNECTED, peer, c, null));
        }
    }

    /**
     * AutoNAT dial-backs from a second transport with a fresh random identity on a fresh port (same IP family as
     * the listen addresses), so the requester's existing connection or NAT mapping cannot fake a success.
     * Created on first use, closed with the node; its connections carry no streams and are closed at once.
     */
    private final class DialBackTransport implements AutoNat.DialBack {
        @Override public boolean canDial(Multiaddr address) { return transport.canDial(address); }

        /**
         * Completes as soon as the handshake proved {@code peer} at {@code address}; the connection is then closed
         * in the background. The verdict must not wait for the close: closing a just-dialled QUIC connection to a
         * js-libp2p (quinn) peer can hang in Netty QUIC (see docs/wire.md, AutoNAT), which would turn an OK into
         * a dial error.
         */
        @Override public CompletableFuture<Void> dial(PeerId peer, Multiaddr address) {
            return dialer().thenCompose(t -> t.dial(address, peer)).thenAccept(Connection::close);
        }

        private CompletableFuture<Transport> dialer() {
            CompletableFuture<Transport> f = dialBackTransport;
            if (f != null) return f;
            TransportConfig tc = config.transportSettings().apply(TransportConfig.defaults(HostKey.generate(), loop));
            Transport t = config.transportFactory().apply(tc, new TransportHandler() {
                @Override public void onConnection(Connection c) { }

                @Override public StreamHandler onStream(Stream stream) { return StreamHandler.REJECT; }

                @Override public void onConnectionClosed(Connection c, String reason) { }
            });
            List<Multiaddr> any = config.listenAddresses().stream()
                    .map(a -> Multiaddr.parse(a.toString().replaceFirst("/udp/\\d+", "/udp/0").replaceFirst("^/memory/\\d+", "/memory/0")))
                    .distinct().toList();
            f = t.listen(any).thenApply(bound -> t);
            f.whenComplete((x, err) -> {
                if (err != null) {
                    log.warn("AutoNAT dial-back transport cannot listen on {}: {}", any, unwrap(err).getMessage());
                    t.close();
                }
            });
            dialBackTransport = f;
            if (closed) t.close();
            return f;
        }
    }

    private void onIdentified(IdentifyInfo info, Connection c) {
        identified.put(info.peer(), info);
        List<Multiaddr> dialable = info.listenAddresses().stream().filter(a -> canDial(info.peer(), a)).toList();
        for (Multiaddr a : dialable) rememberAddress(info.peer(), a.withoutPeerId());
        if (store != null) {
            store.peers().recordAddresses(info.peer().toString(),
                    dialable.stream().map(a -> a.withoutPeerId().toString()).toList(), loop.nowMs(), "identify");
            if (!info.agentVersion().isEmpty()) store.peers().setAgent(info.peer().toString(), info.agentVersion(), loop.nowMs());
        }
        emit(new PeerEvent(PeerEvent.Kind.IDENTIFIED, info.peer(), c, info));
    }

    private void rememberAddress(PeerId peer, Multiaddr address) {
        LinkedHashSet<Multiaddr> set = addressBook.computeIfAbsent(peer, k -> new LinkedHashSet<>());
        set.remove(address);
        set.add(address);
        while (set.size() > MAX_ADDRESSES_PER_PEER) {
            set.remove(set.iterator().next());
        }
    }

    /** Adds addresses for {@code peer} to the address book (used by {@link #connection(PeerId)}). */
    @Override public void addAddresses(PeerId peer, List<Multiaddr> addresses) {
        loop.execute(() -> {
            for (Multiaddr a : addresses) rememberAddress(peer, a.withoutPeerId());
        });
    }

    private void emit(PeerEvent e) {
        for (Consumer<PeerEvent> l : listeners) {
            try {
                l.accept(e);
            } catch (RuntimeException ex) {
                log.warn("peer event listener failed", ex);
            }
        }
    }

    private <T> CompletableFuture<T> onLoop(java.util.function.Supplier<CompletableFuture<T>> task) {
        return Futures.composeOn(loop, task);
    }

    static Throwable unwrap(Throwable t) { return Futures.unwrap(t); }

    private static List<Multiaddr> expandWildcards(List<Multiaddr> bound) {
        List<Multiaddr> out = new ArrayList<>();
        for (Multiaddr a : bound) {
            String ip4 = a.valueOf(Protocol.IP4);
            String ip6 = a.valueOf(Protocol.IP6);
            boolean any4 = "0.0.0.0".equals(ip4);
            boolean any6 = ip6 != null && (ip6.equals("::") || ip6.equals("0:0:0:0:0:0:0:0"));
            if (!any4 && !any6) {
                out.add(a);
                continue;
            }
            String port = a.valueOf(Protocol.UDP);
            Set<String> seen = new LinkedHashSet<>();
            try {
                for (NetworkInterface ni : Collections.list(NetworkInterface.getNetworkInterfaces())) {
                    if (!ni.isUp()) continue;
                    for (InetAddress ia : Collections.list(ni.getInetAddresses())) {
                        if (any4 && ia instanceof Inet4Address) seen.add("/ip4/" + ia.getHostAddress());
                        if (any6 && ia instanceof Inet6Address && !ia.isLinkLocalAddress()) {
                            seen.add("/ip6/" + ia.getHostAddress().replaceAll("%.*$", ""));
                        }
                    }
                }
            } catch (SocketException e) {
                log.debug("cannot list interfaces: {}", e.toString());
            }
            if (seen.isEmpty()) out.add(a);
            for (String s : seen) out.add(Multiaddr.parse(s + "/udp/" + port + "/quic-v1"));
        }
        return List.copyOf(out);
    }

    // ---- shutdown -----------------------------------------------------------------------------------

    /** Stops the node: closes connections and the transport, flushes and closes the store. Idempotent. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        if (loop.inEventLoop() || !(loop instanceof ThreadEventLoop)) {
            closeProtocols(); // a manual loop is driven by the caller's thread
        } else {
            CompletableFuture<Void> done = new CompletableFuture<>();
            loop.execute(() -> {
                closeProtocols();
                done.complete(null);
            });
            try {
                done.get(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                log.debug("despatcher close: {}", e.toString());
            }
        }
        try {
            transport.close();
        } catch (RuntimeException e) {
            log.warn("transport close failed", e);
        }
        CompletableFuture<Transport> db = dialBackTransport;
        if (db != null) {
            db.thenAccept(Transport::close);
        }
        if (ownsLoop) ((ThreadEventLoop) loop).close();
        if (store != null) {
            try {
                store.close();
            } catch (RuntimeException e) {
                log.warn("store close failed", e);
            }
        }
        if (lockChannel != null) {
            try {
                lockChannel.close();
            } catch (IOException e) {
                log.debug("unlock data dir: {}", e.toString());
            }
        }
    }

    /** Stops protocol timers and fails pending work; on the loop (or the thread driving a manual loop). */
    private void closeProtocols() {
        snapshots.close();
        relay.close();
        if (relayService != null) relayService.close();
        if (introduction != null) introduction.close();
        if (dcutr != null) dcutr.close();
        if (autoNat != null) autoNat.close();
        try {
            if (pubsub != null) pubsub.close();
        } catch (RuntimeException e) {
            log.warn("pubsub close failed", e);
        }
        try {
            if (kadManager != null) kadManager.close();
            if (kademlia != null) kademlia.close();
        } catch (RuntimeException e) {
            log.warn("kademlia close failed", e);
        }
        try {
            if (content != null) content.close();
        } catch (RuntimeException e) {
            log.warn("content protocols close failed", e);
        }
        try {
            peerExchange.close();
        } catch (RuntimeException e) {
            log.warn("peer exchange close failed", e);
        }
        despatcher.close();
        try {
            counterInstruments.close();
        } catch (Exception e) {
            log.debug("closing counter instruments: {}", e.toString());
        }
    }

    public boolean isClosed() { return closed; }

    @Override public String toString() { return "Node(" + peerId() + ")"; }
}
