package io.peersocket.node;

import io.opentelemetry.api.OpenTelemetry;
import io.peersocket.content.ChunkStoreConfig;
import io.peersocket.despatch.DespatchConfig;
import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.handshake.HandshakeConfig;
import io.peersocket.protocol.autonat.AutoNatConfig;
import io.peersocket.protocol.content.ContentConfig;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.peers.PeerExchangeConfig;
import io.peersocket.protocol.snapshot.SnapshotConfig;
import io.peersocket.protocol.pubsub.GossipSubConfig;
import io.peersocket.protocol.relay.RelayConfig;
import io.peersocket.transport.upgrade.NoiseYamuxUpgrader;
import io.peersocket.transport.upgrade.Upgrader;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.quic.QuicTransport;
import io.peersocket.util.EventLoop;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * Builds and starts a {@link Node}. Defaults: ephemeral identity, listen on {@code /ip4/127.0.0.1/udp/0/quic-v1},
 * QUIC transport, {@link DespatchConfig#defaults()}, network id 1, full node.
 *
 * <pre>{@code
 * try (Node node = Node.builder().dataDir(Path.of("data")).listen("/ip4/0.0.0.0/udp/4001/quic-v1").start()) {
 *     node.despatcher().register(1, msg -> msg.reply(2, msg.payload()));
 *     ...
 * }
 * }</pre>
 *
 * Not thread-safe; use from one thread.
 */
public final class NodeBuilder {
    public static final String DEFAULT_AGENT = "peersocket/0.1.0";

    private Path dataDir;
    private HostKey hostKey;
    private final List<Multiaddr> listen = new ArrayList<>();
    private final List<Multiaddr> bootstrap = new ArrayList<>();
    private String agent = DEFAULT_AGENT;
    private DespatchConfig despatch = DespatchConfig.defaults();
    private UnaryOperator<TransportConfig> transportSettings = UnaryOperator.identity();
    private BiFunction<TransportConfig, TransportHandler, Transport> transportFactory = QuicTransport::new;

    private EventLoop eventLoop;
    private HandshakeConfig handshake = HandshakeConfig.defaults();
    private PeerExchangeConfig peerExchange = PeerExchangeConfig.defaults();
    private KadConfig kademlia;
    private int redialOnStart = 8;
    private SnapshotConfig snapshot = SnapshotConfig.defaults();
    private OpenTelemetry openTelemetry = OpenTelemetry.noop();
    private ChunkStoreConfig chunks = ChunkStoreConfig.defaults();
    private ContentConfig content;
    private GossipSubConfig pubsub;
    private AutoNatConfig autoNat;
    private RelayConfig relayService;
    private BiFunction<HostKey, EventLoop, Upgrader> upgrader = NoiseYamuxUpgrader::new;
    private io.peersocket.protocol.holepunch.HolePunchConfig holePunch =
            io.peersocket.protocol.holepunch.HolePunchConfig.defaults();

    NodeBuilder() {}

    /**
     * Runs the node's protocol state on {@code loop} (e.g. a {@code ManualEventLoop} with virtual time, for
     * deterministic tests and simulation); the node does not close it. Default: a thread of its own.
     */
    public NodeBuilder eventLoop(EventLoop loop) {
        this.eventLoop = Objects.requireNonNull(loop);
        return this;
    }

    /** Persist identity and store here (created if missing). */
    public NodeBuilder dataDir(Path dir) {
        this.dataDir = dir;
        return this;
    }

    /** Use this identity instead of the data dir's key file. */
    public NodeBuilder hostKey(HostKey key) {
        this.hostKey = key;
        return this;
    }

    /** Adds a listen address, e.g. {@code /ip4/0.0.0.0/udp/4001/quic-v1}. @throws io.peersocket.multiaddr.MultiaddrException */
    public NodeBuilder listen(String multiaddr) { return listen(Multiaddr.parse(multiaddr)); }

    public NodeBuilder listen(Multiaddr address) {
        listen.add(Objects.requireNonNull(address));
        return this;
    }

    /** Adds a peer to dial at start; it must end in {@code /p2p/ID}. */
    public NodeBuilder bootstrap(Multiaddr peer) {
        if (peer.peerId() == null) throw new IllegalArgumentException("bootstrap address needs /p2p/<peer id>: " + peer);
        bootstrap.add(peer);
        return this;
    }

    public NodeBuilder agentVersion(String agent) {
        this.agent = Objects.requireNonNull(agent);
        return this;
    }

    public NodeBuilder despatch(DespatchConfig config) {
        this.despatch = Objects.requireNonNull(config);
        return this;
    }

    /** Adjusts transport limits, e.g. {@code c -> c.withIdleTimeoutMs(10_000)}. */
    public NodeBuilder transportSettings(UnaryOperator<TransportConfig> settings) {
        this.transportSettings = Objects.requireNonNull(settings);
        return this;
    }

    /** Replaces the transport (e.g. an in-memory one for simulation). */
    public NodeBuilder transport(BiFunction<TransportConfig, TransportHandler, Transport> factory) {
        this.transportFactory = Objects.requireNonNull(factory);
        return this;
    }

    /**
     * The network this node belongs to (unsigned 64-bit; default {@value HandshakeConfig#DEFAULT_NETWORK_ID}):
     * connections to nodes announcing another network id in the handshake are closed.
     */
    public NodeBuilder networkId(long id) {
        this.handshake = handshake.withNetworkId(id);
        return this;
    }

    /** Whether this node is a light node, one that others must not ask to store or serve (default false). */
    public NodeBuilder lightNode(boolean light) {
        this.handshake = handshake.withLight(light);
        return this;
    }

    /**
     * Runs the Kademlia DHT ({@code /ipfs/kad/1.0.0}) with {@code config} and its connection manager, which keeps
     * the routing table healthy by dialling suggested peers. Default: no DHT. Use {@link Node#kademlia()}.
     */
    public NodeBuilder kademlia(KadConfig config) {
        this.kademlia = Objects.requireNonNull(config);
        return this;
    }

    /**
     * Runs GossipSub pubsub ({@code /meshsub/1.2.0}, {@code /meshsub/1.1.0} and {@code /meshsub/1.0.0}) with {@code config}. Default: no
     * pubsub (opt-in like the DHT: it adds a heartbeat timer and a stream per pubsub peer). Use {@link Node#pubsub()}.
     */
    public NodeBuilder pubsub(GossipSubConfig config) {
        this.pubsub = Objects.requireNonNull(config);
        return this;
    }

    /**
     * At start, dial this many of the most recently connected peers from the store, so a restarted node needs
     * no bootstrap address (default 8; 0 disables).
     */
    public NodeBuilder redialOnStart(int peers) {
        if (peers < 0) throw new IllegalArgumentException("redialOnStart must be >= 0");
        this.redialOnStart = peers;
        return this;
    }

    /**
     * Sends the node's spans and metrics to {@code otel} (an OpenTelemetry SDK the embedder built, with its own
     * exporters and sampler). Default {@link OpenTelemetry#noop()}: the library records nothing and adds no cost
     * beyond a few branches. See {@link io.peersocket.telemetry.Telemetry} for span and metric names.
     */
    public NodeBuilder openTelemetry(OpenTelemetry otel) {
        this.openTelemetry = Objects.requireNonNull(otel);
        return this;
    }

    /**
     * Runs the content protocols (retrieval, push sync, pull sync: {@code /peersocket/retrieval|pushsync|sync/1.0.0})
     * with {@code config}, over the node's chunk store and its sync intervals table (or, for an ephemeral node, an
     * in-memory chunk store). Default: off. Use {@link Node#content()}.
     */
    public NodeBuilder content(ContentConfig config) {
        this.content = Objects.requireNonNull(config);
        return this;
    }

    /**
     * Runs AutoNAT v1 ({@code /libp2p/autonat/1.0.0}): serves dial-back requests, learns external addresses from
     * identify's observed addresses (consensus of several peers) and decides reachability; a node that becomes
     * PRIVATE switches its DHT to client mode. Default: off. Use {@link Node#autoNat()}.
     */
    public NodeBuilder autoNat(AutoNatConfig config) {
        this.autoNat = Objects.requireNonNull(config);
        return this;
    }

    /**
     * Serves as a Circuit Relay v2 relay ({@code /libp2p/circuit/relay/0.2.0/hop}): grants reservations and relays
     * circuits under {@code config}'s limits. Default: off. Use {@link Node#relayService()}. (The relay client —
     * reservations on other relays, dialling circuit addresses, accepting relayed connections — is always on:
     * {@link Node#relay()}.)
     */
    public NodeBuilder relayService(RelayConfig config) {
        this.relayService = Objects.requireNonNull(config);
        return this;
    }

    /**
     * How relayed (Circuit Relay v2) connections are secured and multiplexed: a factory of the Noise + Yamux
     * {@link Upgrader} from the node's key and event loop. Default {@link NoiseYamuxUpgrader}; null turns relayed
     * connections off (circuit addresses cannot be dialled or accepted; raw circuits still work through
     * {@link Node#relay()}).
     */
    public NodeBuilder upgrader(BiFunction<HostKey, EventLoop, Upgrader> factory) {
        this.upgrader = factory;
        return this;
    }

    /**
     * Hole punching settings (introduction by a mutual peer, {@code /peersocket/introduce/1.0.0}, and DCUtR
     * {@code /libp2p/dcutr} on limited connections), or null to run without them. Default: on, with
     * {@link io.peersocket.protocol.holepunch.HolePunchConfig#defaults()}. Use {@link Node#connectDirect}.
     */
    public NodeBuilder holePunch(io.peersocket.protocol.holepunch.HolePunchConfig config) {
        this.holePunch = config;
        return this;
    }

    /** Chunk store settings: capacity in unpinned chunks, GC batch, verify on read. */
    public NodeBuilder chunks(ChunkStoreConfig config) {
        this.chunks = Objects.requireNonNull(config);
        return this;
    }

    /** Most unpinned chunks the chunk store keeps before garbage collection (default 1,000,000). */
    public NodeBuilder chunkCapacity(long chunks) {
        this.chunks = this.chunks.withCapacity(chunks);
        return this;
    }

    /** Peer exchange settings (list size, batch size, period). */
    public NodeBuilder peerExchange(PeerExchangeConfig config) {
        this.peerExchange = Objects.requireNonNull(config);
        return this;
    }

    /** Replaces the handshake settings (network id, light flag, versions, timeout) as a whole. */
    public NodeBuilder handshake(HandshakeConfig config) {
        this.handshake = Objects.requireNonNull(config);
        return this;
    }

    /** Snapshot limits and timeouts (default {@link SnapshotConfig#defaults()}; docs/snapshot.md). */
    public NodeBuilder snapshots(SnapshotConfig config) {
        this.snapshot = Objects.requireNonNull(config);
        return this;
    }

    public NodeConfig config() {
        List<Multiaddr> l = listen.isEmpty() ? List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1")) : List.copyOf(listen);
        return new NodeConfig(dataDir, hostKey, l, List.copyOf(bootstrap), agent, despatch, transportSettings,
                transportFactory, eventLoop, handshake, peerExchange, kademlia,
                redialOnStart, openTelemetry, snapshot, chunks, content, pubsub, autoNat, relayService, upgrader,
                holePunch);
    }

    /**
     * Creates and starts the node: loads or creates the identity, opens the store, binds the listen
     * addresses, dials bootstrap peers in the background.
     *
     * @throws IOException if the data dir, key or store cannot be used, or an address cannot be bound
     */
    public Node start() throws IOException {
        return Node.start(config());
    }
}
