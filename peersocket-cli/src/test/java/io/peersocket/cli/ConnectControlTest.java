package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.node.Node;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Control ops {@code connect} (plain and direct) and {@code disconnect} on in-process loopback nodes. */
class ConnectControlTest {
    private final List<Node> nodes = new ArrayList<>();

    private Node start() throws Exception {
        Node n = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
        nodes.add(n);
        return n;
    }

    @AfterEach
    void tearDown() {
        nodes.forEach(Node::close);
    }

    @Test
    void connectDirectByIntroductionThenDisconnect() throws Exception {
        Node m = start();
        Node a = start();
        Node b = start();
        ControlHandler ca = new ControlHandler(a);
        ControlHandler cb = new ControlHandler(b);
        assertThat(ca.handle(Map.of("cmd", "connect", "addr", m.addresses().get(0).toString())).get("ok")).isEqualTo(true);
        assertThat(cb.handle(Map.of("cmd", "connect", "addr", m.addresses().get(0).toString())).get("ok")).isEqualTo(true);
        long end = System.currentTimeMillis() + 10_000;
        while (m.connectedPeers().get(5, TimeUnit.SECONDS).size() < 2 && System.currentTimeMillis() < end) {
            CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS)).get();
        }

        Map<String, Object> r = ca.handle(Map.of("cmd", "connect", "peer", b.peerId().toString(), "direct", true));
        assertThat(r).containsEntry("ok", true).containsEntry("direct", true).containsEntry("limited", false)
                .containsEntry("peer", b.peerId().toString())
                .containsEntry("remoteAddress", b.listenAddresses().get(0).toString());
        assertThat(((Number) r.get("ms")).longValue()).isGreaterThanOrEqualTo(0);
        assertThat(m.counters().get("holepunch.intro.served")).isEqualTo(1);

        Map<String, Object> d = ca.handle(Map.of("cmd", "disconnect", "peer", b.peerId().toString()));
        assertThat(d).containsEntry("ok", true).containsEntry("closed", 1);
        assertThat(a.openConnections(b.peerId()).get(5, TimeUnit.SECONDS)).isEmpty();

        // again, with explicit tries and dial time limit
        Map<String, Object> again = ca.handle(Map.of("cmd", "connect", "peer", b.peerId().toString(), "direct", true,
                "attempts", 2, "dialTimeoutMs", 3_000));
        assertThat(again).containsEntry("ok", true).containsEntry("direct", true);
        assertThat(m.counters().get("holepunch.intro.served")).isEqualTo(2);
    }

    @Test
    void connectCommandDrivesARunningNodeThroughItsControlSocket(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir)
            throws Exception {
        Node m = start();
        Node a = start();
        Node b = start();
        ControlHandler ca = new ControlHandler(a);
        try (ControlSocket cs = ControlSocket.start(dir, ca)) {
            CliTest.Run plain = CliTest.run("connect", "--data", dir.toString(), m.addresses().get(0).toString());
            assertThat(plain.exit()).as(plain.err()).isZero();
            assertThat(plain.out()).contains("connected to " + m.peerId() + " directly");
            b.connect(m.addresses().get(0)).get(10, TimeUnit.SECONDS);
            long end = System.currentTimeMillis() + 10_000;
            while (m.connectedPeers().get(5, TimeUnit.SECONDS).size() < 2 && System.currentTimeMillis() < end) {
                CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS)).get();
            }
            CliTest.Run direct = CliTest.run("connect", "--data", dir.toString(), b.peerId().toString(), "--direct", "--json");
            assertThat(direct.exit()).as(direct.err()).isZero();
            Map<String, Object> j = com.fasterxml.jackson.jr.ob.JSON.std.mapFrom(direct.out());
            assertThat(j).containsEntry("direct", true).containsEntry("peer", b.peerId().toString());
            assertThat(m.counters().get("holepunch.intro.served")).isEqualTo(1);
            CliTest.Run bad = CliTest.run("connect", "--data", dir.toString(), "not-a-peer", "--direct");
            assertThat(bad.exit()).isEqualTo(1);
            assertThat(bad.err()).startsWith("error: ");
        }
    }

    @Test
    void badConnectArgumentsAreRefused() throws Exception {
        Node a = start();
        ControlHandler ca = new ControlHandler(a);
        String peer = start().peerId().toString();
        assertThat(ca.handle(Map.of("cmd", "connect", "peer", peer, "direct", true, "attempts", 0)))
                .containsEntry("ok", false).extractingByKey("error").asString().contains("attempts");
        assertThat(ca.handle(Map.of("cmd", "connect", "peer", peer, "direct", true, "attempts", 10, "dialTimeoutMs", 5_000)))
                .containsEntry("ok", false).extractingByKey("error").asString().contains("25000");
        assertThat(ca.handle(Map.of("cmd", "connect", "addr", "/ip4/127.0.0.1/udp/9/quic-v1", "direct", true)))
                .containsEntry("ok", false).extractingByKey("error").asString().contains("/p2p/");
        assertThat(ca.handle(Map.of("cmd", "connect"))).containsEntry("ok", false);
        assertThat(ca.handle(Map.of("cmd", "disconnect", "peer", peer))).containsEntry("ok", true).containsEntry("closed", 0);
    }
}
