package io.peersocket.sim;

import io.peersocket.protocol.pubsub.GossipSub;
import io.peersocket.protocol.pubsub.GossipSubConfig;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;

/**
 * The pubsub benchmark on the {@link Simulator}: N nodes with GossipSub, each dialling {@code degree} random
 * others at random times within a join window, all subscribed to one topic; after the meshes settle, M messages
 * of {@code size} bytes are published by random nodes, one every {@code intervalMs}. Reports delivery to all
 * subscribers, time to full delivery against the one-hop (one-way link) latency, duplicates received per message
 * per node, and bytes sent per delivered message (all pubsub traffic in the message phase: messages, IHAVE/IWANT
 * gossip, GRAFT/PRUNE).
 *
 * <p>Run: {@code ./peersocket-bench/run gossip [options]} or {@code java -cp … io.peersocket.sim.GossipBench
 * --help}. Results: docs/benchmarks.md, "Simulator (pubsub)".
 */
public final class GossipBench {
    private static final String TOPIC = "bench";

    /**
     * Benchmark settings.
     *
     * @param nodes simulated nodes
     * @param messages messages published after settling
     * @param size message payload, bytes
     * @param degree connections each node dials (to random others)
     * @param seed simulator and workload seed
     * @param baseMs smallest one-way link latency, ms
     * @param jitterMs per-pair extra one-way latency, uniform 0 … jitterMs
     * @param joinWindowMs nodes dial at random times within this window, ms
     * @param settleMs virtual time between the join window and the first message, ms
     * @param intervalMs time between two publications, ms
     * @param floodPublish gossipsub v1.1 flood publishing of own messages
     * @param dHi the mesh's upper bound D_hi (D 6 and D_lo 5 stay; default 12)
     * @param idontwant gossipsub v1.2 IDONTWANT on (default; off: nodes send none)
     * @param uplinkMbps each node's uplink, Mbit/s, shared by its connections (0: unlimited, latency only)
     */
    public record Settings(int nodes, int messages, int size, int degree, long seed, long baseMs, long jitterMs,
                           long joinWindowMs, long settleMs, long intervalMs, boolean floodPublish, int dHi,
                           boolean idontwant, double uplinkMbps) {
        public Settings(int nodes, int messages, int size, int degree, long seed, long baseMs, long jitterMs,
                        long joinWindowMs, long settleMs, long intervalMs, boolean floodPublish, int dHi, boolean idontwant) {
            this(nodes, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi,
                    idontwant, 0);
        }

        public Settings withUplinkMbps(double mbps) {
            return new Settings(nodes, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs,
                    floodPublish, dHi, idontwant, mbps);
        }

        public Settings(int nodes, int messages, int size, int degree, long seed, long baseMs, long jitterMs,
                        long joinWindowMs, long settleMs, long intervalMs, boolean floodPublish) {
            this(nodes, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, 12, true);
        }

        public static Settings defaults() { return new Settings(1000, 50, 1024, 8, 1, 10, 40, 10_000, 20_000, 1_000, true, 12, true); }

        public Settings withDHi(int hi) {
            return new Settings(nodes, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, hi, idontwant, uplinkMbps);
        }

        public Settings withNodes(int n) {
            return new Settings(n, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi, idontwant, uplinkMbps);
        }

        public Settings withMessages(int m) {
            return new Settings(nodes, m, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi, idontwant, uplinkMbps);
        }

        public Settings withFloodPublish(boolean on) {
            return new Settings(nodes, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, on, dHi, idontwant, uplinkMbps);
        }

        public Settings withSeed(long s) {
            return new Settings(nodes, messages, size, degree, s, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi, idontwant, uplinkMbps);
        }

        public Settings withIDontWant(boolean on) {
            return new Settings(nodes, messages, size, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi, on, uplinkMbps);
        }

        public Settings withSize(int bytes) {
            return new Settings(nodes, messages, bytes, degree, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi, idontwant, uplinkMbps);
        }

        public Settings withDegree(int k) {
            return new Settings(nodes, messages, size, k, seed, baseMs, jitterMs, joinWindowMs, settleMs, intervalMs, floodPublish, dHi, idontwant, uplinkMbps);
        }
    }

    /**
     * What one run measured.
     *
     * @param settings the settings
     * @param deliveries deliveries to subscription handlers (each node once per message at most)
     * @param expected messages × (nodes − 1)
     * @param fullyDelivered messages that reached every other node
     * @param fullDeliveryMs per message reaching everyone: last delivery − publication, ms, ascending
     * @param deliveryMs every delivery's latency, ms, ascending
     * @param meanOneHopMs mean one-way link latency of the model, ms
     * @param duplicatesPerMessagePerNode duplicate copies received / (messages × nodes)
     * @param bytesPerDelivery pubsub bytes sent by all nodes in the message phase / deliveries
     * @param meshSizes every node's mesh size before the first message, ascending
     * @param counters pubsub counters summed over nodes, message phase only
     * @param stats simulator stats at the end
     */
    public record Result(Settings settings, long deliveries, long expected, int fullyDelivered, long[] fullDeliveryMs,
                         long[] deliveryMs, double meanOneHopMs, double duplicatesPerMessagePerNode, double bytesPerDelivery,
                         int[] meshSizes, Map<String, Long> counters, SimStats stats) {

        public double deliveryRate() { return expected == 0 ? 0 : (double) deliveries / expected; }

        /** Mean mesh size before the first message. */
        public double meanMesh() { return Arrays.stream(meshSizes).average().orElse(0); }

        /** A counter of the message phase, summed over nodes (0 if absent). */
        public long counter(String name) { return counters.getOrDefault(name, 0L); }

        /** "size:count" pairs of the mesh sizes, ascending. */
        public String meshHistogram() {
            java.util.TreeMap<Integer, Integer> h = new java.util.TreeMap<>();
            for (int m : meshSizes) h.merge(m, 1, Integer::sum);
            StringBuilder b = new StringBuilder();
            h.forEach((k, v) -> b.append(b.isEmpty() ? "" : " ").append(k).append(':').append(v));
            return b.toString();
        }

        /** A readable multi-line report. */
        public String report() {
            Settings s = settings;
            StringBuilder b = new StringBuilder();
            b.append(String.format(Locale.ROOT, "nodes %d, degree %d, messages %d x %d bytes, seed %d, link one-way %d+U[0,%d] ms, uplink %s, flood publish %s, idontwant %s, D/D_lo/D_hi 6/5/%d%n",
                    s.nodes(), s.degree(), s.messages(), s.size(), s.seed(), s.baseMs(), s.jitterMs(),
                    s.uplinkMbps() > 0 ? s.uplinkMbps() + " Mbit/s" : "unlimited", s.floodPublish(), s.idontwant(), s.dHi()));
            b.append(String.format(Locale.ROOT, "mesh size min/p50/mean/max %d/%d/%.2f/%d, histogram %s%n", meshSizes.length == 0 ? 0 : meshSizes[0],
                    DiscoveryBench.percentileInt(meshSizes, 50), meanMesh(), meshSizes.length == 0 ? 0 : meshSizes[meshSizes.length - 1],
                    meshHistogram()));
            b.append(String.format(Locale.ROOT, "delivered %d/%d (%.3f%%), messages fully delivered %d/%d%n", deliveries, expected,
                    100 * deliveryRate(), fullyDelivered, s.messages()));
            b.append(String.format(Locale.ROOT, "delivery latency ms p50/p90/p99/max %d/%d/%d/%d%n", DiscoveryBench.percentile(deliveryMs, 50),
                    DiscoveryBench.percentile(deliveryMs, 90), DiscoveryBench.percentile(deliveryMs, 99),
                    deliveryMs.length == 0 ? 0 : deliveryMs[deliveryMs.length - 1]));
            long p50 = DiscoveryBench.percentile(fullDeliveryMs, 50);
            b.append(String.format(Locale.ROOT, "time to full delivery ms p50/max %d/%d = %.1f / %.1f one-hop latencies (mean one-hop %.1f ms)%n",
                    p50, fullDeliveryMs.length == 0 ? 0 : fullDeliveryMs[fullDeliveryMs.length - 1], p50 / meanOneHopMs,
                    (fullDeliveryMs.length == 0 ? 0 : fullDeliveryMs[fullDeliveryMs.length - 1]) / meanOneHopMs, meanOneHopMs));
            b.append(String.format(Locale.ROOT, "duplicates per message per node %.2f (target <= 6)%n", duplicatesPerMessagePerNode));
            double per = (double) s.messages() * s.nodes();
            b.append(String.format(Locale.ROOT, "  by source per message per node: crossed %.2f, other mesh %.2f, author (flood publish) %.2f, non-mesh (IWANT, mesh changes) %.2f%n",
                    counter("pubsub.message.duplicate.crossed") / per, counter("pubsub.message.duplicate.mesh") / per,
                    counter("pubsub.message.duplicate.author") / per, counter("pubsub.message.duplicate.other") / per));
            b.append(String.format(Locale.ROOT, "  copies sent per message: forwarded %.1f, IWANT answers %.2f; IDONTWANT sent %.1f, sends skipped %.1f%n",
                    counter("pubsub.message.forwarded") / (double) s.messages(), counter("pubsub.iwant.served") / (double) s.messages(),
                    counter("pubsub.idontwant.sent") / (double) s.messages(), counter("pubsub.idontwant.skipped") / (double) s.messages()));
            b.append(String.format(Locale.ROOT, "bytes sent per delivered message %.0f (payload %d)%n", bytesPerDelivery, s.size()));
            b.append("counters: ").append(counters).append('\n');
            b.append("sim: ").append(stats).append('\n');
            return b.toString();
        }
    }

    private GossipBench() {}

    /** Runs the benchmark. */
    public static Result run(Settings s) {
        int n = s.nodes();
        long[][] deliveredAt = new long[s.messages()][n];
        for (long[] row : deliveredAt) Arrays.fill(row, -1);
        GossipSubConfig base = GossipSubConfig.defaults().withFloodPublish(s.floodPublish()).withDegrees(6, 5, s.dHi());
        GossipSubConfig pubsub = s.idontwant() ? base : base.withIDontWant(Integer.MAX_VALUE, base.maxIDontWantMessages());
        SimConfig config = SimConfig.of(n, s.seed()).withLinkModel(new SeededLinkModel(s.seed(), s.baseMs(), s.jitterMs(), 0, 0.0,
                        (long) (s.uplinkMbps() * 1_000_000 / 8)))
                .withNodeOptions(b -> b.pubsub(pubsub.withHandlerExecutor(Runnable::run)));
        long[] publishedAt = new long[s.messages()];
        int[] publisher = new int[s.messages()];
        try (Simulator sim = Simulator.start(config.withSetup(node -> {
            GossipSub ps = node.node().pubsub();
            int idx = node.index();
            ps.subscribe(TOPIC, m -> {
                byte[] d = m.data();
                int k = ((d[0] & 0xFF) << 24) | ((d[1] & 0xFF) << 16) | ((d[2] & 0xFF) << 8) | (d[3] & 0xFF);
                if (k >= 0 && k < deliveredAt.length && deliveredAt[k][idx] < 0) deliveredAt[k][idx] = node.node().loop().nowMs();
            });
            return null;
        }))) {
            SplittableRandom rnd = new SplittableRandom(s.seed() * 31 + 7);
            for (int i = 0; i < n; i++) {
                Set<Integer> targets = new HashSet<>();
                while (targets.size() < Math.min(s.degree(), n - 1)) {
                    int j = rnd.nextInt(n);
                    if (j != i) targets.add(j);
                }
                long at = rnd.nextLong(Math.max(1, s.joinWindowMs()));
                final int from = i;
                for (int j : targets) {
                    sim.loop().schedule(() -> sim.node(from).connect(sim.address(j)), at);
                }
            }
            sim.runFor(s.joinWindowMs() + s.settleMs());
            int[] meshes = new int[n];
            for (int i = 0; i < n; i++) meshes[i] = sim.await(sim.node(i).pubsub().meshPeers(TOPIC), 1_000).size();
            Arrays.sort(meshes);
            Map<String, Long> before = sim.counters();
            for (int k = 0; k < s.messages(); k++) {
                int from = rnd.nextInt(n);
                byte[] data = new byte[s.size()];
                rnd.nextBytes(data);
                data[0] = (byte) (k >>> 24);
                data[1] = (byte) (k >>> 16);
                data[2] = (byte) (k >>> 8);
                data[3] = (byte) k;
                publishedAt[k] = sim.nowMs();
                publisher[k] = from;
                sim.node(from).pubsub().publish(TOPIC, data);
                sim.runFor(s.intervalMs());
            }
            sim.runFor(10_000);
            Map<String, Long> after = sim.counters();
            Map<String, Long> delta = new java.util.TreeMap<>();
            after.forEach((k, v) -> {
                if (k.startsWith("pubsub.")) delta.put(k, v - before.getOrDefault(k, 0L));
            });
            long deliveries = 0;
            int full = 0;
            List<Long> fullMs = new ArrayList<>();
            List<Long> each = new ArrayList<>();
            for (int k = 0; k < s.messages(); k++) {
                long last = 0;
                int got = 0;
                for (int i = 0; i < n; i++) {
                    if (i == publisher[k] || deliveredAt[k][i] < 0) continue;
                    got++;
                    long ms = deliveredAt[k][i] - publishedAt[k];
                    each.add(ms);
                    last = Math.max(last, ms);
                }
                deliveries += got;
                if (got == n - 1) {
                    full++;
                    fullMs.add(last);
                }
            }
            long expected = (long) s.messages() * (n - 1);
            double dups = (double) delta.getOrDefault("pubsub.message.duplicate", 0L) / ((double) s.messages() * n);
            double bytes = deliveries == 0 ? 0 : (double) delta.getOrDefault("pubsub.bytes.out", 0L) / deliveries;
            return new Result(s, deliveries, expected, full, sorted(fullMs), sorted(each), s.baseMs() + s.jitterMs() / 2.0,
                    dups, bytes, meshes, delta, sim.stats());
        }
    }

    private static long[] sorted(List<Long> l) {
        long[] a = l.stream().mapToLong(Long::longValue).toArray();
        Arrays.sort(a);
        return a;
    }

    // ---- main ---------------------------------------------------------------------------------------

    private static final String USAGE = """
            usage: GossipBench [--nodes N[,N…]] [--messages M] [--size BYTES] [--degree K] [--seed S]
                               [--no-flood-publish] [--no-idontwant] [--d-hi N] [--uplink-mbps R]
              defaults: --nodes 100,1000 --messages 50 --size 1024 --degree 8 --seed 1 --d-hi 12 (D 6, D_lo 5)
            """;

    public static void main(String[] args) {
        Settings s = Settings.defaults();
        List<Integer> sizes = List.of(100, 1000);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.print(USAGE);
                return;
            }
            if (a.equals("--no-flood-publish")) {
                s = s.withFloodPublish(false);
                continue;
            }
            if (a.equals("--no-idontwant")) {
                s = s.withIDontWant(false);
                continue;
            }
            if (i + 1 >= args.length) fail("missing value after " + a);
            String v = args[++i];
            try {
                switch (a) {
                    case "--nodes" -> sizes = Arrays.stream(v.split(",")).map(Integer::parseInt).toList();
                    case "--messages" -> s = s.withMessages(Integer.parseInt(v));
                    case "--size" -> s = s.withSize(Integer.parseInt(v));
                    case "--degree" -> s = s.withDegree(Integer.parseInt(v));
                    case "--seed" -> s = s.withSeed(Long.parseLong(v));
                    case "--d-hi" -> s = s.withDHi(Integer.parseInt(v));
                    case "--uplink-mbps" -> s = s.withUplinkMbps(Double.parseDouble(v));
                    default -> fail("unknown option " + a + "\n" + USAGE);
                }
            } catch (NumberFormatException e) {
                fail("bad number for " + a + ": " + v);
            }
        }
        if (s.size() < 4) fail("--size must be >= 4");
        for (int nodes : sizes) {
            System.out.println("== GossipBench " + nodes + " nodes");
            System.out.print(run(s.withNodes(nodes)).report());
            System.out.flush();
        }
    }

    private static void fail(String message) {
        System.err.println("GossipBench: " + message);
        System.exit(2);
    }
}
