package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Varint;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * Despatch layer end to end over {@link io.peersocket.transport.memory.MemoryTransport}, with all nodes on one
 * {@link io.peersocket.util.ManualEventLoop}: no sleeps, timeouts by advancing virtual time.
 */
@Timeout(30)
class DespatcherTest {
    static final int ECHO = 1;

    final MemoryNodes net = new MemoryNodes();

    @AfterEach
    void close() { net.close(); }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static void echo(Node n) {
        n.despatcher().register(ECHO, m -> m.reply(ECHO + 1, utf8("echo " + m.payloadUtf8())));
    }

    /** Records one conversation side: messages in order, the largest number of overlapping onMessage calls, the end. */
    static class Recorder implements ConversationHandler {
        final List<String> received = new CopyOnWriteArrayList<>();
        final List<Message> messages = new CopyOnWriteArrayList<>();
        final AtomicInteger active = new AtomicInteger();
        final AtomicInteger maxActive = new AtomicInteger();
        final CompletableFuture<EndReason> end = new CompletableFuture<>();
        volatile String endDetail;
        volatile int messagesAtEnd = -1;
        volatile Conversation conversation;

        @Override public void onMessage(Conversation c, Message m) throws Exception {
            conversation = c;
            int now = active.incrementAndGet();
            maxActive.accumulateAndGet(now, Math::max);
            try {
                for (int i = 0; i < 2_000; i++) Thread.yield(); // widen the window for an overlapping call
                received.add(m.payloadUtf8());
                messages.add(m);
                react(c, m);
            } finally {
                active.decrementAndGet();
            }
        }

        void react(Conversation c, Message m) throws Exception {}

        @Override public void onEnd(Conversation c, EndReason reason, String detail) {
            endDetail = detail;
            messagesAtEnd = received.size();
            end.complete(reason);
        }
    }

    // ---- requests -----------------------------------------------------------------------------------

    @Test
    void requestGetsItsReply() {
        Node a = net.start(1), b = net.start(2);
        List<Message> seen = new CopyOnWriteArrayList<>();
        b.despatcher().register(ECHO, m -> {
            seen.add(m);
            m.reply(ECHO + 1, utf8("echo " + m.payloadUtf8()));
        });
        Message reply = net.await(a.despatcher().request(b.peerId(), ECHO, utf8("hello")));
        assertThat(reply.payloadUtf8()).isEqualTo("echo hello");
        assertThat(reply.type()).isEqualTo(ECHO + 1);
        assertThat(reply.peer()).isEqualTo(b.peerId());
        assertThat(reply.isReliable()).isTrue();
        Message request = seen.get(0);
        assertThat(request.isRequest()).isTrue();
        assertThat(request.peer()).isEqualTo(a.peerId());
        assertThat(reply.inReplyTo()).isEqualTo(request.id());
        assertThat(a.despatcher().pendingRequestCount()).isZero();
        // a second request reuses the link; answering twice is refused
        assertThat(net.await(a.despatcher().request(b.peerId(), ECHO, utf8("again"))).payloadUtf8()).isEqualTo("echo again");
        assertThatThrownBy(() -> request.reply(ECHO + 1, utf8("twice"))).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void requestTimesOutExactlyWhenVirtualTimePassesTheTimeout() {
        Node a = net.start(1), b = net.start(2);
        CompletableFuture<Message> seen = new CompletableFuture<>();
        b.despatcher().register(3, seen::complete); // never replies
        CompletableFuture<Message> reply = a.despatcher().request(b.peerId(), 3, utf8("x"), 1_000);
        Message request = net.await(seen);
        net.loop.runPending();
        net.loop.advance(999);
        assertThat(reply).isNotDone();
        net.loop.advance(1);
        assertThat(reply).isCompletedExceptionally();
        assertThat(net.failure(reply)).isInstanceOf(TimeoutException.class).hasMessageContaining("1000 ms");
        assertThat(a.counters().get("despatch.request.timeout")).isEqualTo(1);
        assertThat(a.despatcher().pendingRequestCount()).isZero();
        // the late answer finds no one waiting: dropped and counted
        request.reply(4, utf8("late"));
        net.await(() -> a.counters().get("despatch.drop.unknown_reply") == 1);
    }

    @Test
    void requestForTypeWithoutHandlerFailsFastNamingTheType() {
        Node a = net.start(1), b = net.start(2);
        long before = net.loop.nowMs();
        Throwable t = net.failure(a.despatcher().request(b.peerId(), 99, utf8("?")));
        assertThat(t).isInstanceOf(RemoteException.class).hasMessageContaining("no handler for message type 99");
        assertThat(net.loop.nowMs()).isEqualTo(before); // no timeout involved
        assertThat(b.counters().get("despatch.drop.no_handler")).isEqualTo(1);
    }

    @Test
    void handlerThatThrowsAnswersWithRemoteException() {
        Node a = net.start(1), b = net.start(2);
        b.despatcher().register(5, m -> { throw new IllegalStateException("boom"); });
        Throwable t = net.failure(a.despatcher().request(b.peerId(), 5, utf8("x")));
        assertThat(t).isInstanceOf(RemoteException.class).hasMessageContaining("boom");
        assertThat(b.counters().get("despatch.handler.failed")).isEqualTo(1);
        echo(b);
        assertThat(net.await(a.despatcher().request(b.peerId(), ECHO, utf8("ok"))).payloadUtf8()).isEqualTo("echo ok");
    }

    @Test
    void replyToUnknownMessageIdIsDroppedAndCounted() {
        Node a = net.start(1), b = net.start(2);
        echo(b);
        CompletableFuture<Throwable> rawClosed = new CompletableFuture<>();
        Stream raw = net.rawDespatchStream(a, b, closedInto(rawClosed));
        Header stray = new Header(Header.F_IN_REPLY_TO, 7, 1, 424_242, 0, null);
        raw.write(FrameDecoder.frame(stray.encode(utf8("nobody asked"))));
        net.await(() -> b.counters().get("despatch.drop.unknown_reply") == 1);
        assertThat(b.counters().get("despatch.received")).isEqualTo(1);
        assertThat(rawClosed).isNotDone(); // dropping a stray reply is not a protocol error
        // a well-formed request on the same raw stream is still served
        Header req = new Header(Header.F_REQUEST, ECHO, 2, 0, 0, null);
        raw.write(FrameDecoder.frame(req.encode(utf8("raw"))));
        net.await(() -> b.counters().get("despatch.received") == 2);
        assertThat(b.counters().get("despatch.drop.malformed")).isZero();
    }

    // ---- conversations ------------------------------------------------------------------------------

    @Test
    void conversationDeliversMessagesInOrderOneAtATimeBothWays() {
        Node a = net.start(1), b = net.start(2);
        List<Recorder> remote = new CopyOnWriteArrayList<>();
        b.despatcher().registerConversation(10, opening -> {
            Recorder r = new Recorder() {
                @Override void react(Conversation c, Message m) {
                    c.send(11, utf8("ack " + m.payloadUtf8()));
                }
            };
            remote.add(r);
            return r;
        });
        Recorder local = new Recorder();
        Conversation conv = a.despatcher().openConversation(b.peerId(), 10, utf8("m0"), local);
        for (int i = 1; i < 20; i++) conv.send(10, utf8("m" + i));
        net.await(() -> local.received.size() == 20);
        Recorder r = remote.get(0);
        List<String> sent = java.util.stream.IntStream.range(0, 20).mapToObj(i -> "m" + i).toList();
        assertThat(r.received).isEqualTo(sent);
        assertThat(local.received).isEqualTo(sent.stream().map(s -> "ack " + s).toList());
        assertThat(r.maxActive.get()).isEqualTo(1);
        assertThat(local.maxActive.get()).isEqualTo(1);
        assertThat(remote).hasSize(1);
        // the opening message's id names the conversation on both sides
        assertThat(r.messages.get(0).id()).isEqualTo(conv.id());
        assertThat(r.messages.get(0).inRegardsTo()).isZero();
        assertThat(r.messages.get(1).inRegardsTo()).isEqualTo(conv.id());
        assertThat(local.messages.get(0).inRegardsTo()).isEqualTo(conv.id());
        assertThat(r.conversation.id()).isEqualTo(conv.id());
        assertThat(r.conversation.isOpenedLocally()).isFalse();
        assertThat(conv.isOpenedLocally()).isTrue();
    }

    @Test
    void conversationEndedByTheOpener() {
        Node a = net.start(1), b = net.start(2);
        Recorder remote = new Recorder();
        b.despatcher().registerConversation(10, opening -> remote);
        Recorder local = new Recorder();
        Conversation conv = a.despatcher().openConversation(b.peerId(), 10, utf8("hi"), local);
        net.await(() -> remote.received.size() == 1);
        conv.end();
        assertThat(net.await(local.end)).isEqualTo(ConversationHandler.EndReason.LOCAL);
        assertThat(net.await(remote.end)).isEqualTo(ConversationHandler.EndReason.REMOTE);
        assertThat(conv.isOpen()).isFalse();
        assertThat(net.failure(conv.send(10, utf8("after")))).isInstanceOf(IllegalStateException.class);
        net.loop.runPending();
        assertThat(a.despatcher().conversationCount()).isZero();
        assertThat(b.despatcher().conversationCount()).isZero();
    }

    @Test
    void conversationEndedByTheRemoteAfterItsLastMessage() {
        Node a = net.start(1), b = net.start(2);
        Recorder remote = new Recorder() {
            @Override void react(Conversation c, Message m) {
                if (m.payloadUtf8().equals("m2")) c.sendAndEnd(11, utf8("bye"));
            }
        };
        b.despatcher().registerConversation(10, opening -> remote);
        Recorder local = new Recorder();
        Conversation conv = a.despatcher().openConversation(b.peerId(), 10, utf8("m0"), local);
        conv.send(10, utf8("m1"));
        conv.send(10, utf8("m2"));
        assertThat(net.await(local.end)).isEqualTo(ConversationHandler.EndReason.REMOTE);
        assertThat(net.await(remote.end)).isEqualTo(ConversationHandler.EndReason.LOCAL);
        assertThat(local.received).containsExactly("bye");
        assertThat(local.messagesAtEnd).isEqualTo(1); // onEnd after every delivered message
        assertThat(remote.received).containsExactly("m0", "m1", "m2");
        assertThat(conv.isOpen()).isFalse();
    }

    @Test
    void idleConversationTimesOutOnBothSides() {
        DespatchConfig cfg = DespatchConfig.defaults().withConversationIdleTimeoutMs(5_000);
        Node a = net.start(1, cfg), b = net.start(2, cfg);
        Recorder remote = new Recorder();
        b.despatcher().registerConversation(10, opening -> remote);
        Recorder local = new Recorder();
        a.despatcher().openConversation(b.peerId(), 10, utf8("hi"), local);
        net.await(() -> remote.received.size() == 1);
        net.loop.runPending();
        net.loop.advance(4_999);
        assertThat(a.despatcher().conversationCount()).isEqualTo(1);
        assertThat(b.despatcher().conversationCount()).isEqualTo(1);
        net.loop.advance(1);
        assertThat(a.despatcher().conversationCount()).isZero();
        assertThat(b.despatcher().conversationCount()).isZero();
        assertThat(net.await(local.end)).isEqualTo(ConversationHandler.EndReason.TIMEOUT);
        assertThat(net.await(remote.end)).isEqualTo(ConversationHandler.EndReason.TIMEOUT);
        assertThat(a.counters().get("despatch.conversation.timeout")).isEqualTo(1);
        assertThat(b.counters().get("despatch.conversation.timeout")).isEqualTo(1);
    }

    @Test
    void conversationHandlerFailureEndsBothSidesWithError() {
        Node a = net.start(1), b = net.start(2);
        Recorder remote = new Recorder() {
            @Override void react(Conversation c, Message m) {
                if (m.payloadUtf8().equals("bad")) throw new IllegalStateException("cannot digest");
            }
        };
        b.despatcher().registerConversation(10, opening -> remote);
        Recorder local = new Recorder();
        Conversation conv = a.despatcher().openConversation(b.peerId(), 10, utf8("good"), local);
        conv.send(10, utf8("bad"));
        assertThat(net.await(remote.end)).isEqualTo(ConversationHandler.EndReason.ERROR);
        assertThat(net.await(local.end)).isEqualTo(ConversationHandler.EndReason.ERROR);
        assertThat(local.endDetail).contains("cannot digest");
        assertThat(b.counters().get("despatch.handler.failed")).isEqualTo(1);
        assertThat(conv.isOpen()).isFalse();
    }

    @Test
    void refusedConversationEndsTheOpenerWithError() {
        Node a = net.start(1), b = net.start(2);
        b.despatcher().registerConversation(12, opening -> null);
        b.despatcher().registerConversation(13, opening -> { throw new IllegalStateException("factory broke"); });
        Recorder refused = new Recorder(), broken = new Recorder(), unknown = new Recorder();
        a.despatcher().openConversation(b.peerId(), 12, utf8("hi"), refused);
        a.despatcher().openConversation(b.peerId(), 13, utf8("hi"), broken);
        a.despatcher().openConversation(b.peerId(), 14, utf8("hi"), unknown);
        assertThat(net.await(refused.end)).isEqualTo(ConversationHandler.EndReason.ERROR);
        assertThat(refused.endDetail).contains("refused");
        assertThat(net.await(broken.end)).isEqualTo(ConversationHandler.EndReason.ERROR);
        assertThat(net.await(unknown.end)).isEqualTo(ConversationHandler.EndReason.ERROR);
        assertThat(unknown.endDetail).contains("no conversation for message type 14");
        assertThat(refused.received).isEmpty();
        assertThat(b.counters().get("despatch.conversation.refused")).isEqualTo(2);
        net.loop.runPending();
        assertThat(a.despatcher().conversationCount()).isZero();
        assertThat(b.despatcher().conversationCount()).isZero();
    }

    // ---- bad input ----------------------------------------------------------------------------------

    static StreamHandler closedInto(CompletableFuture<Throwable> closed) {
        return new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {}

            @Override public void onClosed(Stream s, Throwable cause) {
                closed.complete(cause);
            }
        };
    }

    @Test
    void garbageOnADespatchStreamResetsItAndTheNodeKeepsServing() {
        Node a = net.start(1), b = net.start(2), c = net.start(3);
        echo(b);
        // a well-framed frame whose header is garbage (version 9)
        CompletableFuture<Throwable> closed1 = new CompletableFuture<>();
        Stream raw1 = net.rawDespatchStream(a, b, closedInto(closed1));
        raw1.write(FrameDecoder.frame(new byte[] {9, 0, 1, 1, 'x'}));
        assertThat(net.await(closed1)).isInstanceOf(TransportException.class).hasMessageContaining("reset");
        assertThat(b.counters().get("despatch.drop.malformed")).isEqualTo(1);
        // a malformed length prefix (not minimally encoded varint) is malformed too, not oversize
        CompletableFuture<Throwable> closed2 = new CompletableFuture<>();
        Stream raw2 = net.rawDespatchStream(a, b, closedInto(closed2));
        raw2.write(new byte[] {(byte) 0x80, 0x00, 1, 2, 3});
        assertThat(net.await(closed2)).isNotNull();
        assertThat(b.counters().get("despatch.drop.malformed")).isEqualTo(2);
        assertThat(b.counters().get("despatch.drop.oversize")).isZero();
        // a garbage datagram is dropped and counted; the connection stays up
        Connection ab = net.await(a.connection(b.peerId()));
        assertThat(ab.sendDatagram(new byte[] {7, 7, 7})).isTrue();
        net.await(() -> b.counters().get("despatch.drop.malformed") == 3);
        assertThat(ab.isOpen()).isTrue();
        // another peer is still served, and so is the offender on a fresh stream
        assertThat(net.await(c.despatcher().request(b.peerId(), ECHO, utf8("c"))).payloadUtf8()).isEqualTo("echo c");
        assertThat(net.await(a.despatcher().request(b.peerId(), ECHO, utf8("a"))).payloadUtf8()).isEqualTo("echo a");
    }

    @Test
    void oversizeFramesResetTheStreamAndAreCounted() {
        DespatchConfig small = DespatchConfig.defaults().withMaxMessageBytes(1024);
        Node a = net.start(1), b = net.start(2, small);
        echo(b);
        // a length prefix far over the limit is refused before any buffering
        CompletableFuture<Throwable> closed1 = new CompletableFuture<>();
        Stream raw1 = net.rawDespatchStream(a, b, closedInto(closed1));
        raw1.write(Varint.encode(1L << 40));
        assertThat(net.await(closed1)).isNotNull();
        assertThat(b.counters().get("despatch.drop.oversize")).isEqualTo(1);
        // a frame inside the framing bound whose payload is over maxMessageBytes
        CompletableFuture<Throwable> closed2 = new CompletableFuture<>();
        Stream raw2 = net.rawDespatchStream(a, b, closedInto(closed2));
        raw2.write(FrameDecoder.frame(new Header(0, ECHO, 1, 0, 0, null).encode(new byte[1025])));
        assertThat(net.await(closed2)).isNotNull();
        assertThat(b.counters().get("despatch.drop.oversize")).isEqualTo(2);
        assertThat(b.counters().get("despatch.drop.malformed")).isZero();
        // exactly at the limit is fine
        assertThat(net.await(a.despatcher().request(b.peerId(), ECHO, new byte[1024 - 5])).payloadUtf8()).startsWith("echo ");
    }

    @Test
    void sendingOverMaxMessageBytesIsRejectedAtOnce() {
        Node a = net.start(1, DespatchConfig.defaults().withMaxMessageBytes(1024)), b = net.start(2);
        byte[] big = new byte[1025];
        Despatcher d = a.despatcher();
        assertThatThrownBy(() -> d.send(b.peerId(), 1, big)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("1025 bytes exceeds limit 1024");
        assertThatThrownBy(() -> d.sendUnreliable(b.peerId(), 1, big)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> d.request(b.peerId(), 1, big)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> d.openConversation(b.peerId(), 1, big, new Recorder())).isInstanceOf(IllegalArgumentException.class);
        net.loop.runPending();
        assertThat(a.counters().get("despatch.sent")).isZero();
        assertThat(d.pendingRequestCount()).isZero();
    }

    // ---- unreliable ---------------------------------------------------------------------------------

    @Test
    void unreliableSendUsesADatagramAndFallsBackToTheStreamWhenTooLarge() {
        Node a = net.start(1), b = net.start(2);
        echo(b);
        List<Message> got = new CopyOnWriteArrayList<>();
        b.despatcher().register(20, got::add);
        net.await(a.despatcher().request(b.peerId(), ECHO, utf8("warm up"))); // the link exists now
        long fallbacks = a.counters().get("despatch.datagram_fallback_reliable");
        net.await(a.despatcher().sendUnreliable(b.peerId(), 20, utf8("small")));
        net.await(() -> got.size() == 1);
        assertThat(got.get(0).isReliable()).isFalse();
        assertThat(got.get(0).payloadUtf8()).isEqualTo("small");
        assertThat(a.counters().get("despatch.sent_datagrams")).isEqualTo(1);
        byte[] big = new byte[2_000];
        net.await(a.despatcher().sendUnreliable(b.peerId(), 20, big));
        net.await(() -> got.size() == 2);
        assertThat(got.get(1).isReliable()).isTrue();
        assertThat(got.get(1).payload()).hasSize(2_000);
        assertThat(a.counters().get("despatch.sent_datagrams")).isEqualTo(1);
        assertThat(a.counters().get("despatch.datagram_fallback_reliable")).isEqualTo(fallbacks + 1);
    }
}
