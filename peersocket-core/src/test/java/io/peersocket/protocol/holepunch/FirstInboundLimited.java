package io.peersocket.protocol.holepunch;

import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.quic.QuicTransport;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Test transport: QUIC whose first inbound connection is reported as limited ({@link Connection#isLimited()}), as a
 * relayed one would be, until relayed connections exist. Later connections are the plain QUIC ones.
 */
final class FirstInboundLimited implements Transport {
    private final QuicTransport quic;
    private final Map<Connection, Connection> wrapped = new ConcurrentHashMap<>();
    private volatile boolean first = true;

    FirstInboundLimited(TransportConfig config, TransportHandler handler) {
        this.quic = new QuicTransport(config, new TransportHandler() {
            @Override public void onConnection(Connection c) {
                Connection w = c;
                if (first && c.direction() == Connection.Direction.INBOUND) {
                    first = false;
                    w = new Limited(c);
                    wrapped.put(c, w);
                }
                handler.onConnection(w);
            }

            @Override public StreamHandler onStream(Stream stream) { return handler.onStream(stream); }

            @Override public void onDatagram(Connection c, byte[] data) { handler.onDatagram(wrapped.getOrDefault(c, c), data); }

            @Override public void onConnectionClosed(Connection c, String reason) {
                Connection w = wrapped.remove(c);
                handler.onConnectionClosed(w != null ? w : c, reason);
            }
        });
    }

    @Override public CompletableFuture<List<Multiaddr>> listen(List<Multiaddr> addresses) { return quic.listen(addresses); }

    @Override public List<Multiaddr> listenAddresses() { return quic.listenAddresses(); }

    @Override public CompletableFuture<Connection> dial(Multiaddr address, PeerId expected) { return quic.dial(address, expected); }

    @Override public boolean canDial(Multiaddr address) { return quic.canDial(address); }

    @Override public CompletableFuture<Void> punch(Multiaddr target, int count) { return quic.punch(target, count); }

    @Override public List<Connection> connections() { return quic.connections(); }

    @Override public CompletableFuture<Void> closeAsync() { return quic.closeAsync(); }

    @Override public void close() { quic.close(); }

    /** Delegates everything but {@link #isLimited()}. */
    private record Limited(Connection c) implements Connection {
        @Override public long id() { return c.id(); }

        @Override public PeerId remotePeer() { return c.remotePeer(); }

        @Override public PublicKey remotePublicKey() { return c.remotePublicKey(); }

        @Override public Multiaddr remoteAddress() { return c.remoteAddress(); }

        @Override public Multiaddr localAddress() { return c.localAddress(); }

        @Override public Direction direction() { return c.direction(); }

        @Override public boolean isOpen() { return c.isOpen(); }

        @Override public boolean isLimited() { return true; }

        @Override public CompletableFuture<Stream> openStream(StreamHandler handler) { return c.openStream(handler); }

        @Override public boolean sendDatagram(byte[] data) { return c.sendDatagram(data); }

        @Override public int maxDatagramSize() { return c.maxDatagramSize(); }

        @Override public CompletableFuture<Void> close() { return c.close(); }
    }
}
