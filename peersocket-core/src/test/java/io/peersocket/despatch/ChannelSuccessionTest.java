package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.protocol.snapshot.GlobalSnapshot;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.memory.MemoryNetwork.LinkConditions;
import io.peersocket.util.FrameDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BooleanSupplier;
import java.util.stream.LongStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Despatch traffic moving from a limited (relayed) connection to a direct one, and the receiver's channel
 * succession rule, over the memory transport on one {@link io.peersocket.util.ManualEventLoop} with handlers on that
 * loop: fully deterministic, time moves only by {@code advance}. The relayed path is slower than the direct one, so
 * frames on the new stream really arrive before the old stream has drained.
 */
@Timeout(60)
class ChannelSuccessionTest {
    static final int CONV = 10, ACK = 11, ONEWAY = 20, REQ = 30, REPLY = 31;
    static final List<Integer> TRAFFIC = List.of(CONV, ACK, ONEWAY, REQ, REPLY);
    static final LinkConditions RELAY = new LinkConditions(40, 0), DIRECT = new LinkConditions(5, 0);

    final MemoryNodes net = new MemoryNodes();

    @AfterEach
    void close() { net.close(); }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    /**
     * Sits between a node's despatcher and its snapshot protocol (the installed {@link ChannelObserver}): records every
     * channel message in arrival order and every channel reset, then passes them on.
     */
    static final class Observed implements ChannelObserver {
        final ChannelObserver snapshots;
        final List<Message> messages = new CopyOnWriteArrayList<>(); // appended on the node's loop, read by the test
        final List<String> resets = new CopyOnWriteArrayList<>();

        Observed(Node n) {
            snapshots = n.snapshots();
            n.despatcher().setChannelObserver(null);
            n.despatcher().setChannelObserver(this);
        }

        @Override public boolean onChannelMessage(Message m) {
            messages.add(m);
            return snapshots.onChannelMessage(m);
        }

        @Override public void onChannelReset(PeerId peer, boolean inbound) {
            resets.add((inbound ? "from " : "to ") + peer.shortString());
            snapshots.onChannelReset(peer, inbound);
        }

        /** Our test traffic, in arrival order. */
        List<Message> traffic() { return messages.stream().filter(m -> TRAFFIC.contains(m.type())).toList(); }

        List<Long> seqs() { return traffic().stream().map(m -> Long.parseLong(m.payloadUtf8())).toList(); }

        /** Whether each message of our traffic came over a limited connection, in arrival order. */
        List<Boolean> limited() { return traffic().stream().map(m -> m.connection().isLimited()).toList(); }
    }

    DespatchConfig config() { return DespatchConfig.defaults().withHandlerExecutor(net.loop); }

    /** Advances virtual time 1 ms at a time until {@code condition} holds; fails after {@code maxMs}. */
    void runUntil(BooleanSupplier condition, long maxMs) {
        for (long t = 0; t <= maxMs; t++) {
            net.loop.runPending();
            if (condition.getAsBoolean()) return;
            net.loop.advance(1);
        }
        throw new AssertionError("condition not met within " + maxMs + " virtual ms");
    }

    <T> T done(CompletableFuture<T> f) {
        runUntil(f::isDone, 30_000);
        return f.join();
    }

    /** A connects to B over a limited connection with {@link #RELAY} latency (the pair's direct link is {@link #DIRECT}). */
    Connection relayed(Node a, Node b) {
        net.network.setLink(a.peerId(), b.peerId(), DIRECT);
        net.network.setLimited(a.peerId(), b.peerId(), RELAY);
        Connection c = done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        net.network.setLimited(a.peerId(), b.peerId(), null);
        runUntil(() -> b.connectionsTo(a.peerId()).size() == 1, 1_000);
        assertThat(c.isLimited()).isTrue();
        assertThat(b.connectionsTo(a.peerId()).get(0).isLimited()).isTrue();
        return c;
    }

    /** One side's traffic: every payload is the sender's next sequence number, taken when the send is called. */
    static final class Side {
        final Node node;
        final AtomicLong seq = new AtomicLong();
        final List<CompletableFuture<Message>> requests = new ArrayList<>();
        final List<String> acks = new ArrayList<>();

        Side(Node node) { this.node = node; }

        byte[] next() { return utf8(Long.toString(seq.getAndIncrement())); }

        void serve() {
            node.despatcher().register(ONEWAY, m -> { });
            node.despatcher().register(REQ, m -> m.reply(REPLY, next()));
            node.despatcher().registerConversation(CONV, opening -> new ConversationHandler() {
                @Override public void onMessage(Conversation c, Message m) { c.send(ACK, next()); }

                @Override public void onEnd(Conversation c, EndReason reason, String detail) { }
            });
        }

        void oneWay(PeerId to) { node.despatcher().send(to, ONEWAY, next()); }

        void request(PeerId to) { requests.add(node.despatcher().request(to, REQ, next())); }
    }

    @Test
    void aThousandMessageConversationMovesFromTheRelayToTheDirectConnectionWithoutLossReorderOrDuplicate() {
        Node a = net.start(1, config()), b = net.start(2, config());
        Observed atA = new Observed(a), atB = new Observed(b);
        Side sa = new Side(a), sb = new Side(b);
        sa.serve();
        sb.serve();
        relayed(a, b);
        List<String> acks = new ArrayList<>();
        Conversation conv = a.despatcher().openConversation(b.peerId(), CONV, sa.next(), new ConversationHandler() {
            @Override public void onMessage(Conversation c, Message m) { acks.add(m.payloadUtf8()); }

            @Override public void onEnd(Conversation c, EndReason reason, String detail) { acks.add("end " + reason); }
        });
        CompletableFuture<Connection> direct = null;
        CompletableFuture<GlobalSnapshot> during = null;
        for (int i = 1; i < 1_000; i++) {
            conv.send(CONV, sa.next());
            if (i % 7 == 0) sa.oneWay(b.peerId());
            if (i % 11 == 0) sb.oneWay(a.peerId());
            if (i % 13 == 0) sa.request(b.peerId());
            if (i % 17 == 0) sb.request(a.peerId());
            if (i == 500) {
                direct = a.connect(b.listenAddresses().get(0).withPeerId(b.peerId()));
                during = a.snapshots().snapshot(5_000); // its markers cross the switch
            }
            if (i % 20 == 0) net.loop.advance(3); // spread the traffic over time: about 150 ms in all
        }
        runUntil(() -> acks.size() == 1_000 && atB.seqs().size() == sa.seq.get() && atA.seqs().size() == sb.seq.get(), 10_000);
        Connection d = done(direct);
        assertThat(d.isLimited()).isFalse();

        // every message arrived exactly once and in send order, in both directions
        assertThat(atB.seqs()).isEqualTo(LongStream.range(0, sa.seq.get()).boxed().toList());
        assertThat(atA.seqs()).isEqualTo(LongStream.range(0, sb.seq.get()).boxed().toList());
        for (CompletableFuture<Message> r : sa.requests) assertThat(r).isCompleted();
        // requests keyed by peer: some sent over the relay were answered over the direct connection
        java.util.Set<Long> askedOverRelay = new java.util.HashSet<>();
        for (Message m : atB.traffic()) if (m.type() == REQ && m.connection().isLimited()) askedOverRelay.add(m.id());
        assertThat(sa.requests.stream().map(CompletableFuture::join)
                .filter(r -> askedOverRelay.contains(r.inReplyTo()) && !r.connection().isLimited())).isNotEmpty();
        for (CompletableFuture<Message> r : sb.requests) assertThat(r).isCompleted();
        assertThat(a.despatcher().pendingRequestCount()).isZero();
        assertThat(b.despatcher().pendingRequestCount()).isZero();
        // the conversation went on: every message answered, in order, and it is still open on both sides
        assertThat(acks).hasSize(1_000).doesNotContain("end LOCAL", "end REMOTE", "end ERROR", "end TIMEOUT");
        assertThat(a.despatcher().conversationCount()).isEqualTo(1);
        assertThat(b.despatcher().conversationCount()).isEqualTo(1);

        // the early messages went over the relay, the later ones over the direct connection, with one switch each way
        for (Observed o : List.of(atA, atB)) {
            List<Boolean> lim = o.limited();
            int firstDirect = lim.indexOf(false);
            assertThat(firstDirect).isGreaterThan(20);
            assertThat(lim.subList(0, firstDirect)).containsOnly(true);
            assertThat(lim.subList(firstDirect, lim.size())).containsOnly(false).hasSizeGreaterThan(100);
        }
        // the relay was slower, so the new stream's frames had to wait for the old one: held, then released in order
        assertThat(b.counters().get("despatch.channel.held")).isPositive();
        // the old streams close cleanly once each side's FIN has been answered (a relay round trip)
        runUntil(() -> a.counters().get("despatch.link.retired") + b.counters().get("despatch.link.retired") == 2, 1_000);
        for (Node n : List.of(a, b)) {
            assertThat(n.counters().get("despatch.link.migrated")).isEqualTo(1);
            assertThat(n.counters().get("despatch.link.retired")).isEqualTo(1);
            assertThat(n.counters().get("despatch.channel.succeeded")).isEqualTo(1);
            assertThat(n.counters().snapshot()).doesNotContainKeys("despatch.link.retire_lost",
                    "despatch.channel.reset.inbound", "despatch.channel.reset.outbound", "despatch.drop.unknown_reply",
                    "despatch.drop.unknown_conversation", "despatch.drop.succession_overflow");
        }
        // the snapshot protocol saw no channel reset, and a snapshot right after the move is complete
        assertThat(atA.resets).isEmpty();
        assertThat(atB.resets).isEmpty();
        GlobalSnapshot g0 = done(during);
        assertThat(g0.complete()).as("snapshot across the switch: %s", g0.allProblems()).isTrue();
        GlobalSnapshot g = done(a.snapshots().snapshot(5_000));
        assertThat(g.complete()).as("%s", g.allProblems()).isTrue();

        // the conversation continues over the direct connection
        int before = atB.traffic().size();
        for (int i = 0; i < 10; i++) conv.send(CONV, sa.next());
        runUntil(() -> acks.size() == 1_010, 1_000);
        List<Message> later = atB.traffic().subList(before, atB.traffic().size());
        assertThat(later).hasSize(10).allMatch(m -> !m.connection().isLimited());
        assertThat(a.despatcher().linkConnection(b.peerId())).isSameAs(d);
        assertThat(done(a.connection(b.peerId()))).as("the node prefers the direct connection").isSameAs(d);
        // the relayed connection is left to the relay's limits; no despatch stream uses it any more
        assertThat(a.connectionsTo(b.peerId())).hasSize(2);
    }

    @Test
    void aResetOfTheOldStreamIsAChannelResetAndTheNewStreamTakesOver() {
        Node a = net.start(1, config()), b = net.start(2, config());
        Observed atA = new Observed(a), atB = new Observed(b);
        Side sa = new Side(a), sb = new Side(b);
        sa.serve();
        sb.serve();
        net.network.setLink(a.peerId(), b.peerId(), DIRECT);
        net.network.setLimited(a.peerId(), b.peerId(), new LinkConditions(200, 0));
        done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        net.network.setLimited(a.peerId(), b.peerId(), null);
        // links both ways over the relay
        sa.request(b.peerId());
        sb.request(a.peerId());
        runUntil(() -> sa.requests.get(0).isDone() && sb.requests.get(0).isDone(), 5_000);
        long firstLost = sa.seq.get();
        for (int i = 0; i < 20; i++) sa.oneWay(b.peerId()); // in flight over the relay for 200 ms
        net.loop.advance(5);
        Connection d = done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        long firstAfter = sa.seq.get();
        for (int i = 0; i < 20; i++) sa.oneWay(b.peerId());
        runUntil(() -> b.counters().get("despatch.channel.held") == 20, 100);
        assertThat(atB.seqs()).doesNotContain(firstLost, firstAfter);
        // B drops the relayed connection while A's old stream still has frames on the way: they are lost
        Connection relayedAtB = b.connectionsTo(a.peerId()).stream().filter(Connection::isLimited).findFirst().orElseThrow();
        relayedAtB.close();
        runUntil(() -> atB.seqs().size() == firstLost + 20, 1_000);
        assertThat(atB.seqs()).containsExactlyElementsOf(LongStream.concat(LongStream.range(0, firstLost),
                LongStream.range(firstAfter, firstAfter + 20)).boxed().toList());
        assertThat(atB.traffic().subList((int) firstLost, (int) firstLost + 20)).allMatch(m -> m.connection() == b.connectionsTo(a.peerId()).get(0));
        assertThat(atB.resets).contains("from " + a.peerId().shortString());
        runUntil(() -> a.connectionsTo(b.peerId()).size() == 1, 1_000);
        assertThat(atA.resets).contains("to " + b.peerId().shortString());
        assertThat(a.counters().get("despatch.link.retire_lost")).isEqualTo(1);
        assertThat(b.counters().get("despatch.channel.reset.inbound")).isPositive();
        // the channel goes on over the direct connection
        sa.request(b.peerId());
        Message reply = done(sa.requests.get(1));
        assertThat(reply.connection().isLimited()).isFalse();
        assertThat(a.despatcher().linkConnection(b.peerId())).isSameAs(d);
    }

    @Test
    void aDirectConnectionOpeningWhileTheRelayedStreamIsStillNegotiatingWaitsForIt() {
        Node a = net.start(1, config()), b = net.start(2, config());
        Observed atA = new Observed(a), atB = new Observed(b);
        Side sa = new Side(a);
        b.despatcher().register(ONEWAY, m -> { });
        net.network.setLink(a.peerId(), b.peerId(), DIRECT);
        net.network.setLimited(a.peerId(), b.peerId(), new LinkConditions(100, 0));
        done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        net.network.setLimited(a.peerId(), b.peerId(), null);
        for (int i = 0; i < 5; i++) sa.oneWay(b.peerId()); // the link opens over the relay: 200 ms to negotiate
        net.loop.advance(1);
        assertThat(a.despatcher().linkConnection(b.peerId()).isLimited()).isTrue();
        Connection d = done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId()))); // 10 ms
        for (int i = 0; i < 5; i++) sa.oneWay(b.peerId());
        runUntil(() -> atB.seqs().size() == 10, 2_000);
        assertThat(atB.seqs()).isEqualTo(LongStream.range(0, 10).boxed().toList());
        assertThat(atB.limited()).containsExactly(true, true, true, true, true, false, false, false, false, false);
        assertThat(a.despatcher().linkConnection(b.peerId())).isSameAs(d);
        runUntil(() -> a.counters().get("despatch.link.retired") == 1, 1_000);
        assertThat(atA.resets).isEmpty();
        assertThat(atB.resets).isEmpty();
    }

    @Test
    void aBurstAfterTheSwitchWaitsAtTheSenderInsteadOfOverflowingTheReceiver() {
        DespatchConfig small = config().withMaxMessageBytes(1024);
        Node a = net.start(1, small), b = net.start(2, small);
        Observed atA = new Observed(a), atB = new Observed(b);
        Side sa = new Side(a);
        b.despatcher().register(ONEWAY, m -> { });
        net.network.setLink(a.peerId(), b.peerId(), DIRECT);
        net.network.setLimited(a.peerId(), b.peerId(), new LinkConditions(200, 0));
        done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        net.network.setLimited(a.peerId(), b.peerId(), null);
        sa.oneWay(b.peerId());
        runUntil(() -> atB.seqs().size() == 1, 2_000);
        String pad = "0".repeat(1000);
        for (int i = 0; i < 5; i++) a.despatcher().send(b.peerId(), ONEWAY, utf8(sa.seq.getAndIncrement() + ""));
        net.loop.advance(5);
        done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        // 20 KB after the switch, while the old stream still has 200 ms to go: 4 times the receiver's hold bound
        b.despatcher().register(ONEWAY + 1, m -> { });
        for (int i = 0; i < 20; i++) {
            long n = sa.seq.getAndIncrement();
            a.despatcher().send(b.peerId(), ONEWAY, utf8(Long.toString(n)));
            a.despatcher().send(b.peerId(), ONEWAY + 1, utf8(pad));
        }
        runUntil(() -> atB.seqs().size() == sa.seq.get(), 3_000);
        assertThat(atB.seqs()).isEqualTo(LongStream.range(0, sa.seq.get()).boxed().toList());
        assertThat(atB.messages.stream().filter(m -> m.type() == ONEWAY + 1)).hasSize(20);
        assertThat(b.counters().get("despatch.channel.held")).isPositive();
        assertThat(b.counters().snapshot()).doesNotContainKeys("despatch.drop.succession_overflow",
                "despatch.channel.successor_reset");
        assertThat(atA.resets).isEmpty();
        assertThat(atB.resets).isEmpty();
        assertThat(a.counters().snapshot()).doesNotContainKey("despatch.link.handover_timeout");
    }

    // ---- the receiver's succession rule, with raw despatch streams ----------------------------------

    static byte[] frame(long id, String payload) {
        return FrameDecoder.frame(new Header(0, ONEWAY, id, 0, 0, null).encode(utf8(payload)));
    }

    static StreamHandler closedInto(CompletableFuture<Throwable> closed) {
        return new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) { }

            @Override public void onClosed(Stream s, Throwable cause) { closed.complete(cause); }
        };
    }

    List<String> received(Observed o) { return o.traffic().stream().map(Message::payloadUtf8).toList(); }

    /** A second connection from {@code a} to {@code b} (the first one {@code a.connection(b)} made or found). */
    Connection another(Node a, Node b) {
        Connection first = done(a.connection(b.peerId()));
        Connection second = done(a.connect(b.listenAddresses().get(0).withPeerId(b.peerId())));
        assertThat(second).isNotSameAs(first);
        return second;
    }

    @Test
    void aNewerStreamIsDeliveredOnlyAfterTheOlderOneFinished() {
        Node a = net.start(1, config()), b = net.start(2, config());
        Observed atB = new Observed(b);
        b.despatcher().register(ONEWAY, m -> { });
        CompletableFuture<Throwable> closed1 = new CompletableFuture<>(), closed2 = new CompletableFuture<>();
        Stream s1 = net.rawDespatchStream(a, b, closedInto(closed1));
        s1.write(frame(1, "1"));
        runUntil(() -> received(atB).size() == 1, 100);
        Stream s2 = net.rawDespatchStream(another(a, b), closedInto(closed2));
        s2.write(frame(2, "2"));
        s2.write(frame(3, "3"));
        s1.write(frame(4, "4"));
        runUntil(() -> received(atB).size() == 2, 100);
        net.loop.advance(50);
        assertThat(received(atB)).containsExactly("1", "4");
        assertThat(b.counters().get("despatch.channel.held")).isEqualTo(2);
        s1.closeWrite(); // FIN: the older stream is over, the newer one takes the channel
        runUntil(() -> received(atB).size() == 4, 100);
        assertThat(received(atB)).containsExactly("1", "4", "2", "3");
        assertThat(done(closed1)).isNull();
        s2.write(frame(5, "5"));
        runUntil(() -> received(atB).size() == 5, 100);
        assertThat(received(atB)).endsWith("5");
        assertThat(atB.resets).isEmpty();
        assertThat(b.counters().get("despatch.channel.succeeded")).isEqualTo(1);
        assertThat(closed2).isNotDone();
    }

    @Test
    void streamsOnOneConnectionDoNotWaitForEachOther() {
        Node a = net.start(1, config()), b = net.start(2, config());
        Observed atB = new Observed(b);
        b.despatcher().register(ONEWAY, m -> { });
        Stream s1 = net.rawDespatchStream(a, b, closedInto(new CompletableFuture<>()));
        s1.write(frame(1, "1"));
        Stream s2 = net.rawDespatchStream(a, b, closedInto(new CompletableFuture<>()));
        s2.write(frame(2, "2"));
        s1.write(frame(3, "3"));
        runUntil(() -> received(atB).size() == 3, 100);
        assertThat(received(atB)).containsExactly("1", "2", "3");
        assertThat(b.counters().snapshot()).doesNotContainKeys("despatch.channel.held", "despatch.channel.successor");
    }

    @Test
    void aResetOfTheOlderStreamReleasesTheNewerOneAndIsReported() {
        Node a = net.start(1, config()), b = net.start(2, config());
        Observed atB = new Observed(b);
        b.despatcher().register(ONEWAY, m -> { });
        CompletableFuture<Throwable> closed1 = new CompletableFuture<>(), closed2 = new CompletableFuture<>();
        Stream s1 = net.rawDespatchStream(a, b, closedInto(closed1));
        s1.write(frame(1, "1"));
        Stream s2 = net.rawDespatchStream(another(a, b), closedInto(closed2));
        s2.write(frame(2, "2"));
        runUntil(() -> b.counters().get("despatch.channel.held") == 1, 100);
        assertThat(received(atB)).containsExactly("1");
        s1.reset();
        runUntil(() -> received(atB).size() == 2, 100);
        assertThat(received(atB)).containsExactly("1", "2");
        assertThat(atB.resets).containsExactly("from " + a.peerId().shortString());
        assertThat(b.counters().get("despatch.channel.reset.inbound")).isEqualTo(1);
        assertThat(closed2).isNotDone();
    }

    @Test
    void aNewerStreamOverTheHoldBoundIsResetAndCountedWhileTheOlderOneGoesOn() {
        DespatchConfig small = config().withMaxMessageBytes(1024);
        Node a = net.start(1, config()), b = net.start(2, small);
        Observed atB = new Observed(b);
        b.despatcher().register(ONEWAY, m -> { });
        CompletableFuture<Throwable> closed1 = new CompletableFuture<>(), closed2 = new CompletableFuture<>();
        Stream s1 = net.rawDespatchStream(a, b, closedInto(closed1));
        s1.write(frame(1, "1"));
        Stream s2 = net.rawDespatchStream(another(a, b), closedInto(closed2));
        long bound = (long) Despatcher.SUCCESSION_HOLD_FRAMES * (1024 + Header.MAX_BYTES);
        String big = "x".repeat(1000);
        int frames = (int) (bound / 1000) + 2;
        for (int i = 0; i < frames; i++) s2.write(frame(10 + i, big));
        Throwable cause = done(closed2);
        assertThat(cause).isNotNull().hasMessageContaining("reset");
        assertThat(b.counters().get("despatch.channel.successor_reset")).isEqualTo(1);
        assertThat(b.counters().get("despatch.drop.succession_overflow")).isBetween(1L, (long) frames);
        assertThat(atB.resets).containsExactly("from " + a.peerId().shortString());
        // nothing of the reset stream was delivered; the older stream still carries the channel
        s1.write(frame(2, "2"));
        runUntil(() -> received(atB).size() == 2, 100);
        assertThat(received(atB)).containsExactly("1", "2");
        assertThat(closed1).isNotDone();
    }
}
