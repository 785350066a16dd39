package io.peersocket.content;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

/**
 * Chunk address vectors (docs/wire.md "Chunks"; computed independently with Python's hashlib from the spec
 * text) and decode rules.
 */
class ChunkTest {
    private static final HexFormat HEX = HexFormat.of();

    @Test
    void addressVectors() {
        assertThat(Chunk.of(new byte[0]).address().toHex())
                .isEqualTo("9c5cbe312fbd915bae15c6588ee82019685c613d5afae4dfe5eb59e743ea287b");
        assertThat(Chunk.of("hello world".getBytes(StandardCharsets.US_ASCII)).address().toHex())
                .isEqualTo("35601fc267d16fff6bcd6f40917468dc7ee54f2d76f473329464718ec8862618");
        byte[] full = new byte[4096];
        for (int i = 0; i < full.length; i++) {
            full[i] = (byte) i;
        }
        assertThat(Chunk.of(full).address().toHex())
                .isEqualTo("f96ec67ec98a2192a58f08623493178f5886d6490c3b1f03d5118ddf672c15e0");
        byte[] a33 = new byte[33];
        Arrays.fill(a33, (byte) 'a');
        assertThat(Chunk.of(a33).address().toHex())
                .isEqualTo("a0de0b01bcdd797903b5071bfaebca234911816d0859756ee82fe577554c51c9");
        byte[] two = new byte[64];
        for (int i = 0; i < two.length; i++) {
            two[i] = (byte) i;
        }
        assertThat(Chunk.of(8192, two).address().toHex())
                .isEqualTo("0b44c579aa31c03b75c0459d63b4724c53013816abbbaaa1c151250df36dae08");
        assertThat(HEX.formatHex(Chunk.bmtRoot(new byte[0])))
                .isEqualTo("87eb0ddba57e35f6d286673802a4af5975e22506c7cf4c64bb6be5ee11527f2c");
    }

    @Test
    void bmtMatchesNaiveFullTreeForEveryLength() throws Exception {
        byte[] real = RealData.bytes(4096);
        for (int len = 0; len <= 4096; len++) {
            byte[] p = Arrays.copyOf(real, len);
            assertThat(Chunk.bmtRoot(p)).as("length %d", len).isEqualTo(naiveRoot(p));
        }
    }

    @Test
    void decodeRoundTripAndVerify() {
        byte[] payload = RealData.bytes(3000);
        Chunk c = Chunk.of(payload);
        assertThat(c.span()).isEqualTo(3000);
        assertThat(c.payloadLength()).isEqualTo(3000);
        assertThat(c.payload()).isEqualTo(payload);
        assertThat(c.size()).isEqualTo(3008);
        assertThat(c.verify()).isTrue();
        Chunk d = Chunk.decode(c.address(), c.data());
        assertThat(d).isEqualTo(c);
        assertThat(d.payload()).isEqualTo(payload);
        assertThat(Chunk.decode(c.data()).address()).isEqualTo(c.address());
        assertThat(Chunk.addressOf(c.data())).isEqualTo(c.address());
        // The payload is copied: changing the caller's array does not change the chunk.
        payload[0] ^= 1;
        assertThat(c.verify()).isTrue();
    }

    @Test
    void spanIsPartOfTheAddress() {
        byte[] p = RealData.bytes(100);
        assertThat(Chunk.of(100, p).address()).isNotEqualTo(Chunk.of(200, p).address());
        // Trailing zeros leave the BMT root alone; the span tells them apart.
        byte[] padded = Arrays.copyOf(p, 101);
        assertThat(Chunk.bmtRoot(padded)).isEqualTo(Chunk.bmtRoot(p));
        assertThat(Chunk.of(padded).address()).isNotEqualTo(Chunk.of(p).address());
    }

    @Test
    void wrongContentIsRejectedNamingBothAddresses() {
        Chunk c = Chunk.of(RealData.bytes(4096));
        byte[] data = c.data();
        data[100] ^= 0x01;
        assertThatThrownBy(() -> Chunk.decode(c.address(), data))
                .isInstanceOf(InvalidChunkException.class)
                .hasMessageContaining("does not match its address")
                .hasMessageContaining(c.address().toHex());
    }

    @Test
    void malformedDataIsRejected() {
        assertThatThrownBy(() -> Chunk.decode(new byte[7]))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("shorter than its 8-byte span");
        assertThatThrownBy(() -> Chunk.decode(new byte[Chunk.MAX_DATA + 1]))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("more than 4104");
        byte[] small = new byte[8 + 10];
        small[0] = 5; // span 5 < payload 10
        assertThatThrownBy(() -> Chunk.decode(small))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("smaller than its payload length 10");
        byte[] huge = new byte[8];
        huge[7] = (byte) 0x80; // span >= 2^63
        assertThatThrownBy(() -> Chunk.decode(huge))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("out of range");
        assertThatThrownBy(() -> Chunk.of(new byte[4097]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("more than 4096");
    }

    @Test
    void addressTextAndProximity() {
        ChunkAddress a = Chunk.of(RealData.bytes(50)).address();
        assertThat(ChunkAddress.parse(a.toHex().toUpperCase())).isEqualTo(a);
        assertThat(ChunkAddress.parse(" " + a + "\n")).isEqualTo(a);
        assertThatThrownBy(() -> ChunkAddress.parse("abc")).hasMessageContaining("64 hex digits");
        assertThatThrownBy(() -> ChunkAddress.parse("zz".repeat(32))).hasMessageContaining("not hex");
        byte[] overlay = a.toBytes();
        assertThat(a.proximityOrder(overlay)).isEqualTo(ChunkAddress.MAX_PO);
        overlay[0] ^= (byte) 0x80;
        assertThat(a.proximityOrder(overlay)).isZero();
        overlay = a.toBytes();
        overlay[2] ^= 0x01; // differs in bit 23
        assertThat(a.proximityOrder(overlay)).isEqualTo(23);
        assertThatThrownBy(() -> a.proximityOrder(new byte[31])).isInstanceOf(IllegalArgumentException.class);
    }

    /** The spec as written: pad to 4,096 bytes, hash 128 segments pairwise up to the root. */
    private static byte[] naiveRoot(byte[] payload) throws Exception {
        byte[][] level = new byte[128][];
        byte[] padded = Arrays.copyOf(payload, 4096);
        for (int i = 0; i < 128; i++) {
            level[i] = Arrays.copyOfRange(padded, i * 32, i * 32 + 32);
        }
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        while (level.length > 1) {
            byte[][] up = new byte[level.length / 2][];
            for (int i = 0; i < up.length; i++) {
                md.update(level[2 * i]);
                md.update(level[2 * i + 1]);
                up[i] = md.digest();
            }
            level = up;
        }
        return level[0];
    }
}
