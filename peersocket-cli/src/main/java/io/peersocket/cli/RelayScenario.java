package io.peersocket.cli;

import io.peersocket.cli.TestbedCommand.Peer;
import io.peersocket.cli.TestbedCommand.Reply;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * {@code peersocket testbed --scenario relay} (issue 7): relayed connections that become direct, with conversations
 * running across the switch.
 *
 * <ol>
 *   <li>starts a relay node ({@code --relay-service}, unlimited circuits) and N nodes that each keep a reservation on
 *       it ({@code --relay}); waits until every node holds one (its circuit address in {@code status});
 *   <li>pairs the nodes (0 with 1, 2 with 3, …); the second node of each pair blocks every other node's address
 *       with its firewall, so only the relay path is left between the two;
 *   <li>the first node of each pair connects to the second through the relay ({@code connect {via}}): the connection
 *       must be relayed (limited); the DCUtR attempt the second node starts by itself fails against the cut; a short
 *       counting conversation runs over the relayed connection;
 *   <li>a long counting conversation starts; while it runs the cut is lifted and the second node asks for a direct
 *       connection (introduction by the relay, hole punching; the upgrade time is measured); the conversation must
 *       complete with every message, in order (the counting conversation fails on any gap or reordering);
 *   <li>checks: a direct connection exists on both sides, despatch migrated its link to it
 *       ({@code despatch.link.migrated}) and no despatch channel was reset; another conversation runs over it;
 *   <li>collects the connections among the N nodes (direct and relayed).
 * </ol>
 *
 * Summary: relayed connects, upgrades and their times, conversations, messages lost (must be 0).
 */
final class RelayScenario {
    /** Counter of the long conversation: about {@code LONG_LIMIT / 2} round trips, so it runs across the upgrade. */
    static final int LONG_LIMIT = 20_000;
    /** Counter of the short conversations before and after the upgrade. */
    static final int SHORT_LIMIT = 100;
    /** How long the long conversation runs over the relay before the cut is lifted, ms. */
    static final long UPGRADE_AFTER_MS = 300;

    private final TestbedCommand tb;
    private final TestbedCommand.Summary s;

    RelayScenario(TestbedCommand tb, TestbedCommand.Summary s) {
        this.tb = tb;
        this.s = s;
    }

    /** Messages the opener of a counting conversation with {@code limit} receives: 1, 3, …, limit + 1. */
    static long expectedReceived(int limit) { return limit / 2 + 1; }

    private record Pair(Peer opener, Peer target) {
        String name() { return opener.index + "-" + target.index; }
    }

    void run() throws Exception {
        int n = tb.peers;
        tb.steps = 7;
        List<String> quiet = List.of("--dht", "off", "--autonat", "off", "--content", "off", "--no-pubsub");
        tb.step(1, "starting the relay node (--relay-service)");
        List<String> relayArgs = new ArrayList<>(quiet);
        relayArgs.addAll(List.of("--relay-service", "--relay-circuit-bytes", "0", "--relay-circuit-ms", "0",
                "--relay-max-circuits", Integer.toString(Math.max(16, 2 * n))));
        Peer relay = Peer.start(n, tb.root.resolve("relay"), relayArgs);
        tb.procs.add(relay);
        relay.awaitListening(90_000);

        tb.step(2, "starting " + n + " nodes, each keeping a reservation on the relay");
        List<Peer> nodes = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            List<String> a = new ArrayList<>(quiet);
            a.addAll(List.of("--relay", relay.address));
            Peer p = Peer.start(i, tb.root.resolve("peer-" + i), a);
            tb.procs.add(p);
            nodes.add(p);
        }
        for (Peer p : nodes) p.awaitListening(90_000);
        tb.startViewer();
        for (Peer p : nodes) awaitReservation(p, relay);

        List<Pair> pairs = new ArrayList<>();
        for (int i = 0; i + 1 < n; i += 2) pairs.add(new Pair(nodes.get(i), nodes.get(i + 1)));
        tb.step(3, "cutting " + pairs.size() + " pairs apart: each second node's firewall blocks every other node");
        for (Pair pr : pairs) {
            List<String> others = nodes.stream().filter(q -> q != pr.target).map(q -> direct(q.address)).toList();
            s.check(pr.target.command(Map.of("cmd", "firewall", "block", others)).get(30, TimeUnit.SECONDS),
                    "firewall " + pr.target.index);
        }

        tb.step(4, "connecting each pair through the relay (connect --via), a conversation over each relayed connection");
        int relayedConnects = 0;
        List<CompletableFuture<Reply>> connects = new ArrayList<>();
        for (Pair pr : pairs) {
            connects.add(pr.opener.command(Map.of("cmd", "connect", "peer", pr.target.peerId, "via", relay.address)));
        }
        for (int k = 0; k < pairs.size(); k++) {
            Reply r = connects.get(k).get(60, TimeUnit.SECONDS);
            if (!s.check(r, "connect via relay " + pairs.get(k).name())) continue;
            if (Boolean.TRUE.equals(r.values().get("relayed"))) relayedConnects++;
            else s.failures.add("connect via relay " + pairs.get(k).name() + ": not relayed (" + r.values().get("remoteAddress") + ")");
        }
        long lost = 0;
        int conversations = 0;
        List<CompletableFuture<Reply>> shorts = new ArrayList<>();
        for (Pair pr : pairs) shorts.add(count(pr, SHORT_LIMIT));
        for (int k = 0; k < pairs.size(); k++) {
            long got = received(shorts.get(k).get(60, TimeUnit.SECONDS), "relayed conversation " + pairs.get(k).name());
            if (got >= 0) conversations++;
            lost += expectedReceived(SHORT_LIMIT) - Math.max(0, got);
        }
        tb.progressLine("  " + relayedConnects + "/" + pairs.size() + " relayed connections, " + conversations + " conversations over them");

        tb.step(5, "long conversations; while they run the cut is lifted and each pair upgrades to a direct connection");
        List<CompletableFuture<Reply>> longs = new ArrayList<>();
        for (Pair pr : pairs) longs.add(count(pr, LONG_LIMIT));
        TimeUnit.MILLISECONDS.sleep(UPGRADE_AFTER_MS); // let the conversations get going over the relay (not a test wait)
        List<CompletableFuture<Reply>> upgrades = new ArrayList<>();
        // whether each long conversation was still running when its pair's direct connection was made
        java.util.concurrent.atomic.AtomicIntegerArray across = new java.util.concurrent.atomic.AtomicIntegerArray(pairs.size());
        for (int k = 0; k < pairs.size(); k++) {
            Pair pr = pairs.get(k);
            CompletableFuture<Reply> conv = longs.get(k);
            int kk = k;
            pr.target.command(Map.of("cmd", "firewall", "clear", true));
            upgrades.add(pr.target.command(Map.of("cmd", "connect", "peer", pr.opener.peerId, "direct", true))
                    .whenComplete((u, e) -> across.set(kk, conv.isDone() ? 0 : 1)));
        }
        List<Long> upgradeMs = new ArrayList<>();
        int spanning = 0;
        for (int k = 0; k < pairs.size(); k++) {
            Pair pr = pairs.get(k);
            Reply u = upgrades.get(k).get(60, TimeUnit.SECONDS);
            if (s.check(u, "direct connect " + pr.name())) {
                if (Boolean.TRUE.equals(u.values().get("direct"))) upgradeMs.add(((Number) u.values().get("ms")).longValue());
                else s.failures.add("direct connect " + pr.name() + ": not direct");
            }
            long got = received(longs.get(k).get(120, TimeUnit.SECONDS), "conversation across the upgrade " + pr.name());
            if (got >= 0) {
                conversations++;
                if (across.get(k) == 1) spanning++;
            }
            lost += expectedReceived(LONG_LIMIT) - Math.max(0, got);
        }
        upgradeMs.sort(Comparator.naturalOrder());
        tb.progressLine("  " + upgradeMs.size() + "/" + pairs.size() + " upgraded to direct, " + spanning
                + " conversations ran across the upgrade, upgrade ms " + upgradeMs);

        tb.step(6, "checking: direct connections on both sides, despatch links migrated, no channel reset; one more conversation");
        int migrated = 0;
        for (Pair pr : pairs) {
            for (Peer p : List.of(pr.opener, pr.target)) {
                Peer other = p == pr.opener ? pr.target : pr.opener;
                Reply c = p.command(Map.of("cmd", "connections")).get(30, TimeUnit.SECONDS);
                if (s.check(c, "connections " + p.index)) {
                    boolean direct = ((List<?>) c.values().get("connections")).stream().map(o -> (Map<?, ?>) o)
                            .anyMatch(m -> other.peerId.equals(m.get("peer")) && Boolean.FALSE.equals(m.get("relayed")));
                    if (!direct) s.failures.add("peer " + p.index + " has no direct connection to peer " + other.index);
                }
                Map<String, Long> counters = counters(p);
                if (counters.getOrDefault("despatch.link.migrated", 0L) > 0) migrated++;
                for (String k : List.of("despatch.channel.reset.inbound", "despatch.channel.reset.outbound",
                        "despatch.link.retire_lost", "despatch.drop.succession_overflow")) {
                    if (counters.getOrDefault(k, 0L) > 0) s.failures.add("peer " + p.index + ": " + k + " = " + counters.get(k));
                }
            }
        }
        List<CompletableFuture<Reply>> after = new ArrayList<>();
        for (Pair pr : pairs) after.add(count(pr, SHORT_LIMIT));
        for (int k = 0; k < pairs.size(); k++) {
            long got = received(after.get(k).get(60, TimeUnit.SECONDS), "direct conversation " + pairs.get(k).name());
            if (got >= 0) conversations++;
            lost += expectedReceived(SHORT_LIMIT) - Math.max(0, got);
        }

        tb.step(7, "collecting connections among the " + n + " nodes");
        for (Peer p : nodes) s.connectedSum += Math.max(0, s.countConnections(p, nodes));
        s.extra.put("pairs", pairs.size());
        s.extra.put("relayedConnects", relayedConnects);
        s.extra.put("upgradedToDirect", upgradeMs.size());
        s.extra.put("upgradeMsP50", upgradeMs.isEmpty() ? null : upgradeMs.get((upgradeMs.size() - 1) / 2));
        s.extra.put("upgradeMsMax", upgradeMs.isEmpty() ? null : upgradeMs.getLast());
        s.extra.put("conversations", conversations);
        s.extra.put("conversationsAcrossUpgrade", spanning);
        s.extra.put("linksMigrated", migrated);
        s.extra.put("messagesLost", lost);
        if (lost != 0) s.failures.add(lost + " conversation messages lost");
    }

    private static String direct(String address) {
        return address.substring(0, address.lastIndexOf("/p2p/"));
    }

    private CompletableFuture<Reply> count(Pair pr, int limit) {
        return pr.opener.command(Map.of("cmd", "count", "peer", pr.target.peerId, "limit", limit));
    }

    /** The messages received in a {@code count} answer, or -1 (and a failure) if it failed. */
    private long received(Reply r, String what) {
        if (!s.check(r, what)) return -1;
        return ((Number) r.values().get("received")).longValue();
    }

    @SuppressWarnings("unchecked")
    private Map<String, Long> counters(Peer p) throws Exception {
        Reply r = p.command(Map.of("cmd", "stats")).get(30, TimeUnit.SECONDS);
        if (!s.check(r, "stats " + p.index)) return Map.of();
        Map<String, Long> out = new java.util.HashMap<>();
        ((Map<String, Object>) r.values().get("counters")).forEach((k, v) -> out.put(k, ((Number) v).longValue()));
        return out;
    }

    /** Waits (30 s at most) until {@code p} holds a reservation on {@code relay}. */
    private void awaitReservation(Peer p, Peer relay) throws Exception {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < end) {
            Reply r = p.command(Map.of("cmd", "status")).get(30, TimeUnit.SECONDS);
            if (s.check(r, "status " + p.index) && r.values().get("circuitAddresses") instanceof List<?> l
                    && l.stream().anyMatch(a -> String.valueOf(a).startsWith(relay.address + "/p2p-circuit"))) {
                return;
            }
            if (!r.ok()) return;
            TimeUnit.MILLISECONDS.sleep(100); // polling interval of the CLI, not a test wait
        }
        s.failures.add("peer " + p.index + " holds no reservation on the relay after 30 s");
    }
}
