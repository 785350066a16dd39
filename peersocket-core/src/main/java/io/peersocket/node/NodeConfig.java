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
import io.peersocket.transport.upgrade.Upgrader;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.EventLoop;
import java.nio.file.Path;
import java.util.List;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * Everything a {@link Node} is built from; made by {@link NodeBuilder}.
 *
 * @param dataDir where the identity key and the store live; null for an ephemeral node (random key, nothing
 *     persisted)
 * @param hostKey explicit identity (overrides the data dir's key file), or null
 * @param listenAddresses addresses to listen on
 * @param bootstrapPeers peers dialled at start (multiaddrs with {@code /p2p/})
 * @param agentVersion reported in identify
 * @param despatch despatch limits and timeouts
 * @param transportSettings adjusts the transport defaults (limits, timeouts)
 * @param transportFactory builds the transport (default QUIC)
 * @param eventLoop the protocol event loop to use (e.g. a {@code ManualEventLoop} in simulation), or null for
 *     a thread of the node's own
 * @param handshake the Peersocket handshake: network id, light node flag, version, timeout
 * @param peerExchange peer exchange limits and period (seed 000 recency lists)
 * @param kademlia the Kademlia DHT settings, or null to run without the DHT
 * @param redialOnStart how many of the most recently connected stored peers to dial at start (seed 000)
 * @param openTelemetry where the node's spans and metrics go ({@link OpenTelemetry#noop()} for none)
 * @param snapshot snapshot limits and timeouts (docs/snapshot.md)
 * @param chunks chunk store settings (capacity, GC batch, verify on read); used when there is a data dir
 * @param content the content protocols (retrieval, push and pull sync) settings, or null to run without them
 * @param pubsub GossipSub settings, or null to run without pubsub
 * @param autoNat AutoNAT (reachability, observed-address consensus) settings, or null to run without it
 * @param relayService Circuit Relay v2 relay service (hop) settings, or null to not serve as a relay
 * @param upgrader makes the Noise + Yamux upgrader for relayed connections from the node's key and event loop,
 *     or null (relayed connections then cannot be made or accepted)
 * @param holePunch hole punching (introduction {@code /peersocket/introduce/1.0.0} and DCUtR) settings, or null
 *     to run without them
 */
public record NodeConfig(
        Path dataDir,
        HostKey hostKey,
        List<Multiaddr> listenAddresses,
        List<Multiaddr> bootstrapPeers,
        String agentVersion,
        DespatchConfig despatch,
        UnaryOperator<TransportConfig> transportSettings,
        BiFunction<TransportConfig, TransportHandler, Transport> transportFactory,
        EventLoop eventLoop,
        HandshakeConfig handshake,
        PeerExchangeConfig peerExchange,
        KadConfig kademlia,
        int redialOnStart,
        OpenTelemetry openTelemetry,
        SnapshotConfig snapshot,
        ChunkStoreConfig chunks,
        ContentConfig content,
        GossipSubConfig pubsub,
        AutoNatConfig autoNat,
        RelayConfig relayService,
        BiFunction<HostKey, EventLoop, Upgrader> upgrader,
        io.peersocket.protocol.holepunch.HolePunchConfig holePunch) {

    /** This node's network id (unsigned 64-bit); connections to nodes of other networks are closed. */
    public long networkId() { return handshake.networkId(); }

    /** True if this node is a light node (does not store or serve for others). */
    public boolean lightNode() { return handshake.light(); }
}
