package io.peersocket.protocol.holepunch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.node.NodeBuilder;
import io.peersocket.protocol.holepunch.HolePunchCodec.IntroKind;
import io.peersocket.protocol.holepunch.HolePunchCodec.IntroStatus;
import io.peersocket.protocol.holepunch.HolePunchCodec.Introduce;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Introduction and DCUtR between real QUIC nodes on loopback (no NAT here: the netns test in peersocket-cli has
 * the real NATs). Checks who punches, who dials, what is refused and counted.
 */
class HolePunchNodesTest {
    private static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    private final List<Node> nodes = new ArrayList<>();

    private Node start(UnaryOperator<NodeBuilder> tweak) throws Exception {
        Node n = tweak.apply(Node.builder().listen(LOOPBACK)).start();
        nodes.add(n);
        return n;
    }

    private Node start() throws Exception {
        return start(b -> b);
    }

    @AfterEach
    void tearDown() {
        nodes.forEach(Node::close);
    }

    private static void connect(Node from, Node to) throws Exception {
        from.connect(to.addresses().get(0)).get(10, TimeUnit.SECONDS);
        await(() -> to.connectedPeers().join().contains(from.peerId()));
    }

    private static void await(BooleanSupplier cond) throws Exception {
        long end = System.currentTimeMillis() + 10_000;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) throw new AssertionError("condition not met within 10 s");
            CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS)).get();
        }
    }

    @Test
    void mutualPeerIntroducesAndTheTargetPunchesWhileTheRequesterDials() throws Exception {
        Node m = start();
        Node a = start();
        Node b = start();
        connect(a, m);
        connect(b, m);
        assertThat(a.connectedPeers().get(5, TimeUnit.SECONDS)).doesNotContain(b.peerId());

        Connection c = a.connectDirect(b.peerId()).get(15, TimeUnit.SECONDS);
        assertThat(c.remotePeer()).isEqualTo(b.peerId());
        assertThat(c.direction()).isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(c.isLimited()).isFalse();
        assertThat(c.remoteAddress()).isEqualTo(b.listenAddresses().get(0));
        assertThat(m.counters().get("holepunch.intro.served")).isEqualTo(1);
        assertThat(b.counters().get("holepunch.intro.punching")).isEqualTo(1);
        await(() -> b.counters().get("holepunch.punch.packets") > 0);
        assertThat(a.counters().get("holepunch.direct.ok")).isEqualTo(1);
        assertThat(a.ping(b.peerId()).get(5, TimeUnit.SECONDS)).isPositive();

        // Already connected directly: the same connection, no new introduction.
        assertThat(a.connectDirect(b.peerId()).get(5, TimeUnit.SECONDS)).isSameAs(c);
        assertThat(m.counters().get("holepunch.intro.served")).isEqualTo(1);
    }

    @Test
    void simultaneousOpenBothWaysLeavesTwoConnectionsAndTheNodesKeepWorking() throws Exception {
        Node a = start();
        Node b = start();
        CompletableFuture<Connection> ab = a.connect(b.addresses().get(0));
        CompletableFuture<Connection> ba = b.connect(a.addresses().get(0));
        Connection c1 = ab.get(10, TimeUnit.SECONDS);
        ba.get(10, TimeUnit.SECONDS);
        await(() -> a.openConnections(b.peerId()).join().size() == 2 && b.openConnections(a.peerId()).join().size() == 2);
        await(() -> a.handshakeOf(b.peerId()) != null && b.handshakeOf(a.peerId()) != null);
        assertThat(a.ping(b.peerId()).get(5, TimeUnit.SECONDS)).isPositive();
        assertThat(b.ping(a.peerId()).get(5, TimeUnit.SECONDS)).isPositive();
        // one of them closes: the other carries on
        c1.close().get(5, TimeUnit.SECONDS);
        await(() -> a.openConnections(b.peerId()).join().size() == 1 && b.openConnections(a.peerId()).join().size() == 1);
        assertThat(a.ping(b.peerId()).get(5, TimeUnit.SECONDS)).isPositive();
        assertThat(b.ping(a.peerId()).get(5, TimeUnit.SECONDS)).isPositive();
        assertThat(a.counters().get("node.dial.failed.timeout")).isZero();
    }

    @Test
    void introducerWithoutTheTargetAnswersNotConnectedAndTheTryFails() throws Exception {
        Node m = start();
        Node a = start();
        Node b = start(); // not connected to m
        connect(a, m);
        Introduce r = a.introduction().requestIntroduction(m.peerId(), b.peerId()).get(10, TimeUnit.SECONDS);
        assertThat(r.status()).isEqualTo(IntroStatus.E_NOT_CONNECTED);
        assertThat(m.counters().get("holepunch.intro.refused.not_connected")).isEqualTo(1);
        // a has no address of b and no introducer that knows it: connectDirect fails after its one try
        assertThatThrownBy(() -> a.connectDirect(b.peerId(), 1).get(15, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasMessageContaining("no direct connection");
        assertThat(a.counters().get("holepunch.direct.failed")).isEqualTo(1);
    }

    @Test
    void introducerRateLimitsEachRequester() throws Exception {
        Node m = start(b -> b.holePunch(HolePunchConfig.defaults().withRateLimits(2, 100, 60_000)));
        Node a = start();
        Node b = start();
        connect(a, m);
        connect(b, m);
        for (int i = 0; i < 2; i++) {
            assertThat(a.introduction().requestIntroduction(m.peerId(), b.peerId()).get(10, TimeUnit.SECONDS).status())
                    .isEqualTo(IntroStatus.OK);
        }
        Introduce third = a.introduction().requestIntroduction(m.peerId(), b.peerId()).get(10, TimeUnit.SECONDS);
        assertThat(third.status()).isEqualTo(IntroStatus.E_RATE_LIMITED);
        assertThat(m.counters().get("holepunch.intro.refused.rate_limited")).isEqualTo(1);
        assertThat(b.counters().get("holepunch.intro.punching")).isEqualTo(2);
    }

    @Test
    void absurdRequestsAreRejectedAndCounted() throws Exception {
        Node m = start();
        Node a = start();
        connect(a, m);
        // introduce me to myself
        assertThat(a.introduction().requestIntroduction(m.peerId(), a.peerId()).get(10, TimeUnit.SECONDS).status())
                .isEqualTo(IntroStatus.E_BAD_REQUEST);
        // an INTRODUCE naming the target itself as requester, from a peer: refused by the target
        Introduce bad = new Introduce(IntroKind.INTRODUCE, m.peerId(), List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/9/quic-v1")),
                0, IntroStatus.OK, "");
        assertThat(raw(a, m, HolePunchCodec.encode(bad)).status()).isEqualTo(IntroStatus.E_BAD_REQUEST);
        // garbage
        assertThat(raw(a, m, new byte[] {(byte) 0xff, 0x01, 0x02}).status()).isEqualTo(IntroStatus.E_BAD_REQUEST);
        // 17 addresses: over the bound
        List<Multiaddr> many = new ArrayList<>();
        for (int i = 0; i < 17; i++) many.add(Multiaddr.parse("/ip4/10.0.0." + i + "/udp/9/quic-v1"));
        byte[] tooMany = io.peersocket.protocol.holepunch.pb.HolePunchProto.Introduce.newBuilder()
                .setType(io.peersocket.protocol.holepunch.pb.HolePunchProto.Introduce.Type.INTRODUCE)
                .setPeer(com.google.protobuf.ByteString.copyFrom(HostKey.generate().peerId().toBytes()))
                .addAllAddrs(many.stream().map(x -> com.google.protobuf.ByteString.copyFrom(x.toBytes())).toList())
                .build().toByteArray();
        assertThat(raw(a, m, tooMany).text()).contains("limit 16");
        assertThat(m.counters().get("holepunch.intro.bad_message")).isEqualTo(3);
        assertThat(m.counters().get("holepunch.intro.refused.bad_target")).isEqualTo(1);
        assertThat(m.counters().get("holepunch.intro.punching")).isZero();
    }

    /** Sends one raw introduce frame from {@code from} to {@code to} and decodes the answer. */
    private static Introduce raw(Node from, Node to, byte[] payload) throws Exception {
        CompletableFuture<Introduce> answer = new CompletableFuture<>();
        FrameDecoder d = new FrameDecoder(HolePunchCodec.MAX_MESSAGE_BYTES);
        Stream s = from.openStream(to.peerId(), Introduction.PROTOCOL_ID, new StreamHandler() {
            @Override public void onData(Stream st, byte[] data) {
                d.feed(data, f -> answer.complete(HolePunchCodec.decodeIntroduce(f)));
            }

            @Override public void onClosed(Stream st, Throwable cause) {
                answer.completeExceptionally(new AssertionError("closed without an answer"));
            }
        }).get(10, TimeUnit.SECONDS);
        s.write(FrameDecoder.frame(payload));
        return answer.get(10, TimeUnit.SECONDS);
    }

    @Test
    void dcutrOverAnExistingConnectionOpensASecondDirectOne() throws Exception {
        Node a = start();
        Node b = start();
        connect(b, a);
        Connection via = b.connection(a.peerId()).get(5, TimeUnit.SECONDS);
        Connection direct = b.dcutr().upgrade(via).get(15, TimeUnit.SECONDS);
        assertThat(direct).isNotSameAs(via);
        assertThat(direct.remotePeer()).isEqualTo(a.peerId());
        assertThat(direct.remoteAddress()).isEqualTo(a.listenAddresses().get(0));
        assertThat(a.counters().get("dcutr.connect")).isEqualTo(1);
        assertThat(a.counters().get("dcutr.sync")).isEqualTo(1);
        assertThat(b.counters().get("dcutr.direct.ok")).isEqualTo(1);
        // (a punches only while it has no direct connection to b; here `via` is one, so the bursts stop at once)
    }

    @Test
    void limitedInboundConnectionTriggersDcutrAndTheNodePrefersTheDirectOne() throws Exception {
        Node a = start();
        Node b = start(x -> x.transport(FirstInboundLimited::new));
        // a dials b; b sees it as limited (as a relayed connection) and runs DCUtR as initiator by itself
        a.connect(b.addresses().get(0)).get(10, TimeUnit.SECONDS);
        await(() -> b.counters().get("dcutr.direct.ok") == 1);
        List<Connection> conns = b.openConnections(a.peerId()).get(5, TimeUnit.SECONDS);
        assertThat(conns).anyMatch(Connection::isLimited);
        Connection direct = conns.stream().filter(c -> !c.isLimited()).findFirst().orElseThrow();
        assertThat(direct.direction()).as("the DCUtR initiator dials").isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(a.counters().get("dcutr.sync")).isEqualTo(1);
        // streams now go over the direct connection
        assertThat(b.connection(a.peerId()).get(5, TimeUnit.SECONDS).isLimited()).isFalse();
        assertThat(b.ping(a.peerId()).get(5, TimeUnit.SECONDS)).isPositive();
    }

    @Test
    void dcutrResponderResetsOnGarbageAndCountsIt() throws Exception {
        Node a = start();
        Node b = start();
        connect(b, a);
        CompletableFuture<Throwable> closed = new CompletableFuture<>();
        Stream s = b.openStream(a.peerId(), Dcutr.PROTOCOL_ID, new StreamHandler() {
            @Override public void onData(Stream st, byte[] data) { }

            @Override public void onClosed(Stream st, Throwable cause) { closed.complete(cause); }
        }).get(10, TimeUnit.SECONDS);
        s.write(FrameDecoder.frame(new byte[] {0x08, 0x07})); // type 7: unknown
        closed.get(10, TimeUnit.SECONDS);
        await(() -> a.counters().get("dcutr.bad_message") == 1);
        // SYNC before any CONNECT is a protocol error as well
        CompletableFuture<Throwable> closed2 = new CompletableFuture<>();
        Stream s2 = b.openStream(a.peerId(), Dcutr.PROTOCOL_ID, new StreamHandler() {
            @Override public void onData(Stream st, byte[] data) { }

            @Override public void onClosed(Stream st, Throwable cause) { closed2.complete(cause); }
        }).get(10, TimeUnit.SECONDS);
        s2.write(FrameDecoder.frame(HolePunchCodec.encode(new HolePunchCodec.Dcutr(HolePunchCodec.DcutrType.SYNC, List.of()))));
        closed2.get(10, TimeUnit.SECONDS);
        await(() -> a.counters().get("dcutr.bad_message") == 2);
        assertThat(a.counters().get("holepunch.punch.packets")).isZero();
    }
}
