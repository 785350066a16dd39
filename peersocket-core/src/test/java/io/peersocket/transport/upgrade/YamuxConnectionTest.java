package io.peersocket.transport.upgrade;

import static io.peersocket.transport.upgrade.YamuxDecoder.ACK;
import static io.peersocket.transport.upgrade.YamuxDecoder.FIN;
import static io.peersocket.transport.upgrade.YamuxDecoder.RST;
import static io.peersocket.transport.upgrade.YamuxDecoder.SYN;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_DATA;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_GO_AWAY;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_PING;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_WINDOW_UPDATE;
import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.ThreadEventLoop;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * {@link YamuxConnection} (as the initiator, odd ids) against a scripted remote that writes raw Yamux frames
 * and reads what the session sends: pings, stream open/accept, windows, limits and protocol errors.
 */
class YamuxConnectionTest {
    final ThreadEventLoop loop = new ThreadEventLoop("yamux-test");
    final ThreadEventLoop remoteLoop = new ThreadEventLoop("yamux-remote");
    final RecordingHandler handler = new RecordingHandler(loop);
    final BlockingQueue<YamuxDecoder.Frame> out = new LinkedBlockingQueue<>();
    TestPipe remote;
    YamuxConnection conn;

    void start(UpgraderConfig config) {
        TestPipe[] p = TestPipe.pair(loop, remoteLoop);
        remote = p[1];
        conn = new YamuxConnection(p[0], true, HostKey.generate().publicKey(), Multiaddr.parse("/ip4/127.0.0.1/tcp/1"),
                Multiaddr.parse("/ip4/127.0.0.1/tcp/2"), false, handler, loop, config);
        loop.execute(() -> handler.onConnection(conn));
        p[0].setHandler(conn.input());
        YamuxDecoder decoder = new YamuxDecoder(UpgraderConfig.INITIAL_WINDOW);
        remote.setHandler((s, data) -> decoder.feed(data, out::add));
    }

    void start() { start(UpgraderConfig.defaults()); }

    @AfterEach
    void tearDown() {
        loop.close();
        remoteLoop.close();
        assertThat(handler.violations).isEmpty();
    }

    void send(int type, int flags, int sid, long length) { remote.write(YamuxDecoder.header(type, flags, sid, length)); }

    void sendData(int flags, int sid, byte[] data) {
        remote.write(YamuxDecoder.encode(TYPE_DATA, flags, sid, data.length, data, 0, data.length));
    }

    YamuxDecoder.Frame next() throws InterruptedException {
        YamuxDecoder.Frame f = out.poll(5, TimeUnit.SECONDS);
        assertThat(f).as("a frame from the session").isNotNull();
        return f;
    }

    /** Skips window updates without flags (replenishments). */
    YamuxDecoder.Frame nextNonUpdate() throws InterruptedException {
        YamuxDecoder.Frame f;
        do f = next(); while (f.type() == TYPE_WINDOW_UPDATE && f.flags() == 0);
        return f;
    }

    void expectGoAway(int code) throws Exception {
        YamuxDecoder.Frame f = nextNonUpdate();
        assertThat(f.type()).isEqualTo(TYPE_GO_AWAY);
        assertThat(f.length()).isEqualTo(code);
        assertThat(handler.closedFuture(conn).get(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(conn.isOpen()).isFalse();
    }

    @Test
    void pingIsAnsweredWithTheSameOpaqueValue() throws Exception {
        start();
        send(TYPE_PING, SYN, 0, 0xCAFEBABEL);
        YamuxDecoder.Frame f = next();
        assertThat(f.type()).isEqualTo(TYPE_PING);
        assertThat(f.flags()).isEqualTo(ACK);
        assertThat(f.length()).isEqualTo(0xCAFEBABEL);
    }

    @Test
    void inboundStreamIsAckedAndItsDataDelivered() throws Exception {
        start();
        send(TYPE_WINDOW_UPDATE, SYN, 2, 0);
        YamuxDecoder.Frame ack = next();
        assertThat(ack.type()).isEqualTo(TYPE_WINDOW_UPDATE);
        assertThat(ack.flags()).isEqualTo(ACK);
        assertThat(ack.streamId()).isEqualTo(2);
        sendData(FIN, 2, "hi".getBytes());
        YamuxDecoder.Frame echo = next();
        assertThat(echo.type()).isEqualTo(TYPE_DATA);
        assertThat(new String(echo.payload())).isEqualTo("hi");
        YamuxDecoder.Frame fin = next();
        assertThat(fin.flags() & FIN).isEqualTo(FIN);
        assertThat(handler.inboundStreams.poll(1, TimeUnit.SECONDS).id()).isEqualTo(2);
    }

    @Test
    void dataBeyondTheReceiveWindowIsAProtocolError() throws Exception {
        start();
        handler.streamHandlers = s -> (st, d) -> {}; // consumes silently
        send(TYPE_WINDOW_UPDATE, SYN, 2, 0);
        assertThat(next().flags()).isEqualTo(ACK);
        sendData(0, 2, new byte[100 * 1024]);
        sendData(0, 2, new byte[200 * 1024]); // 100 KiB in, no update yet: 156 KiB left
        expectGoAway(YamuxConnection.GO_AWAY_PROTOCOL);
        assertThat(handler.closedFuture(conn).get()).contains("window");
    }

    @Test
    void oversizedDataFrameIsAProtocolError() throws Exception {
        start();
        send(TYPE_DATA, 0, 1, UpgraderConfig.INITIAL_WINDOW + 1L); // header only: rejected before buffering
        expectGoAway(YamuxConnection.GO_AWAY_PROTOCOL);
    }

    @Test
    void unknownFrameTypeIsAProtocolError() throws Exception {
        start();
        remote.write(new byte[] {0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
        expectGoAway(YamuxConnection.GO_AWAY_PROTOCOL);
        assertThat(handler.closedFuture(conn).get()).contains("unknown yamux frame type 9");
    }

    @Test
    void badVersionIsAProtocolError() throws Exception {
        start();
        remote.write(new byte[] {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0});
        expectGoAway(YamuxConnection.GO_AWAY_PROTOCOL);
    }

    @Test
    void synWithOurParityIsAProtocolError() throws Exception {
        start();
        send(TYPE_WINDOW_UPDATE, SYN, 3, 0);
        expectGoAway(YamuxConnection.GO_AWAY_PROTOCOL);
    }

    @Test
    void inboundStreamsOverTheLimitAreReset() throws Exception {
        start(UpgraderConfig.defaults().withMaxStreams(2));
        handler.streamHandlers = s -> (st, d) -> {};
        send(TYPE_WINDOW_UPDATE, SYN, 2, 0);
        send(TYPE_WINDOW_UPDATE, SYN, 4, 0);
        send(TYPE_WINDOW_UPDATE, SYN, 6, 0);
        assertThat(next().flags()).isEqualTo(ACK);
        assertThat(next().flags()).isEqualTo(ACK);
        YamuxDecoder.Frame rst = next();
        assertThat(rst.streamId()).isEqualTo(6);
        assertThat(rst.flags()).isEqualTo(RST);
        assertThat(conn.isOpen()).isTrue();
        // a closed slot is reusable
        send(TYPE_WINDOW_UPDATE, RST, 2, 0);
        send(TYPE_WINDOW_UPDATE, SYN, 8, 0);
        YamuxDecoder.Frame ack = next();
        assertThat(ack.streamId()).isEqualTo(8);
        assertThat(ack.flags()).isEqualTo(ACK);
    }

    @Test
    void outboundStreamsOverTheLimitFail() throws Exception {
        start(UpgraderConfig.defaults().withMaxStreams(1));
        conn.openStream(new RecordingHandler.Collector()).get(5, TimeUnit.SECONDS);
        try {
            conn.openStream(new RecordingHandler.Collector()).get(5, TimeUnit.SECONDS);
            throw new AssertionError("second stream opened");
        } catch (ExecutionException e) {
            assertThat(((TransportException) e.getCause()).kind()).isEqualTo(TransportException.Kind.LIMIT);
        }
    }

    @Test
    void sendingNeverExceedsThePeersWindow() throws Exception {
        start();
        Stream s = conn.openStream(new RecordingHandler.Collector()).get(5, TimeUnit.SECONDS);
        YamuxDecoder.Frame syn = next();
        assertThat(syn.flags()).isEqualTo(SYN);
        assertThat(syn.streamId()).isEqualTo(1);
        CompletableFuture<Void> written = s.write(new byte[300 * 1024]);
        long got = 0;
        while (got < UpgraderConfig.INITIAL_WINDOW) {
            YamuxDecoder.Frame f = next();
            assertThat(f.type()).isEqualTo(TYPE_DATA);
            assertThat(f.payload().length).isLessThanOrEqualTo(UpgraderConfig.defaults().maxDataFrameBytes());
            got += f.payload().length;
        }
        assertThat(got).isEqualTo(UpgraderConfig.INITIAL_WINDOW);
        assertThat(out.poll(200, TimeUnit.MILLISECONDS)).as("nothing beyond the window").isNull();
        assertThat(written).isNotDone();
        send(TYPE_WINDOW_UPDATE, ACK, 1, 10 * 1024);
        assertThat(next().payload().length).isEqualTo(10 * 1024);
        assertThat(out.poll(200, TimeUnit.MILLISECONDS)).isNull();
        send(TYPE_WINDOW_UPDATE, 0, 1, 1 << 20);
        while (got < 300 * 1024 - 10 * 1024) got += next().payload().length;
        written.get(5, TimeUnit.SECONDS);
    }

    @Test
    void remoteResetClosesTheStreamWithACause() throws Exception {
        start();
        RecordingHandler.Collector col = new RecordingHandler.Collector();
        Stream s = conn.openStream(col).get(5, TimeUnit.SECONDS);
        next();
        send(TYPE_WINDOW_UPDATE, RST, (int) s.id(), 0);
        assertThat(col.closed.get(5, TimeUnit.SECONDS)).isInstanceOf(TransportException.class).hasMessageContaining("reset");
        assertThat(s.write(new byte[1])).failsWithin(5, TimeUnit.SECONDS);
    }

    @Test
    void remoteGoAwayStopsNewStreams() throws Exception {
        start();
        send(TYPE_GO_AWAY, 0, 0, 0);
        send(TYPE_PING, SYN, 0, 1); // a marker: once answered, the GoAway was processed
        assertThat(next().type()).isEqualTo(TYPE_PING);
        try {
            conn.openStream(new RecordingHandler.Collector()).get(5, TimeUnit.SECONDS);
            throw new AssertionError("stream opened after GoAway");
        } catch (ExecutionException e) {
            assertThat(((TransportException) e.getCause()).kind()).isEqualTo(TransportException.Kind.CLOSED);
        }
    }

    @Test
    void closeSendsGoAwayNormal() throws Exception {
        start();
        conn.close().get(5, TimeUnit.SECONDS);
        YamuxDecoder.Frame f = next();
        assertThat(f.type()).isEqualTo(TYPE_GO_AWAY);
        assertThat(f.length()).isEqualTo(YamuxConnection.GO_AWAY_NORMAL);
    }

    @Test
    void rejectedInboundStreamIsReset() throws Exception {
        start();
        handler.streamHandlers = s -> StreamHandler.REJECT;
        send(TYPE_WINDOW_UPDATE, SYN, 2, 0);
        assertThat(next().flags()).isEqualTo(ACK);
        YamuxDecoder.Frame rst = next();
        assertThat(rst.flags()).isEqualTo(RST);
        assertThat(CompletableFuture.supplyAsync(conn::streamCount, loop).get(5, TimeUnit.SECONDS)).isZero();
    }
}
