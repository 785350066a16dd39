package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.host.PeerEvent;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.holepunch.HolePunchConfig;
import io.peersocket.protocol.relay.RelayConfig;
import io.peersocket.transport.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Issue 7 end to end, real QUIC nodes on loopback and a real Circuit Relay v2 relay: A and B cannot reach each
 * other (each blocks the other's address with the firewall), so A talks to B through relay R; mid-conversation the
 * cut is lifted, the two get a direct connection by hole punching, and despatch moves the conversation there
 * without losing, repeating or reordering a message, and without a reset.
 */
@Timeout(60)
class RelayMigrationTest {
    static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    static final int CONV = 10, ACK = 11, ONEWAY = 20;
    static final int ROUNDS = 1_000, SWITCH_AT = 500;

    final List<Node> nodes = new ArrayList<>();
    final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void close() {
        for (Node n : nodes) n.close();
        poller.shutdownNow();
    }

    Node node(RelayConfig relay) throws Exception {
        return node(relay, HolePunchConfig.defaults());
    }

    Node node(RelayConfig relay, HolePunchConfig punch) throws Exception {
        var b = Node.builder().listen(LOOPBACK).redialOnStart(0).holePunch(punch);
        if (relay != null) b.relayService(relay);
        Node n = b.start();
        nodes.add(n);
        return n;
    }

    static <T> T get(CompletableFuture<T> f) throws Exception { return f.get(20, TimeUnit.SECONDS); }

    void await(BooleanSupplier condition, String what) throws Exception {
        CompletableFuture<Void> done = new CompletableFuture<>();
        var task = poller.scheduleWithFixedDelay(() -> {
            if (condition.getAsBoolean()) done.complete(null);
        }, 0, 5, TimeUnit.MILLISECONDS);
        try {
            done.get(20, TimeUnit.SECONDS);
        } catch (java.util.concurrent.TimeoutException e) {
            throw new AssertionError("timed out waiting for " + what);
        } finally {
            task.cancel(false);
        }
    }

    @Test
    void aConversationStartedOverARelayContinuesOverTheDirectConnectionWithNoMessageLost() throws Exception {
        Node r = node(RelayConfig.defaults().withLimit(0, 0));
        Node a = node(null), b = node(null);
        List<Multiaddr> aAddr = a.listenAddresses(), bAddr = b.listenAddresses();
        a.block(bAddr);
        b.block(aAddr);
        get(b.relay().reserve(r.addresses().get(0)));

        var atA = new ChannelSuccessionTest.Observed(a);
        var atB = new ChannelSuccessionTest.Observed(b);
        AtomicLong seqA = new AtomicLong(), ackSeq = new AtomicLong(), onewayB = new AtomicLong();
        b.despatcher().register(ONEWAY, m -> { });
        b.despatcher().registerConversation(CONV, opening -> new ConversationHandler() {
            @Override public void onMessage(Conversation c, Message m) {
                c.send(ACK, ChannelSuccessionTest.utf8(Long.toString(ackSeq.getAndIncrement())));
            }

            @Override public void onEnd(Conversation c, EndReason reason, String detail) { }
        });
        a.despatcher().register(ONEWAY, m -> { });
        List<Connection> atBConns = new CopyOnWriteArrayList<>();
        b.onPeerEvent(e -> {
            if (e.kind() == PeerEvent.Kind.CONNECTED && e.peer().equals(a.peerId())) atBConns.add(e.connection());
        });

        Connection relayed = get(a.connect(Multiaddr.parse(r.addresses().get(0) + "/p2p-circuit/p2p/" + b.peerId())));
        assertThat(relayed.isLimited()).isTrue();
        await(() -> atBConns.size() == 1, "B sees the relayed connection");
        assertThat(atBConns.get(0).isLimited()).isTrue();

        List<String> acks = new CopyOnWriteArrayList<>();
        CompletableFuture<ConversationHandler.EndReason> ended = new CompletableFuture<>();
        Conversation conv = a.despatcher().openConversation(b.peerId(), CONV,
                ChannelSuccessionTest.utf8(Long.toString(seqA.getAndIncrement())), new ConversationHandler() {
                    @Override public void onMessage(Conversation c, Message m) { acks.add(m.payloadUtf8()); }

                    @Override public void onEnd(Conversation c, EndReason reason, String detail) { ended.complete(reason); }
                });
        Connection direct = null;
        long upgradeMs = -1;
        for (int i = 1; i < ROUNDS; i++) {
            conv.send(CONV, ChannelSuccessionTest.utf8(Long.toString(seqA.getAndIncrement())));
            if (i % 7 == 0) a.despatcher().send(b.peerId(), ONEWAY, ChannelSuccessionTest.utf8(Long.toString(seqA.getAndIncrement())));
            if (i % 11 == 0) b.despatcher().send(a.peerId(), ONEWAY, ChannelSuccessionTest.utf8(Long.toString(onewayB.getAndIncrement())));
            if (i == SWITCH_AT) {
                await(() -> acks.size() >= 100, "traffic over the relayed connection");
                assertThat(a.openConnections(b.peerId()).get(5, TimeUnit.SECONDS)).allMatch(Connection::isLimited);
                // lift the cut; A asks for a direct connection (introduction by R, both punch) while sending goes on
                a.unblock(bAddr);
                b.unblock(aAddr);
                long t0 = System.nanoTime();
                direct = get(a.connectDirect(b.peerId()));
                upgradeMs = (System.nanoTime() - t0) / 1_000_000;
                assertThat(direct.isLimited()).isFalse();
            }
        }
        assertThat(upgradeMs).isBetween(0L, 20_000L);
        await(() -> acks.size() == ROUNDS, "every conversation message acknowledged");
        assertThat(ended).as("the conversation never broke").isNotDone();
        long sentA = seqA.get(), sentOnewayB = onewayB.get();
        await(() -> atB.messages.stream().filter(m -> List.of(CONV, ONEWAY).contains(m.type())).count() == sentA
                && QuicMigrationTest.seqs(atA, ONEWAY).size() == sentOnewayB, "everything observed");

        // A -> B: every message exactly once, in send order
        List<Message> fromA = atB.messages.stream().filter(m -> List.of(CONV, ONEWAY).contains(m.type())).toList();
        assertThat(fromA.stream().map(m -> Long.parseLong(m.payloadUtf8())).toList())
                .isEqualTo(LongStream.range(0, sentA).boxed().toList());
        // B -> A: acks and one-way messages in order, exactly once
        assertThat(QuicMigrationTest.seqs(atA, ACK)).isEqualTo(LongStream.range(0, ROUNDS).boxed().toList());
        assertThat(QuicMigrationTest.seqs(atA, ONEWAY)).isEqualTo(LongStream.range(0, sentOnewayB).boxed().toList());

        // early messages over the relayed connection, later ones over the direct one, one switch
        List<Boolean> lim = fromA.stream().map(m -> m.connection().isLimited()).toList();
        int firstDirect = lim.indexOf(false);
        assertThat(firstDirect).isGreaterThan(100);
        assertThat(lim.subList(0, firstDirect)).containsOnly(true);
        assertThat(lim.subList(firstDirect, lim.size())).containsOnly(false);
        List<Boolean> limB = atA.messages.stream().filter(m -> List.of(ACK, ONEWAY).contains(m.type()))
                .map(m -> m.connection().isLimited()).toList();
        assertThat(limB.getLast()).as("B's last messages came over the direct connection").isFalse();
        for (Node n : List.of(a, b)) {
            assertThat(n.counters().get("despatch.link.migrated")).isEqualTo(1);
            assertThat(n.counters().snapshot()).doesNotContainKeys("despatch.link.retire_lost",
                    "despatch.channel.reset.inbound", "despatch.channel.reset.outbound", "despatch.drop.unknown_reply",
                    "despatch.drop.succession_overflow", "despatch.drop.unknown_conversation");
        }
        assertThat(atA.resets).isEmpty();
        assertThat(atB.resets).isEmpty();
        Connection d = direct;
        CompletableFuture<Connection> linkConn = new CompletableFuture<>();
        a.loop().execute(() -> linkConn.complete(a.despatcher().linkConnection(b.peerId())));
        assertThat(get(linkConn)).isSameAs(d);
        assertThat(get(a.connection(b.peerId())).isLimited()).isFalse();
    }

    @Test
    void dcutrByItselfMovesARunningConversationOffTheRelayOnceTheCutIsLifted() throws Exception {
        Node r = node(RelayConfig.defaults().withLimit(0, 0));
        // DCUtR, which B starts by itself when the relayed connection opens, tries 5 times, 1 s per dial
        HolePunchConfig punch = HolePunchConfig.defaults().withAttempts(5).withDialTimeoutMs(1_000);
        Node a = node(null, punch), b = node(null, punch);
        List<Multiaddr> aAddr = a.listenAddresses(), bAddr = b.listenAddresses();
        a.block(bAddr);
        b.block(aAddr);
        get(b.relay().reserve(r.addresses().get(0)));
        var atB = new ChannelSuccessionTest.Observed(b);
        var atA = new ChannelSuccessionTest.Observed(a);
        AtomicLong ackSeq = new AtomicLong();
        b.despatcher().registerConversation(CONV, opening -> new ConversationHandler() {
            @Override public void onMessage(Conversation c, Message m) {
                c.send(ACK, ChannelSuccessionTest.utf8(Long.toString(ackSeq.getAndIncrement())));
            }
        });
        assertThat(get(a.connect(Multiaddr.parse(r.addresses().get(0) + "/p2p-circuit/p2p/" + b.peerId()))).isLimited()).isTrue();
        List<String> acks = new CopyOnWriteArrayList<>();
        CompletableFuture<ConversationHandler.EndReason> ended = new CompletableFuture<>();
        long seq = 0;
        Conversation conv = a.despatcher().openConversation(b.peerId(), CONV, ChannelSuccessionTest.utf8(Long.toString(seq++)),
                new ConversationHandler() {
                    @Override public void onMessage(Conversation c, Message m) { acks.add(m.payloadUtf8()); }

                    @Override public void onEnd(Conversation c, ConversationHandler.EndReason reason, String detail) {
                        ended.complete(reason);
                    }
                });
        for (int i = 0; i < 200; i++) conv.send(CONV, ChannelSuccessionTest.utf8(Long.toString(seq++)));
        await(() -> acks.size() >= 100, "traffic over the relayed connection");
        a.unblock(bAddr);
        b.unblock(aAddr);
        // keep talking until DCUtR's next try has made the direct connection, then some more
        long end = System.currentTimeMillis() + 20_000;
        while (b.counters().get("dcutr.direct.ok") == 0) {
            if (System.currentTimeMillis() > end) throw new AssertionError("DCUtR made no direct connection: " + b.counters().snapshot());
            conv.send(CONV, ChannelSuccessionTest.utf8(Long.toString(seq++)));
            long sent = seq;
            await(() -> acks.size() >= sent - 50, "the conversation keeps up");
        }
        for (int i = 0; i < 200; i++) conv.send(CONV, ChannelSuccessionTest.utf8(Long.toString(seq++)));
        long total = seq;
        await(() -> acks.size() == total, "every conversation message acknowledged");
        assertThat(ended).as("the conversation never broke").isNotDone();
        List<Message> fromA = atB.messages.stream().filter(m -> m.type() == CONV).toList();
        assertThat(fromA.stream().map(m -> Long.parseLong(m.payloadUtf8())).toList())
                .isEqualTo(LongStream.range(0, total).boxed().toList());
        assertThat(QuicMigrationTest.seqs(atA, ACK)).isEqualTo(LongStream.range(0, total).boxed().toList());
        List<Boolean> lim = fromA.stream().map(m -> m.connection().isLimited()).toList();
        int firstDirect = lim.indexOf(false);
        assertThat(firstDirect).isGreaterThanOrEqualTo(100);
        assertThat(lim.subList(firstDirect, lim.size())).containsOnly(false);
        assertThat(b.counters().get("dcutr.initiated")).isEqualTo(1);
        for (Node n : List.of(a, b)) {
            assertThat(n.counters().get("despatch.link.migrated")).isEqualTo(1);
            assertThat(n.counters().snapshot()).doesNotContainKeys("despatch.link.retire_lost",
                    "despatch.channel.reset.inbound", "despatch.channel.reset.outbound", "despatch.drop.succession_overflow");
        }
        assertThat(atA.resets).isEmpty();
        assertThat(atB.resets).isEmpty();
        assertThat(get(a.connection(b.peerId())).isLimited()).isFalse();
    }
}
