package io.peersocket.protocol.relay;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Jazzer targets for the Circuit Relay v2 decoders (hop, stop, voucher envelope). Regression mode (seeds in
 * {@code RelayCodecFuzzTestInputs/<method>/}) runs in the normal test suite; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link RelayProtocolException} (or the framing's
 * {@link FrameDecoder.FrameException}); an accepted message respects every bound and re-encodes to bytes that
 * decode to the same message.
 */
class RelayCodecFuzzTest {

    @FuzzTest
    void hop(byte[] data) {
        HopMessage m;
        try {
            m = RelayCodec.decodeHop(data);
        } catch (RelayProtocolException expected) {
            return;
        }
        checkHop(m);
    }

    @FuzzTest
    void stop(byte[] data) {
        StopMessage m;
        try {
            m = RelayCodec.decodeStop(data);
        } catch (RelayProtocolException expected) {
            return;
        }
        if (m.type() == StopMessage.Type.CONNECT) assertThat(m.peer()).isNotNull();
        if (m.type() == StopMessage.Type.STATUS) assertThat(m.status()).isNotNull();
        assertThat(RelayCodec.decodeStop(RelayCodec.encode(m))).isEqualTo(m);
    }

    @FuzzTest
    void framedHop(byte[] data) {
        FrameDecoder decoder = new FrameDecoder(RelayCodec.MAX_MESSAGE_BYTES);
        List<HopMessage> out = new ArrayList<>();
        try {
            decoder.feed(data, frame -> out.add(RelayCodec.decodeHop(frame)));
        } catch (FrameDecoder.FrameException | RelayProtocolException expected) {
            // rejected stream
        }
        for (HopMessage m : out) checkHop(m);
    }

    @FuzzTest
    void voucher(byte[] data) {
        ReservationVoucher v;
        try {
            v = ReservationVoucher.open(data);
        } catch (RelayProtocolException expected) {
            return;
        }
        // only a correctly signed envelope gets here: its signer is the voucher's relay
        assertThat(SignedEnvelope.open(data, ReservationVoucher.DOMAIN).publicKey().peerId()).isEqualTo(v.relay());
    }

    @FuzzTest
    void envelope(byte[] data) {
        SignedEnvelope e;
        try {
            e = SignedEnvelope.open(data, ReservationVoucher.DOMAIN);
        } catch (RelayProtocolException expected) {
            return;
        }
        assertThat(SignedEnvelope.open(e.toBytes(), ReservationVoucher.DOMAIN)).isEqualTo(e);
    }

    private static void checkHop(HopMessage m) {
        assertThat(m.peerAddresses().size()).isLessThanOrEqualTo(RelayCodec.MAX_ADDRESSES);
        if (m.type() == HopMessage.Type.CONNECT) assertThat(m.peer()).isNotNull();
        if (m.type() == HopMessage.Type.STATUS) assertThat(m.status()).isNotNull();
        if (m.reservation() != null) {
            assertThat(m.reservation().addresses().size()).isLessThanOrEqualTo(RelayCodec.MAX_ADDRESSES);
            if (m.reservation().voucher() != null) {
                assertThat(m.reservation().voucher().length).isLessThanOrEqualTo(RelayCodec.MAX_VOUCHER_BYTES);
            }
        }
        assertThat(RelayCodec.decodeHop(RelayCodec.encode(m))).isEqualTo(m);
    }
}
