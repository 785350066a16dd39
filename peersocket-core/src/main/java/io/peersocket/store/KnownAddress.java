package io.peersocket.store;

import java.util.Objects;

/**
 * A multiaddr the store keeps for a peer.
 *
 * @param multiaddr the multiaddr text as recorded (not parsed by the store)
 * @param firstSeenMs when it was first recorded, ms (caller's clock)
 * @param lastSeenMs when it was last recorded, ms
 * @param source who told us most recently: {@link PeerStore#SOURCE_CONNECTED} or the caller's label (e.g.
 *     {@code "identify"}, {@code "peer-exchange"})
 */
public record KnownAddress(String multiaddr, long firstSeenMs, long lastSeenMs, String source) {
    public KnownAddress {
        Objects.requireNonNull(multiaddr, "multiaddr");
        Objects.requireNonNull(source, "source");
    }
}
