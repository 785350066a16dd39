package io.peersocket.host;

import io.peersocket.identity.PeerId;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.transport.Connection;

/**
 * Something that happened to a peer, delivered to {@link Host#onPeerEvent} listeners on the event loop.
 *
 * @param connection the connection concerned (null for none)
 * @param identify the identify answer, for {@link Kind#IDENTIFIED}; else null
 */
public record PeerEvent(Kind kind, PeerId peer, Connection connection, IdentifyInfo identify) {
    public enum Kind {
        /** A connection finished its handshake (inbound or outbound). */
        CONNECTED,
        /** The peer answered identify (protocols, listen addresses). */
        IDENTIFIED,
        /** A connection closed (there may be others to the same peer). */
        DISCONNECTED
    }
}
