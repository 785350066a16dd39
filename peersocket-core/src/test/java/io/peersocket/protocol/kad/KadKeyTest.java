package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import java.math.BigInteger;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KadKeyTest {
    private final Random rnd = new Random(1);

    @Test
    void keysAreSha256OfTheBytes() throws Exception {
        assertThat(KadKey.ofKey(new byte[0]).toString())
                .isEqualTo("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        PeerId p = HostKey.generate().peerId();
        byte[] expected = MessageDigest.getInstance("SHA-256").digest(p.toBytes());
        assertThat(KadKey.of(p).toBytes()).isEqualTo(expected);
        assertThat(KadKey.of(p)).isEqualTo(KadKey.ofKey(p.toBytes()));
        assertThatThrownBy(() -> KadKey.fromBytes(new byte[31])).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("32 bytes");
    }

    @Test
    void proximityOrderCountsLeadingEqualBits() {
        byte[] a = new byte[32];
        byte[] b = new byte[32];
        assertThat(KadKey.fromBytes(a).proximity(KadKey.fromBytes(b))).isEqualTo(256);
        b[0] = (byte) 0x80;
        assertThat(KadKey.fromBytes(a).proximity(KadKey.fromBytes(b))).isEqualTo(0);
        b[0] = 0x01;
        assertThat(KadKey.fromBytes(a).proximity(KadKey.fromBytes(b))).isEqualTo(7);
        b[0] = 0;
        b[31] = 0x01;
        assertThat(KadKey.fromBytes(a).proximity(KadKey.fromBytes(b))).isEqualTo(255);
        for (int i = 0; i < 1000; i++) {
            KadKey x = random(), y = random();
            int expected = 0;
            while (expected < 256 && x.bit(expected) == y.bit(expected)) expected++;
            assertThat(x.proximity(y)).isEqualTo(expected).isEqualTo(y.proximity(x));
        }
    }

    @Test
    void xorDistanceOrdersByMagnitude() {
        for (int i = 0; i < 1000; i++) {
            KadKey t = random(), a = random(), b = random();
            BigInteger da = new BigInteger(1, t.distance(a).toBytes());
            BigInteger db = new BigInteger(1, t.distance(b).toBytes());
            assertThat(Integer.signum(t.compareDistance(a, b))).isEqualTo(da.compareTo(db));
            assertThat(Integer.signum(t.distance(a).compareTo(t.distance(b)))).isEqualTo(da.compareTo(db));
            assertThat(t.distance(a)).isEqualTo(a.distance(t));
            // a larger PO means a smaller distance
            if (t.proximity(a) > t.proximity(b)) assertThat(t.compareDistance(a, b)).isNegative();
        }
        KadKey t = random();
        assertThat(t.distance(t).toBytes()).isEqualTo(new byte[32]);
    }

    @Test
    void randomPreimageLandsInTheRequestedBin() {
        KadKey base = random();
        for (int po = 0; po <= 10; po++) {
            byte[] pre = KadKey.randomPreimageInBin(base, po, rnd, 1 << 20);
            assertThat(pre).hasSize(34);
            assertThat(base.proximity(KadKey.ofKey(pre))).isEqualTo(po);
            assertThat(PeerId.fromBytes(pre)).isNotNull(); // shaped as a sha256 peer id
        }
        assertThat(KadKey.randomPreimageInBin(base, 200, rnd, 10)).isNull();
        assertThatThrownBy(() -> KadKey.randomPreimageInBin(base, 256, rnd, 10)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void textForms() {
        KadKey k = KadKey.fromBytes(HexFormat.of().parseHex("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"));
        assertThat(k.shortString()).isEqualTo("01234567");
        assertThat(k.bit(7)).isEqualTo(1);
        assertThat(k.bit(6)).isEqualTo(0);
    }

    private KadKey random() {
        byte[] b = new byte[32];
        rnd.nextBytes(b);
        return KadKey.fromBytes(b);
    }
}
