package io.peersocket.protocol.peers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import io.peersocket.util.Varint;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Peer exchange between real nodes over QUIC on loopback, each with a real SQLite store in a temp dir. */
class PeerExchangeTest {
    private static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    private final List<AutoCloseable> closeables = new ArrayList<>();

    @TempDir Path tmp;

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : closeables.reversed()) c.close();
    }

    /** A node and its peer exchange. */
    record P(Node node, PeerExchange pex) {
        PeerId id() { return node.peerId(); }

        long counter(String name) { return node.counters().get(name); }

        void close() { node.close(); }
    }

    private P start(String dir, HostKey key, PeerExchangeConfig cfg) throws Exception {
        // No redial at start: these tests decide exactly which connections happen.
        var b = Node.builder().listen(LOOPBACK).dataDir(tmp.resolve(dir)).peerExchange(cfg).redialOnStart(0);
        if (key != null) b.hostKey(key);
        Node n = b.start();
        P p = new P(n, n.peerExchange());
        closeables.add(p::close);
        get(p.pex().loaded());
        return p;
    }

    private P start(String dir) throws Exception { return start(dir, null, PeerExchangeConfig.defaults()); }

    static <T> T get(CompletableFuture<T> f) throws Exception { return f.get(20, TimeUnit.SECONDS); }

    static void await(BooleanSupplier condition, String what) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            LockSupport.parkNanos(200_000);
        }
    }

    /** Runs {@code probe} on {@code n}'s event loop. */
    static <T> T onLoop(Node n, Supplier<T> probe) throws Exception {
        CompletableFuture<T> f = new CompletableFuture<>();
        n.loop().execute(() -> f.complete(probe.get()));
        return get(f);
    }

    static boolean lists(P x, P y) { return x.pex().recencyList().stream().anyMatch(e -> e.peer().equals(y.id())); }

    /** Both have each other in their lists and each is acknowledged up to its whole log by the other. */
    static void awaitSynced(P x, P y) {
        await(() -> lists(x, y) && lists(y, x)
                && x.pex().cursorFor(y.id()) == x.pex().lastSeq() && y.pex().cursorFor(x.id()) == y.pex().lastSeq(),
                x.id().shortString() + " and " + y.id().shortString() + " in sync");
    }

    private static void connect(P from, P to) throws Exception {
        get(from.node().connect(to.node().addresses().get(0)));
        awaitSynced(from, to);
    }

    /** Connects two nodes that were connected before: waits for both to log the new connection, then for sync. */
    private static void reconnect(P from, P to) throws Exception {
        long fromSeq = from.pex().lastSeq(), toSeq = to.pex().lastSeq();
        get(from.node().connect(to.node().addresses().get(0)));
        await(() -> from.pex().lastSeq() > fromSeq && to.pex().lastSeq() > toSeq, "new connection logged");
        awaitSynced(from, to);
    }

    private static List<PeerId> peers(List<PeerEntry> list) { return list.stream().map(PeerEntry::peer).toList(); }

    private static List<PeerId> known(P p) { return p.pex().knownPeers().stream().map(KnownPeer::peer).toList(); }

    @Test
    void chainCLearnsAFromBsListAndCanDialIt() throws Exception {
        P a = start("a"), b = start("b"), c = start("c");
        connect(a, b);
        connect(c, b);

        assertThat(peers(b.pex().recencyList())).containsExactly(c.id(), a.id()); // newest first
        assertThat(peers(a.pex().recencyList())).containsExactly(b.id());
        assertThat(peers(c.pex().recencyList())).containsExactly(b.id()); // learned peers are not "connected to"
        PeerEntry aAtB = b.pex().recencyList().get(1);
        assertThat(aAtB.addresses()).containsExactly(a.node().listenAddresses().get(0));
        assertThat(aAtB.seq()).isLessThan(b.pex().recencyList().get(0).seq());

        assertThat(c.pex().knownPeers()).singleElement().satisfies(k -> {
            assertThat(k.peer()).isEqualTo(a.id());
            assertThat(k.via()).isEqualTo(b.id());
            assertThat(k.addresses()).containsExactly(a.node().listenAddresses().get(0));
            assertThat(k.lastSeenMs()).isEqualTo(aAtB.lastSeenMs());
        });
        assertThat(onLoop(c.node(), () -> c.node().addressesOf(a.id()))).contains(a.node().listenAddresses().get(0));
        assertThat(c.counter(PeerExchange.ENTRIES_RECEIVED)).isEqualTo(1);
        assertThat(a.counter(PeerExchange.ENTRIES_RECEIVED)).isZero(); // b's list held only a when a connected

        // c dials a by peer id alone, through the address it learned.
        get(c.node().connection(a.id()));
        awaitSynced(c, a);
        assertThat(peers(c.pex().recencyList())).containsExactly(a.id(), b.id());
    }

    @Test
    void periodicExchangeBringsConnectedCounterpartiesUpToDate() throws Exception {
        PeerExchangeConfig fast = PeerExchangeConfig.defaults().withExchangeIntervalMs(100);
        P a = start("a", null, fast), b = start("b", null, fast), c = start("c", null, fast);
        connect(a, b);
        long aReceived = a.counter(PeerExchange.ENTRIES_RECEIVED);
        connect(c, b); // b's log gains c; a stays connected and is now behind
        await(() -> known(a).contains(c.id()), "a learns c from b's periodic exchange");
        await(() -> b.pex().cursorFor(a.id()) == b.pex().lastSeq(), "a acknowledged b's whole log");
        assertThat(a.counter(PeerExchange.ENTRIES_RECEIVED) - aReceived).isEqualTo(1);
        assertThat(peers(a.pex().recencyList())).containsExactly(b.id()); // still only whom a connected to
    }

    @Test
    void afterReconnectOnlyNewEntriesAreSent() throws Exception {
        P a = start("a"), b = start("b"), c = start("c"), d = start("d"), e = start("e");
        connect(b, c);
        connect(b, d);
        connect(a, b); // b sends a [d, c]
        assertThat(known(a)).containsExactlyInAnyOrder(c.id(), d.id());
        assertThat(a.counter(PeerExchange.ENTRIES_RECEIVED)).isEqualTo(2);
        long cursorBefore = b.pex().cursorFor(a.id());
        assertThat(cursorBefore).isEqualTo(b.pex().lastSeq());

        get(a.node().disconnect(b.id()));
        await(() -> b.node().handshakeOf(a.id()) == null && a.node().handshakeOf(b.id()) == null, "a–b closed");
        connect(b, e);
        long bSent = b.counter(PeerExchange.ENTRIES_SENT), aReceived = a.counter(PeerExchange.ENTRIES_RECEIVED);
        long aSent = a.counter(PeerExchange.ENTRIES_SENT), bReceived = b.counter(PeerExchange.ENTRIES_RECEIVED);

        reconnect(a, b);
        // b's log now: c, d, e, a; a had everything up to d, and its own entry is left out: only e goes.
        assertThat(b.counter(PeerExchange.ENTRIES_SENT) - bSent).isEqualTo(1);
        assertThat(a.counter(PeerExchange.ENTRIES_RECEIVED) - aReceived).isEqualTo(1);
        assertThat(known(a)).containsExactlyInAnyOrder(c.id(), d.id(), e.id());
        assertThat(b.pex().cursorFor(a.id())).isGreaterThan(cursorBefore).isEqualTo(b.pex().lastSeq());
        // a's log holds only b: nothing to send but the advance past b's own (superseded) entry.
        assertThat(a.counter(PeerExchange.ENTRIES_SENT) - aSent).isZero();
        assertThat(b.counter(PeerExchange.ENTRIES_RECEIVED) - bReceived).isZero();
        assertThat(peers(b.pex().recencyList())).containsExactly(a.id(), e.id(), d.id(), c.id());

        // An explicit exchange with an up-to-date counterparty sends nothing.
        ExchangeResult r = get(b.pex().exchange(a.id()));
        assertThat(r.entriesSent()).isZero();
        assertThat(r.batches()).isZero();
        assertThat(r.cursor()).isEqualTo(b.pex().lastSeq());
    }

    @Test
    void restartWithTheDataDirResumesExactlyAndResendsNothing() throws Exception {
        P a = start("a"), b = start("b"), c = start("c");
        HostKey aKey = a.node().hostKey(), bKey = b.node().hostKey();
        connect(a, c);
        connect(b, a); // a sends b [c]
        List<PeerEntry> aList = a.pex().recencyList();
        long aCursorForB = a.pex().cursorFor(b.id()), bCursorForA = b.pex().cursorFor(a.id());
        List<KnownPeer> bKnown = b.pex().knownPeers();
        assertThat(bKnown).extracting(KnownPeer::peer).containsExactly(c.id());
        assertThat(aCursorForB).isEqualTo(a.pex().lastSeq()).isPositive();

        a.close();
        b.close();
        P a2 = start("a", aKey, PeerExchangeConfig.defaults());
        P b2 = start("b", bKey, PeerExchangeConfig.defaults());
        assertThat(a2.pex().recencyList()).isEqualTo(aList);
        assertThat(a2.pex().cursorFor(b2.id())).isEqualTo(aCursorForB);
        assertThat(b2.pex().cursorFor(a2.id())).isEqualTo(bCursorForA);
        assertThat(b2.pex().knownPeers()).isEqualTo(bKnown);
        assertThat(onLoop(b2.node(), () -> b2.node().addressesOf(c.id()))).contains(c.node().listenAddresses().get(0));

        reconnect(b2, a2);
        assertThat(a2.counter(PeerExchange.ENTRIES_SENT)).isZero();
        assertThat(b2.counter(PeerExchange.ENTRIES_SENT)).isZero();
        assertThat(a2.counter(PeerExchange.DELTAS_RECEIVED)).isEqualTo(1); // b's advance past a's own new entry
        for (P p : List.of(a2, b2)) {
            assertThat(p.counter(PeerExchange.START_OVER_SENT)).isZero();
            assertThat(p.counter(PeerExchange.START_OVER_RECEIVED)).isZero();
        }
        assertThat(peers(a2.pex().recencyList())).containsExactly(b2.id(), c.id());
        assertThat(a2.pex().recencyList().get(0).seq()).isGreaterThan(aList.get(0).seq()); // numbering continues
    }

    @Test
    void counterpartyThatLostItsDataAsksToStartOverAndGetsEverything() throws Exception {
        P a = start("a"), b = start("b"), c = start("c"), d = start("d");
        connect(a, c);
        connect(a, d);
        connect(b, a); // a sends b [d, c]; a's cursor for b covers its whole log
        HostKey bKey = b.node().hostKey();
        b.close();

        P b2 = start("b-fresh", bKey, PeerExchangeConfig.defaults()); // same identity, empty data dir
        assertThat(b2.pex().knownPeers()).isEmpty();
        long aSent = a.counter(PeerExchange.ENTRIES_SENT);
        reconnect(b2, a);
        assertThat(b2.counter(PeerExchange.START_OVER_SENT)).isEqualTo(1);
        assertThat(a.counter(PeerExchange.START_OVER_RECEIVED)).isEqualTo(1);
        assertThat(a.counter(PeerExchange.ENTRIES_SENT) - aSent).isEqualTo(2);
        assertThat(known(b2)).containsExactlyInAnyOrder(c.id(), d.id());

        // Asking explicitly: b2 forgets where it is in a's log; a's next delta is answered with a start-over.
        get(b2.pex().startOver(a.id()));
        P e = start("e");
        connect(a, e);
        ExchangeResult r = get(a.pex().exchange(b2.id()));
        assertThat(r.startedOver()).isTrue();
        // First [e] (after its cursor), then on the start-over request [c, d, e]: the whole log but b2's own entry.
        assertThat(r.entriesSent()).isEqualTo(4);
        assertThat(r.batches()).isEqualTo(2);
        assertThat(r.cursor()).isEqualTo(a.pex().lastSeq());
        assertThat(known(b2)).containsExactlyInAnyOrder(c.id(), d.id(), e.id());
    }

    @Test
    void listSizeBatchSizeAndKnownPeersAreBounded() throws Exception {
        P a = start("a", null, PeerExchangeConfig.defaults().withMaxListSize(3).withMaxEntriesPerMessage(1));
        P b = start("b", null, PeerExchangeConfig.defaults().withMaxKnownPeers(1));
        P c = start("c"), d = start("d"), e = start("e"), f = start("f");
        connect(a, c);
        connect(a, d);
        connect(a, e);
        connect(a, f); // c is dropped: the list holds 3
        assertThat(peers(a.pex().recencyList())).containsExactly(f.id(), e.id(), d.id());
        int rows = get(a.node().store().read("count", db -> {
            try (ResultSet rs = db.prepare("SELECT count(*) FROM pex_log").executeQuery()) {
                return rs.next() ? rs.getInt(1) : -1;
            }
        }));
        assertThat(rows).isEqualTo(3);

        long deltas = a.counter(PeerExchange.DELTAS_SENT), entries = a.counter(PeerExchange.ENTRIES_SENT);
        connect(b, a); // log e, f, b (d dropped for b): one entry per delta; b's own entry is only passed over
        assertThat(peers(a.pex().recencyList())).containsExactly(b.id(), f.id(), e.id());
        assertThat(a.counter(PeerExchange.ENTRIES_SENT) - entries).isEqualTo(2);
        assertThat(a.counter(PeerExchange.DELTAS_SENT) - deltas).isEqualTo(2); // b's own entry rides in the 2nd
        assertThat(b.counter(PeerExchange.ENTRIES_RECEIVED)).isEqualTo(2);
        assertThat(b.pex().knownPeers()).hasSize(1);
    }

    @Test
    void malformedAndOversizedMessagesResetTheStreamAndAreCounted() throws Exception {
        P a = start("a", null, PeerExchangeConfig.defaults().withReplyTimeoutMs(2_000));
        Node b = Node.builder().listen(LOOPBACK).start(); // a node without peer exchange
        closeables.add(b);
        get(b.connect(a.node().addresses().get(0)));
        await(() -> a.node().handshakeOf(b.peerId()) != null && b.handshakeOf(a.id()) != null, "ready");

        CompletableFuture<Throwable> reset1 = new CompletableFuture<>();
        Stream s1 = get(b.openStream(a.id(), PeerExchange.ID, closedInto(reset1)));
        s1.write(FrameDecoder.frame(new byte[] {0x0A, 0x05, 0x10})); // a delta that ends mid-field
        assertThat(get(reset1)).isNotNull();
        await(() -> a.counter(PeerExchange.MALFORMED) == 1, "malformed counted");

        CompletableFuture<Throwable> reset2 = new CompletableFuture<>();
        Stream s2 = get(b.openStream(a.id(), PeerExchange.ID, closedInto(reset2)));
        s2.write(Varint.encode(PeerExchangeConfig.defaults().maxMessageBytes() + 1)); // announces an oversized frame
        assertThat(get(reset2)).isNotNull();
        await(() -> a.counter(PeerExchange.MALFORMED) == 2, "oversized counted");

        CompletableFuture<Throwable> reset3 = new CompletableFuture<>();
        Stream s3 = get(b.openStream(a.id(), PeerExchange.ID, closedInto(reset3)));
        s3.write(FrameDecoder.frame(PeersCodec.encode(new PeersCodec.Ack(1, 1)))); // an ack where a delta belongs
        assertThat(get(reset3)).isNotNull();
        await(() -> a.counter(PeerExchange.MALFORMED) == 3, "out-of-order counted");

        // A well-formed delta is acknowledged, and the connection is still fine.
        CompletableFuture<byte[]> answer = new CompletableFuture<>();
        Stream s4 = get(b.openStream(a.id(), PeerExchange.ID, (st, d) -> answer.complete(d)));
        HostKey other = HostKey.generate();
        PeerEntry entry = new PeerEntry(1, other.peerId(), List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/9/quic-v1")), 5);
        s4.write(FrameDecoder.frame(PeersCodec.encode(new PeersCodec.Delta(77, 0, 1, List.of(entry)))));
        byte[] framed = get(answer);
        assertThat(PeersCodec.decode(java.util.Arrays.copyOfRange(framed, 1, framed.length), PeerExchangeConfig.defaults()))
                .isEqualTo(new PeersCodec.Ack(77, 1));
        assertThat(known(a)).containsExactly(other.peerId());
        assertThat(get(b.ping(a.id()))).isPositive();
    }

    @Test
    void counterpartyAnsweringGarbageFailsTheExchange() throws Exception {
        P a = start("a");
        Node b = Node.builder().listen(LOOPBACK).start();
        closeables.add(b);
        b.registerProtocol(PeerExchange.ID, (s, id) -> (st, d) -> st.write(FrameDecoder.frame(new byte[] {(byte) 0xFF})));
        get(b.connect(a.node().addresses().get(0)));
        await(() -> a.pex().recencyList().size() == 1, "b in a's list");
        // The exchange a started on READY fails; so does an explicit one.
        await(() -> a.counter(PeerExchange.EXCHANGE_FAILED) >= 1, "exchange failed");
        assertThatThrownBy(() -> get(a.pex().exchange(b.peerId())))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(PeerExchangeException.class);
        assertThat(a.counter(PeerExchange.MALFORMED)).isGreaterThanOrEqualTo(2);
        assertThat(a.pex().cursorFor(b.peerId())).isZero();
    }

    @Test
    void peerWithoutTheHandshakeIsRefused() throws Exception {
        P a = start("a", null, PeerExchangeConfig.defaults().withReplyTimeoutMs(300));
        ThreadEventLoop loop = new ThreadEventLoop("plain-libp2p");
        closeables.add(loop);
        HostKey key = HostKey.generate();
        QuicTransport plain = new QuicTransport(TransportConfig.defaults(key, loop), new TransportHandler() {
            @Override public void onConnection(Connection connection) {}

            @Override public StreamHandler onStream(Stream stream) { return Multistream.listener(stream, Map.of(), null); }

            @Override public void onConnectionClosed(Connection connection, String reason) {}
        });
        closeables.add(plain::close);
        get(plain.listen(List.of(Multiaddr.parse(LOOPBACK))));
        Connection c = get(plain.dial(a.node().addresses().get(0), a.id()));
        CompletableFuture<Throwable> reset = new CompletableFuture<>();
        Stream s = get(Multistream.select(c, List.of(PeerExchange.ID), id -> closedInto(reset))).stream();
        s.write(FrameDecoder.frame(PeersCodec.encode(new PeersCodec.Delta(1, 0, 0, List.of()))));
        assertThat(get(reset)).isNotNull();
        assertThat(a.counter(PeerExchange.REFUSED_NOT_READY)).isEqualTo(1);
        assertThat(a.counter(PeerExchange.DELTAS_RECEIVED)).isZero();
    }

    private static StreamHandler closedInto(CompletableFuture<Throwable> f) {
        return new StreamHandler() {
            @Override public void onData(Stream s, byte[] d) {}

            @Override public void onClosed(Stream s, Throwable cause) { f.complete(cause); }
        };
    }
}
