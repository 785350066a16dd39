package io.peersocket.node;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.despatch.Conversation;
import io.peersocket.despatch.ConversationHandler;
import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Header;
import io.peersocket.despatch.Message;
import io.peersocket.despatch.RemoteException;
import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolNotSupportedException;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.store.PeerRecord;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.FrameDecoder;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Nodes over real QUIC sockets on loopback. */
class NodeIntegrationTest {
    private static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void closeNodes() {
        for (Node n : nodes) n.close();
    }

    private Node node() throws Exception {
        return track(Node.builder().listen(LOOPBACK).start());
    }

    private Node track(Node n) {
        nodes.add(n);
        return n;
    }

    static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    static void await(BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("timed out waiting for " + what);
            Thread.onSpinWait();
            Thread.yield();
        }
    }

    @Test
    void pingIdentifyAndRequestReply() throws Exception {
        Node a = node(), b = node();
        a.despatcher().register(1, m -> m.reply(2, ("echo:" + m.payloadUtf8()).getBytes(StandardCharsets.UTF_8)));
        Connection c = get(b.connect(a.addresses().get(0)));
        assertThat(c.remotePeer()).isEqualTo(a.peerId());

        Duration rtt = get(b.ping(a.peerId()));
        assertThat(rtt).isPositive().isLessThan(Duration.ofSeconds(5));

        IdentifyInfo info = get(b.identify(a.peerId()));
        assertThat(info.protocols()).contains("/ipfs/ping/1.0.0", "/ipfs/id/1.0.0", Despatcher.PROTOCOL_ID);
        assertThat(info.agentVersion()).startsWith("peersocket/");
        assertThat(info.listenAddresses()).containsAll(a.listenAddresses());
        assertThat(info.observedAddress()).isEqualTo(c.localAddress());

        Message reply = get(b.despatcher().request(a.peerId(), 1, "hi".getBytes(StandardCharsets.UTF_8)));
        assertThat(reply.payloadUtf8()).isEqualTo("echo:hi");
        assertThat(reply.type()).isEqualTo(2);
        assertThat(reply.peer()).isEqualTo(a.peerId());

        // The other direction reuses the connection.
        b.despatcher().register(1, m -> m.reply(2, m.payload()));
        assertThat(get(a.despatcher().request(b.peerId(), 1, new byte[] {7})).payload()).containsExactly(7);
    }

    @Test
    void requestErrorsAreClear() throws Exception {
        Node a = node(), b = node();
        a.despatcher().register(5, m -> {
            throw new IllegalStateException("boom");
        });
        get(b.connect(a.addresses().get(0)));
        assertThatThrownBy(() -> get(b.despatcher().request(a.peerId(), 99, new byte[0])))
                .hasCauseInstanceOf(RemoteException.class).hasMessageContaining("no handler for message type 99");
        assertThatThrownBy(() -> get(b.despatcher().request(a.peerId(), 5, new byte[0])))
                .hasCauseInstanceOf(RemoteException.class).hasMessageContaining("boom");
        assertThatThrownBy(() -> b.despatcher().send(a.peerId(), 1, new byte[(4 << 20) + 1]))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("exceeds limit");
    }

    @Test
    void conversationExchangesMessagesInOrderBothWays() throws Exception {
        Node a = node(), b = node();
        List<Integer> seenByA = Collections.synchronizedList(new ArrayList<>());
        a.despatcher().registerConversation(10, opening -> (conv, m) -> {
            seenByA.add((int) m.payload()[0]);
            conv.send(11, new byte[] {(byte) (m.payload()[0] + 1)});
        });
        get(b.connect(a.addresses().get(0)));
        CompletableFuture<List<Integer>> done = new CompletableFuture<>();
        List<Integer> seenByB = new ArrayList<>();
        b.despatcher().openConversation(a.peerId(), 10, new byte[] {0}, new ConversationHandler() {
            @Override public void onMessage(Conversation conv, Message m) {
                int v = m.payload()[0];
                seenByB.add(v);
                if (v >= 9) conv.end();
                else conv.send(11, new byte[] {(byte) (v + 1)});
            }

            @Override public void onEnd(Conversation conv, EndReason reason, String detail) {
                if (reason == EndReason.LOCAL) done.complete(seenByB);
                else done.completeExceptionally(new AssertionError(reason + " " + detail));
            }
        });
        assertThat(get(done)).containsExactly(1, 3, 5, 7, 9);
        assertThat(seenByA).containsExactly(0, 2, 4, 6, 8);
    }

    @Test
    void unreliableMessagesTravelAsDatagrams() throws Exception {
        Node a = node(), b = node();
        CountDownLatch got = new CountDownLatch(1);
        List<Boolean> reliable = Collections.synchronizedList(new ArrayList<>());
        a.despatcher().register(3, m -> {
            reliable.add(m.isReliable());
            got.countDown();
        });
        get(b.connect(a.addresses().get(0)));
        // A reliable message first so the despatch link (and the connection's datagram support) is up.
        CountDownLatch first = new CountDownLatch(1);
        a.despatcher().register(4, m -> first.countDown());
        get(b.despatcher().send(a.peerId(), 4, new byte[1]));
        assertThat(first.await(20, TimeUnit.SECONDS)).isTrue();
        for (int i = 0; i < 20 && got.getCount() > 0; i++) {
            get(b.despatcher().sendUnreliable(a.peerId(), 3, new byte[16]));
            got.await(200, TimeUnit.MILLISECONDS);
        }
        assertThat(got.getCount()).isZero();
        assertThat(reliable).contains(false);
        assertThat(b.counters().get("despatch.sent_datagrams")).isPositive();

        // Larger than a datagram: goes on the stream instead, still delivered.
        CountDownLatch big = new CountDownLatch(1);
        a.despatcher().register(6, m -> {
            if (m.isReliable() && m.payload().length == 100_000) big.countDown();
        });
        get(b.despatcher().sendUnreliable(a.peerId(), 6, new byte[100_000]));
        assertThat(big.await(20, TimeUnit.SECONDS)).isTrue();
    }

    @Test
    void wrongPeerIdIsRefusedAndTheNodeKeepsServing() throws Exception {
        Node a = node(), b = node();
        Multiaddr wrong = a.listenAddresses().get(0).withPeerId(HostKey.generate().peerId());
        assertThatThrownBy(() -> get(b.connect(wrong)))
                .hasCauseInstanceOf(TransportException.class)
                .satisfies(e -> assertThat(((TransportException) e.getCause()).kind())
                        .isEqualTo(TransportException.Kind.PEER_ID_MISMATCH));
        assertThat(get(b.ping(connectAndGetPeer(b, a)))).isPositive();
    }

    private io.peersocket.identity.PeerId connectAndGetPeer(Node from, Node to) throws Exception {
        return get(from.connect(to.addresses().get(0))).remotePeer();
    }

    @Test
    void unreachableAddressFailsWithinTheHandshakeTimeout() throws Exception {
        int port;
        try (DatagramSocket s = new DatagramSocket(0)) {
            port = s.getLocalPort();
        }
        Node b = track(Node.builder().listen(LOOPBACK).transportSettings(c -> c.withHandshakeTimeoutMs(1500)).start());
        Multiaddr nowhere = Multiaddr.parse("/ip4/127.0.0.1/udp/" + port + "/quic-v1");
        long t0 = System.nanoTime();
        assertThatThrownBy(() -> b.connect(nowhere).get(10, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(TransportException.class);
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).isLessThan(Duration.ofSeconds(9));
    }

    @Test
    void unknownProtocolAndGarbageStreamsDoNotHurtTheNode() throws Exception {
        Node a = node(), b = node();
        a.despatcher().register(1, m -> m.reply(2, m.payload()));
        get(b.connect(a.addresses().get(0)));

        assertThatThrownBy(() -> get(b.openStream(a.peerId(), "/no/such/1.0.0", (s, d) -> {})))
                .hasCauseInstanceOf(ProtocolNotSupportedException.class);

        // Garbage instead of a multistream header: the listener resets that stream and counts it.
        Connection c = get(b.connection(a.peerId()));
        CountDownLatch closed = new CountDownLatch(1);
        Stream raw = get(c.openStream(new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {}

            @Override public void onClosed(Stream s, Throwable cause) { closed.countDown(); }
        }));
        get(raw.write(new byte[] {(byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff,
            (byte) 0xff, (byte) 0xff, (byte) 0xff, (byte) 0xff, 1, 2, 3}));
        assertThat(closed.await(20, TimeUnit.SECONDS)).isTrue();
        await(() -> a.counters().get("node.negotiation.failed") >= 1, "negotiation failure counted");

        // The node still serves this peer and others.
        assertThat(get(b.despatcher().request(a.peerId(), 1, new byte[] {1})).payload()).containsExactly(1);
        Node d = node();
        get(d.connect(a.addresses().get(0)));
        assertThat(get(d.despatcher().request(a.peerId(), 1, new byte[] {2})).payload()).containsExactly(2);
    }

    @Test
    void malformedAndOversizeDespatchFramesResetOnlyThatStream() throws Exception {
        Node a = track(Node.builder().listen(LOOPBACK)
                .despatch(io.peersocket.despatch.DespatchConfig.defaults().withMaxMessageBytes(64 * 1024)).start());
        Node b = node();
        a.despatcher().register(1, m -> m.reply(2, m.payload()));
        Connection c = get(b.connect(a.addresses().get(0)));

        Stream bad = get(b.openStream(a.peerId(), Despatcher.PROTOCOL_ID, (s, d) -> {}));
        get(bad.write(FrameDecoder.frame(new byte[] {9, 9, 9})));  // version 9
        await(() -> a.counters().get("despatch.drop.malformed") == 1, "malformed frame counted");

        Stream big = get(b.openStream(a.peerId(), Despatcher.PROTOCOL_ID, (s, d) -> {}));
        byte[] header = new byte[] {(byte) 0x80, (byte) 0x80, 0x10}; // varint 262144 > 64 KiB + header
        get(big.write(header));
        await(() -> a.counters().get("despatch.drop.oversize") == 1, "oversize frame counted");

        // A reply nobody asked for is dropped and counted.
        Stream s = get(b.openStream(a.peerId(), Despatcher.PROTOCOL_ID, (x, d) -> {}));
        byte[] reply = new Header(Header.F_IN_REPLY_TO, 2, 1, 424242, 0, null).encode(new byte[] {1});
        get(s.write(FrameDecoder.frame(reply)));
        await(() -> a.counters().get("despatch.drop.unknown_reply") == 1, "unknown reply counted");

        assertThat(get(b.despatcher().request(a.peerId(), 1, new byte[] {5})).payload()).containsExactly(5);
        assertThat(c.isOpen()).isTrue();
    }

    @Test
    void restartedNodeKeepsItsIdentityAndKnownPeers(@TempDir Path dir) throws Exception {
        Node other = node();
        Path data = dir.resolve("n");
        io.peersocket.identity.PeerId id;
        try (Node n = Node.builder().dataDir(data).listen(LOOPBACK).start()) {
            id = n.peerId();
            get(n.connect(other.addresses().get(0)));
            await(() -> n.identifyInfo(other.peerId()) != null, "identify");
            assertThatThrownBy(() -> Node.builder().dataDir(data).listen(LOOPBACK).start())
                    .hasMessageContaining("in use by another node");
        }
        try (Node n = Node.builder().dataDir(data).listen(LOOPBACK).start()) {
            assertThat(n.peerId()).isEqualTo(id);
            List<PeerRecord> known = get(n.store().peers().knownPeers(10));
            assertThat(known).extracting(PeerRecord::peerId).containsExactly(other.peerId().toString());
            assertThat(known.get(0).addresses()).contains(other.listenAddresses().get(0).toString());
            // It reconnects by itself to the peers it knew (no bootstrap needed), then pings by peer id alone.
            await(() -> n.connectedPeers().join().contains(other.peerId()), "redial of a stored peer");
            assertThat(get(n.ping(other.peerId()))).isPositive();
        }
    }

    @Test
    void rawMultistreamNegotiationMatchesTheSpec() throws Exception {
        Node a = node(), b = node();
        Connection c = get(b.connect(a.addresses().get(0)));
        CompletableFuture<byte[]> answer = new CompletableFuture<>();
        java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        byte[] expected = concat(Multistream.encode("/multistream/1.0.0"), Multistream.encode("na"),
                Multistream.encode("/ipfs/ping/1.0.0"));
        Stream s = get(c.openStream((st, d) -> {
            got.writeBytes(d);
            if (got.size() >= expected.length) answer.complete(got.toByteArray());
        }));
        // Pipelined: header, an unknown proposal and a supported one in one write.
        get(s.write(concat(Multistream.encode("/multistream/1.0.0"), Multistream.encode("/nope"),
                Multistream.encode("/ipfs/ping/1.0.0"))));
        assertThat(get(answer)).isEqualTo(expected);
    }

    private static byte[] concat(byte[]... parts) {
        java.io.ByteArrayOutputStream o = new java.io.ByteArrayOutputStream();
        for (byte[] p : parts) o.writeBytes(p);
        return o.toByteArray();
    }
}
