package io.peersocket.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintStream;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code peersocket testbed} (seed 002 "p2p-testbed"): starts N real node processes on loopback, each with its
 * own data dir and UDP port; peer i dials every peer j > i; peer 0 pings random peers; random pairs run a
 * despatch request/reply and a counting conversation; prints a summary and exits 0 only if every check
 * passed. Every process and temp dir is removed at the end, also on Ctrl-C. With {@code --view} it also serves
 * the testbed viewer ({@link TestbedViewer}, {@link io.peersocket.cli.viewer.ViewerServer}) from the moment every
 * node listens, and after the scenario keeps the nodes pinging each other until Ctrl-C or {@code --duration}.
 */
@Command(name = "testbed", mixinStandardHelpOptions = true,
        description = {"Start N node processes on loopback, connect them (peer i dials every j > i),",
                "ping, request/reply and converse between them, print a summary; exit 0 only if all checks pass."})
final class TestbedCommand implements Callable<Integer> {
    @Option(names = "--peers", paramLabel = "N", defaultValue = "10",
            description = "Number of node processes (default ${DEFAULT-VALUE}; 4 with --scenario relay, which adds a relay node).")
    int peers;

    @Option(names = "--pings", paramLabel = "N", defaultValue = "20", description = "Pings from peer 0 to random peers (default ${DEFAULT-VALUE}).")
    int pings;

    @Option(names = "--requests", paramLabel = "N", defaultValue = "40", description = "Request/reply exchanges between random pairs (default ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--conversations", paramLabel = "N", defaultValue = "10", description = "Counting conversations between random pairs (default ${DEFAULT-VALUE}).")
    int conversations;

    @Option(names = "--scenario", paramLabel = "NAME", defaultValue = "basic",
            description = {"basic (default): linear dialling, pings, request/reply, conversations;",
                    "discovery: every node is given only peer 0 as bootstrap; waits until every DHT routing",
                    "table is healthy, then each node looks up random peers (findPeer);",
                    "snapshot: full mesh with token traffic and one slow link (peer 0 -> 1); Chandy-Lamport",
                    "snapshots from random peers while tokens flow; checks conservation (states + channels = issued);",
                    "ledger: N-1 ledger nodes (peers 0 and N/2 produce blocks), full mesh; a network cut into two halves",
                    "(each node's firewall drops all datagrams to/from the other half: cross-half connections must die,",
                    "a cross-half ping must fail), both grow, production stops, heal (firewalls cleared, nodes redial):",
                    "every node must end on the fork-choice winner's tip, the losing half reporting rebuilds;",
                    "then node N-1 starts late with an empty chain and must catch up from zero.",
                    "content: full mesh with the DHT; peer 0 shares real data (--share), peer 1 gets it (byte-identical by",
                    "SHA-256), every node converges on its neighbourhood's chunks, a late joiner is killed (kill -9) during",
                    "historical sync and restarted on its data dir, and resumes from its persisted intervals.",
                "relay: N nodes (default 4) reserve on one relay node; pairs cut apart by the firewall connect through",
                "the relay and run conversations, then the cut is lifted and they upgrade to direct connections while a",
                "conversation runs: no message may be lost; reports relayed vs direct connections and upgrade times."})
    String scenario;

    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    /** Whether --peers was on the command line (false when the command runs without picocli parsing). */
    private boolean peersGiven() {
        var pr = spec == null || spec.commandLine() == null ? null : spec.commandLine().getParseResult();
        return pr == null || pr.hasMatchedOption("--peers");
    }

    @Option(names = "--health-timeout", paramLabel = "S", defaultValue = "120",
            description = "Discovery: seconds to wait for healthy routing tables (default ${DEFAULT-VALUE}).")
    long healthTimeoutS;

    @Option(names = "--lookups", paramLabel = "N", defaultValue = "3", description = "Discovery: lookups per node (default ${DEFAULT-VALUE}).")
    int lookups;

    @Option(names = "--snapshots", paramLabel = "N", defaultValue = "3", description = "Snapshot: how many snapshots (default ${DEFAULT-VALUE}).")
    int snapshots;

    @Option(names = "--slow-ms", paramLabel = "MS", defaultValue = "300",
            description = "Snapshot: delay of peer 0's token sends to peer 1, the slow link, ms (default ${DEFAULT-VALUE}).")
    long slowMs;

    @Option(names = "--grow-ms", paramLabel = "MS", defaultValue = "6000",
            description = "Ledger: how long both halves grow while partitioned, ms (default ${DEFAULT-VALUE}).")
    long growMs;

    @Option(names = "--share", paramLabel = "PATH",
            description = "Content: the file or directory peer 0 shares (default: the JDK's lib/src.zip if present, else /usr/share/doc).")
    Path sharePath;

    @Option(names = "--rate", paramLabel = "BYTES/s", defaultValue = "0",
            description = "Content: every node's --peer-bandwidth-limit (default ${DEFAULT-VALUE}; 0 = unlimited).")
    String contentRate;

    @Option(names = "--sync-timeout", paramLabel = "S", defaultValue = "300",
            description = "Content: seconds to wait for share, get and neighbourhood convergence, each (default ${DEFAULT-VALUE}).")
    long syncTimeoutS;

    @Option(names = "--seed", paramLabel = "N", description = "Random seed for choosing pairs (default: time).")
    Long seed;

    @Option(names = "--keep", description = "Keep the data dirs (printed at the end).")
    boolean keep;

    @Option(names = "--json", description = "Print the summary as JSON.")
    boolean json;

    @Option(names = "--view", description = {"Serve the testbed viewer on 127.0.0.1 (graph of nodes and connections, traces as",
            "sequence diagrams) and keep the nodes running, each pinging a random connected peer about once a",
            "second, until Ctrl-C or --duration."})
    boolean view;

    @Option(names = "--view-port", paramLabel = "PORT", defaultValue = "0",
            description = "TCP port of the viewer on 127.0.0.1 (default 0: any free port; the URL is printed).")
    int viewPort;

    @Option(names = "--duration", paramLabel = "S", defaultValue = "0",
            description = "With --view: stop after S seconds (default 0: run until Ctrl-C).")
    long durationS;

    /** Tests: called with the viewer's URL once it serves. */
    java.util.function.Consumer<java.net.URI> onViewerStarted = u -> { };
    /** Tests: completing it ends a --view run early, like Ctrl-C. */
    final CompletableFuture<Void> stopViewing = new CompletableFuture<>();
    private TestbedViewer viewer;

    final List<Peer> procs = new ArrayList<>();
    Path root;
    private final PrintStream progress = System.err;

    @Override public Integer call() throws Exception {
        if (scenario.equals("relay") && !peersGiven()) peers = 4; // the relay scenario's own default
        if (peers < 2) throw new IllegalArgumentException("--peers must be >= 2");
        if (peers > 64) throw new IllegalArgumentException("--peers must be <= 64 on one machine");
        if (viewPort < 0 || viewPort > 65535) throw new IllegalArgumentException("--view-port must be 0..65535");
        if (durationS < 0) throw new IllegalArgumentException("--duration must be >= 0");
        Random random = new Random(seed != null ? seed : System.nanoTime());
        root = Files.createTempDirectory("peersocket-testbed-");
        Thread cleanup = new Thread(this::cleanup, "testbed-cleanup");
        Runtime.getRuntime().addShutdownHook(cleanup);
        long t0 = System.nanoTime();
        Summary s = new Summary();
        try {
            switch (scenario) {
                case "basic" -> run(random, s);
                case "discovery" -> discovery(random, s);
                case "snapshot" -> snapshotScenario(random, s);
                case "ledger" -> ledgerScenario(s);
                case "content" -> new ContentScenario(this, s).run();
                case "relay" -> new RelayScenario(this, s).run();
                default -> throw new IllegalArgumentException("unknown --scenario " + scenario + " (basic, discovery, snapshot, ledger, content, relay)");
            }
            if (view) serveViewer(random, s);
        } finally {
            cleanup();
            try {
                Runtime.getRuntime().removeShutdownHook(cleanup);
            } catch (IllegalStateException ignored) {
                // already shutting down
            }
        }
        s.seconds = (System.nanoTime() - t0) / 1e9;
        print(s);
        return s.failures.isEmpty() ? 0 : 1;
    }

    private void discovery(Random random, Summary s) throws Exception {
        steps = 5;
        step(1, "starting peer 0, then " + (peers - 1) + " node processes with only peer 0 as bootstrap");
        procs.add(Peer.start(0, root.resolve("peer-0"), List.of()));
        procs.get(0).awaitListening(90_000);
        for (int i = 1; i < peers; i++) {
            procs.add(Peer.start(i, root.resolve("peer-" + i), List.of("--bootstrap", procs.get(0).address)));
        }
        for (Peer p : procs.subList(1, procs.size())) p.awaitListening(90_000);
        startViewer();
        long started = System.nanoTime();
        List<String> network = procs.stream().map(p -> p.peerId).toList();

        step(2, "waiting until every routing table is healthy (knows and is connected to its nearest neighbours, no empty bins)");
        long deadline = started + TimeUnit.SECONDS.toNanos(healthTimeoutS);
        java.util.Set<Integer> healthy = new java.util.TreeSet<>();
        while (healthy.size() < peers && System.nanoTime() < deadline) {
            List<CompletableFuture<Void>> polls = new ArrayList<>();
            for (Peer p : procs) {
                if (healthy.contains(p.index)) continue;
                polls.add(p.command(Map.of("cmd", "kad", "network", network)).thenAccept(r -> {
                    if (r.ok() && Boolean.TRUE.equals(r.values().get("healthy"))) {
                        synchronized (healthy) {
                            healthy.add(p.index);
                        }
                    }
                }));
            }
            awaitAll(polls, "health polls");
            progressLine("  healthy tables: " + healthy.size() + "/" + peers);
            if (healthy.size() < peers) TimeUnit.SECONDS.sleep(1); // polling interval of the CLI, not a test wait
        }
        double toHealthy = (System.nanoTime() - started) / 1e9;
        if (healthy.size() < peers) {
            for (Peer p : procs) {
                if (healthy.contains(p.index)) continue;
                Reply r = p.command(Map.of("cmd", "kad", "network", network)).get(30, TimeUnit.SECONDS);
                Map<String, Object> v = new LinkedHashMap<>(r.values());
                v.remove("bins");
                s.failures.add("routing table of peer " + p.index + " not healthy after " + healthTimeoutS + " s: " + v);
            }
        }

        step(3, "lookups: each node finds " + lookups + " random peers (findPeer)");
        List<Integer> hops = java.util.Collections.synchronizedList(new ArrayList<>());
        List<CompletableFuture<Void>> finds = new ArrayList<>();
        for (Peer a : procs) {
            for (int k = 0; k < lookups; k++) {
                Peer b = other(random, a);
                finds.add(a.command(Map.of("cmd", "dht-find-peer", "peer", b.peerId)).thenAccept(r -> {
                    if (!s.check(r, "findPeer " + a.index + "->" + b.index)) return;
                    if (Boolean.TRUE.equals(r.values().get("found"))) {
                        hops.add(((Number) r.values().get("hops")).intValue());
                        s.requestRtts.add(((Number) r.values().get("durationMs")).doubleValue());
                    } else {
                        s.failures.add("findPeer " + a.index + "->" + b.index + ": not found");
                    }
                }));
            }
        }
        awaitAll(finds, "lookups");

        step(4, "collecting statistics");
        for (Peer p : procs) {
            Reply r = p.command(Map.of("cmd", "stats")).get(30, TimeUnit.SECONDS);
            if (s.check(r, "stats " + p.index)) s.connectedSum += Math.max(0, s.countConnections(p, procs));
        }
        step(5, "stopping");
        List<Integer> sorted = new ArrayList<>(hops);
        sorted.sort(Comparator.naturalOrder());
        s.extra.put("healthyTables", healthy.size());
        s.extra.put("secondsToHealthy", Math.round(toHealthy * 10) / 10.0);
        s.extra.put("lookups", peers * lookups);
        s.extra.put("lookupsSucceeded", hops.size());
        s.extra.put("lookupHopsP50", sorted.isEmpty() ? null : sorted.get(sorted.size() / 2));
        s.extra.put("lookupHopsMax", sorted.isEmpty() ? null : sorted.get(sorted.size() - 1));
    }

    /** Token traffic over a full mesh with one slow link; snapshots while it flows; conservation checked from the JSON. */
    private void snapshotScenario(Random random, Summary s) throws Exception {
        steps = 6;
        step(1, "starting " + peers + " node processes");
        for (int i = 0; i < peers; i++) procs.add(Peer.start(i, root.resolve("peer-" + i), List.of("--dht", "off")));
        for (Peer p : procs) p.awaitListening(90_000);
        step(2, "connecting: peer i dials every j > i; waiting for every handshake");
        List<CompletableFuture<Void>> dials = new ArrayList<>();
        for (Peer a : procs) {
            for (Peer b : procs) {
                if (b.index > a.index) dials.add(a.command(Map.of("cmd", "dial", "addr", b.address)).thenAccept(r -> s.check(r, "dial " + a.index + "->" + b.index)));
            }
        }
        awaitAll(dials, "dials");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            int meshed = 0;
            for (Peer p : procs) {
                Reply r = p.command(Map.of("cmd", "tokens")).get(30, TimeUnit.SECONDS);
                if (r.ok() && ((Number) r.values().get("channelPeers")).intValue() == peers - 1) meshed++;
            }
            if (meshed == peers) {
                s.connectedSum = peers * (peers - 1);
                break;
            }
            if (System.nanoTime() > deadline) {
                s.failures.add("only " + meshed + "/" + peers + " nodes have channels to every other node after 30 s");
                return;
            }
            TimeUnit.MILLISECONDS.sleep(200); // polling interval of the CLI, not a test wait
        }
        step(3, "token traffic: every node passes random amounts to random peers every 5 ms; peer 0's sends to peer 1 wait "
                + slowMs + " ms (slow link)");
        for (Peer p : procs) {
            Map<String, Object> start = new LinkedHashMap<>(Map.of("cmd", "tokens-start", "intervalMs", 5, "maxAmount", 100,
                    "seed", random.nextLong()));
            if (p.index == 0) {
                start.put("slowPeer", procs.get(1).peerId);
                start.put("slowDelayMs", slowMs);
            }
            s.check(p.command(start).get(30, TimeUnit.SECONDS), "tokens-start " + p.index);
        }
        TimeUnit.MILLISECONDS.sleep(1000); // let traffic build up
        step(4, snapshots + " snapshots from random peers while tokens flow; conservation check");
        int complete = 0, conserved = 0;
        long channelMessages = 0, inFlight = 0, firstSent = -1, lastSent = -1;
        for (int k = 0; k < snapshots; k++) {
            Peer initiator = procs.get(random.nextInt(peers));
            Reply r = initiator.command(Map.of("cmd", "snapshot", "timeoutMs", 15_000)).get(60, TimeUnit.SECONDS);
            if (!s.check(r, "snapshot " + k + " from " + initiator.index)) continue;
            Map<String, Object> v = r.values();
            List<?> nodes = (List<?>) v.get("nodes");
            if (!Boolean.TRUE.equals(v.get("complete")) || nodes.size() != peers) {
                s.failures.add("snapshot " + k + " from peer " + initiator.index + " incomplete (" + nodes.size() + " nodes): " + v.get("problems"));
                continue;
            }
            complete++;
            long issued = 0, inStates = 0, inChannels = 0, outbox = 0, msgs = 0, sent = 0;
            for (Object o : nodes) {
                Map<?, ?> n = (Map<?, ?>) o;
                Map<?, ?> t = (Map<?, ?>) ((Map<?, ?>) n.get("state")).get("tokens");
                issued += ((Number) t.get("issued")).longValue();
                inStates += ((Number) t.get("balance")).longValue() + ((Number) t.get("outbox")).longValue();
                outbox += ((Number) t.get("outbox")).longValue();
                sent += ((Number) t.get("sentMessages")).longValue();
                for (Object c : (List<?>) n.get("channels")) {
                    for (Object m : (List<?>) ((Map<?, ?>) c).get("messages")) {
                        Map<?, ?> mm = (Map<?, ?>) m;
                        if (((Number) mm.get("type")).intValue() == io.peersocket.protocol.snapshot.TokenApp.TOKEN) {
                            inChannels += ((Number) mm.get("value")).longValue();
                            msgs++;
                        }
                    }
                }
            }
            boolean holds = inStates + inChannels == issued;
            progressLine("  snapshot " + k + " from peer " + initiator.index + ": issued " + issued + " = states " + inStates
                    + " + channels " + inChannels + " (" + msgs + " messages in flight, " + outbox + " tokens in the slow outbox): "
                    + (holds ? "conserved" : "NOT CONSERVED"));
            if (holds) conserved++;
            else s.failures.add("snapshot " + k + ": tokens not conserved: issued " + issued + ", states " + inStates + ", channels " + inChannels);
            channelMessages += msgs;
            inFlight += msgs + outbox;
            if (firstSent < 0) firstSent = sent;
            lastSent = sent;
            TimeUnit.MILLISECONDS.sleep(300); // spacing between snapshots
        }
        if (complete > 0 && inFlight == 0) s.failures.add("no token was in flight in any snapshot: traffic did not flow");
        if (complete > 1 && lastSent <= firstSent) s.failures.add("no tokens were sent between the first and the last snapshot");
        step(5, "stopping token traffic");
        for (Peer p : procs) s.check(p.command(Map.of("cmd", "tokens-stop")).get(30, TimeUnit.SECONDS), "tokens-stop " + p.index);
        step(6, "stopping");
        s.extra.put("snapshots", snapshots);
        s.extra.put("snapshotsComplete", complete);
        s.extra.put("snapshotsConserved", conserved);
        s.extra.put("channelMessages", channelMessages);
        s.extra.put("tokensSentMessages", lastSent);
    }

    private static final String LEDGER_CHAIN = "testbed";
    /** QUIC idle and handshake timeouts of the ledger scenario's nodes: a cut shows within seconds. */
    private static final long LEDGER_IDLE_TIMEOUT_MS = 3000, LEDGER_HANDSHAKE_TIMEOUT_MS = 3000;

    private List<String> ledgerArgs(long produceMs) {
        return new ArrayList<>(List.of("--dht", "off", "--ledger", LEDGER_CHAIN, "--ledger-min-peers", "1", "--ledger-cycle-ms", "200",
                "--ledger-produce-ms", Long.toString(produceMs), "--idle-timeout-ms", Long.toString(LEDGER_IDLE_TIMEOUT_MS),
                "--handshake-timeout-ms", Long.toString(LEDGER_HANDSHAKE_TIMEOUT_MS)));
    }

    private Map<String, Object> ledgerInfo(Peer p) throws Exception {
        Reply r = p.command(Map.of("cmd", "ledger-info")).get(60, TimeUnit.SECONDS);
        if (!r.ok()) throw new IllegalStateException("ledger-info on peer " + p.index + ": " + r.error());
        return r.values();
    }

    /** Polls until every peer of {@code group} reports the same tip (and at least {@code minHeight}); returns that tip or null. */
    private String awaitSameTip(List<Peer> group, long minHeight, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            java.util.Set<Object> tips = new java.util.HashSet<>();
            long min = Long.MAX_VALUE;
            for (Peer p : group) {
                Map<String, Object> i = ledgerInfo(p);
                tips.add(i.get("tip"));
                min = Math.min(min, ((Number) i.get("height")).longValue());
            }
            if (tips.size() == 1 && min >= minHeight) return (String) tips.iterator().next();
            if (System.nanoTime() > deadline) return null;
            TimeUnit.MILLISECONDS.sleep(200); // polling interval of the CLI, not a test wait
        }
    }

    /**
     * Connections between halves {@code a} and {@code b} (each counted from both ends, from the nodes' {@code stats}),
     * polled until there are none ({@code untilNone}) or some, at most {@code timeoutMs}; returns the last count.
     */
    private int awaitCrossConnections(List<Peer> a, List<Peer> b, boolean untilNone, long timeoutMs) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        while (true) {
            int n = 0;
            for (Peer p : Stream.concat(a.stream(), b.stream()).toList()) {
                boolean inA = a.contains(p);
                Reply r = p.command(Map.of("cmd", "stats")).get(60, TimeUnit.SECONDS);
                if (!r.ok()) throw new IllegalStateException("stats on peer " + p.index + ": " + r.error());
                java.util.Set<String> others = new java.util.HashSet<>((inA ? b : a).stream().map(q -> q.peerId).toList());
                for (Object id : (List<?>) r.values().get("connectedPeers")) if (others.contains(String.valueOf(id))) n++;
            }
            if (untilNone == (n == 0) || System.nanoTime() > deadline) return n;
            TimeUnit.MILLISECONDS.sleep(250); // polling interval of the CLI, not a test wait
        }
    }

    private void ledgerScenario(Summary s) throws Exception {
        // Each half needs two nodes: a node alone has no ledger peer, stays CONNECTING and does not produce.
        if (peers < 5) throw new IllegalArgumentException("--scenario ledger needs --peers >= 5");
        steps = 8;
        int running = peers - 1;
        int half = running / 2;
        step(1, "starting " + running + " ledger node processes (chain " + LEDGER_CHAIN + "); peers 0 and " + half
                + " produce blocks; peer " + (peers - 1) + " starts late");
        for (int i = 0; i < running; i++) {
            long produce = i == 0 ? 700 : i == half ? 900 : 0;
            procs.add(Peer.start(i, root.resolve("peer-" + i), ledgerArgs(produce)));
        }
        for (Peer p : procs) p.awaitListening(90_000);
        step(2, "connecting: full mesh");
        List<CompletableFuture<Void>> dials = new ArrayList<>();
        for (Peer a : procs) {
            for (Peer b : procs) {
                if (b.index > a.index) dials.add(a.command(Map.of("cmd", "dial", "addr", b.address)).thenAccept(r -> s.check(r, "dial " + a.index + "->" + b.index)));
            }
        }
        awaitAll(dials, "dials");
        String tip = awaitSameTip(procs, 3, 60_000);
        if (tip == null) {
            s.failures.add("nodes did not agree on a chain of height >= 3 within 60 s");
            return;
        }
        long cutHeight = ((Number) ledgerInfo(procs.get(0)).get("height")).longValue();
        progressLine("  all " + running + " nodes on tip " + tip.substring(0, 12) + " at height " + cutHeight);
        List<Peer> a = new ArrayList<>(procs.subList(0, half)), b = new ArrayList<>(procs.subList(half, running));
        step(3, "partition: peers 0.." + (half - 1) + " | " + half + ".." + (running - 1)
                + " (network cut: each node's firewall drops every datagram to/from the other half); growing " + growMs + " ms");
        long cutAt = System.nanoTime();
        for (Peer p : procs) {
            List<String> other = (a.contains(p) ? b : a).stream().map(q -> q.address).toList();
            s.check(p.command(Map.of("cmd", "firewall", "block", other)).get(30, TimeUnit.SECONDS), "firewall block on " + p.index);
        }
        // A real cut: QUIC hears nothing across it, so every cross-half connection ends at the idle timeout.
        int cross = awaitCrossConnections(a, b, true, LEDGER_IDLE_TIMEOUT_MS + 15_000);
        double secondsToCut = (System.nanoTime() - cutAt) / 1e9;
        progressLine("  cross-half connections: " + cross + " after " + Math.round(secondsToCut * 10) / 10.0 + " s");
        if (cross != 0) s.failures.add(cross + " connections across the cut still open " + Math.round(secondsToCut) + " s after it");
        Reply cutPing = a.get(0).command(Map.of("cmd", "ping", "peer", b.get(0).peerId)).get(60, TimeUnit.SECONDS);
        progressLine("  ping " + a.get(0).index + " -> " + b.get(0).index + " across the cut: "
                + (cutPing.ok() ? "answered (the cut leaks!)" : "failed (" + cutPing.error() + ")"));
        if (cutPing.ok()) s.failures.add("a ping crossed the cut");
        long grown = (System.nanoTime() - cutAt) / 1_000_000;
        if (grown < growMs) TimeUnit.MILLISECONDS.sleep(growMs - grown); // let both halves grow
        step(4, "stopping production; each half settles on its own tip");
        for (Peer p : List.of(procs.get(0), procs.get(half))) s.check(p.command(Map.of("cmd", "ledger-produce", "ms", 0)).get(30, TimeUnit.SECONDS), "ledger-produce 0 on " + p.index);
        String tipA = awaitSameTip(a, 0, 30_000), tipB = awaitSameTip(b, 0, 30_000);
        if (tipA == null || tipB == null) {
            s.failures.add("a half did not settle on one tip within 30 s");
            return;
        }
        long hA = ((Number) ledgerInfo(a.get(0)).get("height")).longValue(), hB = ((Number) ledgerInfo(b.get(0)).get("height")).longValue();
        progressLine("  half A: height " + hA + " tip " + tipA.substring(0, 12) + "; half B: height " + hB + " tip " + tipB.substring(0, 12));
        if (tipA.equals(tipB)) s.failures.add("the halves did not fork while partitioned");
        // Fork choice (docs/ledger.md): greater height wins; at equal height the lower tip hash.
        boolean aWins = hA != hB ? hA > hB : tipA.compareTo(tipB) < 0;
        String winner = aWins ? tipA : tipB;
        List<Peer> losers = aWins ? b : a;
        step(5, "healing (firewalls cleared; nodes redial); expecting every node on " + (aWins ? "half A" : "half B") + "'s tip " + winner.substring(0, 12));
        for (Peer p : procs) s.check(p.command(Map.of("cmd", "firewall", "clear", true)).get(30, TimeUnit.SECONDS), "firewall clear on " + p.index);
        String healed = awaitSameTip(procs, Math.max(hA, hB), 60_000);
        if (healed == null) s.failures.add("nodes did not converge within 60 s of the heal");
        else if (!healed.equals(winner)) s.failures.add("converged on " + healed + ", not the fork-choice winner " + winner);
        int crossAfter = awaitCrossConnections(a, b, false, 30_000);
        Reply healPing = a.get(0).command(Map.of("cmd", "ping", "peer", b.get(0).peerId)).get(60, TimeUnit.SECONDS);
        progressLine("  after the heal: " + crossAfter + " cross-half connections; ping " + a.get(0).index + " -> " + b.get(0).index
                + (healPing.ok() ? " answered" : " failed (" + healPing.error() + ")"));
        if (!healPing.ok()) s.failures.add("no ping across the healed cut: " + healPing.error());
        long rebuilds = 0;
        for (Peer p : procs) {
            Map<String, Object> i = ledgerInfo(p);
            long r = ((Number) i.get("rebuilds")).longValue();
            rebuilds += r;
            progressLine("  peer " + p.index + ": height " + i.get("height") + " tip " + String.valueOf(i.get("tip")).substring(0, 12)
                    + " rebuilds " + r + " (deepest " + i.get("deepestRebuild") + ") rejected " + i.get("rejected"));
            if (losers.contains(p) && r == 0) s.failures.add("peer " + p.index + " was on the losing side but reports no rebuild");
        }
        step(6, "starting peer " + (peers - 1) + " late with an empty chain; bootstrap peer 0");
        List<String> lateArgs = ledgerArgs(0);
        lateArgs.addAll(List.of("--peer", procs.get(0).address));
        Peer late = Peer.start(peers - 1, root.resolve("peer-" + (peers - 1)), lateArgs);
        procs.add(late);
        late.awaitListening(90_000);
        step(7, "waiting for the late node to catch up");
        String caught = awaitSameTip(procs, Math.max(hA, hB), 60_000);
        long lateHeight = ((Number) ledgerInfo(late).get("height")).longValue();
        if (caught == null || !caught.equals(winner)) s.failures.add("late node did not catch up: height " + lateHeight + " of " + Math.max(hA, hB));
        else progressLine("  late node at height " + lateHeight + " on tip " + caught.substring(0, 12));
        step(8, "stopping");
        s.extra.put("heightAtCut", cutHeight);
        s.extra.put("crossConnectionsDuringCut", cross);
        s.extra.put("secondsToCut", Math.round(secondsToCut * 10) / 10.0);
        s.extra.put("crossPingDuringCut", cutPing.ok() ? "answered" : "failed");
        s.extra.put("crossConnectionsAfterHeal", crossAfter);
        s.extra.put("crossPingAfterHeal", healPing.ok() ? "answered" : "failed");
        s.extra.put("heightHalfA", hA);
        s.extra.put("heightHalfB", hB);
        s.extra.put("winner", aWins ? "A" : "B");
        s.extra.put("converged", healed != null && healed.equals(winner));
        s.extra.put("rebuilds", rebuilds);
        s.extra.put("lateNodeHeight", lateHeight);
        s.extra.put("lateNodeCaughtUp", caught != null && caught.equals(winner));
    }

    private void run(Random random, Summary s) throws Exception {
        step(1, "starting " + peers + " node processes");
        for (int i = 0; i < peers; i++) procs.add(Peer.start(i, root.resolve("peer-" + i), List.of()));
        for (Peer p : procs) {
            p.awaitListening(90_000);
            progressLine("  started " + (p.index + 1) + "/" + peers + ": " + p.peerId);
        }
        startViewer();

        step(2, "connecting: peer i dials every j > i");
        List<CompletableFuture<Void>> dials = new ArrayList<>();
        for (Peer a : procs) {
            for (Peer b : procs) {
                if (b.index <= a.index) continue;
                dials.add(a.command(Map.of("cmd", "dial", "addr", b.address)).thenAccept(r -> s.check(r, "dial " + a.index + "->" + b.index)));
            }
        }
        awaitAll(dials, "dials");
        s.expectedConnections = peers * (peers - 1) / 2;

        step(3, "peer 0 pings " + pings + " random peers");
        Peer p0 = procs.get(0);
        for (int i = 0; i < pings; i++) {
            Peer t = procs.get(1 + random.nextInt(peers - 1));
            Reply r = p0.command(Map.of("cmd", "ping", "peer", t.peerId, "count", 3)).get(60, TimeUnit.SECONDS);
            if (s.check(r, "ping 0->" + t.index)) {
                for (Object v : (List<?>) r.values.get("rttMs")) s.rtts.add(((Number) v).doubleValue());
                s.pings += 3;
            }
        }

        step(4, requests + " request/reply exchanges between random pairs");
        List<CompletableFuture<Void>> reqs = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            Peer a = procs.get(random.nextInt(peers));
            Peer b = other(random, a);
            reqs.add(a.command(Map.of("cmd", "request", "peer", b.peerId, "bytes", 64)).thenAccept(r -> {
                if (s.check(r, "request " + a.index + "->" + b.index)) {
                    s.requestRtts.add(((Number) r.values.get("rttMs")).doubleValue());
                }
            }));
        }
        awaitAll(reqs, "requests");

        step(5, conversations + " counting conversations (20 messages each) between random pairs");
        List<CompletableFuture<Void>> convs = new ArrayList<>();
        for (int i = 0; i < conversations; i++) {
            Peer a = procs.get(random.nextInt(peers));
            Peer b = other(random, a);
            convs.add(a.command(Map.of("cmd", "count", "peer", b.peerId, "limit", 20)).thenAccept(r -> {
                if (s.check(r, "conversation " + a.index + "->" + b.index)) s.conversationsOk++;
            }));
        }
        awaitAll(convs, "conversations");

        step(6, "collecting statistics");
        for (Peer p : procs) {
            Reply r = p.command(Map.of("cmd", "stats")).get(30, TimeUnit.SECONDS);
            if (!s.check(r, "stats " + p.index)) continue;
            int connected = s.countConnections(p, procs);
            if (connected < 0) continue;
            s.connectedSum += connected;
            if (connected != peers - 1) s.failures.add("peer " + p.index + " is connected to " + connected + " peers, expected " + (peers - 1));
            @SuppressWarnings("unchecked")
            Map<String, Object> counters = (Map<String, Object>) r.values.get("counters");
            s.messages += ((Number) counters.getOrDefault("despatch.received", 0)).longValue();
            for (Map.Entry<String, Object> e : counters.entrySet()) {
                if (e.getKey().startsWith("despatch.drop.") || e.getKey().equals("despatch.handler.failed")
                        || e.getKey().equals("despatch.request.timeout")) {
                    long v = ((Number) e.getValue()).longValue();
                    if (v > 0) s.failures.add("peer " + p.index + " " + e.getKey() + "=" + v);
                }
            }
        }
        step(7, "stopping");
    }

    /** With --view: starts the viewer once every node listens (the scenario then runs under its eyes). */
    void startViewer() throws IOException {
        if (!view) return;
        List<TestbedViewer.Node> nodes = new ArrayList<>();
        for (Peer p : procs) nodes.add(new TestbedViewer.Node(p, p.index, p.peerId, p.address, p.dataDir));
        viewer = TestbedViewer.start(nodes, viewPort, "Peersocket testbed: " + peers + " peers (" + scenario + ")");
        System.out.println("viewer " + viewer.uri());
        System.out.flush();
        progressLine("  viewer at " + viewer.uri());
        onViewerStarted.accept(viewer.uri());
    }

    /** With --view: after the scenario, keeps the nodes pinging each other until Ctrl-C, --duration or a test stop. */
    private void serveViewer(Random random, Summary s) throws Exception {
        progressLine("[view] serving " + viewer.uri() + "; nodes keep pinging random connected peers until "
                + (durationS > 0 ? durationS + " s have passed" : "Ctrl-C"));
        viewer.startTraffic(random);
        try {
            if (durationS > 0) stopViewing.get(durationS, TimeUnit.SECONDS);
            else stopViewing.get();
        } catch (java.util.concurrent.TimeoutException done) {
            // --duration elapsed
        }
        viewer.stopTraffic();
        s.extra.put("viewPings", viewer.pingsOk());
        s.extra.put("viewPingFailures", viewer.pingsFailed());
        s.extra.put("viewSpans", viewer.spansSeen());
    }

    private Peer other(Random random, Peer a) {
        int j = random.nextInt(peers - 1);
        return procs.get(j >= a.index ? j + 1 : j);
    }

    static void awaitAll(List<CompletableFuture<Void>> fs, String what) throws Exception {
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).get(180, TimeUnit.SECONDS);
    }

    int steps = 7;

    void step(int n, String what) { progressLine("[" + n + "/" + steps + "] " + what); }

    void progressLine(String line) {
        progress.println(line);
        progress.flush();
    }

    private void print(Summary s) throws IOException {
        List<Double> all = new ArrayList<>(s.rtts);
        all.sort(Comparator.naturalOrder());
        List<Double> req = new ArrayList<>(s.requestRtts);
        req.sort(Comparator.naturalOrder());
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("scenario", scenario);
        m.put("peers", peers);
        m.put("connections", s.connectedSum / 2);
        if (s.directEnds >= 0) { // issue 7: how many connections are direct and how many go through a relay
            m.put("directConnections", s.directEnds / 2);
            m.put("relayedConnections", s.relayedEnds / 2);
        }
        if (scenario.equals("discovery")) {
            m.putAll(s.extra);
            m.put("lookupMsP50", pct(req, 0.50));
            m.put("lookupMsP99", pct(req, 0.99));
            m.put("failures", s.failures.size());
            m.put("seconds", Math.round(s.seconds * 10) / 10.0);
            printMap(m, s);
            return;
        }
        if (scenario.equals("snapshot") || scenario.equals("ledger") || scenario.equals("content") || scenario.equals("relay")) {
            m.putAll(s.extra);
            m.put("failures", s.failures.size());
            m.put("seconds", Math.round(s.seconds * 10) / 10.0);
            printMap(m, s);
            return;
        }
        m.put("expectedConnections", s.expectedConnections);
        m.put("pings", s.pings);
        m.put("pingRttP50Ms", pct(all, 0.50));
        m.put("pingRttP99Ms", pct(all, 0.99));
        m.put("requests", req.size());
        m.put("requestRttP50Ms", pct(req, 0.50));
        m.put("requestRttP99Ms", pct(req, 0.99));
        m.put("conversations", s.conversationsOk);
        m.put("despatchMessages", s.messages);
        for (String k : List.of("viewPings", "viewPingFailures", "viewSpans")) if (s.extra.containsKey(k)) m.put(k, s.extra.get(k));
        m.put("failures", s.failures.size());
        m.put("seconds", Math.round(s.seconds * 10) / 10.0);
        printMap(m, s);
    }

    private void printMap(Map<String, Object> m, Summary s) throws IOException {
        if (json) {
            m.put("failureDetails", s.failures);
            System.out.println(com.fasterxml.jackson.jr.ob.JSON.std.asString(m));
        } else {
            System.out.println();
            System.out.println("testbed summary");
            System.out.println("---------------");
            m.forEach((k, v) -> System.out.printf("%-20s %s%n", k, v instanceof Double d ? String.format("%.3f", d) : v));
            for (String f : s.failures) System.out.println("FAIL " + f);
            System.out.println(s.failures.isEmpty() ? "RESULT PASS" : "RESULT FAIL");
        }
        if (keep) System.out.println("data dirs kept in " + root);
    }

    private static double pct(List<Double> sorted, double p) {
        if (sorted.isEmpty()) return Double.NaN;
        int i = (int) Math.ceil(p * sorted.size()) - 1;
        return sorted.get(Math.max(0, Math.min(sorted.size() - 1, i)));
    }

    private synchronized void cleanup() {
        if (viewer != null) {
            viewer.close();
            viewer = null;
        }
        for (Peer p : procs) p.stop();
        procs.clear();
        if (root != null && !keep) {
            try (Stream<Path> walk = Files.walk(root)) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException ignored) {
                // best effort
            }
            root = keep ? root : null;
        }
    }

    static final class Summary {
        final List<String> failures = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Double> rtts = java.util.Collections.synchronizedList(new ArrayList<>());
        final List<Double> requestRtts = java.util.Collections.synchronizedList(new ArrayList<>());
        final Map<String, Object> extra = new LinkedHashMap<>();
        int pings, expectedConnections, connectedSum;
        /** Connection ends reported by the nodes' stats (each connection has two); -1 until counted. */
        long directEnds = -1, relayedEnds = -1;
        volatile int conversationsOk;
        long messages;
        double seconds;

        /**
         * The number of other testbed nodes {@code p} is connected to, adding its direct and relayed connection ends
         * to the totals; -1 (and a failure) if it does not answer. Connections to peers outside the testbed, such as
         * AutoNAT dial-backs from throwaway identities, are not counted.
         */
        int countConnections(Peer p, List<Peer> all) throws Exception {
            Reply r = p.command(Map.of("cmd", "connections")).get(30, TimeUnit.SECONDS);
            if (!check(r, "connections " + p.index)) return -1;
            java.util.Set<String> ids = new java.util.HashSet<>();
            for (Peer q : all) ids.add(q.peerId);
            java.util.Set<String> seen = new java.util.HashSet<>();
            if (directEnds < 0) directEnds = relayedEnds = 0;
            for (Object o : (List<?>) r.values().get("connections")) {
                Map<?, ?> c = (Map<?, ?>) o;
                if (!ids.contains(String.valueOf(c.get("peer")))) continue;
                seen.add(String.valueOf(c.get("peer")));
                if (Boolean.TRUE.equals(c.get("relayed"))) relayedEnds++;
                else directEnds++;
            }
            return seen.size();
        }

        boolean check(Reply r, String what) {
            if (r.ok) return true;
            failures.add(what + ": " + r.error);
            return false;
        }
    }

    /** A JSON answer from a node's control stdin ({@link ControlHandler}). */
    record Reply(boolean ok, String error, Map<String, Object> values) {
        static Reply parse(String line) {
            try {
                Map<String, Object> m = com.fasterxml.jackson.jr.ob.JSON.std.mapFrom(line);
                boolean ok = Boolean.TRUE.equals(m.get("ok"));
                return new Reply(ok, ok ? null : String.valueOf(m.get("error")), m);
            } catch (IOException e) {
                return new Reply(false, "unparseable answer: " + line, Map.of());
            }
        }
    }

    /** One node process driven through its control stdin. Commands are answered in order. */
    static final class Peer {
        final int index;
        final Path dataDir;
        final Process process;
        final Writer stdin;
        final LinkedBlockingQueue<String> listening = new LinkedBlockingQueue<>();
        final LinkedBlockingQueue<CompletableFuture<Reply>> waiting = new LinkedBlockingQueue<>();
        final ExecutorService sender = Executors.newSingleThreadExecutor();
        final StringBuffer stderrTail = new StringBuffer();
        String address, peerId;

        private Peer(int index, Path dataDir, Process process) {
            this.index = index;
            this.dataDir = dataDir;
            this.process = process;
            this.stdin = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            Thread.ofVirtual().start(this::readStdout);
            Thread.ofVirtual().start(this::readStderr);
        }

        static Peer start(int index, Path dataDir, List<String> extraArgs) throws IOException {
            String java = ProcessHandle.current().info().command().orElse(
                    Path.of(System.getProperty("java.home"), "bin", "java").toString());
            List<String> cmd = new ArrayList<>(List.of(java, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                    "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn", "--enable-native-access=ALL-UNNAMED"));
            if (Runtime.version().feature() >= 23) cmd.add("--sun-misc-unsafe-memory-access=allow");
            cmd.addAll(List.of(
                    "-cp", System.getProperty("java.class.path"), Main.class.getName(),
                    "node", "--data", dataDir.toString(), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1", "--control-stdin",
                    "--dht-interval-ms", "1000"));
            cmd.addAll(extraArgs);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            return new Peer(index, dataDir, pb.start());
        }

        private void readStdout() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (line.startsWith("listening ")) {
                        listening.add(line.substring("listening ".length()));
                    } else if (line.startsWith("{")) {
                        CompletableFuture<Reply> f = waiting.poll();
                        if (f != null) f.complete(Reply.parse(line));
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
            CompletableFuture<Reply> f;
            while ((f = waiting.poll()) != null) {
                f.complete(new Reply(false, "node process " + index + " exited: " + tail(), Map.of()));
            }
        }

        private void readStderr() {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(process.getErrorStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    stderrTail.append(line).append('\n');
                    if (stderrTail.length() > 4000) stderrTail.delete(0, stderrTail.length() - 4000);
                }
            } catch (IOException ignored) {
                // process ended
            }
        }

        private String tail() {
            String t = stderrTail.toString().strip();
            return t.isEmpty() ? "(no output)" : t.lines().reduce((a, b) -> b).orElse(t);
        }

        void awaitListening(long ms) throws Exception {
            String a = listening.poll(ms, TimeUnit.MILLISECONDS);
            if (a == null) {
                throw new IllegalStateException("node process " + index + " did not start within " + ms + " ms: " + tail());
            }
            address = a;
            peerId = a.substring(a.lastIndexOf("/p2p/") + 5);
        }

        /** Sends one command; answers arrive in order, so commands to one peer run one at a time. */
        CompletableFuture<Reply> command(Map<String, Object> request) {
            return command(request, 120);
        }

        /** As {@link #command(Map)}, waiting at most {@code timeoutS} seconds for the answer (long share/get). */
        CompletableFuture<Reply> command(Map<String, Object> request, long timeoutS) {
            String line;
            try {
                line = com.fasterxml.jackson.jr.ob.JSON.std.asString(request);
            } catch (IOException e) {
                throw new IllegalArgumentException(e);
            }
            CompletableFuture<Reply> f = new CompletableFuture<>();
            sender.execute(() -> {
                try {
                    synchronized (this) {
                        waiting.add(f);
                        stdin.write(line + "\n");
                        stdin.flush();
                    }
                    // Wait for the answer before sending the next command, so answers match commands.
                    f.get(timeoutS, TimeUnit.SECONDS);
                } catch (Exception e) {
                    f.complete(new Reply(false, "no answer from node " + index + " to '" + line + "': " + e, Map.of()));
                }
            });
            return f;
        }

        void stop() {
            sender.shutdownNow();
            try {
                stdin.write("quit\n");
                stdin.close();
            } catch (IOException ignored) {
                // already gone
            }
            try {
                if (!process.waitFor(10, TimeUnit.SECONDS)) {
                    process.destroy();
                    if (!process.waitFor(5, TimeUnit.SECONDS)) process.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                process.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
    }
}
