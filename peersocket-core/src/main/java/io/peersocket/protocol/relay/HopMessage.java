package io.peersocket.protocol.relay;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * One message of the hop protocol {@code /libp2p/circuit/relay/0.2.0/hop} (circuit-v2.md "Hop Protocol").
 *
 * @param type RESERVE, CONNECT or STATUS
 * @param peer the target of a CONNECT (null otherwise or if absent)
 * @param peerAddresses the target's addresses in a CONNECT (active relay, which this relay ignores)
 * @param reservation the reservation granted in a STATUS OK answer to RESERVE, or null
 * @param limit the circuit limits announced in a STATUS OK, or null if absent (no limits)
 * @param status the status of a STATUS message, null for other types
 */
public record HopMessage(Type type, PeerId peer, List<Multiaddr> peerAddresses, Reservation reservation, Limit limit,
                         RelayStatus status) {

    public enum Type { RESERVE, CONNECT, STATUS }

    public HopMessage {
        Objects.requireNonNull(type, "type");
        peerAddresses = List.copyOf(peerAddresses);
    }

    /**
     * A granted reservation as carried on the wire.
     *
     * @param expireSeconds expiry, UNIX time in seconds (UTC); 0 if absent
     * @param addresses the relay's public addresses (with {@code /p2p/RELAY}, without {@code /p2p-circuit})
     * @param voucher the signed envelope bytes of the voucher, or null if absent
     */
    public record Reservation(long expireSeconds, List<Multiaddr> addresses, byte[] voucher) {
        public Reservation {
            addresses = List.copyOf(addresses);
            voucher = voucher == null ? null : voucher.clone();
        }

        @Override public byte[] voucher() { return voucher == null ? null : voucher.clone(); }

        @Override public boolean equals(Object o) {
            return o instanceof Reservation r && r.expireSeconds == expireSeconds && r.addresses.equals(addresses)
                    && Arrays.equals(r.voucher, voucher);
        }

        @Override public int hashCode() { return Objects.hash(expireSeconds, addresses, Arrays.hashCode(voucher)); }
    }

    public static HopMessage reserve() { return new HopMessage(Type.RESERVE, null, List.of(), null, null, null); }

    public static HopMessage connect(PeerId target) {
        return new HopMessage(Type.CONNECT, Objects.requireNonNull(target), List.of(), null, null, null);
    }

    public static HopMessage status(RelayStatus status) {
        return new HopMessage(Type.STATUS, null, List.of(), null, null, Objects.requireNonNull(status));
    }

    /** STATUS OK with the limits ({@code null} or {@link Limit#NONE} to omit) and, for RESERVE, the reservation. */
    public static HopMessage ok(Reservation reservation, Limit limit) {
        return new HopMessage(Type.STATUS, null, List.of(), reservation, limit == null || limit.isNone() ? null : limit,
                RelayStatus.OK);
    }
}
