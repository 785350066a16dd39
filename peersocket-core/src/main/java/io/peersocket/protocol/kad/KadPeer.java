package io.peersocket.protocol.kad;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.List;
import java.util.Objects;

/**
 * A peer as it travels in kad messages ({@code Message.Peer}): its id, addresses (at most
 * {@link KadCodec#MAX_ADDRESSES_PER_PEER}) and the sender's connection to it.
 */
public record KadPeer(PeerId id, List<Multiaddr> addresses, ConnectionType connection) {
    public KadPeer {
        Objects.requireNonNull(id, "id");
        addresses = List.copyOf(addresses);
        Objects.requireNonNull(connection, "connection");
    }

    /** The sender's connection to a peer ({@code Message.ConnectionType}). */
    public enum ConnectionType { NOT_CONNECTED, CONNECTED, CAN_CONNECT, CANNOT_CONNECT }
}
