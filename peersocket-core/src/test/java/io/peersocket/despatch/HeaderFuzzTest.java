package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for {@link Header#decode}: any input either decodes or fails with
 * {@link MalformedFrameException} (nothing else may escape), and a decoded frame re-encodes to exactly the same
 * bytes (the encoding is canonical: minimal varints, no optional field without its flag). Regression mode runs
 * the seeds in {@code HeaderFuzzTestInputs/decode} under plain JUnit.
 */
class HeaderFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        Header.Frame f;
        try {
            f = Header.decode(data);
        } catch (MalformedFrameException expected) {
            assertThat(expected.getMessage()).isNotBlank();
            return;
        }
        byte[] again = f.header().encode(f.payload());
        assertThat(again).isEqualTo(data);
        Header.Frame g = Header.decode(again);
        assertThat(g.header()).isEqualTo(f.header());
        assertThat(g.payload()).isEqualTo(f.payload());
    }
}
