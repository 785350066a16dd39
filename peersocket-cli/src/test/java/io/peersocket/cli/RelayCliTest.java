package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code node --relay-service}, {@code node --relay} and {@code connect --via} with real node processes on loopback:
 * C reserves on relay R; A, which the firewall keeps from reaching C directly, connects to C through R (relayed),
 * pings it and runs a counting conversation, then — the cut lifted — connects directly, and despatch moves its link.
 */
@Timeout(120)
class RelayCliTest {
    @TempDir Path tmp;
    private final NodeProcesses nodes = new NodeProcesses();

    private Process cProcess;

    @AfterEach
    void stop() throws Exception {
        if (cProcess != null) {
            cProcess.destroy();
            if (!cProcess.waitFor(20, TimeUnit.SECONDS)) cProcess.destroyForcibly();
        }
        nodes.close();
    }

    static void await(BooleanSupplier cond, String what) throws Exception {
        long end = System.currentTimeMillis() + 30_000;
        while (!cond.getAsBoolean()) {
            if (System.currentTimeMillis() > end) throw new AssertionError("timed out waiting for " + what);
            CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(50, TimeUnit.MILLISECONDS)).get();
        }
    }

    static Map<String, Object> call(Path data, Map<String, Object> req) {
        try {
            return Remote.call(data, req);
        } catch (Exception e) {
            throw new AssertionError(req + ": " + e.getMessage(), e);
        }
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> connections(Path data) {
        return (List<Map<String, Object>>) call(data, Map.of("cmd", "connections")).get("connections");
    }

    @Test
    void nodeReservesOnARelayAndAnotherConnectsToItThroughTheRelay() throws Exception {
        String[] quiet = {"--dht", "off", "--autonat", "off", "--content", "off", "--no-pubsub"};
        var r = nodes.start(tmp.resolve("r"), concat(quiet, "--relay-service", "--relay-circuit-bytes", "1M"));
        // C: its own process, to read the circuit address it prints once the reservation holds
        Path cData = tmp.resolve("c");
        String javaBin = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new java.util.ArrayList<>(List.of(javaBin, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "node", "--data", cData.toString(), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1"));
        cmd.addAll(List.of(concat(quiet, "--relay", r.address())));
        cProcess = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        var out = new java.io.BufferedReader(new java.io.InputStreamReader(cProcess.getInputStream(),
                java.nio.charset.StandardCharsets.UTF_8));
        List<String> lines = CompletableFuture.supplyAsync(() -> {
            try {
                return List.of(out.readLine(), out.readLine());
            } catch (java.io.IOException e) {
                return List.<String>of();
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).matches("listening /ip4/127\\.0\\.0\\.1/udp/\\d+/quic-v1/p2p/12D3KooW\\w+");
        String cAddress = lines.get(0).substring("listening ".length());
        var c = new NodeProcesses.NodeProcess(cProcess, cData, cAddress, cAddress.substring(cAddress.indexOf("/p2p/") + 5));
        String circuit = r.address() + "/p2p-circuit/p2p/" + c.peerId();
        assertThat(lines.get(1)).isEqualTo("listening " + circuit);
        var a = nodes.start(tmp.resolve("a"), quiet);
        assertThat(call(c.data(), Map.of("cmd", "status")).get("circuitAddresses")).isEqualTo(List.of(circuit));
        assertThat(call(r.data(), Map.of("cmd", "status"))).containsEntry("relayService", true);

        // A cannot reach C directly: only the relay path works (DCUtR, which C starts by itself, fails)
        String cDirect = c.address().substring(0, c.address().indexOf("/p2p/"));
        call(a.data(), Map.of("cmd", "firewall", "block", List.of(cDirect)));

        CliTest.Run run = CliTest.run("connect", c.peerId(), "--via", r.address(), "--data", a.data().toString());
        assertThat(run.exit()).as(run.err()).isZero();
        assertThat(run.out()).startsWith("connected to " + c.peerId() + " relayed at " + r.address() + "/p2p-circuit in ");

        List<Map<String, Object>> conns = connections(a.data());
        assertThat(conns).filteredOn(m -> m.get("peer").equals(c.peerId()))
                .singleElement().satisfies(m -> assertThat(m).containsEntry("relayed", true)
                        .containsEntry("remoteAddress", r.address() + "/p2p-circuit"));
        await(() -> connections(c.data()).stream().anyMatch(m -> m.get("peer").equals(a.peerId())
                && Boolean.TRUE.equals(m.get("relayed"))), "C sees the relayed connection");
        Map<String, Object> ping = call(a.data(), Map.of("cmd", "ping", "peer", c.peerId(), "count", 3));
        assertThat((List<?>) ping.get("rttMs")).hasSize(3);
        Map<String, Object> count = call(a.data(), Map.of("cmd", "count", "peer", c.peerId(), "limit", 50));
        // the opener receives the odd counters 1, 3, …, 51 (the last one ≥ the limit ends it)
        assertThat(((Number) count.get("received")).longValue()).isEqualTo(26);
        assertThat(call(a.data(), Map.of("cmd", "status"))).containsEntry("relayedConnections", 1);

        // bad combinations
        CliTest.Run both = CliTest.run("connect", c.peerId(), "--via", r.address(), "--direct", "--data", a.data().toString());
        assertThat(both.exit()).isNotZero();
        assertThat(both.err()).contains("--via and --direct");
        CliTest.Run badVia = CliTest.run("connect", c.peerId(), "--via", cDirect, "--data", a.data().toString());
        assertThat(badVia.exit()).isNotZero();
        assertThat(badVia.err()).contains("/p2p/RELAY");

        // the cut lifted: a direct connection by introduction and hole punching; despatch moves its link there and
        // the conversation protocol carries on over it (testbed --scenario relay and RelayMigrationTest switch mid-conversation)
        call(a.data(), Map.of("cmd", "firewall", "clear", true));
        CliTest.Run direct = CliTest.run("connect", c.peerId(), "--direct", "--data", a.data().toString(), "--json");
        assertThat(direct.exit()).as(direct.err()).isZero();
        assertThat(direct.out()).contains("\"direct\":true", "\"relayed\":false");
        Map<String, Object> after = call(a.data(), Map.of("cmd", "count", "peer", c.peerId(), "limit", 50));
        assertThat(((Number) after.get("received")).longValue()).isEqualTo(26);
        assertThat(connections(a.data())).filteredOn(m -> m.get("peer").equals(c.peerId()))
                .anyMatch(m -> Boolean.FALSE.equals(m.get("relayed")));
        Map<?, ?> counters = (Map<?, ?>) call(a.data(), Map.of("cmd", "stats")).get("counters");
        assertThat(counters.get("despatch.link.migrated")).isEqualTo(1);
        assertThat(counters.containsKey("despatch.channel.reset.outbound") || counters.containsKey("despatch.channel.reset.inbound")).isFalse();
    }

    @Test
    void connectOpViaIsCheckedInProcess() throws Exception {
        io.peersocket.node.Node r = io.peersocket.node.Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1")
                .relayService(io.peersocket.protocol.relay.RelayConfig.defaults()).start();
        io.peersocket.node.Node a = io.peersocket.node.Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
        io.peersocket.node.Node b = io.peersocket.node.Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
        try {
            b.relay().reserve(r.addresses().get(0)).get(15, TimeUnit.SECONDS);
            ControlHandler ca = new ControlHandler(a);
            String via = r.addresses().get(0).toString();
            Map<String, Object> ok = ca.handle(Map.of("cmd", "connect", "peer", b.peerId().toString(), "via", via));
            assertThat(ok).containsEntry("ok", true).containsEntry("relayed", true).containsEntry("direct", false)
                    .containsEntry("circuitAddress", via + "/p2p-circuit/p2p/" + b.peerId());
            // by address: only its /p2p/ part matters
            assertThat(ca.handle(Map.of("cmd", "connect", "addr", b.addresses().get(0).toString(), "via", via)))
                    .containsEntry("ok", true).containsEntry("peer", b.peerId().toString());
            assertThat(ca.handle(Map.of("cmd", "connect", "peer", b.peerId().toString(), "via", via, "direct", true)))
                    .containsEntry("ok", false).extractingByKey("error").asString().contains("exclude");
            assertThat(ca.handle(Map.of("cmd", "connect", "peer", b.peerId().toString(), "via", "/ip4/127.0.0.1/udp/9/quic-v1")))
                    .containsEntry("ok", false).extractingByKey("error").asString().contains("/p2p/RELAY");
            assertThat(ca.handle(Map.of("cmd", "connect", "addr", "/ip4/127.0.0.1/udp/9/quic-v1", "via", via)))
                    .containsEntry("ok", false).extractingByKey("error").asString().contains("/p2p/PEER");
            assertThat(new ControlHandler(b).handle(Map.of("cmd", "status")).get("circuitAddresses"))
                    .isEqualTo(List.of(via + "/p2p-circuit/p2p/" + b.peerId()));
        } finally {
            a.close();
            b.close();
            r.close();
        }
    }

    @Test
    void aRelayThatIsNotUpYetIsTriedAgainUntilTheReservationHolds() throws Exception {
        String[] quiet = {"--dht", "off", "--autonat", "off", "--content", "off", "--no-pubsub"};
        Path rData = tmp.resolve("r");
        CliTest.Run id = CliTest.run("id", "--data", rData.toString());
        assertThat(id.exit()).isZero();
        String rId = id.out().strip();
        int port;
        try (java.net.DatagramSocket free = new java.net.DatagramSocket(0, java.net.InetAddress.getLoopbackAddress())) {
            port = free.getLocalPort();
        }
        String rAddr = "/ip4/127.0.0.1/udp/" + port + "/quic-v1";
        var c = nodes.start(tmp.resolve("c"), concat(quiet, "--handshake-timeout-ms", "1000", "--relay", rAddr + "/p2p/" + rId));
        // the first try fails (nothing listens there yet); the relay comes up on that address later
        await(() -> ((Map<?, ?>) call(c.data(), Map.of("cmd", "stats")).get("counters")).keySet().stream()
                .anyMatch(k -> String.valueOf(k).startsWith("node.dial.failed.")), "C's first try fails");
        nodes.start(rData, concat(quiet, "--listen", rAddr, "--relay-service"));
        await(() -> call(c.data(), Map.of("cmd", "status")).get("circuitAddresses") instanceof List<?> l
                && l.contains(rAddr + "/p2p/" + rId + "/p2p-circuit/p2p/" + c.peerId()), "C's reservation after a retry");
    }

    @Test
    void relayFlagsAreChecked() {
        CliTest.Run r = CliTest.run("node", "--data", tmp.resolve("x").toString(), "--relay", "/ip4/127.0.0.1/udp/1/quic-v1");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).contains("--relay must be a direct address ending in /p2p/RELAY");
        CliTest.Run help = CliTest.run("node", "--help");
        assertThat(help.out()).contains("--relay-service", "--relay=MULTIADDR", "--relay-circuit-bytes");
        assertThat(CliTest.run("connect", "--help").out()).contains("--via=RELAY");
    }

    static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
