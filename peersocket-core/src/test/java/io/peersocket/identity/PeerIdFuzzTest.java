package io.peersocket.identity;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/** Jazzer targets for the peer id decoders; regression mode (seed inputs) runs in the normal test suite. */
class PeerIdFuzzTest {

    @FuzzTest
    void fromBytes(byte[] data) {
        PeerId id;
        try {
            id = PeerId.fromBytes(data);
        } catch (InvalidPeerIdException expected) {
            return;
        }
        assertThat(PeerId.parse(id.toString())).isEqualTo(id);
        assertThat(PeerId.parse(id.toCidString())).isEqualTo(id);
    }

    @FuzzTest
    void parse(byte[] data) {
        String text = new String(data, java.nio.charset.StandardCharsets.UTF_8);
        PeerId id;
        try {
            id = PeerId.parse(text);
        } catch (InvalidPeerIdException expected) {
            return;
        }
        assertThat(PeerId.fromBytes(id.toBytes())).isEqualTo(id);
    }

    @FuzzTest
    void publicKeyFromProto(byte[] data) {
        try {
            PublicKey k = PublicKey.fromProto(data);
            assertThat(PublicKey.fromProto(k.toProto())).isEqualTo(k);
        } catch (InvalidPeerIdException expected) {
            // rejected with a clear message
        }
    }
}
