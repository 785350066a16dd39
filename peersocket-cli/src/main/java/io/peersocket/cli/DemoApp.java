package io.peersocket.cli;

import io.peersocket.despatch.Conversation;
import io.peersocket.despatch.ConversationHandler;
import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * The small application every CLI node serves, used by the testbed and handy for trying the despatch layer:
 * <ul>
 *   <li>type {@value #ECHO_REQUEST}: a request; the reply (type {@value #ECHO_REPLY}) carries the same payload;</li>
 *   <li>type {@value #COUNT_OPEN}: opens a counting conversation. Payloads are 8-byte big-endian counters;
 *       the opener sends 0, each side answers the value it received plus one, and the opener ends the
 *       conversation when it receives a value ≥ the limit. Any out-of-order value fails the conversation.</li>
 *   <li>type {@value #PING} (seed 002's testbed): a request; the reply is type {@value #PONG} with the same
 *       payload;</li>
 *   <li>type {@value #FORWARD}: a request whose payload is the rest of a route, peer ids in base58 separated by
 *       {@code '\n'} (at most {@value #MAX_ROUTE} of them; empty for the last hop). A node with a non-empty route
 *       forwards a FORWARD request with the remaining route to the first peer in it and, when that answers,
 *       replies with type {@value #FORWARD_REPLY}; the reply payload is the path that answered, this node's id
 *       first, one id per line. The last hop replies with its own id. A failure anywhere comes back as an
 *       error reply naming it.</li>
 * </ul>
 */
final class DemoApp {
    static final int ECHO_REQUEST = 1;
    static final int ECHO_REPLY = 2;
    static final int COUNT_OPEN = 10;
    static final int COUNT_STEP = 11;
    static final int PING = 20;
    static final int PONG = 21;
    static final int FORWARD = 22;
    static final int FORWARD_REPLY = 23;
    /** Most peers in a FORWARD route. */
    static final int MAX_ROUTE = 16;

    private DemoApp() {}

    /** Registers the demo handlers on {@code d}; {@code self} is this node's id (named in FORWARD replies). */
    static void install(Despatcher d, PeerId self) {
        d.register(ECHO_REQUEST, "ECHO", m -> m.reply(ECHO_REPLY, m.payload()));
        d.nameType(ECHO_REPLY, "ECHO_REPLY");
        d.register(PING, "PING", m -> m.reply(PONG, m.payload()));
        d.nameType(PONG, "PONG");
        d.nameType(FORWARD_REPLY, "FORWARD_REPLY");
        d.nameType(COUNT_STEP, "COUNT_STEP");
        d.register(FORWARD, "FORWARD", m -> {
            List<PeerId> route;
            try {
                route = decodeRoute(m.payload());
            } catch (IllegalArgumentException e) {
                m.replyError("bad route: " + e.getMessage());
                return;
            }
            if (route.isEmpty()) {
                m.reply(FORWARD_REPLY, utf8(self.toString()));
                return;
            }
            forward(d, route).whenComplete((path, err) -> {
                if (err != null) {
                    Throwable t = io.peersocket.util.Futures.unwrap(err);
                    m.replyError("forward to " + route.get(0) + " failed: " + t.getMessage());
                } else {
                    List<String> full = new ArrayList<>();
                    full.add(self.toString());
                    full.addAll(path);
                    m.reply(FORWARD_REPLY, utf8(String.join("\n", full)));
                }
            });
        });
        d.registerConversation(COUNT_OPEN, "COUNT_OPEN", opening -> new ConversationHandler() {
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

    /**
     * Sends a FORWARD request along {@code route} (first peer first).
     *
     * @return completes with the path of peer ids that answered, or fails with the first hop's failure
     *     ({@link io.peersocket.despatch.RemoteException} naming a later hop's failure)
     */
    static CompletableFuture<List<String>> forward(Despatcher d, List<PeerId> route) {
        if (route.isEmpty() || route.size() > MAX_ROUTE) {
            throw new IllegalArgumentException("route must have 1.." + MAX_ROUTE + " peers, got " + route.size());
        }
        return d.request(route.get(0), FORWARD, encodeRoute(route.subList(1, route.size())))
                .thenApply(reply -> {
                    String s = reply.payloadUtf8();
                    return s.isEmpty() ? List.<String>of() : List.of(s.split("\n"));
                });
    }

    static byte[] encodeRoute(List<PeerId> route) {
        return utf8(String.join("\n", route.stream().map(PeerId::toString).toList()));
    }

    /** @throws IllegalArgumentException if there are more than MAX_ROUTE ids or one does not parse */
    static List<PeerId> decodeRoute(byte[] payload) {
        if (payload.length == 0) return List.of();
        if (payload.length > MAX_ROUTE * 128) throw new IllegalArgumentException("route of " + payload.length + " bytes");
        String[] parts = new String(payload, StandardCharsets.UTF_8).split("\n", -1);
        if (parts.length > MAX_ROUTE) throw new IllegalArgumentException(parts.length + " peers, limit " + MAX_ROUTE);
        List<PeerId> out = new ArrayList<>(parts.length);
        for (String p : parts) out.add(PeerId.parse(p));
        return out;
    }

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static byte[] encode(long v) { return ByteBuffer.allocate(8).putLong(v).array(); }

    static long value(Message m) {
        if (m.payload().length != 8) throw new IllegalStateException("counter payload must be 8 bytes");
        return ByteBuffer.wrap(m.payload()).getLong();
    }
}
