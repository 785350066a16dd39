package io.peersocket.protocol.peers;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for the peer exchange decoder. Regression mode (seeds in {@code PeersCodecFuzzTestInputs/decode/})
 * runs with the normal tests; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link PeerExchangeException}; anything accepted respects the bounds and
 * re-encodes to a message that decodes to the same value.
 */
class PeersCodecFuzzTest {
    private static final PeerExchangeConfig LIMITS = PeerExchangeConfig.defaults();

    @FuzzTest
    void decode(byte[] data) {
        PeersCodec.Msg m;
        try {
            m = PeersCodec.decode(data, LIMITS);
        } catch (PeerExchangeException expected) {
            return;
        }
        if (m instanceof PeersCodec.Delta d) {
            assertThat(d.after()).isNotNegative().isLessThanOrEqualTo(d.upTo());
            assertThat(d.entries()).hasSizeLessThanOrEqualTo(LIMITS.maxEntriesPerMessage());
            long prev = d.after();
            for (PeerEntry e : d.entries()) {
                assertThat(e.seq()).isGreaterThan(prev).isLessThanOrEqualTo(d.upTo());
                prev = e.seq();
                assertThat(e.addresses()).hasSizeLessThanOrEqualTo(LIMITS.maxAddressesPerPeer()).doesNotHaveDuplicates();
                assertThat(e.lastSeenMs()).isNotNegative();
            }
        }
        assertThat(PeersCodec.decode(PeersCodec.encode(m), LIMITS)).isEqualTo(m);
    }
}
