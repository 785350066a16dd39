package io.peersocket.content;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

class BmtProofTest {
    @Test
    void everySegmentOfARealChunkProvesAgainstItsAddress() {
        Chunk full = Chunk.of(RealData.bytes(4096));
        for (int s = 0; s < Chunk.SEGMENTS; s++) {
            BmtProof p = BmtProof.of(full, s);
            assertThat(p.verify(full.address())).as("segment %d", s).isTrue();
            assertThat(p.data()).isEqualTo(Arrays.copyOfRange(full.payload(), s * 32, s * 32 + 32));
        }
    }

    @Test
    void shortChunkProvesItsZeroPadding() {
        Chunk c = Chunk.of(RealData.bytes(100));
        assertThat(BmtProof.of(c, 3).verify(c.address())).isTrue(); // bytes 96..99 then zeros
        BmtProof pad = BmtProof.of(c, 100);
        assertThat(pad.data()).isEqualTo(new byte[32]);
        assertThat(pad.verify(c.address())).isTrue();
    }

    @Test
    void tamperedProofsFail() {
        Chunk c = Chunk.of(RealData.bytes(4096));
        BmtProof p = BmtProof.of(c, 42);
        byte[] data = p.data();
        data[0] ^= 1;
        assertThat(new BmtProof(42, data, p.siblings(), p.span()).verify(c.address())).isFalse();
        assertThat(new BmtProof(43, p.data(), p.siblings(), p.span()).verify(c.address())).isFalse();
        assertThat(new BmtProof(42, p.data(), p.siblings(), p.span() + 1).verify(c.address())).isFalse();
        byte[][] sib = p.siblings();
        sib[6][31] ^= 1;
        assertThat(new BmtProof(42, p.data(), sib, p.span()).verify(c.address())).isFalse();
        assertThat(p.verify(Chunk.of(RealData.bytes(10)).address())).isFalse();
        assertThatThrownBy(() -> BmtProof.of(c, 128)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BmtProof(0, new byte[31], p.siblings(), 1)).hasMessageContaining("32 bytes");
    }
}
