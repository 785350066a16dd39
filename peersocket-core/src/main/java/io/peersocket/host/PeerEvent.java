package io.peersocket.host;

import io.peersocket.identity.PeerId;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.transport.Connection;

/**
 * Something that happened to a peer, delivered to {@link Host#onPeerEvent} listeners on the event loop. Per
 * connection: CONNECTED first, then READY and IDENTIFIED in either order (or not at all), DISCONNECTED last.
 *
 * @param connection the connection concerned (null for none)
 * @param identify the identify answer, for {@link Kind#IDENTIFIED}; else null
 */
public record PeerEvent(Kind kind, PeerId peer, Connection connection, IdentifyInfo identify) {
    public enum Kind {
        /** A connection finished its transport handshake (inbound or outbound). */
        CONNECTED,
        /**
         * The connection passed the Peersocket handshake (same network id, supported version): the peer is a
         * Peersocket node on our network; {@link Host#handshakeOf} tells whether it is a light node.
         */
        READY,
        /** The peer answered identify (protocols, listen addresses). */
        IDENTIFIED,
        /** A connection closed (there may be others to the same peer). */
        DISCONNECTED
    }
}
