package io.peersocket.transport.upgrade;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.quic.QuicTransport;
import io.peersocket.util.ThreadEventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The upgrader over a real QUIC stream on 127.0.0.1 (the shape of a relayed circuit: a raw byte stream inside
 * another connection): Noise + Yamux inside one QUIC stream, then echo, many streams and 2 MiB.
 */
class QuicUpgradeTest {
    static final Multiaddr ADDR = Multiaddr.parse("/ip4/127.0.0.1/tcp/1");
    final ThreadEventLoop loopA = new ThreadEventLoop("quic-upgrade-a");
    final ThreadEventLoop loopB = new ThreadEventLoop("quic-upgrade-b");
    final HostKey keyA = HostKey.generate();
    final HostKey keyB = HostKey.generate();
    final RecordingHandler upcallsA = new RecordingHandler(loopA);
    final RecordingHandler upcallsB = new RecordingHandler(loopB);
    final CompletableFuture<Connection> upgradedB = new CompletableFuture<>();
    QuicTransport quicA, quicB;

    /** B's QUIC handler: every inbound QUIC stream is a pipe to upgrade as responder. */
    final TransportHandler quicHandlerB = new TransportHandler() {
        @Override public void onConnection(Connection connection) {}

        @Override public StreamHandler onStream(Stream stream) {
            Upgrader.Upgrade up = new NoiseYamuxUpgrader(keyB, loopB).start(stream, Upgrader.Role.RESPONDER, null,
                    ADDR, ADDR, true, upcallsB);
            up.connection().whenComplete((c, e) -> {
                if (e != null) upgradedB.completeExceptionally(e);
                else upgradedB.complete(c);
            });
            return up.input();
        }

        @Override public void onConnectionClosed(Connection connection, String reason) {}
    };

    final TransportHandler quicHandlerA = new TransportHandler() {
        @Override public void onConnection(Connection connection) {}

        @Override public StreamHandler onStream(Stream stream) { return StreamHandler.REJECT; }

        @Override public void onConnectionClosed(Connection connection, String reason) {}
    };

    @AfterEach
    void tearDown() {
        if (quicA != null) quicA.close();
        if (quicB != null) quicB.close();
        loopA.close();
        loopB.close();
        assertThat(upcallsA.violations).isEmpty();
        assertThat(upcallsB.violations).isEmpty();
    }

    /** Forwards to a handler set once the upgrade has started (before the remote can send anything). */
    static final class Forwarder implements StreamHandler {
        volatile StreamHandler target;

        @Override public void onData(Stream s, byte[] d) { target.onData(s, d); }

        @Override public void onRemoteWriteClosed(Stream s) { target.onRemoteWriteClosed(s); }

        @Override public void onClosed(Stream s, Throwable c) { if (target != null) target.onClosed(s, c); }
    }

    Connection upgradeOverQuic() throws Exception {
        quicB = new QuicTransport(TransportConfig.defaults(keyB, loopB), quicHandlerB);
        quicA = new QuicTransport(TransportConfig.defaults(keyA, loopA), quicHandlerA);
        Multiaddr b = quicB.listen(List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1"))).get(5, TimeUnit.SECONDS).get(0);
        Connection quic = quicA.dial(b.withPeerId(keyB.peerId()), null).get(10, TimeUnit.SECONDS);
        Forwarder fwd = new Forwarder();
        CompletableFuture<Connection> upgraded = quic.openStream(fwd).thenCompose(stream -> {
            Upgrader.Upgrade up = new NoiseYamuxUpgrader(keyA, loopA).start(stream, Upgrader.Role.INITIATOR,
                    keyB.peerId(), ADDR, ADDR, true, upcallsA);
            fwd.target = up.input();
            return up.connection();
        });
        return upgraded.get(10, TimeUnit.SECONDS);
    }

    @Test
    void echoManyStreamsAndTwoMegabytesInsideOneQuicStream() throws Exception {
        Connection a = upgradeOverQuic();
        Connection b = upgradedB.get(10, TimeUnit.SECONDS);
        assertThat(a.remotePeer()).isEqualTo(keyB.peerId());
        assertThat(b.remotePeer()).isEqualTo(keyA.peerId());
        assertThat(a.isLimited()).isTrue();

        assertThat(NoiseYamuxUpgraderTest.echo(a, "ping?".getBytes())).isEqualTo("ping?".getBytes());

        List<CompletableFuture<byte[]>> fins = new ArrayList<>();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 64; i++) {
            RecordingHandler.Collector col = new RecordingHandler.Collector();
            byte[] data = new byte[3000 + i];
            new Random(i).nextBytes(data);
            sent.add(data);
            a.openStream(col).thenAccept(s -> {
                s.write(data);
                s.closeWrite();
            });
            fins.add(col.fin);
        }
        for (int i = 0; i < fins.size(); i++) assertThat(fins.get(i).get(10, TimeUnit.SECONDS)).isEqualTo(sent.get(i));

        byte[] big = new byte[2 << 20];
        new Random(99).nextBytes(big);
        assertThat(NoiseYamuxUpgraderTest.echo(a, big)).isEqualTo(big);
        assertThat(a.isOpen()).isTrue();
        assertThat(b.isOpen()).isTrue();
    }
}
