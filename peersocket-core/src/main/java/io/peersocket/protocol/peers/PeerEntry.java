package io.peersocket.protocol.peers;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.List;
import java.util.Objects;

/**
 * One entry of a node's connection log (seed 000: the list of peers it successfully connected to, in recency
 * order): a newer entry for the same peer supersedes the older one.
 *
 * @param seq position in the log, {@code >= 1}, increasing with time
 * @param peer the peer connected to
 * @param addresses where it was reached or says it listens, most useful first, without {@code /p2p/}; at most
 *     {@link PeerExchangeConfig#maxAddressesPerPeer()}
 * @param lastSeenMs when the connection passed the handshake, epoch ms
 */
public record PeerEntry(long seq, PeerId peer, List<Multiaddr> addresses, long lastSeenMs) {
    public PeerEntry {
        Objects.requireNonNull(peer, "peer");
        addresses = List.copyOf(addresses);
    }
}
