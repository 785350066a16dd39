/**
 * libp2p Circuit Relay v2 (libp2p specs relay/circuit-v2.md): {@code /libp2p/circuit/relay/0.2.0/hop} and
 * {@code /libp2p/circuit/relay/0.2.0/stop}, byte-compatible with go- and js-libp2p.
 *
 * <ul>
 *   <li>{@link io.peersocket.protocol.relay.RelayService} — the relay (opt-in: {@code NodeBuilder.relayService}):
 *       reservations with signed {@link io.peersocket.protocol.relay.ReservationVoucher vouchers}, limits, caps,
 *       and the byte splice between the two halves of a circuit.</li>
 *   <li>{@link io.peersocket.protocol.relay.RelayClient} — on every node ({@code Node.relay()}): reserve slots and
 *       keep them, advertise circuit addresses, accept relayed connections, dial circuit addresses.</li>
 *   <li>{@link io.peersocket.protocol.relay.RelayCodec}, {@link io.peersocket.protocol.relay.SignedEnvelope} — the
 *       bounded wire codecs.</li>
 * </ul>
 *
 * <p>A circuit is a raw byte pipe ({@link io.peersocket.protocol.relay.Circuit}); the client upgrades it with the
 * node's {@link io.peersocket.transport.upgrade.Upgrader} (Noise + Yamux) to a limited
 * {@link io.peersocket.transport.Connection} that the node uses like any other.
 */
package io.peersocket.protocol.relay;
