package io.peersocket.transport.upgrade;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.ManualEventLoop;
import java.util.Arrays;

/**
 * Jazzer targets for Yamux input: the frame decoder alone, and a whole {@link YamuxConnection} fed arbitrary
 * bytes from the remote. Input layout: byte 0 sets the chunk size ({@code (b & 0x3F) + 1}); the rest is what
 * the remote sends. Seeds in {@code YamuxFuzzTestInputs/<method>/} run under plain JUnit.
 */
class YamuxFuzzTest {
    private static final HostKey REMOTE = HostKey.generate();
    private static final Multiaddr ADDR = Multiaddr.parse("/ip4/127.0.0.1/tcp/1");

    /** Frames decode consistently or the decoder throws {@link YamuxException}; nothing else escapes. */
    @FuzzTest
    void decoder(byte[] input) {
        if (input.length == 0) return;
        int chunk = (input[0] & 0x3F) + 1;
        YamuxDecoder d = new YamuxDecoder(UpgraderConfig.INITIAL_WINDOW);
        try {
            for (int off = 1; off < input.length; off += chunk) {
                d.feed(Arrays.copyOfRange(input, off, Math.min(input.length, off + chunk)), f -> {
                    assertThat(f.type()).isBetween(0, 3);
                    if (f.type() == YamuxDecoder.TYPE_DATA) {
                        assertThat((long) f.payload().length).isEqualTo(f.length());
                        assertThat(f.length()).isLessThanOrEqualTo(UpgraderConfig.INITIAL_WINDOW);
                    } else {
                        assertThat(f.payload()).isEmpty();
                    }
                });
            }
        } catch (YamuxException expected) {
            assertThat(expected.getMessage()).isNotBlank();
        }
    }

    /**
     * A session fed arbitrary bytes: no exception escapes, streams stay within the limit, and a session that
     * closes itself does so once, last sending GoAway.
     */
    @FuzzTest
    void session(byte[] input) {
        if (input.length == 0) return;
        int chunk = (input[0] & 0x3F) + 1;
        ManualEventLoop loop = new ManualEventLoop(0);
        RecordingStream pipe = new RecordingStream();
        int[] closedCalls = {0};
        String[] reason = {null};
        TransportHandler handler = new TransportHandler() {
            @Override public void onConnection(Connection connection) {}

            @Override public StreamHandler onStream(Stream stream) {
                return (s, data) -> s.write(data); // echo
            }

            @Override public void onConnectionClosed(Connection connection, String why) {
                closedCalls[0]++;
                reason[0] = why;
            }
        };
        UpgraderConfig config = UpgraderConfig.defaults().withMaxStreams(4);
        YamuxConnection conn = new YamuxConnection(pipe, true, REMOTE.publicKey(), ADDR, ADDR, false, handler, loop, config);
        StreamHandler in = conn.input();
        for (int off = 1; off < input.length; off += chunk) {
            byte[] part = Arrays.copyOfRange(input, off, Math.min(input.length, off + chunk));
            loop.execute(() -> in.onData(pipe, part));
            loop.runPending();
            assertThat(conn.streamCount()).isLessThanOrEqualTo(2 * config.maxStreams());
        }
        assertThat(closedCalls[0]).isLessThanOrEqualTo(1);
        if (!conn.isOpen()) {
            assertThat(closedCalls[0]).isEqualTo(1);
            assertThat(pipe.closes + pipe.resets).isPositive();
            if (pipe.closes > 0 && !reason[0].startsWith("remote sent GoAway")) {
                byte[] last = pipe.last();
                assertThat(last).hasSize(YamuxDecoder.HEADER);
                assertThat(last[1]).isEqualTo((byte) YamuxDecoder.TYPE_GO_AWAY);
            }
        }
        assertThat(pipe.writeAfterEnd).isFalse();
    }
}
