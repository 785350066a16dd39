package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.node.Node;
import io.peersocket.protocol.pubsub.GossipSubConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The pubsub control ops behind {@code peersocket pub} and {@code peersocket sub}, on two QUIC nodes. */
class PubSubControlTest {
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void close() {
        nodes.forEach(Node::close);
    }

    private Node start(boolean pubsub) throws Exception {
        var b = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1");
        if (pubsub) b.pubsub(GossipSubConfig.defaults());
        Node n = b.start();
        nodes.add(n);
        return n;
    }

    @Test
    void publishedMessagesArriveAtAPollingSubscriber() throws Exception {
        Node a = start(true);
        Node b = start(true);
        ControlHandler ca = new ControlHandler(a);
        ControlHandler cb = new ControlHandler(b);
        Map<String, Object> sub = cb.handle(Map.of("cmd", "pubsub-subscribe", "topic", "news"));
        assertThat(sub).containsEntry("ok", true);
        Object id = sub.get("id");
        a.connect(b.addresses().get(0)).get(10, TimeUnit.SECONDS);
        // a learns b's subscription from the first RPC on b's pubsub stream
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (((List<?>) ca.handle(Map.of("cmd", "pubsub-peers", "topic", "news")).get("peers")).isEmpty()) {
            if (System.nanoTime() > deadline) throw new AssertionError("a never learned b's subscription");
            Thread.onSpinWait();
        }
        Map<String, Object> pub = ca.handle(Map.of("cmd", "pubsub-publish", "topic", "news", "data", "hello"));
        assertThat(pub).containsEntry("ok", true).containsEntry("peers", 1);
        Map<String, Object> poll = cb.handle(Map.of("cmd", "pubsub-poll", "id", id, "waitMs", 10_000));
        assertThat(poll).containsEntry("ok", true).containsEntry("dropped", 0L);
        List<?> messages = (List<?>) poll.get("messages");
        assertThat(messages).hasSize(1);
        Map<?, ?> m = (Map<?, ?>) messages.get(0);
        assertThat(m.get("data")).isEqualTo("hello");
        assertThat(m.get("from")).isEqualTo(a.peerId().toString());
        assertThat(m.get("id")).isEqualTo(pub.get("messageId"));
        assertThat(cb.handle(Map.of("cmd", "pubsub-topics")).get("topics")).isEqualTo(List.of("news"));
        assertThat(cb.handle(Map.of("cmd", "pubsub-unsubscribe", "id", id))).containsEntry("removed", true);
        assertThat(cb.handle(Map.of("cmd", "pubsub-poll", "id", id)))
                .containsEntry("ok", false).containsEntry("error", "no control subscription " + id);
    }

    @Test
    void aNodeWithoutPubsubSaysSo() throws Exception {
        ControlHandler c = new ControlHandler(start(false));
        assertThat(c.handle(Map.of("cmd", "pubsub-publish", "topic", "t", "data", "x")))
                .containsEntry("ok", false).containsEntry("error", "this node runs without pubsub");
        assertThat(new ControlHandler(start(true)).handle(Map.of("cmd", "pubsub-publish", "topic", "", "data", "x")))
                .containsEntry("ok", false).containsEntry("error", "missing \"topic\"");
    }
}
