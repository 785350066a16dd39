package io.peersocket.protocol.relay;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.List;

/**
 * A reservation this node holds on a relay (client side of Circuit Relay v2).
 *
 * @param relay the relay
 * @param expireMs when it ends, epoch ms (the relay's {@code expire} seconds × 1000); {@link RelayClient}
 *     refreshes it before then
 * @param circuitAddresses where others reach this node through the relay:
 *     {@code /…relay address…/p2p/RELAY/p2p-circuit} (append {@code /p2p/<this peer>} to dial)
 * @param limit the limits the relay applies to each circuit ({@link Limit#NONE} if none announced)
 * @param voucher the relay's signed voucher, or null if it sent none or it did not verify
 */
public record Reservation(PeerId relay, long expireMs, List<Multiaddr> circuitAddresses, Limit limit,
                          ReservationVoucher voucher) {
    public Reservation {
        circuitAddresses = List.copyOf(circuitAddresses);
    }
}
