package io.peersocket.content;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;

/**
 * Jazzer target for {@link Chunk#decode}: any input either decodes or fails with {@link InvalidChunkException}
 * (nothing else may escape); a decoded chunk re-encodes to exactly the input, verifies, and decodes again
 * against its own address but not against another. Regression mode runs the seeds in
 * {@code ChunkFuzzTestInputs/decode} under plain JUnit.
 */
class ChunkFuzzTest {

    @FuzzTest
    void decode(byte[] data) {
        Chunk c;
        try {
            c = Chunk.decode(data);
        } catch (InvalidChunkException expected) {
            assertThat(expected.getMessage()).isNotBlank();
            return;
        }
        assertThat(c.data()).isEqualTo(data);
        assertThat(c.verify()).isTrue();
        assertThat(c.span()).isGreaterThanOrEqualTo(c.payloadLength());
        assertThat(Chunk.decode(c.address(), data)).isEqualTo(c);
        byte[] other = c.address().toBytes();
        other[0] ^= 1;
        try {
            Chunk.decode(ChunkAddress.of(other), data);
            throw new AssertionError("decoded against the wrong address");
        } catch (InvalidChunkException expected) {
            assertThat(expected.getMessage()).contains("does not match");
        }
    }
}
