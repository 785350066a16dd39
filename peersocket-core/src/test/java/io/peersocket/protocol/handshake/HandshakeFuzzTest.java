package io.peersocket.protocol.handshake;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer targets for the handshake decoders. Regression mode (seeds in {@code HandshakeFuzzTestInputs/<method>/})
 * runs with the normal tests; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link HandshakeException}; anything accepted re-encodes to a message that
 * decodes to the same value.
 */
class HandshakeFuzzTest {

    @FuzzTest
    void decodeHello(byte[] data) {
        HandshakeInfo info;
        try {
            info = Handshake.decodeHello(data);
        } catch (HandshakeException expected) {
            return;
        }
        assertThat(info.version()).isNotNegative();
        assertThat(Handshake.decodeHello(Handshake.encodeHello(info))).isEqualTo(info);
    }

    @FuzzTest
    void decodeVerdict(byte[] data) {
        Handshake.Verdict v;
        try {
            v = Handshake.decodeVerdict(data);
        } catch (HandshakeException expected) {
            return;
        }
        assertThat(v.reason().length()).isLessThanOrEqualTo(Handshake.MAX_REASON_CHARS);
        assertThat(Handshake.decodeVerdict(Handshake.encodeVerdict(v.accepted(), v.reason()))).isEqualTo(v);
    }
}
