package io.peersocket.transport.upgrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import java.io.ByteArrayOutputStream;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.junit.jupiter.api.Test;

/** The Noise XX state machine, the cipher state's nonce rules and transport-message splitting. */
class NoiseHandshakeTest {
    final SecureRandom rnd = new SecureRandom();

    NoiseHandshake[] handshake() {
        NoiseHandshake i = new NoiseHandshake(true, new X25519PrivateKeyParameters(rnd), rnd);
        NoiseHandshake r = new NoiseHandshake(false, new X25519PrivateKeyParameters(rnd), rnd);
        assertThat(r.read(i.write(new byte[0]))).isEmpty();
        assertThat(i.read(r.write("from responder".getBytes()))).isEqualTo("from responder".getBytes());
        assertThat(r.read(i.write("from initiator".getBytes()))).isEqualTo("from initiator".getBytes());
        assertThat(i.isComplete()).isTrue();
        assertThat(r.isComplete()).isTrue();
        assertThat(i.remoteStatic()).isEqualTo(r.localStatic());
        assertThat(r.remoteStatic()).isEqualTo(i.localStatic());
        return new NoiseHandshake[] {i, r};
    }

    @Test
    void xxHandshakeAgreesOnKeysInBothDirections() {
        NoiseHandshake[] hs = handshake();
        CipherState[] i = hs[0].split(), r = hs[1].split();
        byte[] ct = i[0].encrypt(new byte[0], "a".getBytes(), 0, 1);
        assertThat(r[1].decrypt(new byte[0], ct, 0, ct.length)).isEqualTo("a".getBytes());
        byte[] back = r[0].encrypt(new byte[0], "b".getBytes(), 0, 1);
        assertThat(i[1].decrypt(new byte[0], back, 0, back.length)).isEqualTo("b".getBytes());
        // a replayed message fails: the nonce moved on
        assertThatThrownBy(() -> r[1].decrypt(new byte[0], ct, 0, ct.length)).isInstanceOf(TransportException.class);
    }

    @Test
    void messagesOutOfTurnAreRejected() {
        NoiseHandshake i = new NoiseHandshake(true, new X25519PrivateKeyParameters(rnd), rnd);
        assertThatThrownBy(() -> i.read(new byte[32])).isInstanceOf(IllegalStateException.class);
        NoiseHandshake r = new NoiseHandshake(false, new X25519PrivateKeyParameters(rnd), rnd);
        assertThatThrownBy(() -> r.write(new byte[0])).isInstanceOf(IllegalStateException.class);
        assertThatThrownBy(() -> r.read(new byte[31])).isInstanceOf(TransportException.class).hasMessageContaining("message 1");
    }

    @Test
    void theReservedNonceIsNeverUsed() {
        CipherState c = new CipherState();
        c.initializeKey(new byte[32]);
        c.setNonce(-2L); // 2^64 - 2: the last usable nonce
        c.encrypt(new byte[0], new byte[1], 0, 1);
        assertThat(c.nonce()).isEqualTo(-1L);
        assertThatThrownBy(() -> c.encrypt(new byte[0], new byte[1], 0, 1))
                .isInstanceOf(TransportException.class).hasMessageContaining("nonce exhausted");
    }

    /** A stream recording what the secure channel writes. */
    static final class Sink implements Stream {
        final List<byte[]> writes = new ArrayList<>();

        @Override public long id() { return 0; }
        @Override public Connection connection() { return null; }
        @Override public boolean isOutbound() { return true; }
        @Override public CompletableFuture<Void> write(byte[] data) {
            writes.add(data);
            return CompletableFuture.completedFuture(null);
        }
        @Override public boolean isWritable() { return true; }
        @Override public CompletableFuture<Void> closeWrite() { return CompletableFuture.completedFuture(null); }
        @Override public void reset() {}
        @Override public void close() {}
    }

    @Test
    void transportWritesSplitAtTheNoiseMessageLimit() {
        NoiseHandshake[] hs = handshake();
        CipherState[] i = hs[0].split(), r = hs[1].split();
        Sink raw = new Sink();
        SecureStream out = new SecureStream(raw, i[0], i[1]);
        byte[] data = new byte[200_000];
        new Random(1).nextBytes(data);
        out.write(data);

        ByteArrayOutputStream got = new ByteArrayOutputStream();
        SecureStream in = new SecureStream(new Sink(), r[0], r[1]);
        in.handler = (StreamHandler) (s, d) -> got.writeBytes(d);
        List<Integer> sizes = new ArrayList<>();
        NoiseFrameDecoder frames = new NoiseFrameDecoder();
        frames.feed(raw.writes.get(0), m -> {
            sizes.add(m.length);
            in.onMessage(m);
        });
        assertThat(sizes).hasSize(4).allSatisfy(n -> assertThat(n).isLessThanOrEqualTo(65535));
        assertThat(sizes.get(0)).isEqualTo(65535);
        assertThat(got.toByteArray()).isEqualTo(data);
    }
}
