package io.peersocket.protocol.relay;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.protocol.relay.pb.RelayProto;
import java.util.Arrays;

/**
 * A Circuit Relay v2 reservation voucher (circuit-v2.md "Reservation Vouchers"): the relay's signed statement
 * that it serves {@code peer} until {@code expirationSeconds}, carried in a {@link SignedEnvelope} with domain
 * {@value #DOMAIN} and payload type {@code 0x03 0x02} (multicodec {@code libp2p-relay-rsvp}). Vouchers are
 * advisory in libp2p today; this library issues them and checks the ones it receives.
 *
 * @param relay the relay's peer id (must be the envelope's signer)
 * @param peer the reserving peer
 * @param expirationSeconds UNIX time in seconds (UTC) when the reservation ends
 */
public record ReservationVoucher(PeerId relay, PeerId peer, long expirationSeconds) {
    public static final String DOMAIN = "libp2p-relay-rsvp";
    /**
     * Multicodec 0x0302 as its two big-endian bytes, as go-libp2p ({@code RecordCodec}) and js-libp2p put it on the
     * wire (not as a varint).
     */
    static final byte[] PAYLOAD_TYPE = {0x03, 0x02};

    /** The canonical protobuf payload (fields in number order). */
    public byte[] payload() {
        return RelayProto.ReservationVoucher.newBuilder()
                .setRelay(ByteString.copyFrom(relay.toBytes()))
                .setPeer(ByteString.copyFrom(peer.toBytes()))
                .setExpiration(expirationSeconds)
                .build().toByteArray();
    }

    /**
     * Signs this voucher; {@code relayKey} must be the relay's key.
     *
     * @return the envelope bytes for {@code Reservation.voucher}
     */
    public byte[] seal(HostKey relayKey) {
        if (!relayKey.peerId().equals(relay)) throw new IllegalArgumentException("voucher relay is " + relay + ", key is " + relayKey.peerId());
        return SignedEnvelope.seal(relayKey, DOMAIN, PAYLOAD_TYPE, payload()).toBytes();
    }

    /**
     * Opens and checks a voucher envelope.
     *
     * @throws RelayProtocolException if the envelope is malformed or its signature fails, the payload type is not
     *     {@code 0x0302}, the payload is malformed, or the signer is not the voucher's relay
     */
    public static ReservationVoucher open(byte[] envelope) {
        SignedEnvelope e = SignedEnvelope.open(envelope, DOMAIN);
        if (!Arrays.equals(e.payloadType(), PAYLOAD_TYPE)) {
            throw new RelayProtocolException("voucher payload type is not libp2p-relay-rsvp (0x0302)");
        }
        RelayProto.ReservationVoucher pb;
        try {
            pb = RelayProto.ReservationVoucher.parseFrom(e.payload());
        } catch (InvalidProtocolBufferException ex) {
            throw new RelayProtocolException("malformed voucher: " + ex.getMessage());
        }
        PeerId relay;
        PeerId peer;
        try {
            relay = PeerId.fromBytes(pb.getRelay().toByteArray());
            peer = PeerId.fromBytes(pb.getPeer().toByteArray());
        } catch (IllegalArgumentException ex) {
            throw new RelayProtocolException("voucher peer id: " + ex.getMessage());
        }
        if (!e.publicKey().peerId().equals(relay)) {
            throw new RelayProtocolException("voucher for relay " + relay + " is signed by " + e.publicKey().peerId());
        }
        return new ReservationVoucher(relay, peer, pb.getExpiration());
    }
}
