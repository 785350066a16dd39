package io.peersocket.transport.upgrade;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportHandler;
import java.util.concurrent.CompletableFuture;

/**
 * Turns a raw reliable byte pipe (a relayed circuit's stream, a test TCP socket) into an authenticated,
 * multiplexed {@link Connection}, the libp2p way (libp2p connections spec, "Upgrading connections"):
 * multistream-select {@code /noise}, the Noise XX handshake with the libp2p identity payload, then
 * multistream-select {@code /yamux/1.0.0} inside the secure channel, then Yamux streams.
 *
 * <p>Threading: {@link Upgrade#input()} must be fed on the event executor of the owning transport, in order; the
 * resulting connection's upcalls go to {@code handler} on that executor, like any transport's.
 */
public interface Upgrader {

    /** Who speaks first: the dialling side initiates Noise and Yamux (odd stream ids). */
    enum Role { INITIATOR, RESPONDER }

    /**
     * Starts upgrading {@code raw}. Bytes written go to {@code raw.write}; the caller forwards every byte read
     * from the pipe (including any already buffered) to {@link Upgrade#input()}.
     *
     * @param raw the pipe; closed or reset by the upgrade on failure
     * @param expectedRemote the peer the remote must prove to be, or null to accept any (responder side)
     * @param remoteAddress what {@link Connection#remoteAddress()} reports, e.g. {@code /p2p/R/p2p-circuit}
     * @param localAddress what {@link Connection#localAddress()} reports
     * @param limited what {@link Connection#isLimited()} reports
     * @param handler receives the connection's {@code onConnection}, streams and {@code onConnectionClosed}
     * @return the input sink and the future connection; the future fails with a
     *     {@link io.peersocket.transport.TransportException} on a bad handshake, a peer id mismatch or a timeout
     */
    Upgrade start(Stream raw, Role role, PeerId expectedRemote, Multiaddr remoteAddress, Multiaddr localAddress,
            boolean limited, TransportHandler handler);

    /** An upgrade in progress: feed {@code input} with the pipe's bytes; {@code connection} completes after both handshakes. */
    record Upgrade(StreamHandler input, CompletableFuture<Connection> connection) {}
}
