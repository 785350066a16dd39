package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.netns.NetNs;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Hole punching through real NATs ({@link NetNs}): a public introducer M, a public node P, two nodes behind cone
 * NATs (C1, C2) and two behind symmetric NATs (S1, S2), every WAN link with 5% random loss in each direction. Four
 * scenarios run at once, each {@value #ATTEMPTS} times: disconnect, make both routers forget the pair's flows
 * ({@code conntrack -D}, so every try starts from unopened NATs and stale mappings cannot help), then
 * {@code connect {peer, direct:true}} over the control socket (introduction by M, punch, dial).
 *
 * <ul>
 *   <li>cone ↔ cone (C1 → C2): must connect directly in ≥ 49 of 50 (3 tries each, the default);</li>
 *   <li>public ↔ private (P → C2): ≥ 49 of 50;</li>
 *   <li>cone ↔ symmetric (C1 → S1) and symmetric ↔ symmetric (S1 → S2): punching cannot work (a new random port
 *       per destination); 1 try of 2 s each to keep the test short; sym ↔ sym must never yield a connection. Relay
 *       fallback comes with the relay.</li>
 * </ul>
 * Prints success rates and mean time per attempt. Needs root and conntrack; fails (never skips) without.
 */
@Tag("netns")
@Tag("slow")
class HolePunchNetnsTest {
    static final int ATTEMPTS = 50;
    static final int LOSS = 5;

    @TempDir Path dir;

    /** Node logs are copied here after the run (also on failure), for the CI artifacts and for debugging. */
    private static final Path LOGS = Path.of("target", "test-artifacts", "holepunch-netns");

    record Outcome(String scenario, int ok, int total, double meanMs, List<String> errors) {
        String line() {
            return String.format("%-18s %2d/%d direct (%.0f%%), mean %.0f ms per attempt", scenario, ok, total,
                    100.0 * ok / total, meanMs);
        }
    }

    @Test
    void holePunchingThroughConeAndSymmetricNats() throws Exception {
        String prefix;
        List<Outcome> outcomes = new ArrayList<>();
        long pTries, c1Tries;
        try (NetNs net = new NetNs()) {
            prefix = net.prefix();
            NetNs.Host m = net.publicHost("m", LOSS);
            NetNs.Host p = net.publicHost("p", LOSS);
            NetNs.Private c1 = net.privateHost("c1", NetNs.Nat.CONE, LOSS);
            NetNs.Private c2 = net.privateHost("c2", NetNs.Nat.CONE, LOSS);
            NetNs.Private s1 = net.privateHost("s1", NetNs.Nat.SYMMETRIC, LOSS);
            NetNs.Private s2 = net.privateHost("s2", NetNs.Nat.SYMMETRIC, LOSS);
            // check the tool before starting anything
            net.forgetFlows(c1.router(), c2.externalIp());

            String mAddr = start(net, m, "m");
            Map<String, String> ids = new LinkedHashMap<>();
            ids.put("p", peerOf(start(net, p, "p", "--peer", mAddr)));
            ids.put("c1", peerOf(start(net, c1.host(), "c1", "--peer", mAddr)));
            ids.put("c2", peerOf(start(net, c2.host(), "c2", "--peer", mAddr)));
            ids.put("s1", peerOf(start(net, s1.host(), "s1", "--peer", mAddr)));
            ids.put("s2", peerOf(start(net, s2.host(), "s2", "--peer", mAddr)));
            awaitConnected("m", 5);

            ExecutorService pool = Executors.newFixedThreadPool(4);
            try {
                List<Future<Outcome>> runs = List.of(
                        pool.submit(() -> scenario(net, "cone<->cone", "c1", ids.get("c1"), c1.router(), c1.externalIp(),
                                "c2", ids.get("c2"), c2.router(), c2.externalIp(), 3)),
                        pool.submit(() -> scenario(net, "public<->private", "p", ids.get("p"), null, p.ip(),
                                "c2", ids.get("c2"), c2.router(), c2.externalIp(), 3)),
                        pool.submit(() -> scenario(net, "cone<->symmetric", "c1", ids.get("c1"), c1.router(), c1.externalIp(),
                                "s1", ids.get("s1"), s1.router(), s1.externalIp(), 1)),
                        pool.submit(() -> scenario(net, "sym<->sym", "s1", ids.get("s1"), s1.router(), s1.externalIp(),
                                "s2", ids.get("s2"), s2.router(), s2.externalIp(), 1)));
                for (Future<Outcome> f : runs) outcomes.add(f.get(10, TimeUnit.MINUTES));
            } finally {
                pool.shutdownNow();
                Files.createDirectories(LOGS);
                for (String n : List.of("m", "p", "c1", "c2", "s1", "s2")) {
                    Path log = dir.resolve(n + ".log");
                    if (Files.exists(log)) Files.copy(log, LOGS.resolve(n + ".log"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
            System.out.println("hole punching through real NATs, " + LOSS + "% loss per WAN link direction:");
            for (Outcome o : outcomes) {
                System.out.println("  " + o.line());
                if (!o.errors().isEmpty()) System.out.println("    first errors: " + o.errors().subList(0, Math.min(3, o.errors().size())));
            }
            Map<String, Object> mc = counters("m");
            System.out.println("  introducer: served " + mc.get("holepunch.intro.served") + ", refused rate-limited "
                    + mc.getOrDefault("holepunch.intro.refused.rate_limited", 0));
            // tries: P only requests in public<->private; C1 in cone<->cone and cone<->symmetric (1 try each)
            pTries = ((Number) counters("p").getOrDefault("holepunch.direct.attempts", 0)).longValue();
            c1Tries = ((Number) counters("c1").getOrDefault("holepunch.direct.attempts", 0)).longValue() - ATTEMPTS;
            System.out.println("  tries for " + ATTEMPTS + " attempts: cone<->cone " + c1Tries + ", public<->private " + pTries);
            for (String n : List.of("p", "c1", "c2", "s1", "s2")) {
                Map<String, Object> c = counters(n);
                System.out.println("  " + n + ": connections in " + c.getOrDefault("node.connection.opened.inbound", 0) + ", out "
                        + c.getOrDefault("node.connection.opened.outbound", 0) + ", punched packets "
                        + c.getOrDefault("holepunch.punch.packets", 0) + ", dial failures " + c.getOrDefault("node.dial.failed.timeout", 0));
            }
        }
        Outcome cone = outcomes.get(0), pub = outcomes.get(1), sym = outcomes.get(3);
        assertThat(cone.ok()).as(cone.line() + " " + cone.errors()).isGreaterThanOrEqualTo(ATTEMPTS - 1);
        assertThat(pub.ok()).as(pub.line() + " " + pub.errors()).isGreaterThanOrEqualTo(ATTEMPTS - 1);
        assertThat(sym.ok()).as("symmetric <-> symmetric must never connect directly").isZero();
        // every attempt really punched (at least one introduced try each): no connection survived from the one before
        assertThat(c1Tries).as("cone<->cone tries").isGreaterThanOrEqualTo(ATTEMPTS);
        assertThat(pTries).as("public<->private tries").isGreaterThanOrEqualTo(ATTEMPTS);
        List<String> left = new ArrayList<>();
        for (String line : new String(new ProcessBuilder("ip", "netns", "list").start().getInputStream().readAllBytes(),
                StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith(prefix)) left.add(line);
        }
        assertThat(left).as("namespaces left after close").isEmpty();
    }

    /**
     * {@value #ATTEMPTS} attempts of: {@code a} disconnects {@code b}; both routers forget the pair's flows;
     * {@code a} connects to {@code b} directly with {@code tries} tries.
     */
    private Outcome scenario(NetNs net, String name, String a, String aId, String aRouter, String aIp,
            String b, String bId, String bRouter, String bIp, int tries) throws Exception {
        int ok = 0;
        long totalMs = 0;
        List<String> errors = new ArrayList<>();
        for (int i = 0; i < ATTEMPTS; i++) {
            Remote.call(dir.resolve(a), Map.of("cmd", "disconnect", "peer", bId));
            awaitDisconnected(b, aId);
            if (aRouter != null) net.forgetFlows(aRouter, bIp);
            if (bRouter != null) net.forgetFlows(bRouter, aIp);
            long t0 = System.nanoTime();
            try {
                // default tries: 3 of 5 s; the hopeless symmetric scenarios: 1 try of 2 s, to keep the test short
                Map<String, Object> r = Remote.call(dir.resolve(a), tries == 3
                        ? Map.of("cmd", "connect", "peer", bId, "direct", true)
                        : Map.of("cmd", "connect", "peer", bId, "direct", true, "attempts", tries, "dialTimeoutMs", 2_000));
                if (Boolean.TRUE.equals(r.get("direct")) && bId.equals(r.get("peer"))) ok++;
                else errors.add("not direct: " + r);
            } catch (IllegalStateException e) {
                errors.add(e.getMessage());
            }
            totalMs += (System.nanoTime() - t0) / 1_000_000;
        }
        return new Outcome(name, ok, ATTEMPTS, (double) totalMs / ATTEMPTS, errors);
    }

    @SuppressWarnings("unchecked")
    private Map<String, Object> counters(String node) throws Exception {
        return (Map<String, Object>) Remote.call(dir.resolve(node), Map.of("cmd", "stats")).get("counters");
    }

    /** Waits (≤ 2 s) until node {@code name} no longer lists {@code peer} as connected; a lost close may linger. */
    @SuppressWarnings("unchecked")
    private void awaitDisconnected(String name, String peer) throws Exception {
        long end = System.currentTimeMillis() + 2_000;
        while (System.currentTimeMillis() < end) {
            Map<String, Object> r = Remote.call(dir.resolve(name), Map.of("cmd", "peers"));
            boolean connected = false;
            for (String key : List.of("peers", "learned")) {
                for (Map<String, Object> e : (List<Map<String, Object>>) r.get(key)) {
                    if (peer.equals(e.get("peerId")) && Boolean.TRUE.equals(e.get("connected"))) connected = true;
                }
            }
            if (!connected) return;
            pause(50);
        }
    }

    private void awaitConnected(String name, int n) throws Exception {
        long end = System.currentTimeMillis() + 60_000;
        Map<String, Object> last = null;
        while (System.currentTimeMillis() < end) {
            last = Remote.call(dir.resolve(name), Map.of("cmd", "status"));
            if (((Number) last.get("connected")).intValue() >= n) return;
            pause(200);
        }
        throw new AssertionError("node " + name + " never had " + n + " peers: " + last);
    }

    private static void pause(long ms) throws Exception {
        CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(ms, TimeUnit.MILLISECONDS)).get();
    }

    private static String peerOf(String address) {
        return address.substring(address.lastIndexOf("/p2p/") + 5);
    }

    /** Starts a node in {@code host}'s namespace on 0.0.0.0:4001 and returns its address with /p2p/. */
    private String start(NetNs net, NetNs.Host host, String name, String... extra) throws Exception {
        Path data = dir.resolve(name);
        Files.createDirectories(data);
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp",
                System.getProperty("java.class.path"), Main.class.getName(), "node", "--data", data.toString(),
                "--listen", "/ip4/0.0.0.0/udp/4001/quic-v1", "--dht", "off", "--autonat", "off", "--content", "off",
                "--no-pubsub", "--log-level", "info"));
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
}
