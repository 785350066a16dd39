package io.peersocket.transport.upgrade;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.ManualEventLoop;
import java.util.Arrays;
import java.util.concurrent.ExecutionException;

/**
 * Jazzer targets for Noise input: the handshake payload decoder, and a responder upgrade fed a valid
 * multistream {@code /noise} proposal followed by arbitrary bytes (framing, message 1, message 3). Nothing may
 * escape; the upgrade either waits for more input or fails with {@link TransportException} and resets the pipe;
 * it never succeeds (arbitrary bytes cannot authenticate). Seeds in {@code NoiseFuzzTestInputs/<method>/}.
 */
class NoiseFuzzTest {
    private static final HostKey LOCAL = HostKey.generate();
    private static final byte[] STATIC = new byte[32];
    private static final Multiaddr ADDR = Multiaddr.parse("/ip4/127.0.0.1/tcp/1");

    @FuzzTest
    void payload(byte[] data) {
        try {
            assertThat(NoisePayload.verify(data, STATIC, null).peerId()).isNotNull(); // only a real signature gets here
        } catch (TransportException expected) {
            assertThat(expected.kind()).isIn(TransportException.Kind.REFUSED, TransportException.Kind.BAD_CERTIFICATE);
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    /** Byte 0: chunk size ({@code (b & 0x3F) + 1}); the rest follows the multistream proposal of /noise. */
    @FuzzTest
    void responder(byte[] input) throws Exception {
        if (input.length == 0) return;
        int chunk = (input[0] & 0x3F) + 1;
        ManualEventLoop loop = new ManualEventLoop(0);
        RecordingStream pipe = new RecordingStream();
        TransportHandler handler = new TransportHandler() {
            @Override public void onConnection(Connection connection) { throw new AssertionError("connected"); }

            @Override public StreamHandler onStream(Stream stream) { return StreamHandler.REJECT; }

            @Override public void onConnectionClosed(Connection connection, String reason) {}
        };
        Upgrader.Upgrade up = new NoiseYamuxUpgrader(LOCAL, loop).start(pipe, Upgrader.Role.RESPONDER, null, ADDR, ADDR, false, handler);
        byte[] hello = NoiseHandshake.concat(Multistream.encode(Multistream.HEADER), Multistream.encode(NoiseYamuxUpgrader.NOISE));
        byte[] all = NoiseHandshake.concat(hello, Arrays.copyOfRange(input, 1, input.length));
        for (int off = 0; off < all.length; off += chunk) {
            byte[] part = Arrays.copyOfRange(all, off, Math.min(all.length, off + chunk));
            loop.execute(() -> up.input().onData(pipe, part));
            loop.runPending();
        }
        if (up.connection().isDone()) {
            try {
                up.connection().get();
                throw new AssertionError("arbitrary bytes completed the handshake");
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(TransportException.class);
                assertThat(pipe.resets).isEqualTo(1);
            }
        } else {
            assertThat(pipe.resets).isZero();
        }
        assertThat(pipe.writeAfterEnd).isFalse();
    }
}
