package io.peersocket.protocol.holepunch;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Jazzer targets for the DCUtR and introduction decoders. Regression mode (seeds in
 * {@code HolePunchCodecFuzzTestInputs/<method>/}) runs in the normal test suite; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link HolePunchException}; an accepted message respects every bound and
 * re-encodes to bytes that decode to the same message.
 */
class HolePunchCodecFuzzTest {

    @FuzzTest
    void dcutr(byte[] data) {
        HolePunchCodec.Dcutr m;
        try {
            m = HolePunchCodec.decodeDcutr(data);
        } catch (HolePunchException expected) {
            return;
        }
        assertThat(m.addresses().size()).isLessThanOrEqualTo(HolePunchCodec.MAX_ADDRESSES);
        assertThat(HolePunchCodec.decodeDcutr(HolePunchCodec.encode(m))).isEqualTo(m);
    }

    @FuzzTest
    void introduce(byte[] data) {
        HolePunchCodec.Introduce m;
        try {
            m = HolePunchCodec.decodeIntroduce(data);
        } catch (HolePunchException expected) {
            return;
        }
        check(m);
    }

    @FuzzTest
    void framedDcutr(byte[] data) {
        FrameDecoder decoder = new FrameDecoder(HolePunchCodec.MAX_MESSAGE_BYTES);
        List<HolePunchCodec.Dcutr> out = new ArrayList<>();
        try {
            decoder.feed(data, frame -> out.add(HolePunchCodec.decodeDcutr(frame)));
        } catch (FrameDecoder.FrameException | HolePunchException expected) {
            // rejected stream
        }
        for (HolePunchCodec.Dcutr m : out) assertThat(m.addresses().size()).isLessThanOrEqualTo(HolePunchCodec.MAX_ADDRESSES);
    }

    private static void check(HolePunchCodec.Introduce m) {
        assertThat(m.addresses().size()).isLessThanOrEqualTo(HolePunchCodec.MAX_ADDRESSES);
        assertThat(m.delayMs()).isBetween(0, HolePunchCodec.MAX_DELAY_MS);
        assertThat(m.text().length()).isLessThanOrEqualTo(HolePunchCodec.MAX_TEXT_CHARS);
        assertThat(HolePunchCodec.decodeIntroduce(HolePunchCodec.encode(m))).isEqualTo(m);
    }
}
