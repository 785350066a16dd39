package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.fail;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportException;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@link QuicTransport} over real UDP sockets on 127.0.0.1. */
class QuicTransportTest {
    private final List<TestNode> nodes = new ArrayList<>();

    private TestNode node() {
        return node(c -> c);
    }

    private TestNode node(UnaryOperator<TransportConfig> tweak) {
        TestNode n = new TestNode(tweak);
        nodes.add(n);
        return n;
    }

    private TestNode listening(UnaryOperator<TransportConfig> tweak) throws Exception {
        TestNode n = node(tweak);
        n.listen();
        return n;
    }

    private TestNode listening() throws Exception {
        return listening(c -> c);
    }

    static TransportConfig withDatagrams(TransportConfig c, boolean on) {
        return new TransportConfig(c.hostKey(), c.eventExecutor(), c.maxConnections(), c.maxStreamsPerConnection(),
                c.idleTimeoutMs(), c.handshakeTimeoutMs(), on, c.socketBufferBytes());
    }

    @AfterEach
    void tearDown() {
        for (TestNode n : nodes) n.close();
        for (TestNode n : nodes) assertThat(n.violations).as("upcall rule violations").isEmpty();
    }

    static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    static TransportException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(TransportException.class);
            return (TransportException) e.getCause();
        }
        return fail("expected failure, got success");
    }

    static byte[] random(int n, long seed) {
        byte[] b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    /** Writes {@code data} in chunks, keeping at most 32 writes outstanding, then FIN. From the test thread. */
    static void writeAll(Stream s, byte[] data, int chunk) throws Exception {
        List<CompletableFuture<Void>> pending = new ArrayList<>();
        for (int off = 0; off < data.length; off += chunk) {
            pending.add(s.write(Arrays.copyOfRange(data, off, Math.min(data.length, off + chunk))));
            if (pending.size() >= 32) get(pending.remove(0));
        }
        for (CompletableFuture<Void> f : pending) get(f);
        get(s.closeWrite());
    }

    // ------------------------------------------------------------------------------------------ handshake

    @Test
    void dialAuthenticatesBothSidesAndRunsUpcallsOnTheExecutor() throws Exception {
        TestNode a = listening(), b = listening();
        CountDownLatch hold0 = new CountDownLatch(1);
        a.executor.execute(() -> awaitQuietly(hold0));
        CompletableFuture<Connection> dial = a.transport.dial(b.address(), null);
        CompletableFuture<Thread> completedOn = dial.thenApply(c -> Thread.currentThread());
        hold0.countDown();
        Connection ab = get(dial);
        assertThat(get(completedOn).getName()).startsWith("test-executor-");
        assertThat(ab.remotePeer()).isEqualTo(b.peerId());
        assertThat(ab.remotePublicKey()).isEqualTo(b.key.publicKey());
        assertThat(ab.direction()).isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(ab.isOpen()).isTrue();
        assertThat(ab.remoteAddress()).isEqualTo(b.address().withoutPeerId());
        assertThat(a.connections.poll(5, TimeUnit.SECONDS)).isSameAs(ab);
        assertThat(a.transport.connections()).containsExactly(ab);

        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(ba).isNotNull();
        assertThat(ba.remotePeer()).isEqualTo(a.peerId());
        assertThat(ba.remotePublicKey()).isEqualTo(a.key.publicKey());
        assertThat(ba.direction()).isEqualTo(Connection.Direction.INBOUND);
        assertThat(ba.id()).isNotEqualTo(ab.id());

        // stream and write futures complete on the event executor too (held busy so that the callbacks are
        // registered before completion)
        CountDownLatch hold = new CountDownLatch(1);
        a.executor.execute(() -> awaitQuietly(hold));
        CompletableFuture<Stream> open = ab.openStream(new TestNode.Collector());
        CompletableFuture<Thread> openedOn = open.thenApply(x -> Thread.currentThread());
        hold.countDown();
        assertThat(get(openedOn).getName()).startsWith("test-executor-");
        CountDownLatch hold2 = new CountDownLatch(1);
        a.executor.execute(() -> awaitQuietly(hold2));
        CompletableFuture<Void> write = get(open).write(new byte[100]);
        CompletableFuture<Thread> writtenOn = write.thenApply(x -> Thread.currentThread());
        hold2.countDown();
        assertThat(get(writtenOn).getName()).startsWith("test-executor-");
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void dialWithoutPeerIdAcceptsWhoeverAnswers() throws Exception {
        TestNode a = listening(), b = listening();
        Connection c = get(a.transport.dial(b.address().withoutPeerId(), null));
        assertThat(c.remotePeer()).isEqualTo(b.peerId());
        // the expected parameter works without /p2p/ too
        Connection c2 = get(a.transport.dial(b.address().withoutPeerId(), b.peerId()));
        assertThat(c2.remotePeer()).isEqualTo(b.peerId());
    }

    @Test
    void wrongExpectedPeerIdFailsAndListenerKeepsServing() throws Exception {
        TestNode a = listening(), b = listening();
        HostKey other = HostKey.generate();
        TransportException e = failure(a.transport.dial(b.address().withoutPeerId(), other.peerId()));
        assertThat(e.kind()).isEqualTo(TransportException.Kind.PEER_ID_MISMATCH);
        assertThat(e.getMessage()).contains(other.peerId().toString()).contains(b.peerId().toString());
        e = failure(a.transport.dial(b.address().withoutPeerId().withPeerId(other.peerId()), null));
        assertThat(e.kind()).isEqualTo(TransportException.Kind.PEER_ID_MISMATCH);
        assertThat(a.connections).isEmpty();

        // the listener still serves others, and the same dialer with the right id
        TestNode d = listening();
        assertThat(d.dial(b).remotePeer()).isEqualTo(b.peerId());
        assertThat(a.dial(b).remotePeer()).isEqualTo(b.peerId());
    }

    @Test
    void conflictingPeerIdsAndUnsupportedAddressesAreBadAddresses() throws Exception {
        TestNode a = listening(), b = listening();
        TransportException e = failure(a.transport.dial(b.address(), HostKey.generate().peerId()));
        assertThat(e.kind()).isEqualTo(TransportException.Kind.BAD_ADDRESS);
        Multiaddr tcp = Multiaddr.parse("/ip4/127.0.0.1/tcp/4001");
        assertThat(a.transport.canDial(tcp)).isFalse();
        assertThat(a.transport.canDial(b.address())).isTrue();
        assertThat(failure(a.transport.dial(tcp, null)).kind()).isEqualTo(TransportException.Kind.BAD_ADDRESS);
        assertThat(failure(a.transport.dial(Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1"), null)).kind())
                .isEqualTo(TransportException.Kind.BAD_ADDRESS);
    }

    @Test
    void unreachableAddressTimesOutWithinHandshakeTimeout() throws Exception {
        TestNode a = listening(c -> c.withHandshakeTimeoutMs(500));
        int port;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            port = s.getLocalPort();
        }
        long start = System.nanoTime();
        TransportException e = failure(a.transport.dial(
                Multiaddr.parse("/ip4/127.0.0.1/udp/" + port + "/quic-v1"), null));
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(e.kind()).isIn(TransportException.Kind.TIMEOUT, TransportException.Kind.REFUSED);
        assertThat(ms).isLessThan(3000);
        assertThat(a.transport.connections()).isEmpty();
    }

    // ------------------------------------------------------------------------------------------ one port

    @Test
    void samePortAcceptsAndDials() throws Exception {
        TestNode a = listening(), b = listening();
        Multiaddr aAddr = a.address().withoutPeerId(), bAddr = b.address().withoutPeerId();

        Connection ab = a.dial(b);
        Connection atB = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(ab.localAddress()).isEqualTo(aAddr);
        assertThat(atB.remoteAddress()).as("B sees A's listen port as the source").isEqualTo(aAddr);

        Connection ba = b.dial(a);
        assertThat(ba.direction()).isEqualTo(Connection.Direction.OUTBOUND);
        Connection atA = null;
        for (int i = 0; i < 2 && atA == null; i++) {
            Connection c = a.connections.poll(5, TimeUnit.SECONDS);
            if (c != null && c.direction() == Connection.Direction.INBOUND) atA = c;
        }
        assertThat(atA).isNotNull();
        assertThat(atA.remoteAddress()).as("A sees B's listen port as the source").isEqualTo(bAddr);
        assertThat(ba.localAddress()).isEqualTo(bAddr);

        // both connections carry data independently
        for (Connection c : List.of(ab, ba)) {
            TestNode.Collector got = new TestNode.Collector();
            Stream s = get(c.openStream(got));
            writeAll(s, "ping".getBytes(), 4);
            assertThat(new String(get(got.fin))).isEqualTo("ping");
        }
    }

    @Test
    void ipv6AndDualStackListening() throws Exception {
        List<Multiaddr> both = List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1"),
                Multiaddr.parse("/ip6/::1/udp/0/quic-v1"));
        TestNode a = node(), b = node();
        List<Multiaddr> aAddrs = get(a.transport.listen(both));
        List<Multiaddr> bAddrs = get(b.transport.listen(both));
        assertThat(aAddrs).hasSize(2);
        assertThat(aAddrs.get(1).toString()).startsWith("/ip6/::1/udp/");
        assertThat(a.transport.listenAddresses()).isEqualTo(aAddrs);

        Connection v6 = get(a.transport.dial(bAddrs.get(1).withPeerId(b.peerId()), null));
        assertThat(v6.remotePeer()).isEqualTo(b.peerId());
        assertThat(v6.localAddress()).isEqualTo(aAddrs.get(1));
        Connection atB = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(atB.remoteAddress()).as("source is A's IPv6 listen port").isEqualTo(aAddrs.get(1));

        Connection v4 = get(a.transport.dial(bAddrs.get(0), b.peerId()));
        assertThat(v4.localAddress()).isEqualTo(aAddrs.get(0));
        TestNode.Collector got = new TestNode.Collector();
        Stream s = get(v6.openStream(got));
        writeAll(s, "over ipv6".getBytes(), 4);
        assertThat(new String(get(got.fin))).isEqualTo("over ipv6");
    }

    @Test
    void dialWithoutListeningUsesAnEphemeralSocket() throws Exception {
        TestNode a = node(), b = listening();
        Connection c = a.dial(b);
        assertThat(c.remotePeer()).isEqualTo(b.peerId());
        assertThat(a.transport.listenAddresses()).isEmpty();
        Connection atB = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(atB.remotePeer()).isEqualTo(a.peerId());
    }

    @Test
    void wanCodecsCarryStreamsAndDatagrams() throws Exception {
        // the codecs real (non-loopback) peers get: 1350-byte packets
        TestNode a = new TestNode(c -> c, false), b = new TestNode(c -> c, false);
        nodes.add(a);
        nodes.add(b);
        a.listen();
        b.listen();
        Connection ab = a.dial(b);
        Connection atB = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(atB.remoteAddress()).isEqualTo(a.address().withoutPeerId());
        assertThat(ab.maxDatagramSize()).isBetween(1000, 1400);
        byte[] dgram = random(ab.maxDatagramSize(), 3);
        assertThat(ab.sendDatagram(dgram)).isTrue();
        assertThat(ab.sendDatagram(new byte[ab.maxDatagramSize() + 1])).isFalse();
        assertThat(b.datagrams.poll(5, TimeUnit.SECONDS)).isEqualTo(dgram);

        byte[] data = random(2 << 20, 4);
        TestNode.Collector got = new TestNode.Collector();
        Stream s = get(ab.openStream(got));
        writeAll(s, data, 16 * 1024);
        assertThat(Arrays.equals(got.fin.get(20, TimeUnit.SECONDS), data)).isTrue();

        // and B dials A back over the same ports
        Connection ba = b.dial(a);
        assertThat(ba.localAddress()).isEqualTo(b.address().withoutPeerId());
        assertThat(ba.remotePeer()).isEqualTo(a.peerId());
    }

    // ------------------------------------------------------------------------------------------ streams

    @Test
    void bulkEchoKeepsDataIntact() throws Exception {
        TestNode a = listening(), b = listening();
        Connection c = a.dial(b);
        byte[] data = random(8 << 20, 42);
        TestNode.Collector got = new TestNode.Collector();
        Stream s = get(c.openStream(got));
        assertThat(s.isOutbound()).isTrue();
        assertThat(s.connection()).isSameAs(c);
        writeAll(s, data, 64 * 1024);
        byte[] echoed = got.fin.get(30, TimeUnit.SECONDS);
        assertThat(echoed.length).isEqualTo(data.length);
        assertThat(Arrays.equals(echoed, data)).isTrue();
        assertThat(got.closed.get(5, TimeUnit.SECONDS)).as("clean close after both FINs").isNull();
        assertThat(got.order.get()).isEmpty();
    }

    @Test
    void aStalledReceiverPushesBackOnTheSender() throws Exception {
        TestNode a = listening(), b = listening();
        TestNode.Collector atB = new TestNode.Collector();
        b.streamHandlers = x -> atB;
        Connection c = a.dial(b);
        Stream s = get(c.openStream(new TestNode.Collector()));
        get(s.write(new byte[1]));
        assertThat(b.inboundStreams.poll(5, TimeUnit.SECONDS)).isNotNull();

        CountDownLatch stall = new CountDownLatch(1);
        b.executor.execute(() -> awaitQuietly(stall)); // B's event thread takes nothing for a while
        byte[] chunk = random(64 * 1024, 9);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < 200; i++) writes.add(s.write(chunk)); // 12.5 MiB, beyond window + buffers
        CompletableFuture<Void> last = writes.get(writes.size() - 1);
        assertThatThrownBy(() -> last.get(1500, TimeUnit.MILLISECONDS))
                .as("flow control holds the sender back").isInstanceOf(java.util.concurrent.TimeoutException.class);
        assertThat(s.isWritable()).isFalse();

        stall.countDown();
        for (CompletableFuture<Void> f : writes) f.get(30, TimeUnit.SECONDS);
        assertThat(s.isWritable()).isTrue();
        get(s.closeWrite());
        assertThat(atB.fin.get(30, TimeUnit.SECONDS).length).isEqualTo(1 + 200 * 64 * 1024);
    }

    @Test
    void manyConcurrentStreams() throws Exception {
        TestNode a = listening(), b = listening();
        Connection c = a.dial(b);
        int n = 64;
        List<TestNode.Collector> collectors = new ArrayList<>();
        List<byte[]> payloads = new ArrayList<>();
        List<Stream> streams = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            TestNode.Collector col = new TestNode.Collector();
            collectors.add(col);
            payloads.add(random(32 * 1024 + i, i));
            streams.add(get(c.openStream(col)));
        }
        assertThat(streams.stream().map(Stream::id).distinct().count()).isEqualTo(n);
        for (int i = 0; i < n; i++) {
            Stream s = streams.get(i);
            byte[] p = payloads.get(i);
            s.write(Arrays.copyOfRange(p, 0, p.length / 2));
            s.write(Arrays.copyOfRange(p, p.length / 2, p.length));
            s.closeWrite();
        }
        for (int i = 0; i < n; i++) {
            assertThat(collectors.get(i).fin.get(20, TimeUnit.SECONDS)).as("stream " + i).isEqualTo(payloads.get(i));
        }
        assertThat(b.inboundStreams).hasSize(n);
    }

    @Test
    void halfCloseLetsTheOtherSideKeepWriting() throws Exception {
        TestNode a = listening(), b = listening();
        TestNode.Collector atB = new TestNode.Collector();
        b.streamHandlers = s -> atB;
        Connection c = a.dial(b);
        TestNode.Collector atA = new TestNode.Collector();
        Stream s = get(c.openStream(atA));
        get(s.write("request".getBytes()));
        get(s.closeWrite());
        assertThat(new String(atB.fin.get(5, TimeUnit.SECONDS))).isEqualTo("request");
        assertThat(atB.closed).isNotDone();
        // writing after our FIN fails
        TransportException e = failure(s.write("more".getBytes()));
        assertThat(e.kind()).isEqualTo(TransportException.Kind.CLOSED);

        // B still writes after A's FIN
        Stream atBStream = b.inboundStreams.poll(5, TimeUnit.SECONDS);
        assertThat(atBStream.isOutbound()).isFalse();
        assertThat(atBStream.id()).isEqualTo(s.id());
        get(atBStream.write("response part 1, ".getBytes()));
        get(atBStream.write("part 2".getBytes()));
        assertThat(atA.fin).isNotDone();
        get(atBStream.closeWrite());
        assertThat(new String(atA.fin.get(5, TimeUnit.SECONDS))).isEqualTo("response part 1, part 2");
        assertThat(atA.closed.get(5, TimeUnit.SECONDS)).isNull();
        assertThat(atB.closed.get(5, TimeUnit.SECONDS)).isNull();
    }

    @Test
    void rejectedStreamIsResetAndResetReachesTheOtherSide() throws Exception {
        TestNode a = listening(), b = listening();
        b.streamHandlers = s -> StreamHandler.REJECT;
        Connection c = a.dial(b);
        TestNode.Collector atA = new TestNode.Collector();
        Stream s = get(c.openStream(atA));
        s.write("hello".getBytes());
        Throwable cause = atA.closed.get(5, TimeUnit.SECONDS);
        assertThat(cause).isInstanceOf(TransportException.class).hasMessageContaining("reset by peer");

        // a local reset: the remote sees a reset, we see onClosed with a cause
        TestNode.Collector atB = new TestNode.Collector();
        b.streamHandlers = x -> atB;
        TestNode.Collector atA2 = new TestNode.Collector();
        Stream s2 = get(c.openStream(atA2));
        get(s2.write("x".getBytes()));
        atB.received.toString(); // touch
        Stream remote = null;
        while (remote == null || remote.id() != s2.id()) remote = b.inboundStreams.poll(5, TimeUnit.SECONDS);
        s2.reset();
        assertThat(atA2.closed.get(5, TimeUnit.SECONDS)).hasMessageContaining("reset locally");
        assertThat(atB.closed.get(5, TimeUnit.SECONDS)).hasMessageContaining("reset by peer");
    }

    @Test
    void streamCloseIsGracefulOnBothSides() throws Exception {
        TestNode a = listening(), b = listening();
        TestNode.Collector atB = new TestNode.Collector();
        b.streamHandlers = s -> atB;
        Connection c = a.dial(b);
        TestNode.Collector atA = new TestNode.Collector();
        Stream s = get(c.openStream(atA));
        s.write("last words".getBytes());
        s.close();
        assertThat(new String(atB.fin.get(5, TimeUnit.SECONDS))).isEqualTo("last words");
        assertThat(atA.closed.get(5, TimeUnit.SECONDS)).isNull();
        assertThat(failure(s.write("x".getBytes())).kind()).isEqualTo(TransportException.Kind.CLOSED);
    }

    /** Many short stream lifecycles on one connection, to catch ordering races in close reporting. */
    @Test
    void repeatedStreamLifecyclesReportCleanCloses() throws Exception {
        TestNode a = listening(), b = listening();
        Connection c = a.dial(b);
        for (int i = 0; i < 60; i++) {
            TestNode.Collector atB = new TestNode.Collector();
            b.streamHandlers = x -> atB;
            TestNode.Collector atA = new TestNode.Collector();
            Stream s = get(c.openStream(atA));
            get(s.write(("request " + i).getBytes()));
            Stream bs;
            switch (i % 3) {
                case 0 -> { // half-close both ways
                    get(s.closeWrite());
                    assertThat(new String(atB.fin.get(5, TimeUnit.SECONDS))).isEqualTo("request " + i);
                    bs = b.inboundStreams.poll(5, TimeUnit.SECONDS);
                    get(bs.write("response".getBytes()));
                    get(bs.closeWrite());
                    assertThat(new String(atA.fin.get(5, TimeUnit.SECONDS))).isEqualTo("response");
                    assertThat(atA.closed.get(5, TimeUnit.SECONDS)).as("A, iteration " + i).isNull();
                    assertThat(atB.closed.get(5, TimeUnit.SECONDS)).as("B, iteration " + i).isNull();
                }
                case 1 -> { // graceful close by A, then by B
                    s.close();
                    assertThat(new String(atB.fin.get(5, TimeUnit.SECONDS))).isEqualTo("request " + i);
                    assertThat(atA.closed.get(5, TimeUnit.SECONDS)).as("A, iteration " + i).isNull();
                    bs = b.inboundStreams.poll(5, TimeUnit.SECONDS);
                    bs.close();
                    assertThat(atB.closed.get(5, TimeUnit.SECONDS)).as("B, iteration " + i).isNull();
                }
                default -> { // reset by B
                    bs = b.inboundStreams.poll(5, TimeUnit.SECONDS);
                    bs.reset();
                    assertThat(atB.closed.get(5, TimeUnit.SECONDS)).hasMessageContaining("reset locally");
                    assertThat(atA.closed.get(5, TimeUnit.SECONDS)).hasMessageContaining("reset by peer");
                }
            }
        }
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void streamLimitIsEnforced() throws Exception {
        TestNode a = listening(), b = listening(c -> c.withMaxStreamsPerConnection(2));
        b.streamHandlers = s -> new TestNode.Collector();
        Connection c = a.dial(b);
        Stream s1 = get(c.openStream(new TestNode.Collector()));
        Stream s2 = get(c.openStream(new TestNode.Collector()));
        get(s1.write("1".getBytes()));
        get(s2.write("2".getBytes()));
        assertThat(failure(c.openStream(new TestNode.Collector())).kind()).isEqualTo(TransportException.Kind.LIMIT);
    }

    // ------------------------------------------------------------------------------------------ datagrams

    @Test
    void datagramsFlowBothWaysAndOversizeIsRefused() throws Exception {
        TestNode a = listening(), b = listening();
        Connection ab = a.dial(b);
        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        // loopback peers use the large-packet codecs (16 KiB UDP payloads)
        assertThat(ab.maxDatagramSize()).isBetween(16_000, QuicTransport.LOOPBACK_UDP_PAYLOAD);
        assertThat(ba.maxDatagramSize()).isBetween(16_000, QuicTransport.LOOPBACK_UDP_PAYLOAD);

        byte[] small = random(100, 1);
        byte[] full = random(ab.maxDatagramSize(), 2);
        assertThat(ab.sendDatagram(small)).isTrue();
        assertThat(ab.sendDatagram(full)).isTrue();
        assertThat(ab.sendDatagram(new byte[ab.maxDatagramSize() + 1])).isFalse();
        List<byte[]> got = new ArrayList<>();
        for (int i = 0; i < 2; i++) got.add(b.datagrams.poll(5, TimeUnit.SECONDS));
        assertThat(got).containsExactlyInAnyOrder(small, full);

        assertThat(ba.sendDatagram("pong".getBytes())).isTrue();
        assertThat(a.datagrams.poll(5, TimeUnit.SECONDS)).isEqualTo("pong".getBytes());
        assertThat(ba.sendDatagram(new byte[0])).isTrue();
        assertThat(a.datagrams.poll(5, TimeUnit.SECONDS)).isEmpty();
    }

    @Test
    void datagramsAreOffWhenThePeerDoesNotSupportThem() throws Exception {
        TestNode a = listening(), b = listening(c -> withDatagrams(c, false));
        Connection ab = a.dial(b);
        assertThat(ab.maxDatagramSize()).isZero();
        assertThat(ab.sendDatagram("x".getBytes())).isFalse();
        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(ba.maxDatagramSize()).isZero();
        assertThat(ba.sendDatagram("x".getBytes())).isFalse();
    }

    // ------------------------------------------------------------------------------------------ limits, close

    @Test
    void maxConnectionsIsEnforced() throws Exception {
        TestNode b = listening(c -> c.withMaxConnections(1));
        TestNode a1 = listening(), a2 = listening();
        Connection first = a1.dial(b);
        assertThat(b.connections.poll(5, TimeUnit.SECONDS)).isNotNull();
        TransportException e = failure(a2.transport.dial(b.address(), null));
        assertThat(e.kind()).isIn(TransportException.Kind.REFUSED, TransportException.Kind.TIMEOUT);
        assertThat(b.connections).isEmpty();

        // a dialer at its own limit fails fast with LIMIT
        TestNode limited = listening(c -> c.withMaxConnections(1));
        limited.dial(a1);
        assertThat(failure(limited.transport.dial(a2.address(), null)).kind())
                .isEqualTo(TransportException.Kind.LIMIT);

        // once the first connection is gone there is room again
        get(first.close());
        assertThat(b.closedConnections.poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(a2.dial(b).remotePeer()).isEqualTo(b.peerId());
    }

    @Test
    void connectionCloseClosesStreamsFirstThenReportsOnBothSides() throws Exception {
        TestNode a = listening(), b = listening();
        List<String> events = new CopyOnWriteArrayList<>();
        b.streamHandlers = s -> new StreamHandler() {
            @Override public void onData(Stream stream, byte[] data) { events.add("B data"); }
            @Override public void onClosed(Stream stream, Throwable cause) { events.add("B stream closed"); }
        };
        Connection ab = a.dial(b);
        TestNode.Collector atA = new TestNode.Collector();
        Stream s = get(ab.openStream(atA));
        get(s.write("x".getBytes()));
        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        while (events.isEmpty()) b.inboundStreams.poll(5, TimeUnit.SECONDS); // wait for data at B
        get(ab.close());
        assertThat(ab.isOpen()).isFalse();
        assertThat(atA.closed.get(5, TimeUnit.SECONDS)).hasMessageContaining("connection closed");
        assertThat(a.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ab);
        assertThat(a.closeReasons.get(ab)).contains("closed locally");
        assertThat(b.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ba);
        events.add("B connection closed");
        assertThat(b.closeReasons.get(ba)).contains("closed by peer");
        assertThat(events).containsExactly("B data", "B stream closed", "B connection closed");
        assertThat(failure(ab.openStream(new TestNode.Collector())).kind()).isEqualTo(TransportException.Kind.CLOSED);
        assertThat(ab.sendDatagram("x".getBytes())).isFalse();
        assertThat(a.transport.connections()).isEmpty();
    }

    @Test
    void idleConnectionWithoutKeepAlivesTimesOut() throws Exception {
        // B offers no datagrams, so no keep-alives flow; nothing else is sent either
        TestNode a = listening(c -> c.withIdleTimeoutMs(400));
        TestNode b = listening(c -> withDatagrams(c.withIdleTimeoutMs(400), false));
        Connection ab = a.dial(b);
        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        assertThat(a.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ab);
        assertThat(a.closeReasons.get(ab)).isEqualTo("idle timeout");
        assertThat(b.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ba);
        assertThat(b.closeReasons.get(ba)).isEqualTo("idle timeout");
        assertThat(ab.isOpen()).isFalse();
    }

    @Test
    void keepAlivesHoldAnIdleConnectionOpen() throws Exception {
        TestNode a = listening(c -> c.withIdleTimeoutMs(800));
        TestNode b = listening(c -> c.withIdleTimeoutMs(800));
        Connection ab = a.dial(b);
        assertThat(a.closedConnections.poll(2500, TimeUnit.MILLISECONDS)).as("closed despite keep-alives").isNull();
        assertThat(ab.isOpen()).isTrue();
        assertThat(a.datagrams).as("keep-alives are not delivered").isEmpty();
        assertThat(b.datagrams).isEmpty();
    }

    @Test
    void closeReleasesThePortAndThreads() throws Exception {
        TestNode a = listening(), b = listening();
        Connection ab = a.dial(b);
        Multiaddr bound = a.address().withoutPeerId();
        a.close();
        assertThat(b.closedConnections.poll(5, TimeUnit.SECONDS)).isNotNull();
        assertThat(a.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ab);
        assertThat(a.transport.connections()).isEmpty();
        assertThat(failure(a.transport.dial(b.address(), null)).kind()).isEqualTo(TransportException.Kind.CLOSED);

        TestNode again = node();
        List<Multiaddr> rebound = get(again.transport.listen(List.of(bound)));
        assertThat(rebound).containsExactly(bound);
        assertThat(again.transport.listenAddresses()).containsExactly(bound);

        b.close();
        again.close();
        for (TestNode n : nodes) n.close();
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (t.getName().startsWith("peersocket-quic")) {
                t.join(3000);
                assertThat(t.isAlive()).as("thread " + t.getName() + " still alive").isFalse();
            }
        }
    }

    @Test
    void listenTwiceOrOnBadAddressesFails() throws Exception {
        TestNode a = node();
        assertThat(failure(a.transport.listen(List.of(Multiaddr.parse("/ip4/127.0.0.1/tcp/0")))).kind())
                .isEqualTo(TransportException.Kind.BAD_ADDRESS);
        TestNode b = node();
        b.listen();
        assertThat(failure(b.transport.listen(List.of(Multiaddr.parse(TestNode.LOOPBACK)))).kind())
                .isEqualTo(TransportException.Kind.IO);
        // a port in use
        TestNode c = node();
        assertThat(failure(c.transport.listen(List.of(b.address().withoutPeerId()))).kind())
                .isEqualTo(TransportException.Kind.IO);
    }
}
