package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;

/**
 * Jazzer targets for the kad message decoder. Regression mode (seeds in {@code KadCodecFuzzTestInputs/<method>/})
 * runs in the normal test suite; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link KadProtocolException}; an accepted message respects every bound,
 * and re-encoding it gives a message that decodes to the same content with nothing dropped.
 */
class KadCodecFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        KadMessage m;
        try {
            m = KadCodec.decode(data);
        } catch (KadProtocolException expected) {
            return;
        }
        checkAccepted(m);
    }

    /** The same bytes as a stream of varint-framed messages, as an inbound stream would deliver them. */
    @FuzzTest
    void framed(byte[] data) {
        FrameDecoder decoder = new FrameDecoder(KadCodec.MAX_MESSAGE_BYTES);
        List<KadMessage> out = new ArrayList<>();
        try {
            decoder.feed(data, frame -> out.add(KadCodec.decode(frame)));
        } catch (FrameDecoder.FrameException | KadProtocolException expected) {
            // rejected stream; messages before the bad frame were delivered
        }
        for (KadMessage m : out) checkAccepted(m);
    }

    private static void checkAccepted(KadMessage m) {
        assertThat(m.key().length).isLessThanOrEqualTo(KadCodec.MAX_KEY_BYTES);
        assertThat(m.closerPeers().size()).isLessThanOrEqualTo(KadCodec.MAX_PEERS);
        assertThat(m.providerPeers().size()).isLessThanOrEqualTo(KadCodec.MAX_PEERS);
        for (KadPeer p : m.closerPeers()) assertThat(p.addresses().size()).isLessThanOrEqualTo(KadCodec.MAX_ADDRESSES_PER_PEER);
        for (KadPeer p : m.providerPeers()) assertThat(p.addresses().size()).isLessThanOrEqualTo(KadCodec.MAX_ADDRESSES_PER_PEER);
        if (m.record() != null) {
            assertThat(m.record().key().length).isLessThanOrEqualTo(KadCodec.MAX_KEY_BYTES);
            assertThat(m.record().value().length).isLessThanOrEqualTo(KadCodec.MAX_VALUE_BYTES);
        }
        byte[] again = KadCodec.encode(m);
        assertThat(again.length).isLessThanOrEqualTo(KadCodec.MAX_MESSAGE_BYTES);
        KadMessage back = KadCodec.decode(again);
        assertThat(back).isEqualTo(new KadMessage(m.type(), m.key(), m.record(), m.closerPeers(), m.providerPeers(), 0, 0));
        assertThat(m.toString()).isNotEmpty();
    }
}
