package io.peersocket.transport.upgrade;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.fail;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.ThreadEventLoop;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link NoiseYamuxUpgrader} Java↔Java over an in-memory pipe pair (each side on its own event loop). */
class NoiseYamuxUpgraderTest {
    static final Multiaddr ADDR = Multiaddr.parse("/ip4/127.0.0.1/tcp/1");

    final ThreadEventLoop loopA = new ThreadEventLoop("upgrade-a");
    final ThreadEventLoop loopB = new ThreadEventLoop("upgrade-b");
    final HostKey keyA = HostKey.generate();
    final HostKey keyB = HostKey.generate();
    final RecordingHandler handlerA = new RecordingHandler(loopA);
    final RecordingHandler handlerB = new RecordingHandler(loopB);

    @AfterEach
    void tearDown() {
        loopA.close();
        loopB.close();
        assertThat(handlerA.violations).isEmpty();
        assertThat(handlerB.violations).isEmpty();
    }

    static <T> T get(CompletableFuture<T> f) throws Exception { return f.get(10, TimeUnit.SECONDS); }

    static TransportException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(TransportException.class);
            return (TransportException) e.getCause();
        }
        return fail("expected a failure");
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Upgraded connections: [0] A (initiator), [1] B (responder). */
    record Pair(Connection a, Connection b, TestPipe pipeA, TestPipe pipeB) {}

    Pair connect(UpgraderConfig config, boolean limited) throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA, config).start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, limited, handlerA);
        p[0].setHandler(upA.input());
        var upB = new NoiseYamuxUpgrader(keyB, loopB, config).start(p[1], Upgrader.Role.RESPONDER, null, ADDR, ADDR, limited, handlerB);
        p[1].setHandler(upB.input());
        return new Pair(get(upA.connection()), get(upB.connection()), p[0], p[1]);
    }

    Pair connect() throws Exception { return connect(UpgraderConfig.defaults(), false); }

    static byte[] echo(Connection c, byte[] data) throws Exception {
        RecordingHandler.Collector col = new RecordingHandler.Collector();
        Stream s = get(c.openStream(col));
        s.write(data);
        s.closeWrite();
        return get(col.fin);
    }

    @Test
    void handshakeAuthenticatesBothSidesAndStreamsEcho() throws Exception {
        Pair p = connect(UpgraderConfig.defaults(), true);
        assertThat(p.a().remotePeer()).isEqualTo(keyB.peerId());
        assertThat(p.a().remotePublicKey()).isEqualTo(keyB.publicKey());
        assertThat(p.b().remotePeer()).isEqualTo(keyA.peerId());
        assertThat(p.a().direction()).isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(p.b().direction()).isEqualTo(Connection.Direction.INBOUND);
        assertThat(p.a().isLimited()).isTrue();
        assertThat(p.a().sendDatagram(new byte[1])).isFalse();
        assertThat(p.a().maxDatagramSize()).isZero();
        assertThat(handlerA.connections.poll(1, TimeUnit.SECONDS)).isSameAs(p.a());
        assertThat(handlerB.connections.poll(1, TimeUnit.SECONDS)).isSameAs(p.b());

        assertThat(echo(p.a(), "hello".getBytes())).isEqualTo("hello".getBytes());
        Stream inB = handlerB.inboundStreams.poll(5, TimeUnit.SECONDS);
        assertThat(inB.id() % 2).as("initiator streams are odd").isEqualTo(1);
        assertThat(echo(p.b(), "back".getBytes())).isEqualTo("back".getBytes());
        Stream inA = handlerA.inboundStreams.poll(5, TimeUnit.SECONDS);
        assertThat(inA.id() % 2).as("responder streams are even").isZero();
        assertThat(get(((YamuxConnection) p.a()).ping())).isPositive();
    }

    @Test
    void manyConcurrentStreams() throws Exception {
        Pair p = connect();
        List<CompletableFuture<byte[]>> fins = new ArrayList<>();
        List<byte[]> sent = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            RecordingHandler.Collector col = new RecordingHandler.Collector();
            byte[] data = random(5000 + i, i);
            sent.add(data);
            p.a().openStream(col).thenAccept(s -> {
                s.write(data);
                s.closeWrite();
            });
            fins.add(col.fin);
        }
        for (int i = 0; i < fins.size(); i++) assertThat(get(fins.get(i))).isEqualTo(sent.get(i));
    }

    @Test
    void twoMegabytesFlowWithinWindows() throws Exception {
        Pair p = connect();
        RecordingHandler.Collector sink = new RecordingHandler.Collector();
        handlerB.streamHandlers = s -> sink;
        byte[] data = random(2 << 20, 7);
        CompletableFuture<Stream> open = p.a().openStream(new RecordingHandler.Collector());
        Stream s = get(open);
        CompletableFuture<Void> written = s.write(data);
        assertThat(CompletableFuture.supplyAsync(s::isWritable, loopA).get(5, TimeUnit.SECONDS))
                .as("2 MiB queued is over the high-water mark").isFalse();
        s.closeWrite();
        assertThat(get(sink.fin)).isEqualTo(data);
        get(written);
        // a receiver over its window would have closed the connection with a protocol error
        assertThat(p.a().isOpen()).isTrue();
        assertThat(p.b().isOpen()).isTrue();
    }

    @Test
    void wrongPeerIdFails() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA).start(p[0], Upgrader.Role.INITIATOR, HostKey.generate().peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        var upB = new NoiseYamuxUpgrader(keyB, loopB).start(p[1], Upgrader.Role.RESPONDER, null, ADDR, ADDR, false, handlerB);
        p[1].setHandler(upB.input());
        assertThat(failure(upA.connection()).kind()).isEqualTo(TransportException.Kind.PEER_ID_MISMATCH);
        assertThat(failure(upB.connection()).kind()).isEqualTo(TransportException.Kind.REFUSED);
        assertThat(p[0].resetCalled).isTrue();
        assertThat(handlerA.connections).isEmpty();
        assertThat(handlerB.connections).isEmpty();
    }

    @Test
    void responderExpectingAnotherPeerFails() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA).start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        var upB = new NoiseYamuxUpgrader(keyB, loopB).start(p[1], Upgrader.Role.RESPONDER, HostKey.generate().peerId(), ADDR, ADDR, false, handlerB);
        p[1].setHandler(upB.input());
        assertThat(failure(upB.connection()).kind()).isEqualTo(TransportException.Kind.PEER_ID_MISMATCH);
        failure(upA.connection()); // its pipe was reset
    }

    /** A hand-made responder whose identity signature covers another static key. */
    @Test
    void badSignatureFails() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA).start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        SecureRandom rnd = new SecureRandom();
        NoiseHandshake hs = new NoiseHandshake(false, new X25519PrivateKeyParameters(rnd), rnd);
        NoiseFrameDecoder frames = new NoiseFrameDecoder();
        byte[] otherStatic = new X25519PrivateKeyParameters(rnd).generatePublicKey().getEncoded();
        ProtocolHandler noise = (stream, id) -> (s, data) -> frames.feed(data, msg -> {
            hs.read(msg);
            s.write(NoiseFrameDecoder.frame(hs.write(NoisePayload.encode(keyB, otherStatic))));
        });
        loopB.execute(() -> p[1].setHandler(Multistream.listener(p[1], Map.of(NoiseYamuxUpgrader.NOISE, noise), r -> {})));
        assertThat(failure(upA.connection()).kind()).isEqualTo(TransportException.Kind.BAD_CERTIFICATE);
    }

    @Test
    void remoteWithoutNoiseIsRefused() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA).start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        ProtocolHandler tls = (stream, id) -> (s, d) -> {};
        loopB.execute(() -> p[1].setHandler(Multistream.listener(p[1], Map.of("/tls/1.0.0", tls), r -> {})));
        TransportException e = failure(upA.connection());
        assertThat(e.kind()).isEqualTo(TransportException.Kind.REFUSED);
        assertThat(e.getMessage()).contains("/noise");
    }

    @Test
    void pipeClosedDuringTheHandshakeFails() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA).start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        p[1].close();
        assertThat(failure(upA.connection()).getMessage()).contains("pipe closed");
    }

    @Test
    void streamCloseFinishesOnlyAfterBothFins() throws Exception {
        Pair p = connect();
        RecordingHandler.Collector remoteSide = new RecordingHandler.Collector();
        handlerB.streamHandlers = s -> remoteSide;
        RecordingHandler.Collector col = new RecordingHandler.Collector();
        Stream s = get(p.a().openStream(col));
        s.write("x".getBytes());
        s.close();
        assertThat(get(col.closed)).as("a local close reports a clean end").isNull();
        assertThat(get(remoteSide.fin)).isEqualTo("x".getBytes());
        Stream inB = handlerB.inboundStreams.poll(5, TimeUnit.SECONDS);
        YamuxConnection a = (YamuxConnection) p.a();
        assertThat(CompletableFuture.supplyAsync(a::streamCount, loopA).get(5, TimeUnit.SECONDS)).isEqualTo(1);
        inB.closeWrite();
        get(remoteSide.closed);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (CompletableFuture.supplyAsync(a::streamCount, loopA).get(5, TimeUnit.SECONDS) != 0) {
            assertThat(System.nanoTime()).as("stream forgotten after both FINs").isLessThan(deadline);
            CompletableFuture.runAsync(() -> {}, loopA).get(); // let the FIN through
        }
    }

    @Test
    void silentPeerTimesOut() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        var upA = new NoiseYamuxUpgrader(keyA, loopA, UpgraderConfig.defaults().withHandshakeTimeoutMs(300))
                .start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        TransportException e = failure(upA.connection());
        assertThat(e.kind()).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(p[0].resetCalled).isTrue();
    }

    @Test
    void tamperedHandshakeIsRefused() throws Exception {
        TestPipe[] p = TestPipe.pair(loopA, loopB);
        p[1].tap = b -> {
            if (b.length > 80) { // Noise message 2 (the multistream echo is short)
                b = b.clone();
                b[b.length - 1] ^= 1;
            }
            return b;
        };
        var upA = new NoiseYamuxUpgrader(keyA, loopA).start(p[0], Upgrader.Role.INITIATOR, keyB.peerId(), ADDR, ADDR, false, handlerA);
        p[0].setHandler(upA.input());
        var upB = new NoiseYamuxUpgrader(keyB, loopB).start(p[1], Upgrader.Role.RESPONDER, null, ADDR, ADDR, false, handlerB);
        p[1].setHandler(upB.input());
        TransportException e = failure(upA.connection());
        assertThat(e.kind()).isEqualTo(TransportException.Kind.REFUSED);
        assertThat(e.getMessage()).contains("authenticate");
    }

    @Test
    void garbageClosesThatConnectionOnly() throws Exception {
        Pair bad = connect();
        Pair good = connect();
        bad.pipeB().inject(NoiseFrameDecoder.frame(random(300, 3))); // a Noise message that does not authenticate
        assertThat(get(handlerB.closedFuture(bad.b()))).contains("noise");
        assertThat(bad.pipeB().resetCalled).isTrue();
        get(handlerA.closedFuture(bad.a()));
        assertThat(good.a().isOpen()).isTrue();
        assertThat(echo(good.a(), "still fine".getBytes())).isEqualTo("still fine".getBytes());
    }

    @Test
    void closeSendsGoAwayAndEndsBothSides() throws Exception {
        Pair p = connect();
        RecordingHandler.Collector col = new RecordingHandler.Collector();
        get(p.a().openStream(col));
        get(p.a().close());
        assertThat(p.a().isOpen()).isFalse();
        assertThat(get(col.closed)).isInstanceOf(TransportException.class);
        get(handlerB.closedFuture(p.b()));
        assertThat(failure(p.a().openStream(new RecordingHandler.Collector())).kind()).isEqualTo(TransportException.Kind.CLOSED);
    }
}
