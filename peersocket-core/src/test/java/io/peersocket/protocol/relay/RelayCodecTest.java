package io.peersocket.protocol.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.relay.pb.RelayProto;
import java.util.HexFormat;
import java.util.List;
import org.junit.jupiter.api.Test;

class RelayCodecTest {
    private static final HexFormat HEX = HexFormat.of();
    private final HostKey relayKey = HostKey.fromSeed(new byte[32]);
    private final PeerId peer = HostKey.fromSeed(filled(7)).peerId();

    private static byte[] filled(int b) {
        byte[] s = new byte[32];
        java.util.Arrays.fill(s, (byte) b);
        return s;
    }

    @Test
    void wireBytesMatchTheSpecFieldNumbers() {
        // HopMessage{type=RESERVE}: field 1 varint 0
        assertThat(HEX.formatHex(RelayCodec.encode(HopMessage.reserve()))).isEqualTo("0800");
        // HopMessage{type=STATUS, status=NO_RESERVATION(204)}: 08 02, field 5 varint 204 = 28 cc 01
        assertThat(HEX.formatHex(RelayCodec.encode(HopMessage.status(RelayStatus.NO_RESERVATION)))).isEqualTo("080228cc01");
        // StopMessage{type=STATUS, status=OK(100)}: 08 01, field 4 varint 100 = 20 64
        assertThat(HEX.formatHex(RelayCodec.encode(StopMessage.status(RelayStatus.OK)))).isEqualTo("08012064");
        // Limit in a stop CONNECT is field 3: duration 120 (08 78), data 131072 (10 80 80 08)
        byte[] stop = RelayCodec.encode(StopMessage.connect(peer, new Limit(120, 131072)));
        assertThat(HEX.formatHex(stop)).endsWith("1a06087810808008");
    }

    @Test
    void hopRoundTrips() {
        Multiaddr a = Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1/p2p/" + relayKey.peerId());
        byte[] voucher = new ReservationVoucher(relayKey.peerId(), peer, 1_700_000_000L).seal(relayKey);
        HopMessage ok = HopMessage.ok(new HopMessage.Reservation(1_700_000_000L, List.of(a), voucher), new Limit(120, 1 << 17));
        assertThat(RelayCodec.decodeHop(RelayCodec.encode(ok))).isEqualTo(ok);
        HopMessage connect = HopMessage.connect(peer);
        assertThat(RelayCodec.decodeHop(RelayCodec.encode(connect))).isEqualTo(connect);
        for (RelayStatus s : RelayStatus.values()) {
            assertThat(RelayCodec.decodeHop(RelayCodec.encode(HopMessage.status(s))).status()).isEqualTo(s);
        }
        StopMessage sc = StopMessage.connect(peer, new Limit(5, 0));
        assertThat(RelayCodec.decodeStop(RelayCodec.encode(sc))).isEqualTo(sc);
    }

    @Test
    void badMessagesAreRejectedWithTheBadPartNamed() {
        assertThatThrownBy(() -> RelayCodec.decodeHop(new byte[RelayCodec.MAX_MESSAGE_BYTES + 1]))
                .isInstanceOf(RelayProtocolException.class).hasMessageContaining("limit");
        assertThatThrownBy(() -> RelayCodec.decodeHop(HEX.parseHex("0801")))
                .isInstanceOf(RelayProtocolException.class).hasMessageContaining("CONNECT without a peer");
        // STATUS with an unknown status number (999)
        assertThatThrownBy(() -> RelayCodec.decodeHop(HEX.parseHex("080228e707")))
                .isInstanceOf(RelayProtocolException.class).hasMessageContaining("status");
        // missing the required type
        assertThatThrownBy(() -> RelayCodec.decodeStop(HEX.parseHex("2064")))
                .isInstanceOf(RelayProtocolException.class).hasMessageContaining("malformed stop");
        // bad peer id
        byte[] badPeer = RelayProto.HopMessage.newBuilder().setType(RelayProto.HopMessage.Type.CONNECT)
                .setPeer(RelayProto.Peer.newBuilder().setId(ByteString.copyFrom(new byte[] {1, 2, 3}))).build().toByteArray();
        assertThatThrownBy(() -> RelayCodec.decodeHop(badPeer)).isInstanceOf(RelayProtocolException.class)
                .hasMessageContaining("hop peer id");
        // too many reservation addresses
        RelayProto.Reservation.Builder r = RelayProto.Reservation.newBuilder();
        for (int i = 0; i <= RelayCodec.MAX_ADDRESSES; i++) r.addAddrs(ByteString.copyFrom(new byte[] {4, 127, 0, 0, 1}));
        byte[] many = RelayProto.HopMessage.newBuilder().setType(RelayProto.HopMessage.Type.STATUS)
                .setStatus(RelayProto.Status.OK).setReservation(r).build().toByteArray();
        assertThatThrownBy(() -> RelayCodec.decodeHop(many)).isInstanceOf(RelayProtocolException.class)
                .hasMessageContaining("reservation addrs");
    }

    @Test
    void voucherIsASignedEnvelopeWithTheRelayRsvpTypeAndDomain() {
        ReservationVoucher v = new ReservationVoucher(relayKey.peerId(), peer, 1_700_000_000L);
        byte[] env = v.seal(relayKey);
        assertThat(ReservationVoucher.open(env)).isEqualTo(v);
        RelayProto.Envelope pb = parse(env);
        assertThat(HEX.formatHex(pb.getPayloadType().toByteArray())).isEqualTo("0302");
        assertThat(pb.getPublicKey().toByteArray()).isEqualTo(relayKey.publicKey().toProto());
        // canonical payload: relay (1), peer (2), expiration (3) in field order
        assertThat(pb.getPayload().byteAt(0)).isEqualTo((byte) 0x0a);
        // the signature covers the domain: another domain does not verify
        assertThatThrownBy(() -> SignedEnvelope.open(env, "libp2p-routing-state"))
                .isInstanceOf(RelayProtocolException.class).hasMessageContaining("signature");
        // a tampered payload does not verify
        byte[] tampered = pb.toBuilder().setPayload(ByteString.copyFrom(
                new ReservationVoucher(relayKey.peerId(), peer, 1_800_000_000L).payload())).build().toByteArray();
        assertThatThrownBy(() -> ReservationVoucher.open(tampered)).isInstanceOf(RelayProtocolException.class);
        // signed by someone else than the voucher's relay
        HostKey other = HostKey.generate();
        byte[] forged = SignedEnvelope.seal(other, ReservationVoucher.DOMAIN, ReservationVoucher.PAYLOAD_TYPE, v.payload()).toBytes();
        assertThatThrownBy(() -> ReservationVoucher.open(forged)).isInstanceOf(RelayProtocolException.class)
                .hasMessageContaining("signed by");
    }

    private static RelayProto.Envelope parse(byte[] b) {
        try {
            return RelayProto.Envelope.parseFrom(b);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }
}
