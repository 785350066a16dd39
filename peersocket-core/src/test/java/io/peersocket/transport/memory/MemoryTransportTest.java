package io.peersocket.transport.memory;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.MultiaddrException;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.ManualEventLoop;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(20)
class MemoryTransportTest {

    static HostKey key(int n) {
        byte[] seed = new byte[32];
        Arrays.fill(seed, (byte) n);
        return HostKey.fromSeed(seed);
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /** A transport with a handler that records every upcall and checks it runs on its own loop. */
    static final class Peer implements TransportHandler {
        final ManualEventLoop loop;
        final HostKey key;
        final MemoryTransport transport;
        final List<String> events = new ArrayList<>();
        final List<Connection> connections = new ArrayList<>();
        final List<Stream> inbound = new ArrayList<>();
        final List<String> threadViolations = new ArrayList<>();
        StreamHandler onStreamResult;

        Peer(MemoryNetwork net, ManualEventLoop loop, int n, UnaryOperator<TransportConfig> settings) {
            this.loop = loop;
            this.key = key(n);
            this.transport = net.transport(settings.apply(TransportConfig.defaults(key, loop)), this);
        }

        Peer(MemoryNetwork net, ManualEventLoop loop, int n) { this(net, loop, n, UnaryOperator.identity()); }

        Multiaddr listen() { return transport.listen(List.of(Multiaddr.parse("/memory/0"))).join().get(0); }

        private void check(String what) {
            if (!loop.inEventLoop()) threadViolations.add(what);
        }

        @Override public void onConnection(Connection c) {
            check("onConnection");
            connections.add(c);
            events.add("conn " + c.direction());
        }

        @Override public StreamHandler onStream(Stream s) {
            check("onStream");
            inbound.add(s);
            events.add("stream " + s.id());
            return onStreamResult != null ? onStreamResult : recorder("in");
        }

        @Override public void onDatagram(Connection c, byte[] data) {
            check("onDatagram");
            events.add("dgram " + new String(data, StandardCharsets.UTF_8));
        }

        @Override public void onConnectionClosed(Connection c, String reason) {
            check("onConnectionClosed");
            events.add("connclosed " + reason);
        }

        StreamHandler recorder(String tag) {
            return new StreamHandler() {
                @Override public void onData(Stream s, byte[] data) {
                    check("onData");
                    events.add(tag + " data " + s.id() + " " + new String(data, StandardCharsets.UTF_8));
                }

                @Override public void onRemoteWriteClosed(Stream s) {
                    check("onRemoteWriteClosed");
                    events.add(tag + " fin " + s.id());
                }

                @Override public void onClosed(Stream s, Throwable cause) {
                    check("onClosed");
                    events.add(tag + " closed " + s.id() + (cause == null ? "" : " " + cause.getMessage()));
                }
            };
        }
    }

    final ManualEventLoop loop = new ManualEventLoop(1_000);
    final MemoryNetwork net = new MemoryNetwork(42);

    /** Runs the loop, then returns the kind of {@code f}'s TransportException. */
    TransportException.Kind kindOf(CompletableFuture<?> f) {
        loop.runPending();
        assertThat(f).isCompletedExceptionally();
        try {
            f.join();
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(TransportException.class);
            return ((TransportException) e.getCause()).kind();
        }
        throw new AssertionError("not failed");
    }

    /** Dials b from a, runs the loop, returns the dialer's connection. */
    Connection connect(Peer a, Peer b) {
        Multiaddr addr = b.transport.listenAddresses().isEmpty() ? b.listen() : b.transport.listenAddresses().get(0);
        CompletableFuture<Connection> f = a.transport.dial(addr, b.key.peerId());
        loop.runPending();
        assertThat(f).isCompleted();
        return f.join();
    }

    @Test
    void memoryMultiaddrRoundTrips() {
        Multiaddr a = Multiaddr.parse("/memory/18446744073709551615");
        assertThat(Multiaddr.fromBytes(a.toBytes())).isEqualTo(a);
        assertThat(a.toString()).isEqualTo("/memory/18446744073709551615");
        // code 777 = varint 0x89 0x06, then 8 bytes big-endian
        assertThat(Multiaddr.parse("/memory/5").toBytes()).containsExactly(0x89, 0x06, 0, 0, 0, 0, 0, 0, 0, 5);
        assertThat(Protocol.forCode(777)).isEqualTo(Protocol.MEMORY);
        assertThatThrownBy(() -> Multiaddr.parse("/memory/-1")).isInstanceOf(MultiaddrException.class);
        assertThatThrownBy(() -> Multiaddr.parse("/memory/007")).isInstanceOf(MultiaddrException.class);
        assertThatThrownBy(() -> Multiaddr.parse("/memory/18446744073709551616")).isInstanceOf(MultiaddrException.class);
        assertThatThrownBy(() -> Multiaddr.parse("/memory")).isInstanceOf(MultiaddrException.class);
    }

    @Test
    void listenAssignsAddressesAndRejectsBadOnes() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2), c = new Peer(net, loop, 3), d = new Peer(net, loop, 4);
        assertThat(a.listen()).isEqualTo(Multiaddr.parse("/memory/1"));
        assertThat(a.transport.listenAddresses()).containsExactly(Multiaddr.parse("/memory/1"));
        assertThat(b.transport.listen(List.of(Multiaddr.parse("/memory/77"))).join()).containsExactly(Multiaddr.parse("/memory/77"));
        assertThat(kindOf(c.transport.listen(List.of(Multiaddr.parse("/memory/77"))))).isEqualTo(TransportException.Kind.IO);
        assertThat(kindOf(c.transport.listen(List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1")))))
                .isEqualTo(TransportException.Kind.BAD_ADDRESS);
        assertThat(kindOf(c.transport.listen(List.of(Multiaddr.parse("/memory/0"), Multiaddr.parse("/memory/0")))))
                .isEqualTo(TransportException.Kind.BAD_ADDRESS);
        assertThat(kindOf(c.transport.listen(List.of(Multiaddr.parse("/memory/9/p2p/" + c.key.peerId())))))
                .isEqualTo(TransportException.Kind.BAD_ADDRESS);
        assertThat(c.transport.listen(List.of(Multiaddr.parse("/memory/0"))).join()).containsExactly(Multiaddr.parse("/memory/2"));
        assertThat(a.transport.listen(List.of(Multiaddr.parse("/memory/0")))).isCompletedExceptionally();
        assertThat(net.listeningAddresses()).extracting(Multiaddr::toString).containsExactly("/memory/1", "/memory/2", "/memory/77");
        // a closed transport frees its address for a restarted node
        b.transport.close();
        assertThat(d.transport.listen(List.of(Multiaddr.parse("/memory/77"))).join()).containsExactly(Multiaddr.parse("/memory/77"));
    }

    @Test
    void canDialOnlyMemoryAddresses() {
        Peer a = new Peer(net, loop, 1);
        assertThat(a.transport.canDial(Multiaddr.parse("/memory/3"))).isTrue();
        assertThat(a.transport.canDial(Multiaddr.parse("/memory/3/p2p/" + key(2).peerId()))).isTrue();
        assertThat(a.transport.canDial(Multiaddr.parse("/memory/0"))).isFalse();
        assertThat(a.transport.canDial(Multiaddr.parse("/memory/9223372036854775808"))).isFalse();
        assertThat(a.transport.canDial(Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1"))).isFalse();
        assertThat(a.transport.canDial(Multiaddr.parse("/memory/3/memory/4"))).isFalse();
        assertThat(a.transport.canDial(Multiaddr.parse("/p2p/" + key(2).peerId()))).isFalse();
        CompletableFuture<Connection> f = a.transport.dial(Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1"), null);
        loop.runPending();
        assertThat(kindOf(f)).isEqualTo(TransportException.Kind.BAD_ADDRESS);
    }

    @Test
    void dialAuthenticatesBothSidesWithRealIdentities() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Multiaddr aAddr = a.listen(), bAddr = b.listen();
        Connection c = connect(a, b);
        assertThat(c.remotePeer()).isEqualTo(b.key.peerId());
        assertThat(c.remotePublicKey()).isEqualTo(b.key.publicKey());
        assertThat(c.direction()).isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(c.remoteAddress()).isEqualTo(bAddr);
        assertThat(c.localAddress()).isEqualTo(aAddr);
        assertThat(c.isOpen()).isTrue();
        assertThat(b.connections).hasSize(1);
        Connection s = b.connections.get(0);
        assertThat(s.remotePeer()).isEqualTo(a.key.peerId());
        assertThat(s.remotePublicKey()).isEqualTo(a.key.publicKey());
        assertThat(s.direction()).isEqualTo(Connection.Direction.INBOUND);
        assertThat(s.remoteAddress()).isEqualTo(aAddr);
        assertThat(a.events).containsExactly("conn OUTBOUND");
        assertThat(b.events).containsExactly("conn INBOUND");
        assertThat(a.transport.connections()).containsExactly(c);
        assertThat(b.transport.connections()).containsExactly(s);
        assertThat(c.id()).isNotEqualTo(s.id());
    }

    @Test
    void dialWithWrongExpectedPeerFailsWithPeerIdMismatch() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Multiaddr bAddr = b.listen();
        CompletableFuture<Connection> viaArg = a.transport.dial(bAddr, key(3).peerId());
        CompletableFuture<Connection> viaAddr = a.transport.dial(bAddr.withPeerId(key(3).peerId()), null);
        CompletableFuture<Connection> ok = a.transport.dial(bAddr.withPeerId(b.key.peerId()), null);
        loop.runPending();
        assertThat(kindOf(viaArg)).isEqualTo(TransportException.Kind.PEER_ID_MISMATCH);
        assertThat(kindOf(viaAddr)).isEqualTo(TransportException.Kind.PEER_ID_MISMATCH);
        assertThat(ok.join().remotePeer()).isEqualTo(b.key.peerId());
        assertThat(b.connections).hasSize(1); // the mismatched dials never reached the listener's handler
        assertThat(a.transport.connections()).hasSize(1);
    }

    @Test
    void dialingNothingIsRefusedAndOwnAddressIsBad() {
        Peer a = new Peer(net, loop, 1);
        Multiaddr own = a.listen();
        CompletableFuture<Connection> none = a.transport.dial(Multiaddr.parse("/memory/999"), null);
        CompletableFuture<Connection> self = a.transport.dial(own, null);
        loop.runPending();
        assertThat(kindOf(none)).isEqualTo(TransportException.Kind.REFUSED);
        assertThat(kindOf(self)).isEqualTo(TransportException.Kind.BAD_ADDRESS);
        assertThat(a.transport.connections()).isEmpty();
    }

    @Test
    void dialerWithoutListenGetsEphemeralAddressThatAcceptsNothing() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        b.listen();
        Connection c = connect(a, b);
        assertThat(c.localAddress().valueOf(Protocol.MEMORY)).isNotNull();
        assertThat(b.connections.get(0).remoteAddress()).isEqualTo(c.localAddress());
        CompletableFuture<Connection> back = b.transport.dial(c.localAddress(), null);
        loop.runPending();
        assertThat(kindOf(back)).isEqualTo(TransportException.Kind.REFUSED);
    }

    @Test
    void streamDataInOrderHalfCloseAndCleanClose() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        Stream s = sf.getNow(null);
        assertThat(s).isNull(); // completes on the event loop, not inline
        loop.runPending();
        s = sf.join();
        assertThat(s.isOutbound()).isTrue();
        assertThat(s.id()).isEqualTo(0);
        CompletableFuture<Void> w1 = s.write(utf8("one"));
        s.write(utf8("two"));
        s.write(new byte[0]);
        s.write(utf8("three"));
        CompletableFuture<Void> fin = s.closeWrite();
        loop.runPending();
        assertThat(w1).isCompleted();
        assertThat(fin).isCompleted();
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0", "in data 0 one", "in data 0 two",
                "in data 0 three", "in fin 0");
        Stream in = b.inbound.get(0);
        assertThat(in.isOutbound()).isFalse();
        assertThat(in.connection()).isSameAs(b.connections.get(0));
        // the half-closed side can still write back
        assertThat(kindOf(s.write(utf8("late")))).isEqualTo(TransportException.Kind.CLOSED);
        in.write(utf8("reply"));
        in.closeWrite();
        loop.runPending();
        assertThat(a.events).containsExactly("conn OUTBOUND", "out data 0 reply", "out fin 0", "out closed 0");
        assertThat(b.events).endsWith("in fin 0", "in closed 0");
        // a second stream gets the next client id
        CompletableFuture<Stream> s2 = c.openStream(a.recorder("out"));
        loop.runPending();
        assertThat(s2.join().id()).isEqualTo(4);
        assertThat(a.threadViolations).isEmpty();
        assertThat(b.threadViolations).isEmpty();
    }

    @Test
    void writeCopiesTheBufferAndDataIsOwnedByTheReceiver() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        List<byte[]> got = new ArrayList<>();
        b.onStreamResult = (st, d) -> got.add(d);
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        loop.runPending();
        Stream s = sf.join();
        byte[] buf = utf8("abc");
        s.write(buf);
        buf[0] = 'X';
        loop.runPending();
        assertThat(new String(got.get(0), StandardCharsets.UTF_8)).isEqualTo("abc");
    }

    @Test
    void resetReachesTheRemoteWithACauseAndStopsWrites() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        loop.runPending();
        Stream s = sf.join();
        s.write(utf8("x"));
        loop.runPending();
        Stream in = b.inbound.get(0);
        in.reset();
        in.reset(); // idempotent
        loop.runPending();
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0", "in data 0 x", "in closed 0 stream reset locally");
        assertThat(a.events).containsExactly("conn OUTBOUND", "out closed 0 stream reset by remote");
        assertThat(kindOf(s.write(utf8("y")))).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(kindOf(in.write(utf8("y")))).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(s.isWritable()).isFalse();
        loop.runPending();
    }

    @Test
    void rejectedStreamIsResetForTheOpener() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        b.onStreamResult = StreamHandler.REJECT;
        c.openStream(a.recorder("out")).thenAccept(s -> s.write(utf8("ignored")));
        loop.runPending();
        assertThat(a.events).containsExactly("conn OUTBOUND", "out closed 0 stream reset by remote");
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0");
    }

    @Test
    void closeSendsFinAndStopsTheRemoteWriter() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        loop.runPending();
        Stream s = sf.join();
        s.write(utf8("bye"));
        s.close();
        s.close(); // idempotent
        loop.runPending();
        assertThat(a.events).containsExactly("conn OUTBOUND", "out closed 0");
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0", "in data 0 bye", "in fin 0", "in closed 0");
        assertThat(kindOf(b.inbound.get(0).write(utf8("too late")))).isEqualTo(TransportException.Kind.CLOSED);
    }

    @Test
    void datagramsAreBoundedAndCanBeDisabled() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        assertThat(c.maxDatagramSize()).isEqualTo(1200);
        assertThat(c.sendDatagram(utf8("hello"))).isTrue();
        assertThat(c.sendDatagram(new byte[1200])).isTrue();
        assertThat(c.sendDatagram(new byte[1201])).isFalse();
        loop.runPending();
        assertThat(b.events).hasSize(3).contains("dgram hello");
        Peer d = new Peer(net, loop, 4, cfg -> new TransportConfig(cfg.hostKey(), cfg.eventExecutor(), cfg.maxConnections(),
                cfg.maxStreamsPerConnection(), cfg.idleTimeoutMs(), cfg.handshakeTimeoutMs(), false, cfg.socketBufferBytes()));
        Connection toD = connect(a, d);
        assertThat(toD.maxDatagramSize()).isZero();
        assertThat(toD.sendDatagram(utf8("x"))).isFalse();
        net.setMaxDatagramBytes(100);
        assertThat(c.maxDatagramSize()).isEqualTo(100);
    }

    @Test
    void connectionCloseEndsStreamsThenConnectionOnBothSides() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        c.openStream(a.recorder("out"));
        loop.runPending();
        CompletableFuture<Void> closed = c.close();
        assertThat(c.isOpen()).isFalse();
        c.close(); // idempotent
        loop.runPending();
        assertThat(closed).isCompleted();
        assertThat(a.events).containsExactly("conn OUTBOUND", "out closed 0 connection closed locally", "connclosed closed locally");
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0", "in closed 0 connection closed by remote",
                "connclosed closed by remote");
        assertThat(kindOf(c.openStream(a.recorder("out")))).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(c.sendDatagram(utf8("x"))).isFalse();
        assertThat(a.transport.connections()).isEmpty();
        assertThat(b.transport.connections()).isEmpty();
    }

    @Test
    void connectionLimitsOnBothSides() {
        UnaryOperator<TransportConfig> one = cfg -> cfg.withMaxConnections(1);
        Peer a = new Peer(net, loop, 1, one), b = new Peer(net, loop, 2), d = new Peer(net, loop, 4);
        Peer full = new Peer(net, loop, 5, one);
        connect(a, b);
        CompletableFuture<Connection> second = a.transport.dial(d.listen(), null);
        loop.runPending();
        assertThat(kindOf(second)).isEqualTo(TransportException.Kind.LIMIT);
        connect(b, full);
        CompletableFuture<Connection> refused = d.transport.dial(full.transport.listenAddresses().get(0), null);
        loop.runPending();
        assertThat(kindOf(refused)).isEqualTo(TransportException.Kind.REFUSED);
        assertThat(full.connections).hasSize(1);
    }

    @Test
    void streamLimitIsTheRemotesAndFreesWhenBothSidesClose() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2, cfg -> cfg.withMaxStreamsPerConnection(2));
        Connection c = connect(a, b);
        CompletableFuture<Stream> s1 = c.openStream(a.recorder("out"));
        CompletableFuture<Stream> s2 = c.openStream(a.recorder("out"));
        CompletableFuture<Stream> s3 = c.openStream(a.recorder("out"));
        loop.runPending();
        assertThat(kindOf(s3)).isEqualTo(TransportException.Kind.LIMIT);
        s1.join().reset();
        loop.runPending();
        CompletableFuture<Stream> s4 = c.openStream(a.recorder("out"));
        loop.runPending();
        assertThat(s4.join().id()).isEqualTo(8);
        assertThat(s2).isCompleted();
        // b may open its own streams: a's limit (default 256) applies to those
        CompletableFuture<Stream> back = b.connections.get(0).openStream(b.recorder("bout"));
        loop.runPending();
        assertThat(back.join().id()).isEqualTo(1);
    }

    @Test
    void latencyDelaysEverythingOnVirtualTime() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        net.setLink(a.key.peerId(), b.key.peerId(), new MemoryNetwork.LinkConditions(50, 0));
        Multiaddr bAddr = b.listen();
        CompletableFuture<Connection> f = a.transport.dial(bAddr, null);
        loop.advance(49);
        assertThat(b.connections).isEmpty();
        loop.advance(1);
        assertThat(b.connections).hasSize(1);
        loop.advance(49);
        assertThat(f).isNotDone();
        loop.advance(1);
        Connection c = f.join();
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        loop.runPending();
        Stream s = sf.join();
        s.write(utf8("a"));
        loop.advance(10);
        s.write(utf8("b"));
        c.sendDatagram(utf8("d"));
        loop.advance(39);
        assertThat(b.events).containsExactly("conn INBOUND");
        loop.advance(1);
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0", "in data 0 a");
        loop.advance(9);
        assertThat(b.events).hasSize(3);
        loop.advance(1);
        assertThat(b.events).endsWith("in data 0 a", "in data 0 b", "dgram d");
    }

    @Test
    void limitedConnectionsUseTheRelayedPathCarryNoDatagramsAndLeaveLaterOnesDirect() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        net.setLink(a.key.peerId(), b.key.peerId(), new MemoryNetwork.LinkConditions(5, 0));
        net.setLimited(b.key.peerId(), a.key.peerId(), new MemoryNetwork.LinkConditions(30, 0));
        Multiaddr bAddr = b.listen();
        CompletableFuture<Connection> f = a.transport.dial(bAddr, null);
        loop.advance(59);
        assertThat(f).isNotDone();
        loop.advance(1);
        Connection relayed = f.join();
        net.setLimited(a.key.peerId(), b.key.peerId(), null);
        assertThat(relayed.isLimited()).isTrue();
        assertThat(b.connections.get(0).isLimited()).isTrue();
        assertThat(relayed.maxDatagramSize()).isZero();
        assertThat(relayed.sendDatagram(utf8("d"))).isFalse();
        assertThat(relayed.toString()).contains("limited");
        CompletableFuture<Connection> g = a.transport.dial(bAddr, null);
        loop.advance(10);
        Connection direct = g.join();
        assertThat(direct.isLimited()).isFalse();
        assertThat(b.connections.get(1).isLimited()).isFalse();
        assertThat(direct.maxDatagramSize()).isPositive();
        // a stream on the relayed connection takes its 30 ms, one on the direct connection 5 ms
        CompletableFuture<Stream> fr = relayed.openStream(a.recorder("r")), fd = direct.openStream(a.recorder("d"));
        loop.runPending();
        fr.join().write(utf8("slow"));
        fd.join().write(utf8("fast"));
        loop.advance(5);
        assertThat(b.events).contains("in data 0 fast").doesNotContain("in data 0 slow");
        loop.advance(25);
        assertThat(b.events).contains("in data 0 slow");
    }

    @Test
    void handshakeRoundTripOverTimeoutFailsWithTimeoutAtTheTimeout() {
        Peer a = new Peer(net, loop, 1, cfg -> cfg.withHandshakeTimeoutMs(1_000)), b = new Peer(net, loop, 2);
        net.setDefaultLink(new MemoryNetwork.LinkConditions(600, 0));
        CompletableFuture<Connection> f = a.transport.dial(b.listen(), null);
        loop.advance(999);
        assertThat(f).isNotDone();
        loop.advance(1);
        assertThat(kindOf(f)).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(b.connections).isEmpty();
    }

    @Test
    void firewallBreaksConnectionsTimesOutDialsBothWaysUntilUnblocked() {
        Peer a = new Peer(net, loop, 1, cfg -> cfg.withHandshakeTimeoutMs(1_000)), b = new Peer(net, loop, 2, cfg -> cfg.withHandshakeTimeoutMs(1_000));
        Multiaddr aAddr = a.listen(), bAddr = b.listen();
        CompletableFuture<Connection> f = a.transport.dial(bAddr, null);
        loop.advance(10);
        Connection ab = f.join();
        a.transport.block(List.of(bAddr.withPeerId(b.key.peerId())));
        assertThat(a.transport.blocked()).containsExactly(bAddr);
        loop.runPending();
        assertThat(ab.isOpen()).isFalse();
        assertThat(a.events).contains("connclosed link broken: firewall");
        assertThat(b.events).contains("connclosed link broken: firewall");
        // dials either way stay unanswered until the handshake timeout
        CompletableFuture<Connection> out = a.transport.dial(bAddr, null), in = b.transport.dial(aAddr, null);
        loop.advance(999);
        assertThat(out).isNotDone();
        assertThat(in).isNotDone();
        loop.advance(1);
        assertThat(kindOf(out)).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(kindOf(in)).isEqualTo(TransportException.Kind.TIMEOUT);
        a.transport.unblock(List.of(bAddr));
        assertThat(a.transport.blocked()).isEmpty();
        CompletableFuture<Connection> again = b.transport.dial(aAddr, null);
        loop.advance(10);
        assertThat(again.join().isOpen()).isTrue();
        assertThatThrownBy(() -> a.transport.block(List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/1/quic-v1"))))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("/memory/<n>");
    }

    /** Which of 200 datagrams arrive, with 30% loss on a network seeded with {@code seed}. */
    static List<String> lossRun(long seed) {
        ManualEventLoop l = new ManualEventLoop(0);
        MemoryNetwork n = new MemoryNetwork(seed);
        n.setDefaultLink(new MemoryNetwork.LinkConditions(5, 0.3));
        Peer a = new Peer(n, l, 1), b = new Peer(n, l, 2);
        CompletableFuture<Connection> f = a.transport.dial(b.listen(), null);
        l.advance(10);
        Connection c = f.join();
        for (int i = 0; i < 200; i++) assertThat(c.sendDatagram(utf8(Integer.toString(i)))).isTrue();
        l.advance(5);
        assertThat(n.datagramsSent()).isEqualTo(200);
        assertThat(n.datagramsLost()).isEqualTo(200 - (b.events.size() - 1));
        return b.events;
    }

    @Test
    void datagramLossIsDeterministicPerSeed() {
        List<String> run1 = lossRun(7), run2 = lossRun(7), other = lossRun(8);
        assertThat(run1).isEqualTo(run2);
        assertThat(run1).isNotEqualTo(other);
        int received = run1.size() - 1;
        assertThat(received).isBetween(110, 170); // ~140 of 200 at 30% loss
        // the survivors arrive in send order
        List<Integer> order = run1.subList(1, run1.size()).stream().map(e -> Integer.parseInt(e.substring(6))).toList();
        assertThat(order).isSorted();
    }

    @Test
    void upcallsRunOnEachSidesOwnLoop() {
        ManualEventLoop la = new ManualEventLoop(0), lb = new ManualEventLoop(0);
        Peer a = new Peer(net, la, 1), b = new Peer(net, lb, 2);
        CompletableFuture<Connection> f = a.transport.dial(b.listen(), null);
        la.runPending();
        assertThat(f).isNotDone();
        assertThat(b.events).isEmpty();
        lb.runPending();
        assertThat(b.events).containsExactly("conn INBOUND");
        assertThat(f).isNotDone();
        la.runPending();
        Connection c = f.join();
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        la.runPending();
        sf.join().write(utf8("hi"));
        lb.runPending();
        assertThat(b.events).containsExactly("conn INBOUND", "stream 0", "in data 0 hi");
        c.close();
        lb.runPending();
        assertThat(b.events).endsWith("connclosed closed by remote");
        assertThat(a.events).containsExactly("conn OUTBOUND");
        la.runPending();
        assertThat(a.events).endsWith("connclosed closed locally");
        assertThat(a.threadViolations).isEmpty();
        assertThat(b.threadViolations).isEmpty();
    }

    @Test
    void transportCloseClosesConnectionsFailsPendingDialsAndRefusesNewWork() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2), d = new Peer(net, loop, 4);
        net.setLink(a.key.peerId(), d.key.peerId(), new MemoryNetwork.LinkConditions(100, 0));
        connect(a, b);
        CompletableFuture<Connection> pending = a.transport.dial(d.listen(), null);
        CompletableFuture<Void> closed = a.transport.closeAsync();
        loop.runPending();
        assertThat(closed).isCompleted();
        assertThat(kindOf(pending)).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(a.events).containsExactly("conn OUTBOUND", "connclosed transport closed");
        assertThat(b.events).containsExactly("conn INBOUND", "connclosed closed by remote");
        loop.advance(1_000);
        assertThat(d.connections).isEmpty(); // the abandoned dial never surfaced at d
        assertThat(kindOf(a.transport.dial(b.transport.listenAddresses().get(0), null))).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(a.transport.listenAddresses()).isEmpty();
        assertThat(a.transport.closeAsync()).isSameAs(closed);
    }

    @Test
    void handlerExceptionsDoNotBreakTheTransport() {
        Peer a = new Peer(net, loop, 1), b = new Peer(net, loop, 2);
        Connection c = connect(a, b);
        b.onStreamResult = (st, d) -> { throw new IllegalStateException("boom"); };
        CompletableFuture<Stream> sf = c.openStream(a.recorder("out"));
        loop.runPending();
        sf.join().write(utf8("x"));
        loop.runPending();
        assertThat(a.events).containsExactly("conn OUTBOUND", "out closed 0 stream reset by remote");
        assertThat(c.isOpen()).isTrue();
    }
}
