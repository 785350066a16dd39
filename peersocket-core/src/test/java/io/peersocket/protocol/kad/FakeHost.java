package io.peersocket.protocol.kad;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.handshake.HandshakeInfo;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.store.Store;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.Counters;
import io.peersocket.util.ManualEventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Consumer;

/**
 * A {@link Host} with no network, on a {@link ManualEventLoop}, for connection-manager tests: dials succeed for
 * peers in {@link #reachable} (emitting CONNECTED and IDENTIFIED with the kad protocol) and fail at once for
 * others; every dial is recorded with its virtual time. Streams cannot be opened.
 */
final class FakeHost implements Host {
    final ManualEventLoop loop = new ManualEventLoop(0);
    final PeerId self;
    final Counters counters = new Counters();
    final Set<PeerId> reachable = new HashSet<>();
    final Set<PeerId> connected = new HashSet<>();
    final List<String> dials = new ArrayList<>();
    final Map<PeerId, List<Long>> dialTimes = new HashMap<>();
    final List<PeerId> closed = new ArrayList<>();
    final Map<PeerId, HandshakeInfo> handshakes = new HashMap<>();
    private final List<Consumer<PeerEvent>> listeners = new ArrayList<>();

    FakeHost(PeerId self) { this.self = self; }

    @Override public PeerId peerId() { return self; }

    @Override public ManualEventLoop loop() { return loop; }

    @Override public Counters counters() { return counters; }

    @Override public Store store() { return null; }

    @Override public List<Multiaddr> listenAddresses() { return List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/1/quic-v1")); }

    @Override public void registerProtocol(String protocolId, ProtocolHandler handler) {}

    @Override public CompletableFuture<Stream> openStream(PeerId peer, String protocolId, StreamHandler handler) {
        return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS, "fake host: no streams"));
    }

    @Override public CompletableFuture<Connection> connection(PeerId peer) {
        if (connected.contains(peer)) return CompletableFuture.completedFuture(new FakeConnection(peer));
        dialTimes.computeIfAbsent(peer, p -> new ArrayList<>()).add(loop.nowMs());
        if (!reachable.contains(peer)) {
            return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS, "unreachable " + peer));
        }
        connect(peer, true);
        return CompletableFuture.completedFuture(new FakeConnection(peer));
    }

    /** Marks {@code peer} connected and, if {@code kad}, identified as a kad server. */
    void connect(PeerId peer, boolean kad) {
        connected.add(peer);
        emit(new PeerEvent(PeerEvent.Kind.CONNECTED, peer, null, null));
        if (handshakes.containsKey(peer)) emit(new PeerEvent(PeerEvent.Kind.READY, peer, null, null));
        IdentifyInfo info = new IdentifyInfo(peer, null, "ipfs/0.1.0", "fake", List.of(), null,
                kad ? List.of(Kademlia.PROTOCOL_ID) : List.of(), 0);
        emit(new PeerEvent(PeerEvent.Kind.IDENTIFIED, peer, null, info));
    }

    @Override public CompletableFuture<Connection> connect(Multiaddr address) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException());
    }

    @Override public boolean isConnected(PeerId peer) { return connected.contains(peer); }

    @Override public List<Multiaddr> addressesOf(PeerId peer) { return List.of(); }

    @Override public void addAddresses(PeerId peer, List<Multiaddr> addresses) {}

    @Override public HandshakeInfo handshakeOf(PeerId peer) { return handshakes.get(peer); }

    @Override public void onPeerEvent(Consumer<PeerEvent> listener) { listeners.add(listener); }

    private void emit(PeerEvent e) { for (Consumer<PeerEvent> l : listeners) l.accept(e); }

    private final class FakeConnection implements Connection {
        private final PeerId peer;

        FakeConnection(PeerId peer) { this.peer = peer; }

        @Override public long id() { return 0; }

        @Override public PeerId remotePeer() { return peer; }

        @Override public PublicKey remotePublicKey() { return null; }

        @Override public Multiaddr remoteAddress() { return null; }

        @Override public Multiaddr localAddress() { return null; }

        @Override public Direction direction() { return Direction.OUTBOUND; }

        @Override public boolean isOpen() { return connected.contains(peer); }

        @Override public CompletableFuture<Stream> openStream(StreamHandler handler) {
            return CompletableFuture.failedFuture(new UnsupportedOperationException());
        }

        @Override public boolean sendDatagram(byte[] data) { return false; }

        @Override public int maxDatagramSize() { return 0; }

        @Override public CompletableFuture<Void> close() {
            if (connected.remove(peer)) {
                closed.add(peer);
                emit(new PeerEvent(PeerEvent.Kind.DISCONNECTED, peer, this, null));
            }
            return CompletableFuture.completedFuture(null);
        }
    }
}
