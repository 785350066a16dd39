package io.peersocket.protocol.autonat;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Jazzer targets for the AutoNAT message decoder. Regression mode (seeds in
 * {@code AutoNatCodecFuzzTestInputs/<method>/}) runs in the normal test suite; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link AutoNatProtocolException}; an accepted message respects every
 * bound and re-encodes to bytes that decode to the same message.
 */
class AutoNatCodecFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        AutoNatMessage m;
        try {
            m = AutoNatCodec.decode(data);
        } catch (AutoNatProtocolException expected) {
            return;
        }
        check(m);
    }

    @FuzzTest
    void framed(byte[] data) {
        FrameDecoder decoder = new FrameDecoder(AutoNatCodec.MAX_MESSAGE_BYTES);
        List<AutoNatMessage> out = new ArrayList<>();
        try {
            decoder.feed(data, frame -> out.add(AutoNatCodec.decode(frame)));
        } catch (FrameDecoder.FrameException | AutoNatProtocolException expected) {
            // rejected stream
        }
        for (AutoNatMessage m : out) check(m);
    }

    private static void check(AutoNatMessage m) {
        switch (m) {
            case AutoNatMessage.Dial d -> assertThat(d.addresses().size() + d.skipped()).isLessThanOrEqualTo(AutoNatCodec.MAX_ADDRESSES);
            case AutoNatMessage.DialResponse r -> assertThat(r.text().length()).isLessThanOrEqualTo(AutoNatCodec.MAX_STATUS_TEXT);
        }
        assertThat(AutoNatCodec.decode(AutoNatCodec.encode(m))).isEqualTo(withoutSkipped(m));
    }

    private static AutoNatMessage withoutSkipped(AutoNatMessage m) {
        return m instanceof AutoNatMessage.Dial d ? new AutoNatMessage.Dial(d.peer(), d.addresses(), 0) : m;
    }
}
