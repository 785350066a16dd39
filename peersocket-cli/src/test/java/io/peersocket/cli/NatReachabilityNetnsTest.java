package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.netns.NetNs;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * AutoNAT through real NATs: five {@code peersocket node} processes in network namespaces ({@link NetNs}) — a
 * public node, two public helpers, a node behind a cone NAT (MASQUERADE, unsolicited inbound dropped) and one
 * behind a symmetric NAT ({@code --random-fully}). The public node must decide PUBLIC; the cone-NATed node must
 * learn its router's external address by consensus of three peers and decide PRIVATE (its DHT switching to
 * client mode); the symmetric one must decide PRIVATE with no external address. Needs root; fails (never skips) without.
 */
@Tag("netns")
@Tag("slow")
class NatReachabilityNetnsTest {
    private static final long DEADLINE_MS = 120_000;

    @TempDir Path dir;

    @Test
    @SuppressWarnings("unchecked")
    void publicNodeIsPublicAndNattedNodeIsPrivateWithItsRoutersAddress() throws Exception {
        String prefix;
        try (NetNs net = new NetNs()) {
            prefix = net.prefix();
            NetNs.Host pub = net.publicHost("a");
            NetNs.Host h1 = net.publicHost("b");
            NetNs.Host h2 = net.publicHost("c");
            NetNs.Private nat = net.privateHost("n", NetNs.Nat.CONE, 0);
            NetNs.Private sym = net.privateHost("s", NetNs.Nat.SYMMETRIC, 0);

            String a = start(net, pub, "a");
            String b = start(net, h1, "b", "--peer", a);
            String c = start(net, h2, "c", "--peer", a + "," + b);
            start(net, nat.host(), "n", "--peer", a + "," + b + "," + c);
            start(net, sym.host(), "s", "--peer", a + "," + b + "," + c);

            Map<String, Object> n = awaitStatus("n", s -> !"UNKNOWN".equals(s.get("reachability")));
            Map<String, Object> p = awaitStatus("a", s -> !"UNKNOWN".equals(s.get("reachability")));
            assertThat(p.get("reachability")).as("public node").isEqualTo("PUBLIC");
            assertThat((List<Object>) p.get("externalAddresses")).contains((Object) "/ip4/" + pub.ip() + "/udp/4001/quic-v1");
            assertThat(n.get("reachability")).as("node behind the cone NAT").isEqualTo("PRIVATE");
            // MASQUERADE keeps the free source port: the router's address with the node's port.
            assertThat((List<Object>) n.get("externalAddresses")).contains((Object) "/ip4/" + nat.externalIp() + "/udp/4001/quic-v1");
            // Behind a symmetric NAT every peer sees another port: no consensus, but dial-backs to the observed
            // address fail, so the node still learns it is PRIVATE.
            Map<String, Object> sy = awaitStatus("s", st -> !"UNKNOWN".equals(st.get("reachability")));
            assertThat(sy.get("reachability")).as("node behind the symmetric NAT").isEqualTo("PRIVATE");
            assertThat((List<Object>) sy.get("externalAddresses")).isEmpty();
            Map<String, Object> n2 = awaitStatus("n", s -> "client".equals(s.get("dhtMode")));
            assertThat(n2.get("dhtMode")).isEqualTo("client");
            // PRIVATE came from failed dial-backs to the router's address, not from refusals.
            Map<String, Object> nc = (Map<String, Object>) Remote.call(dir.resolve("n"), Map.of("cmd", "stats")).get("counters");
            assertThat(((Number) nc.getOrDefault("autonat.client.response.e_dial_error", 0)).longValue()).isGreaterThanOrEqualTo(3);
            assertThat(nc.get("autonat.client.response.ok")).isNull();
            Map<String, Object> pc = (Map<String, Object>) Remote.call(dir.resolve("a"), Map.of("cmd", "stats")).get("counters");
            assertThat(((Number) pc.getOrDefault("autonat.client.response.ok", 0)).longValue()).isGreaterThanOrEqualTo(3);
        }
        List<String> left = new ArrayList<>();
        for (String line : new String(new ProcessBuilder("ip", "netns", "list").start().getInputStream().readAllBytes(),
                StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith(prefix)) left.add(line);
        }
        assertThat(left).as("namespaces left after close").isEmpty();
    }

    /** Starts a node in {@code host}'s namespace on 0.0.0.0:4001 and returns its address with /p2p/. */
    private String start(NetNs net, NetNs.Host host, String name, String... extra) throws Exception {
        Path data = dir.resolve(name);
        Files.createDirectories(data);
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "node", "--data", data.toString(), "--listen", "/ip4/0.0.0.0/udp/4001/quic-v1",
                "--autonat-retry-ms", "2000", "--log-level", "info"));
        cmd.addAll(List.of(extra));
        Process p = net.start(host.namespace(), cmd, dir.resolve(name + ".log").toFile());
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String want = "listening /ip4/" + host.ip() + "/udp/4001/quic-v1/p2p/";
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                for (String l; (l = r.readLine()) != null; ) if (l.startsWith(want)) return l;
                return null;
            } catch (Exception e) {
                return null;
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(line).as("node %s printed its address %s…", name, want).isNotNull();
        return line.substring("listening ".length());
    }

    /** Polls {@code status} of node {@code name} until {@code done} holds (bounded by {@link #DEADLINE_MS}). */
    private Map<String, Object> awaitStatus(String name, Predicate<Map<String, Object>> done) throws Exception {
        long end = System.currentTimeMillis() + DEADLINE_MS;
        Map<String, Object> last = null;
        while (System.currentTimeMillis() < end) {
            last = Remote.call(dir.resolve(name), Map.of("cmd", "status"));
            if (done.test(last)) return last;
            CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(500, TimeUnit.MILLISECONDS)).get();
        }
        String log = Files.exists(dir.resolve(name + ".log")) ? Files.readString(dir.resolve(name + ".log")) : "";
        throw new AssertionError("node " + name + " status never matched; last " + last + "\nlog tail:\n"
                + log.substring(Math.max(0, log.length() - 4000)));
    }
}
