package io.peersocket.store;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What the store knows about one peer. Immutable (the public key is copied in and out).
 *
 * @param peerId the peer id text as recorded (the caller converts to and from {@code PeerId})
 * @param knownAddresses its multiaddrs, most recently seen first, at most
 *     {@link PeerStore#MAX_ADDRESSES_PER_PEER}
 * @param lastConnectedMs last successful connection, ms, or {@link #NEVER}
 * @param lastSeenMs last time a connection or addresses were recorded for it, ms
 * @param failures dial failures since the last successful connection
 * @param agent its agent version string (from identify), or null
 * @param firstSeenMs when it was first recorded, ms
 * @param lastFailureMs last dial failure, ms, or {@link #NEVER}
 * @param publicKey its protobuf-encoded libp2p public key, or null if not recorded
 */
public record PeerRecord(
        String peerId,
        List<KnownAddress> knownAddresses,
        long lastConnectedMs,
        long lastSeenMs,
        int failures,
        String agent,
        long firstSeenMs,
        long lastFailureMs,
        byte[] publicKey) {

    /** The value of {@link #lastConnectedMs} and {@link #lastFailureMs} when there was none. */
    public static final long NEVER = -1;

    public PeerRecord {
        Objects.requireNonNull(peerId, "peerId");
        knownAddresses = List.copyOf(knownAddresses);
        publicKey = publicKey == null ? null : publicKey.clone();
    }

    /** The multiaddr texts, most recently seen first. */
    public List<String> addresses() {
        return knownAddresses.stream().map(KnownAddress::multiaddr).toList();
    }

    /** Whether a connection to this peer ever succeeded. */
    public boolean hasConnected() {
        return lastConnectedMs != NEVER;
    }

    /** A copy of the public key, or null. */
    @Override
    public byte[] publicKey() {
        return publicKey == null ? null : publicKey.clone();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof PeerRecord r
                && peerId.equals(r.peerId)
                && knownAddresses.equals(r.knownAddresses)
                && lastConnectedMs == r.lastConnectedMs
                && lastSeenMs == r.lastSeenMs
                && failures == r.failures
                && Objects.equals(agent, r.agent)
                && firstSeenMs == r.firstSeenMs
                && lastFailureMs == r.lastFailureMs
                && Arrays.equals(publicKey, r.publicKey);
    }

    @Override
    public int hashCode() {
        return Objects.hash(peerId, knownAddresses, lastConnectedMs, lastSeenMs, failures, agent, firstSeenMs,
                lastFailureMs, Arrays.hashCode(publicKey));
    }

    @Override
    public String toString() {
        return "PeerRecord[" + peerId + ", addresses=" + addresses() + ", lastConnectedMs=" + lastConnectedMs
                + ", lastSeenMs=" + lastSeenMs + ", failures=" + failures + ", agent=" + agent + ", firstSeenMs="
                + firstSeenMs + ", lastFailureMs=" + lastFailureMs + ", publicKey="
                + (publicKey == null ? "null" : publicKey.length + " bytes") + "]";
    }
}
