package io.peersocket.protocol.peers;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.List;
import java.util.Objects;

/**
 * A peer learned from a counterparty's connection log (a candidate for discovery; we have not necessarily
 * connected to it, so it is never re-announced as our own).
 *
 * @param peer the peer
 * @param addresses its addresses as the counterparty reported them, without {@code /p2p/}
 * @param lastSeenMs when the counterparty last connected to it, epoch ms (never later than our clock when received)
 * @param via the counterparty that told us (the one with the newest information)
 */
public record KnownPeer(PeerId peer, List<Multiaddr> addresses, long lastSeenMs, PeerId via) {
    public KnownPeer {
        Objects.requireNonNull(peer, "peer");
        Objects.requireNonNull(via, "via");
        addresses = List.copyOf(addresses);
    }
}
