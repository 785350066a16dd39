package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.host.PeerEvent;
import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.LimitedTransport;
import io.peersocket.transport.quic.QuicTransport;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Despatch moving from a limited connection to a direct one over real QUIC on loopback: two QUIC connections
 * between the same pair, the first presented as limited ({@link LimitedTransport}), handlers on virtual threads.
 */
@Timeout(60)
class QuicMigrationTest {
    static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";
    static final int CONV = 10, ACK = 11, ONEWAY = 20, REQ = 30, REPLY = 31;

    final AtomicBoolean limitedMode = new AtomicBoolean(true);
    final List<Node> nodes = new ArrayList<>();
    final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor();

    @AfterEach
    void close() {
        for (Node n : nodes) n.close();
        poller.shutdownNow();
    }

    Node node() throws Exception {
        // No hole punching: DCUtR would otherwise dial by itself on the limited connection, and this test
        // transport would present that dial as limited too. The test drives the direct connection itself.
        Node n = Node.builder().listen(LOOPBACK).holePunch(null)
                .transport(LimitedTransport.factory(QuicTransport::new, limitedMode::get)).start();
        nodes.add(n);
        return n;
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static <T> T get(CompletableFuture<T> f) throws Exception { return f.get(20, TimeUnit.SECONDS); }

    /** Waits (polling every 5 ms, at most 20 s) until {@code condition} holds. */
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

    static List<Long> seqs(ChannelSuccessionTest.Observed o, int type) {
        return o.messages.stream().filter(m -> m.type() == type).map(m -> Long.parseLong(m.payloadUtf8())).toList();
    }

    @Test
    void aConversationOverALimitedQuicConnectionMovesToTheDirectOneWithoutLoss() throws Exception {
        Node a = node(), b = node();
        var atA = new ChannelSuccessionTest.Observed(a);
        var atB = new ChannelSuccessionTest.Observed(b);
        AtomicLong seqA = new AtomicLong(), ackSeq = new AtomicLong(), onewayB = new AtomicLong();
        b.despatcher().register(ONEWAY, m -> { });
        b.despatcher().register(REQ, m -> m.reply(REPLY, m.payload()));
        b.despatcher().registerConversation(CONV, opening -> new ConversationHandler() {
            @Override public void onMessage(Conversation c, Message m) {
                c.send(ACK, utf8(Long.toString(ackSeq.getAndIncrement())));
            }

            @Override public void onEnd(Conversation c, EndReason reason, String detail) { }
        });
        a.despatcher().register(ONEWAY, m -> { });
        List<String> acks = new CopyOnWriteArrayList<>();
        CompletableFuture<Void> bSawSecond = new CompletableFuture<>();
        List<Connection> atBConns = new CopyOnWriteArrayList<>();
        b.onPeerEvent(e -> {
            if (e.kind() == PeerEvent.Kind.CONNECTED) {
                atBConns.add(e.connection());
                if (atBConns.size() == 2) bSawSecond.complete(null);
            }
        });

        Connection relayed = get(a.connect(b.addresses().get(0)));
        assertThat(relayed.isLimited()).isTrue();
        await(() -> atBConns.size() == 1, "B sees the limited connection");
        assertThat(atBConns.get(0).isLimited()).isTrue();

        Conversation conv = a.despatcher().openConversation(b.peerId(), CONV,
                utf8(Long.toString(seqA.getAndIncrement())), new ConversationHandler() {
                    @Override public void onMessage(Conversation c, Message m) { acks.add(m.payloadUtf8()); }

                    @Override public void onEnd(Conversation c, EndReason reason, String detail) { acks.add("end " + reason); }
                });
        List<CompletableFuture<Message>> requests = new ArrayList<>();
        List<String> requested = new ArrayList<>();
        Connection direct = null;
        for (int i = 1; i < 1_000; i++) {
            conv.send(CONV, utf8(Long.toString(seqA.getAndIncrement())));
            if (i % 7 == 0) a.despatcher().send(b.peerId(), ONEWAY, utf8(Long.toString(seqA.getAndIncrement())));
            if (i % 11 == 0) b.despatcher().send(a.peerId(), ONEWAY, utf8(Long.toString(onewayB.getAndIncrement())));
            if (i % 13 == 0) {
                String p = Long.toString(seqA.getAndIncrement());
                requested.add(p);
                requests.add(a.despatcher().request(b.peerId(), REQ, utf8(p)));
            }
            if (i == 500) {
                await(() -> acks.size() >= 100, "traffic over the limited connection");
                limitedMode.set(false);
                direct = get(a.connect(b.addresses().get(0)));
                assertThat(direct.isLimited()).isFalse();
            }
        }
        get(bSawSecond);
        assertThat(atBConns.get(1).isLimited()).isFalse();
        await(() -> acks.size() == 1_000, "every conversation message acknowledged");
        for (int i = 0; i < requests.size(); i++) assertThat(get(requests.get(i)).payloadUtf8()).isEqualTo(requested.get(i));
        long sentA = seqA.get(), sentOnewayB = onewayB.get();
        await(() -> atB.messages.stream().filter(m -> List.of(CONV, ONEWAY, REQ).contains(m.type())).count() == sentA
                && seqs(atA, ONEWAY).size() == sentOnewayB, "everything observed");

        // A -> B: every message exactly once, in send order
        List<Message> fromA = atB.messages.stream().filter(m -> List.of(CONV, ONEWAY, REQ).contains(m.type())).toList();
        assertThat(fromA.stream().map(m -> Long.parseLong(m.payloadUtf8())).toList())
                .isEqualTo(LongStream.range(0, sentA).boxed().toList());
        // B -> A: acks in order, one-way messages in order, all exactly once
        assertThat(seqs(atA, ACK)).isEqualTo(LongStream.range(0, 1_000).boxed().toList());
        assertThat(seqs(atA, ONEWAY)).isEqualTo(LongStream.range(0, sentOnewayB).boxed().toList());
        assertThat(acks).hasSize(1_000).allMatch(s -> !s.startsWith("end"));

        // early messages over the limited connection, later ones over the direct one, one switch
        List<Boolean> lim = fromA.stream().map(m -> m.connection().isLimited()).toList();
        int firstDirect = lim.indexOf(false);
        assertThat(firstDirect).isGreaterThan(0);
        assertThat(lim.subList(0, firstDirect)).containsOnly(true);
        assertThat(lim.subList(firstDirect, lim.size())).containsOnly(false);
        Connection d = direct;
        await(() -> a.counters().get("despatch.link.retired") == 1 && b.counters().get("despatch.link.retired") == 1,
                "the old streams close cleanly");
        for (Node n : List.of(a, b)) {
            assertThat(n.counters().get("despatch.link.migrated")).isEqualTo(1);
            assertThat(n.counters().snapshot()).doesNotContainKeys("despatch.link.retire_lost",
                    "despatch.channel.reset.inbound", "despatch.channel.reset.outbound", "despatch.drop.unknown_reply",
                    "despatch.drop.succession_overflow");
        }
        assertThat(atA.resets).isEmpty();
        assertThat(atB.resets).isEmpty();
        CompletableFuture<Connection> linkConn = new CompletableFuture<>();
        a.loop().execute(() -> linkConn.complete(a.despatcher().linkConnection(b.peerId())));
        assertThat(get(linkConn)).isSameAs(d);
        // the conversation goes on, over the direct connection
        int before = atB.messages.size();
        conv.send(CONV, utf8(Long.toString(seqA.getAndIncrement())));
        await(() -> acks.size() == 1_001, "one more round");
        assertThat(atB.messages.subList(before, atB.messages.size())).filteredOn(m -> m.type() == CONV)
                .hasSize(1).allMatch(m -> !m.connection().isLimited());
    }
}
