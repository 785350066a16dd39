package io.peersocket.cli;

import io.peersocket.despatch.Conversation;
import io.peersocket.despatch.ConversationHandler;
import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import java.nio.ByteBuffer;
import java.util.concurrent.CompletableFuture;

/**
 * The small application every CLI node serves, used by the testbed and handy for trying the despatch layer:
 * <ul>
 *   <li>type {@value #ECHO_REQUEST}: a request; the reply (type {@value #ECHO_REPLY}) carries the same payload;</li>
 *   <li>type {@value #COUNT_OPEN}: opens a counting conversation. Payloads are 8-byte big-endian counters;
 *       the opener sends 0, each side answers the value it received plus one, and the opener ends the
 *       conversation when it receives a value ≥ the limit. Any out-of-order value fails the conversation.</li>
 * </ul>
 */
final class DemoApp {
    static final int ECHO_REQUEST = 1;
    static final int ECHO_REPLY = 2;
    static final int COUNT_OPEN = 10;
    static final int COUNT_STEP = 11;

    private DemoApp() {}

    static void install(Despatcher d) {
        d.register(ECHO_REQUEST, m -> m.reply(ECHO_REPLY, m.payload()));
        d.registerConversation(COUNT_OPEN, opening -> new ConversationHandler() {
            long expected = 0;

            @Override public void onMessage(Conversation c, Message m) {
                long v = value(m);
                if (v != expected) throw new IllegalStateException("expected " + expected + ", got " + v);
                expected = v + 2;
                c.send(COUNT_STEP, encode(v + 1));
            }
        });
    }

    /**
     * Runs a counting conversation with {@code peer} until the counter reaches {@code limit}.
     *
     * @return completes with the number of messages this side received, or fails if the conversation broke
     */
    static CompletableFuture<Long> count(Despatcher d, PeerId peer, long limit) {
        CompletableFuture<Long> done = new CompletableFuture<>();
        d.openConversation(peer, COUNT_OPEN, encode(0), new ConversationHandler() {
            long expected = 1;
            long received;

            @Override public void onMessage(Conversation c, Message m) {
                long v = value(m);
                if (v != expected) throw new IllegalStateException("expected " + expected + ", got " + v);
                received++;
                if (v >= limit) {
                    c.end();
                    done.complete(received);
                    return;
                }
                expected = v + 2;
                c.send(COUNT_STEP, encode(v + 1));
            }

            @Override public void onEnd(Conversation c, EndReason reason, String detail) {
                if (!done.isDone()) {
                    done.completeExceptionally(new IllegalStateException("conversation ended early: " + reason
                            + (detail == null ? "" : " (" + detail + ")")));
                }
            }
        });
        return done;
    }

    static byte[] encode(long v) { return ByteBuffer.allocate(8).putLong(v).array(); }

    static long value(Message m) {
        if (m.payload().length != 8) throw new IllegalStateException("counter payload must be 8 bytes");
        return ByteBuffer.wrap(m.payload()).getLong();
    }
}
