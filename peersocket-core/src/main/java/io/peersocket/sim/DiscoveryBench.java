package io.peersocket.sim;

import io.peersocket.identity.PeerId;
import java.lang.management.ManagementFactory;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;

/**
 * The discovery benchmark on the {@link Simulator}: N nodes join through node 0 (at random times within a join
 * window), their tables fill for a settle period, then M lookups ({@link Discovery#findPeer} of a random node
 * from a random node) run spread over a lookup window. Reports lookup success, hops, virtual-time latency
 * percentiles, the latency of one plain request for comparison, simulation speed and heap per node.
 *
 * <p>Also runs a discovery-free load ({@code --requests}: despatch requests between random peers) to measure the
 * simulator's own scale.
 *
 * <p>Run: {@code java -cp "peersocket-cli/target/peersocket-cli-0.1.0-SNAPSHOT.jar:peersocket-cli/target/lib/*"
 * io.peersocket.sim.DiscoveryBench [options]} (any classpath with peersocket-core and its dependencies); try
 * {@code --help}. Results: docs/benchmarks.md, "Simulator (discovery)".
 */
public final class DiscoveryBench {

    /**
     * Benchmark settings.
     *
     * @param nodes simulated nodes
     * @param lookups lookups after settling
     * @param seed simulator seed (identities, latencies, loss) and workload seed
     * @param baseMs smallest one-way link latency, ms
     * @param jitterMs per-pair extra one-way latency, uniform 0 … jitterMs
     * @param lossRate datagram loss rate
     * @param joinWindowMs nodes 1 … n-1 join at random times within this window, ms
     * @param settleMs virtual time between the last join and the first lookup, ms
     * @param lookupWindowMs lookups start at random times within this window, ms
     */
    public record Settings(int nodes, int lookups, long seed, long baseMs, long jitterMs, double lossRate,
                           long joinWindowMs, long settleMs, long lookupWindowMs) {
        public static Settings defaults() { return new Settings(1000, 2000, 1, 10, 40, 0.0, 60_000, 120_000, 60_000); }

        public Settings withNodes(int n) {
            return new Settings(n, lookups, seed, baseMs, jitterMs, lossRate, joinWindowMs, settleMs, lookupWindowMs);
        }

        public Settings withLookups(int m) {
            return new Settings(nodes, m, seed, baseMs, jitterMs, lossRate, joinWindowMs, settleMs, lookupWindowMs);
        }

        public Settings withSeed(long s) {
            return new Settings(nodes, lookups, s, baseMs, jitterMs, lossRate, joinWindowMs, settleMs, lookupWindowMs);
        }
    }

    /**
     * What one run measured.
     *
     * @param settings the settings
     * @param joined nodes whose join completed
     * @param joinRetries join attempts after the first and re-joins after a table emptied, summed over nodes
     * @param lookups lookups run
     * @param found lookups that found their target
     * @param hops histogram: hops → lookups (successful ones)
     * @param lookupMs virtual latency of successful lookups, ms, ascending
     * @param oneRequestMs virtual latency of one request to a random peer (connecting if needed), ms, ascending
     * @param connectedRequestMs virtual latency of one request to a peer already connected, ms, ascending
     * @param tableSizes routing-table size of every node before the lookups, ascending
     * @param heapBytesPerNode heap in use after GC, over the heap before the simulation, per node
     * @param stats the simulator's stats at the end
     * @param digest the trace digest at the end
     * @param failures a few failure messages (at most 10)
     */
    public record Result(Settings settings, int joined, int joinRetries, int lookups, int found, TreeMap<Integer, Integer> hops,
                         long[] lookupMs, long[] oneRequestMs, long[] connectedRequestMs, int[] tableSizes,
                         long heapBytesPerNode, SimStats stats, long digest, List<String> failures) {

        public double successRate() { return lookups == 0 ? 0 : (double) found / lookups; }

        /** Lookup p50 over one-request p50 (the benchmark target is ≤ 4). */
        public double p50Ratio() {
            long one = percentile(oneRequestMs, 50);
            return one == 0 ? Double.NaN : (double) percentile(lookupMs, 50) / one;
        }

        /** A readable multi-line report. */
        public String report() {
            StringBuilder b = new StringBuilder();
            Settings s = settings;
            b.append(String.format(Locale.ROOT, "nodes %d, seed %d, link one-way %d+U[0,%d] ms, loss %.3f%n",
                    s.nodes(), s.seed(), s.baseMs(), s.jitterMs(), s.lossRate()));
            b.append(String.format(Locale.ROOT, "joined %d/%d (%d retries); table size min/p50/max %d/%d/%d%n", joined,
                    s.nodes() - 1, joinRetries, tableSizes.length == 0 ? 0 : tableSizes[0], percentileInt(tableSizes, 50),
                    tableSizes.length == 0 ? 0 : tableSizes[tableSizes.length - 1]));
            b.append(String.format(Locale.ROOT, "lookups %d, found %d (%.2f%%)%n", lookups, found, 100.0 * successRate()));
            b.append("hops: ").append(hops).append('\n');
            b.append(String.format(Locale.ROOT, "lookup latency ms p50/p90/p99/max %d/%d/%d/%d%n", percentile(lookupMs, 50),
                    percentile(lookupMs, 90), percentile(lookupMs, 99), lookupMs.length == 0 ? 0 : lookupMs[lookupMs.length - 1]));
            b.append(String.format(Locale.ROOT, "one request ms p50/p90 %d/%d (random peer), %d/%d (connected peer)%n",
                    percentile(oneRequestMs, 50), percentile(oneRequestMs, 90), percentile(connectedRequestMs, 50),
                    percentile(connectedRequestMs, 90)));
            b.append(String.format(Locale.ROOT, "lookup p50 / one-request p50 = %.2f (target <= 4)%n", p50Ratio()));
            b.append(String.format(Locale.ROOT, "heap per node %,d bytes%n", heapBytesPerNode));
            b.append("sim: ").append(stats).append('\n');
            b.append(String.format("trace digest %016x%n", digest));
            for (String f : failures) b.append("failure: ").append(f).append('\n');
            return b.toString();
        }
    }

    private DiscoveryBench() {}

    /**
     * Runs the discovery benchmark; {@code protocol} adds the discovery protocol to the simulation's config so
     * that each node's application object is its {@link Discovery} (e.g.
     * {@code c -> KadDiscovery.configure(c, KadConfig.defaults())}).
     *
     * @param measureHeap whether to force GCs and measure heap per node (slower; skip in tests)
     */
    public static Result run(Settings s, UnaryOperator<SimConfig> protocol, boolean measureHeap) {
        long heapBefore = measureHeap ? usedHeapAfterGc() : 0;
        SimConfig config = protocol.apply(SimConfig.of(s.nodes(), s.seed())
                .withLinkModel(new SeededLinkModel(s.seed(), s.baseMs(), s.jitterMs(), 0, s.lossRate())));
        List<String> failures = new ArrayList<>();
        try (Simulator sim = Simulator.start(config)) {
            SplittableRandom random = new SplittableRandom(s.seed() * 31 + 7);
            // 1. join through node 0 at random times
            int[] joined = {0};
            for (int i = 1; i < s.nodes(); i++) {
                int node = i;
                sim.loop().schedule(() -> {
                    sim.introduce(node, 0);
                    sim.app(node, Discovery.class).join(sim.simNode(0)).whenComplete((v, e) -> {
                        if (e == null) joined[0]++;
                        else note(failures, "join of node " + node + ": " + cause(e));
                    });
                }, random.nextLong(Math.max(1, s.joinWindowMs())));
            }
            sim.runFor(s.joinWindowMs());
            // 2. settle
            sim.runFor(s.settleMs());
            int[] tables = new int[s.nodes()];
            for (int i = 0; i < s.nodes(); i++) tables[i] = sim.app(i, Discovery.class).tableSize();
            int retriesBeforeLookups = 0;
            for (int i = 0; i < s.nodes(); i++) retriesBeforeLookups += sim.app(i, Discovery.class).joinRetries();
            Arrays.sort(tables);
            long heapPerNode = measureHeap ? Math.max(0, usedHeapAfterGc() - heapBefore) / s.nodes() : 0;

            // 3. lookups, and plain requests for comparison, spread over the lookup window
            int n = s.nodes();
            long[] lookupMs = new long[s.lookups()];
            int[] hopsOf = new int[s.lookups()];
            boolean[] ok = new boolean[s.lookups()];
            int requests = Math.max(1, s.lookups() / 4);
            long[] oneMs = new long[requests];
            long[] connectedMs = new long[requests];
            Arrays.fill(oneMs, -1);
            Arrays.fill(connectedMs, -1);
            int[] done = {0};
            int total = s.lookups() + 2 * requests;
            for (int k = 0; k < s.lookups(); k++) {
                int from = random.nextInt(n), to = random.nextInt(n - 1);
                if (to >= from) to++;
                int slot = k, target = to;
                sim.loop().schedule(() -> {
                    long t0 = sim.nowMs();
                    sim.app(from, Discovery.class).findPeer(sim.peerId(target)).whenComplete((f, e) -> {
                        done[0]++;
                        if (e != null) {
                            note(failures, "lookup " + from + " -> " + target + ": " + cause(e));
                            return;
                        }
                        ok[slot] = true;
                        hopsOf[slot] = f.hops();
                        lookupMs[slot] = sim.nowMs() - t0;
                    });
                }, random.nextLong(Math.max(1, s.lookupWindowMs())));
            }
            for (int k = 0; k < requests; k++) {
                int from = random.nextInt(n), to = random.nextInt(n - 1);
                if (to >= from) to++;
                int slot = k, target = to;
                long at = random.nextLong(Math.max(1, s.lookupWindowMs()));
                sim.loop().schedule(() -> {
                    sim.introduce(from, target);
                    long t0 = sim.nowMs();
                    sim.app(from, Discovery.class).oneRequest(sim.peerId(target)).whenComplete((v, e) -> {
                        done[0]++;
                        if (e == null) oneMs[slot] = sim.nowMs() - t0;
                        else note(failures, "request " + from + " -> " + target + ": " + cause(e));
                    });
                }, at);
                sim.loop().schedule(() -> sim.node(from).connectedPeers().thenAccept(peers -> {
                    if (peers.isEmpty()) {
                        done[0]++;
                        return;
                    }
                    PeerId peer = peers.stream().sorted().toList().get(Math.floorMod(slot * 7919, peers.size()));
                    long t0 = sim.nowMs();
                    sim.app(from, Discovery.class).oneRequest(peer).whenComplete((v, e) -> {
                        done[0]++;
                        if (e == null) connectedMs[slot] = sim.nowMs() - t0;
                    });
                }), at);
            }
            sim.runUntil(() -> done[0] >= total, s.lookupWindowMs() + 300_000);

            TreeMap<Integer, Integer> hops = new TreeMap<>();
            int found = 0;
            for (int k = 0; k < s.lookups(); k++) {
                if (!ok[k]) continue;
                found++;
                hops.merge(hopsOf[k], 1, Integer::sum);
            }
            long[] lookups = new long[found];
            for (int k = 0, j = 0; k < s.lookups(); k++) if (ok[k]) lookups[j++] = lookupMs[k];
            Arrays.sort(lookups);
            return new Result(s, joined[0], retriesBeforeLookups, s.lookups(), found, hops, lookups, sortedValid(oneMs),
                    sortedValid(connectedMs), tables, heapPerNode, sim.stats(), sim.traceDigest(), failures);
        }
    }

    /**
     * The simulator's own scale without discovery: {@code nodes} nodes, each sending {@code perNode} despatch
     * requests to random peers within 10 s of virtual time.
     */
    public static String runRequests(int nodes, int perNode, long seed) {
        long heapBefore = usedHeapAfterGc();
        long t0 = System.nanoTime();
        try (Simulator sim = Simulator.start(SimConfig.of(nodes, seed).withSetup(RequestReplyScenario::installEcho))) {
            long startMs = (System.nanoTime() - t0) / 1_000_000;
            long heapNodes = Math.max(0, usedHeapAfterGc() - heapBefore) / nodes;
            RequestReplyScenario.Result r = RequestReplyScenario.run(sim, perNode, 10_000, seed);
            long heapLoaded = Math.max(0, usedHeapAfterGc() - heapBefore) / nodes;
            long[] lat = r.sortedLatenciesMs();
            return String.format(Locale.ROOT, "requests: %d nodes started in %d ms; %d/%d requests answered; latency ms "
                            + "p50/p90/p99 %d/%d/%d%nheap per node: %,d bytes idle, %,d bytes with %d connections%nsim: %s%n"
                            + "trace digest %016x%n", nodes, startMs, r.succeeded(), r.outcomes().size(),
                    percentile(lat, 50), percentile(lat, 90), percentile(lat, 99), heapNodes, heapLoaded,
                    r.stats().connections(), r.stats(), r.digest());
        }
    }

    // ---- helpers ------------------------------------------------------------------------------------

    private static void note(List<String> failures, String s) {
        if (failures.size() < 10) failures.add(s);
    }

    private static String cause(Throwable e) {
        while (e instanceof CompletionException && e.getCause() != null) e = e.getCause();
        return e.getClass().getSimpleName() + ": " + e.getMessage();
    }

    private static long[] sortedValid(long[] a) {
        return Arrays.stream(a).filter(x -> x >= 0).sorted().toArray();
    }

    /** Nearest-rank percentile of an ascending array; 0 if empty. */
    public static long percentile(long[] sorted, double p) {
        if (sorted.length == 0) return 0;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
    }

    static int percentileInt(int[] sorted, double p) {
        if (sorted.length == 0) return 0;
        int rank = (int) Math.ceil(p / 100.0 * sorted.length);
        return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
    }

    /** Heap in use after a few full GCs, bytes. */
    public static long usedHeapAfterGc() {
        var mem = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        for (int i = 0; i < 4; i++) {
            System.gc();
            used = Math.min(used, mem.getHeapMemoryUsage().getUsed());
        }
        return used;
    }

    // ---- main ---------------------------------------------------------------------------------------

    private static final String USAGE = """
            usage: DiscoveryBench [--nodes N] [--lookups M] [--seed S] [--base-ms B] [--jitter-ms J] [--loss L]
                                  [--join-window-ms W] [--settle-ms T] [--lookup-window-ms W]
                   DiscoveryBench --requests [--nodes N] [--per-node R] [--seed S]
            Simulates N nodes in virtual time (one thread). Default: 1000 nodes join Kademlia through node 0, then
            2000 random findPeer lookups; --requests runs despatch requests between random peers instead.""";

    public static void main(String[] args) {
        // 1,000 nodes each log their start at INFO; keep slf4j-simple (if that is the provider) to warnings.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        Settings s = Settings.defaults();
        boolean requests = false;
        int perNode = 10;
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--help") || a.equals("-h")) {
                System.out.println(USAGE);
                return;
            }
            if (a.equals("--requests")) {
                requests = true;
                continue;
            }
            if (i + 1 >= args.length) fail("missing value after " + a);
            String v = args[++i];
            try {
                switch (a) {
                    case "--nodes" -> s = s.withNodes(Integer.parseInt(v));
                    case "--lookups" -> s = s.withLookups(Integer.parseInt(v));
                    case "--seed" -> s = s.withSeed(Long.parseLong(v));
                    case "--per-node" -> perNode = Integer.parseInt(v);
                    case "--base-ms" -> s = new Settings(s.nodes(), s.lookups(), s.seed(), Long.parseLong(v), s.jitterMs(),
                            s.lossRate(), s.joinWindowMs(), s.settleMs(), s.lookupWindowMs());
                    case "--jitter-ms" -> s = new Settings(s.nodes(), s.lookups(), s.seed(), s.baseMs(), Long.parseLong(v),
                            s.lossRate(), s.joinWindowMs(), s.settleMs(), s.lookupWindowMs());
                    case "--loss" -> s = new Settings(s.nodes(), s.lookups(), s.seed(), s.baseMs(), s.jitterMs(),
                            Double.parseDouble(v), s.joinWindowMs(), s.settleMs(), s.lookupWindowMs());
                    case "--join-window-ms" -> s = new Settings(s.nodes(), s.lookups(), s.seed(), s.baseMs(), s.jitterMs(),
                            s.lossRate(), Long.parseLong(v), s.settleMs(), s.lookupWindowMs());
                    case "--settle-ms" -> s = new Settings(s.nodes(), s.lookups(), s.seed(), s.baseMs(), s.jitterMs(),
                            s.lossRate(), s.joinWindowMs(), Long.parseLong(v), s.lookupWindowMs());
                    case "--lookup-window-ms" -> s = new Settings(s.nodes(), s.lookups(), s.seed(), s.baseMs(), s.jitterMs(),
                            s.lossRate(), s.joinWindowMs(), s.settleMs(), Long.parseLong(v));
                    default -> fail("unknown option " + a);
                }
            } catch (NumberFormatException e) {
                fail("bad number for " + a + ": " + v);
            }
        }
        if (requests) {
            System.out.print(runRequests(s.nodes(), perNode, s.seed()));
            return;
        }
        Result r = run(s, kademlia(), true);
        System.out.print(r.report());
    }

    /** The built-in discovery protocol: the node's Kademlia with its connection manager, default settings. */
    public static UnaryOperator<SimConfig> kademlia() {
        return c -> KadDiscovery.configure(c, io.peersocket.protocol.kad.KadConfig.defaults());
    }

    private static void fail(String message) {
        System.err.println("DiscoveryBench: " + message);
        System.err.println(USAGE);
        System.exit(2);
    }
}
