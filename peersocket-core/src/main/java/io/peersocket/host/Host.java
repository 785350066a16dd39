package io.peersocket.host;

import io.peersocket.content.ChunkStore;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.handshake.HandshakeInfo;
import io.peersocket.store.Store;
import io.peersocket.telemetry.Telemetry;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * What a protocol sees of its node (libp2p's "host"): identity, the event loop, connections, streams, the
 * address book and the store. Protocols depend on this interface, never on {@code io.peersocket.node}, so the
 * layer rule holds (DESIGN.md "Layers"). Implemented by {@code Node}.
 *
 * <p>Threading: protocol state belongs to {@link #loop()}; methods may be called from any thread; futures
 * complete on the loop.
 */
public interface Host {

    PeerId peerId();

    /** The node's protocol event loop (also its clock). */
    EventLoop loop();

    /** Named counters for metrics (drops by reason, messages). */
    Counters counters();

    /**
     * The node's tracer, meter and metric helpers (no-op unless the node was built with an OpenTelemetry SDK);
     * protocols make their spans and instruments from it.
     */
    default Telemetry telemetry() { return Telemetry.noop(); }

    /** The node's store, or null for an ephemeral node. */
    Store store();

    /**
     * The node's chunk store (in {@link #store()}; bins by proximity order to this node's overlay address,
     * {@code ChunkAddress.overlayOf(peerId())}), or null for an ephemeral node. Its listeners run on
     * {@link #loop()}.
     */
    default ChunkStore chunks() {
        return null;
    }

    /** This node's dialable addresses, without {@code /p2p/}. */
    List<Multiaddr> listenAddresses();

    /** Serves {@code protocolId} on inbound streams (multistream-select). */
    void registerProtocol(String protocolId, ProtocolHandler handler);

    /**
     * Stops serving {@code protocolId}: later inbound streams for it fail negotiation and identify no longer
     * lists it. Streams already open are not touched. Any thread.
     *
     * @throws UnsupportedOperationException if this host cannot withdraw protocols
     */
    default void unregisterProtocol(String protocolId) {
        throw new UnsupportedOperationException("this host cannot unregister protocols");
    }

    /** Opens a stream to {@code peer} speaking {@code protocolId}, connecting first if needed. */
    CompletableFuture<Stream> openStream(PeerId peer, String protocolId, StreamHandler handler);

    /** An open connection to {@code peer}, dialling its known addresses if needed. */
    CompletableFuture<Connection> connection(PeerId peer);

    /** Dials {@code address} (with or without {@code /p2p/}). */
    CompletableFuture<Connection> connect(Multiaddr address);

    /**
     * Hole punching: sends {@code count} (1..{@link io.peersocket.transport.Transport#MAX_PUNCH_PACKETS}) random
     * UDP datagrams from the node's listening socket to {@code target} (see
     * {@link io.peersocket.transport.Transport#punch}). Any thread.
     *
     * @return completes when handed to the socket; fails if the transport cannot punch or the address is unusable
     */
    default CompletableFuture<Void> punch(Multiaddr target, int count) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException("this host cannot punch"));
    }

    /** True if there is an open connection to {@code peer} (call on the loop for a consistent answer). */
    boolean isConnected(PeerId peer);

    /** Open connections to {@code peer} (call on the loop); empty if none or unknown to this host. */
    default List<Connection> connectionsTo(PeerId peer) { return List.of(); }

    /** Known addresses of {@code peer}, most recently learned last (call on the loop). */
    List<Multiaddr> addressesOf(PeerId peer);

    /** Adds addresses of {@code peer} to the address book. */
    void addAddresses(PeerId peer, List<Multiaddr> addresses);

    /**
     * What {@code peer} said in the Peersocket handshake ({@code /peersocket/handshake/1.0.0}: version, network id,
     * light node flag) on a connection that passed it and is still open, or null if there is none (not connected,
     * handshake pending or refused, or a plain libp2p peer). Protocols must not ask a light node to store or serve.
     * Any thread.
     */
    HandshakeInfo handshakeOf(PeerId peer);

    /**
     * Whether peers can dial this node, as AutoNAT decided (UNKNOWN when the host runs without AutoNAT). Any
     * thread.
     */
    default io.peersocket.protocol.autonat.Reachability.State reachability() {
        return io.peersocket.protocol.autonat.Reachability.State.UNKNOWN;
    }

    /** External addresses confirmed by observed-address consensus (empty without AutoNAT). Any thread. */
    default List<Multiaddr> externalAddresses() { return List.of(); }

    /**
     * Listens for reachability changes (on the loop; keep it quick). A host without AutoNAT never calls it.
     */
    default void onReachabilityChange(Consumer<io.peersocket.protocol.autonat.Reachability.State> listener) { }

    /** Listens for connect / ready / identify / disconnect events (on the loop; keep listeners quick). */
    void onPeerEvent(Consumer<PeerEvent> listener);
}
