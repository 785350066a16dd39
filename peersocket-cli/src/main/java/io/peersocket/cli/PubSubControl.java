package io.peersocket.cli;

import io.peersocket.node.Node;
import io.peersocket.protocol.pubsub.GossipSub;
import io.peersocket.protocol.pubsub.PubSubMessage;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The pubsub control ops of a running node (see docs/cli.md): {@code pubsub-publish {topic, data}},
 * {@code pubsub-subscribe {topic}} → {@code id}, {@code pubsub-poll {id, waitMs?}} → {@code messages} (long poll,
 * at most {@value #MAX_WAIT_MS} ms), {@code pubsub-unsubscribe {id}}, {@code pubsub-topics}, {@code pubsub-peers
 * {topic}}. A control subscription buffers at most {@value #MAX_BUFFERED} messages (oldest dropped, counted in
 * {@code dropped}) and is removed when it has not been polled for {@value #IDLE_MS} ms (a {@code sub} client that
 * was killed). Thread-safe.
 */
final class PubSubControl {
    static final int MAX_BUFFERED = 1_000;
    static final long MAX_WAIT_MS = 10_000;
    static final long IDLE_MS = 60_000;
    private static final long TIMEOUT_S = 30;

    private final Node node;
    private final AtomicLong nextId = new AtomicLong(1);
    private final Map<Long, Client> clients = new ConcurrentHashMap<>();

    private static final class Client {
        final GossipSub.Subscription sub;
        final LinkedBlockingDeque<PubSubMessage> buffer = new LinkedBlockingDeque<>();
        final AtomicLong dropped = new AtomicLong();
        volatile long lastPollNs = System.nanoTime();

        Client(GossipSub pubsub, String topic) {
            this.sub = pubsub.subscribe(topic, m -> {
                while (buffer.size() >= MAX_BUFFERED && buffer.pollFirst() != null) dropped.incrementAndGet();
                buffer.addLast(m);
            });
        }
    }

    PubSubControl(Node node) { this.node = node; }

    /** Whether {@code cmd} is one of these ops. */
    static boolean handles(String cmd) { return cmd.startsWith("pubsub-"); }

    void handle(String cmd, Map<String, Object> r, Map<String, Object> out) throws Exception {
        GossipSub ps = node.pubsub();
        if (ps == null) throw new IllegalStateException("this node runs without pubsub");
        expireIdle();
        switch (cmd) {
            case "pubsub-publish" -> {
                String topic = str(r, "topic");
                Object d = r.get("data");
                byte[] data = d instanceof String s ? s.getBytes(StandardCharsets.UTF_8) : new byte[0];
                if (r.get("dataBase64") instanceof String b64) data = Base64.getDecoder().decode(b64);
                GossipSub.PublishResult res = ps.publish(topic, data).get(TIMEOUT_S, TimeUnit.SECONDS);
                out.put("messageId", res.id().toString());
                out.put("peers", res.peers());
            }
            case "pubsub-subscribe" -> {
                long id = nextId.getAndIncrement();
                clients.put(id, new Client(ps, str(r, "topic")));
                out.put("id", id);
            }
            case "pubsub-poll" -> {
                Client c = client(r);
                long wait = Math.min(MAX_WAIT_MS, Math.max(0, r.get("waitMs") instanceof Number n ? n.longValue() : MAX_WAIT_MS));
                List<PubSubMessage> got = new ArrayList<>();
                PubSubMessage first = c.buffer.pollFirst(wait, TimeUnit.MILLISECONDS);
                if (first != null) {
                    got.add(first);
                    c.buffer.drainTo(got, 255);
                }
                c.lastPollNs = System.nanoTime();
                List<Map<String, Object>> ms = new ArrayList<>();
                for (PubSubMessage m : got) ms.add(json(m));
                out.put("messages", ms);
                out.put("dropped", c.dropped.getAndSet(0));
            }
            case "pubsub-unsubscribe" -> {
                Client c = clients.remove(id(r));
                if (c != null) c.sub.close();
                out.put("removed", c != null);
            }
            case "pubsub-topics" -> out.put("topics", ps.topics().get(TIMEOUT_S, TimeUnit.SECONDS));
            case "pubsub-peers" -> {
                String topic = str(r, "topic");
                out.put("peers", ps.topicPeers(topic).get(TIMEOUT_S, TimeUnit.SECONDS).stream().map(Object::toString).toList());
                out.put("mesh", ps.meshPeers(topic).get(TIMEOUT_S, TimeUnit.SECONDS).stream().map(Object::toString).toList());
            }
            default -> throw new IllegalArgumentException("unknown command \"" + cmd + "\"");
        }
    }

    private static Map<String, Object> json(PubSubMessage m) {
        Map<String, Object> j = new LinkedHashMap<>();
        j.put("topic", m.topic());
        j.put("from", m.from() == null ? null : m.from().toString());
        j.put("seqno", Long.toUnsignedString(m.seqno()));
        j.put("id", m.id() == null ? null : m.id().toString());
        j.put("receivedFrom", m.receivedFrom().toString());
        byte[] data = m.data();
        j.put("data", new String(data, StandardCharsets.UTF_8));
        j.put("dataBase64", Base64.getEncoder().encodeToString(data));
        return j;
    }

    private Client client(Map<String, Object> r) {
        Client c = clients.get(id(r));
        if (c == null) throw new IllegalArgumentException("no control subscription " + r.get("id"));
        return c;
    }

    private static long id(Map<String, Object> r) {
        if (!(r.get("id") instanceof Number n)) throw new IllegalArgumentException("missing \"id\"");
        return n.longValue();
    }

    private void expireIdle() {
        long now = System.nanoTime();
        clients.entrySet().removeIf(e -> {
            if (now - e.getValue().lastPollNs < TimeUnit.MILLISECONDS.toNanos(IDLE_MS)) return false;
            e.getValue().sub.close();
            return true;
        });
    }

    private static String str(Map<String, Object> r, String key) { return ControlArgs.str(r, key); }
}
