package io.peersocket.protocol.handshake;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.host.PeerEvent;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.quic.QuicTransport;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.ThreadEventLoop;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The handshake between real nodes over QUIC on loopback. */
class HandshakeTest {
    private static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    private Node node(HandshakeConfig hs) throws Exception {
        Node n = Node.builder().listen(LOOPBACK).handshake(hs).start();
        closeables.add(n);
        return n;
    }

    private Node node() throws Exception { return node(HandshakeConfig.defaults()); }

    /** Records the peer events a node emits. */
    private static List<PeerEvent> events(Node n) {
        List<PeerEvent> list = new CopyOnWriteArrayList<>();
        n.onPeerEvent(list::add);
        return list;
    }

    private static long count(List<PeerEvent> events, PeerEvent.Kind kind) {
        return events.stream().filter(e -> e.kind() == kind).count();
    }

    static <T> T get(CompletableFuture<T> f) throws Exception { return f.get(20, TimeUnit.SECONDS); }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            LockSupport.parkNanos(200_000);
        }
    }

    /** Completes with {@code probe}'s value on {@code n}'s loop {@code delayMs} from now (a bounded wait, no sleep). */
    static <T> T later(Node n, long delayMs, java.util.function.Supplier<T> probe) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        n.loop().schedule(() -> f.complete(probe.get()), delayMs);
        return get(f);
    }

    @Test
    void codecRoundTripsAndRejectsBadMessagesWithClearErrors() {
        HandshakeInfo info = new HandshakeInfo(1, -2L, true);
        assertThat(Handshake.decodeHello(Handshake.encodeHello(info))).isEqualTo(info);
        assertThat(info.toString()).contains("18446744073709551614").contains("light");
        assertThatThrownBy(() -> Handshake.decodeHello(new byte[] {0x08, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, (byte) 0xFF, 0x0F}))
                .isInstanceOf(HandshakeException.class).hasMessageContaining("version 4294967295 out of range");
        assertThatThrownBy(() -> Handshake.decodeHello(new byte[Handshake.MAX_MESSAGE_BYTES + 1]))
                .isInstanceOf(HandshakeException.class).hasMessageContaining("exceeds limit");
        assertThatThrownBy(() -> Handshake.decodeHello(new byte[] {0x08}))
                .isInstanceOf(HandshakeException.class).hasMessageContaining("malformed hello");
        byte[] longReason = Handshake.encodeVerdict(false, "x".repeat(1000));
        assertThat(Handshake.decodeVerdict(longReason).reason()).hasSize(Handshake.MAX_REASON_CHARS); // cut on encode
        assertThatThrownBy(() -> HandshakeConfig.defaults().withVersions(1, 2))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("minVersion");
        Handshake h = new Handshake(new io.peersocket.util.ManualEventLoop(0), new io.peersocket.util.Counters(),
                HandshakeConfig.defaults().withVersions(3, 2), (c, i) -> {});
        assertThat(h.check(new HandshakeInfo(2, 1, false))).isNull();
        assertThat(h.check(new HandshakeInfo(9, 1, false))).isNull();
        assertThat(h.check(new HandshakeInfo(1, 1, false)).counter()).isEqualTo(Handshake.REFUSED_VERSION);
        assertThat(h.check(new HandshakeInfo(0, 1, false)).counter()).isEqualTo(Handshake.REFUSED_VERSION);
        assertThat(h.check(new HandshakeInfo(3, 7, false)).counter()).isEqualTo(Handshake.REFUSED_NETWORK_ID);
    }

    @Test
    void handshakePassesAndRecordsTheRemote() throws Exception {
        Node a = node();
        Node b = node(HandshakeConfig.defaults().withLight(true));
        List<PeerEvent> ea = events(a), eb = events(b);
        get(b.connect(a.addresses().get(0)));
        await(() -> count(ea, PeerEvent.Kind.READY) == 1 && count(eb, PeerEvent.Kind.READY) == 1, "READY on both");

        assertThat(a.handshakeOf(b.peerId())).isEqualTo(new HandshakeInfo(Handshake.VERSION, 1, true));
        assertThat(b.handshakeOf(a.peerId())).isEqualTo(new HandshakeInfo(Handshake.VERSION, 1, false));
        assertThat(a.counters().get(Handshake.OK)).isEqualTo(1);
        assertThat(b.counters().get(Handshake.OK)).isEqualTo(1);
        PeerEvent ready = ea.stream().filter(e -> e.kind() == PeerEvent.Kind.READY).findFirst().orElseThrow();
        assertThat(ready.peer()).isEqualTo(b.peerId());
        assertThat(ready.connection().isOpen()).isTrue();
        // READY comes after CONNECTED for the same connection.
        assertThat(ea.indexOf(ready)).isGreaterThan(ea.stream().map(PeerEvent::kind).toList().indexOf(PeerEvent.Kind.CONNECTED));
        assertThat(a.protocols()).contains(Handshake.ID);

        get(b.disconnect(a.peerId()));
        await(() -> a.handshakeOf(b.peerId()) == null && b.handshakeOf(a.peerId()) == null, "handshake info dropped");
    }

    @Test
    void networkIdMismatchClosesTheConnectionAndTheNodeKeepsServingOthers() throws Exception {
        Node a = node();
        Node b = node(HandshakeConfig.defaults().withNetworkId(0xFFFF_FFFF_FFFF_FFFEL)); // high bit set: unsigned
        Node c = node();
        List<PeerEvent> ea = events(a), eb = events(b);
        get(b.connect(a.addresses().get(0)));
        await(() -> count(ea, PeerEvent.Kind.DISCONNECTED) == 1 && count(eb, PeerEvent.Kind.DISCONNECTED) == 1,
                "connection closed");
        // Each side refuses the other's network id, or reads the other's refusal first and closes on it.
        for (Node n : List.of(a, b)) {
            assertThat(n.counters().get(Handshake.REFUSED_NETWORK_ID) + n.counters().get(Handshake.REFUSED_BY_REMOTE))
                    .as("refusals counted by %s", n).isEqualTo(1);
        }
        assertThat(a.counters().get(Handshake.REFUSED_NETWORK_ID) + b.counters().get(Handshake.REFUSED_NETWORK_ID))
                .isGreaterThanOrEqualTo(1);
        assertThat(count(ea, PeerEvent.Kind.READY)).isZero();
        assertThat(count(eb, PeerEvent.Kind.READY)).isZero();
        assertThat(a.handshakeOf(b.peerId())).isNull();
        assertThat(a.counters().get(Handshake.OK)).isZero();

        // a still serves nodes of its own network.
        get(c.connect(a.addresses().get(0)));
        await(() -> a.handshakeOf(c.peerId()) != null && c.handshakeOf(a.peerId()) != null, "a–c ready");
        assertThat(get(c.ping(a.peerId()))).isPositive();
        assertThat(a.counters().get(Handshake.REFUSED_NETWORK_ID) + a.counters().get(Handshake.REFUSED_BY_REMOTE))
                .isEqualTo(1);
    }

    @Test
    void olderVersionIsRefusedByTheNewerNodeWithAReasonTheOlderOneCounts() throws Exception {
        Node a = node();                                                        // speaks 1
        Node b = node(HandshakeConfig.defaults().withVersions(2, 2));            // speaks 2, refuses 1
        List<PeerEvent> ea = events(a);
        get(a.connect(b.addresses().get(0)));
        await(() -> b.counters().get(Handshake.REFUSED_VERSION) == 1, "b refuses version 1");
        await(() -> a.counters().get(Handshake.REFUSED_BY_REMOTE) == 1, "a reads b's refusal");
        await(() -> count(ea, PeerEvent.Kind.DISCONNECTED) == 1, "connection closed");
        assertThat(count(ea, PeerEvent.Kind.READY)).isZero();
        assertThat(a.counters().get(Handshake.REFUSED_VERSION)).isZero(); // a accepts newer versions
        assertThat(b.handshakeOf(a.peerId())).isNull();
    }

    @Test
    void newerVersionThatStillAcceptsOursIsReady() throws Exception {
        Node a = node();
        Node b = node(HandshakeConfig.defaults().withVersions(3, 1));
        get(b.connect(a.addresses().get(0)));
        await(() -> a.handshakeOf(b.peerId()) != null && b.handshakeOf(a.peerId()) != null, "ready");
        assertThat(a.handshakeOf(b.peerId()).version()).isEqualTo(3);
        assertThat(b.handshakeOf(a.peerId()).version()).isEqualTo(1);
    }

    @Test
    void handshakeThatNeverCompletesClosesTheConnection() throws Exception {
        Node a = node(HandshakeConfig.defaults().withTimeoutMs(400));
        Node b = node();
        b.registerProtocol(Handshake.ID, (s, id) -> (st, d) -> {}); // reads a's hello, never answers
        List<PeerEvent> ea = events(a);
        get(b.connect(a.addresses().get(0)));
        await(() -> a.counters().get(Handshake.REFUSED_TIMEOUT) == 1, "timeout");
        await(() -> count(ea, PeerEvent.Kind.DISCONNECTED) == 1, "connection closed");
        assertThat(count(ea, PeerEvent.Kind.READY)).isZero();
        assertThat(b.handshakeOf(a.peerId())).isNull();
    }

    @Test
    void malformedVerdictClosesTheConnection() throws Exception {
        Node a = node();
        Node b = node();
        b.registerProtocol(Handshake.ID, (s, id) -> {
            s.write(FrameDecoder.frame(new byte[] {(byte) 0xFF, 0x01, 0x02})); // not a Verdict
            return (st, d) -> {};
        });
        List<PeerEvent> ea = events(a);
        get(b.connect(a.addresses().get(0)));
        await(() -> a.counters().get(Handshake.MALFORMED) == 1, "malformed counted");
        await(() -> count(ea, PeerEvent.Kind.DISCONNECTED) == 1, "connection closed");
        assertThat(count(ea, PeerEvent.Kind.READY)).isZero();
    }

    @Test
    void oversizedOrGarbageHelloClosesTheConnection() throws Exception {
        Node a = node();
        List<PeerEvent> ea = events(a);
        // The remote says it will send a 1 MiB hello.
        RawPeer r1 = rawPeer(Map.of(Handshake.ID, (s, id) -> (st, d) -> {}));
        Connection c1 = get(r1.transport.dial(a.addresses().get(0), a.peerId()));
        Stream s1 = get(Multistream.select(c1, List.of(Handshake.ID), id -> (st, d) -> {})).stream();
        s1.write(io.peersocket.util.Varint.encode(1 << 20));
        await(() -> a.counters().get(Handshake.MALFORMED) == 1, "oversized hello counted");
        await(() -> count(ea, PeerEvent.Kind.DISCONNECTED) == 1, "connection closed");
        // A properly framed hello that is not protobuf.
        RawPeer r2 = rawPeer(Map.of(Handshake.ID, (s, id) -> (st, d) -> {}));
        Connection c2 = get(r2.transport.dial(a.addresses().get(0), a.peerId()));
        Stream s2 = get(Multistream.select(c2, List.of(Handshake.ID), id -> (st, d) -> {})).stream();
        s2.write(FrameDecoder.frame(new byte[] {0x0A, 0x7F}));
        await(() -> a.counters().get(Handshake.MALFORMED) == 2, "garbage hello counted");
        await(() -> count(ea, PeerEvent.Kind.DISCONNECTED) == 2, "connection closed");
        assertThat(count(ea, PeerEvent.Kind.READY)).isZero();
    }

    @Test
    void secondHelloOnAReadyConnectionIsResetAndTheConnectionStays() throws Exception {
        Node a = node();
        Node b = node();
        get(b.connect(a.addresses().get(0)));
        await(() -> a.handshakeOf(b.peerId()) != null && b.handshakeOf(a.peerId()) != null, "ready");
        CompletableFuture<Throwable> closed = new CompletableFuture<>();
        Stream s = get(b.openStream(a.peerId(), Handshake.ID, new StreamHandler() {
            @Override public void onData(Stream st, byte[] d) {}

            @Override public void onClosed(Stream st, Throwable cause) { closed.complete(cause); }
        }));
        s.write(FrameDecoder.frame(Handshake.encodeHello(new HandshakeInfo(1, 1, false))));
        assertThat(get(closed)).isNotNull(); // reset
        assertThat(a.counters().get(Handshake.MALFORMED)).isEqualTo(1);
        assertThat(get(b.ping(a.peerId()))).isPositive();
        assertThat(a.handshakeOf(b.peerId())).isNotNull();
    }

    /** A bare QUIC endpoint speaking multistream-select with the given protocols: no handshake of its own. */
    private record RawPeer(HostKey key, QuicTransport transport, Multiaddr address) {}

    private RawPeer rawPeer(Map<String, io.peersocket.negotiation.ProtocolHandler> protocols) throws Exception {
        ThreadEventLoop loop = new ThreadEventLoop("raw-peer");
        closeables.add(loop);
        HostKey key = HostKey.generate();
        QuicTransport t = new QuicTransport(TransportConfig.defaults(key, loop), new TransportHandler() {
            @Override public void onConnection(Connection connection) {}

            @Override public StreamHandler onStream(Stream stream) {
                return Multistream.listener(stream, protocols, null);
            }

            @Override public void onConnectionClosed(Connection connection, String reason) {}
        });
        closeables.add(t::close);
        Multiaddr addr = get(t.listen(List.of(Multiaddr.parse(LOOPBACK)))).get(0);
        return new RawPeer(key, t, addr.withPeerId(key.peerId()));
    }

    @Test
    void plainLibp2pPeerWithoutTheHandshakeKeepsItsConnectionButIsNeverReady() throws Exception {
        Node a = node(HandshakeConfig.defaults().withTimeoutMs(300));
        RawPeer plain = rawPeer(Map.of()); // speaks multistream, no protocols
        List<PeerEvent> ea = events(a);
        get(a.connect(plain.address()));
        await(() -> a.counters().get(Handshake.UNSUPPORTED) == 1, "unsupported counted");
        PeerId p = plain.key().peerId();
        // Past the handshake timeout the connection is still open, and never READY.
        assertThat(later(a, 600, () -> a.isConnected(p))).isTrue();
        assertThat(count(ea, PeerEvent.Kind.READY)).isZero();
        assertThat(a.counters().get(Handshake.REFUSED_TIMEOUT)).isZero();
        assertThat(a.handshakeOf(p)).isNull();
    }
}
