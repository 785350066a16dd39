package io.peersocket.transport;

import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import java.util.concurrent.CompletableFuture;

/** An authenticated connection to one remote peer, carrying streams and datagrams. */
public interface Connection {

    enum Direction { INBOUND, OUTBOUND }

    /** Process-unique id, for logs. */
    long id();

    PeerId remotePeer();

    /** The remote's host public key, as proven in the handshake. */
    PublicKey remotePublicKey();

    /** Remote socket address as a multiaddr (without {@code /p2p/}). */
    Multiaddr remoteAddress();

    /** Local socket address as a multiaddr (the listen port for QUIC). */
    Multiaddr localAddress();

    Direction direction();

    boolean isOpen();

    /**
     * True for a limited connection (libp2p term): one carried through a relay (Circuit Relay v2,
     * {@code /p2p/RELAY/p2p-circuit}) whose relay caps its duration and bytes. Bulk protocols should avoid it and
     * the node prefers, and moves despatch traffic to, an unlimited (direct) connection once one opens.
     */
    default boolean isLimited() { return false; }

    /**
     * Opens an outbound stream whose data goes to {@code handler}.
     *
     * @return completes with the stream, or fails with {@link TransportException} if the connection is closed
     *     or the stream limit is reached
     */
    CompletableFuture<Stream> openStream(StreamHandler handler);

    /**
     * Sends an unreliable datagram (QUIC DATAGRAM, RFC 9221).
     *
     * @return false if the datagram was not sent: too large ({@link #maxDatagramSize()}), unsupported by the
     *     peer, or the connection is closed. Delivery is never guaranteed.
     */
    boolean sendDatagram(byte[] data);

    /** Largest datagram payload in bytes this connection can send now; 0 if datagrams are unsupported. */
    int maxDatagramSize();

    /** Closes the connection; {@link TransportHandler#onConnectionClosed} follows. Idempotent. */
    CompletableFuture<Void> close();
}
