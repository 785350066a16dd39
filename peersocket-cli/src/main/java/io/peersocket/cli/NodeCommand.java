package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import io.peersocket.cli.telemetry.NodeTelemetry;
import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.node.NodeBuilder;
import io.peersocket.protocol.autonat.AutoNatConfig;
import io.peersocket.protocol.content.BandwidthScheduler;
import io.peersocket.protocol.content.ContentConfig;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.pubsub.GossipSubConfig;
import io.peersocket.protocol.relay.RelayConfig;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peersocket node}: runs a node until SIGINT/SIGTERM. */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = {"Run a node until interrupted (SIGINT/SIGTERM), then shut down cleanly.",
                "Prints one line per listen address: listening <multiaddr>/p2p/<peer id>.",
                "Serves ping, identify and the despatch layer with the demo app (echo, PING/PONG, FORWARD, counting conversation),",
                "and the content protocols (retrieval, push sync, pull sync) for share and get.",
                "Other commands (peers, status) reach it through DATA/control.sock.",
                "Spans go to DATA/traces.jsonl (one JSON object per line; see docs/cli.md)."})
final class NodeCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, paramLabel = "DIR",
            description = "Data directory: identity key, database, control socket (created if missing).")
    Path data;

    @Option(names = "--listen", paramLabel = "MULTIADDR", split = ",",
            description = "Listen address(es); default /ip4/0.0.0.0/udp/4001/quic-v1.")
    List<String> listen = new ArrayList<>();

    @Option(names = {"--peer", "--bootstrap"}, paramLabel = "MULTIADDR", split = ",",
            description = "Peer(s) to dial at start, with /p2p/<peer id>. A restarted node also redials the peers it knows.")
    List<String> peers = new ArrayList<>();

    @Option(names = "--dht", paramLabel = "MODE", defaultValue = "server",
            description = "Kademlia DHT mode: server (answers queries, default), client (queries only) or off.")
    String dhtMode;

    @Option(names = "--pubsub", negatable = true, defaultValue = "true", fallbackValue = "true",
            description = "Run GossipSub pubsub (/meshsub/1.2.0); on by default, --no-pubsub turns it off.")
    boolean pubsub;

    @Option(names = "--dht-interval-ms", paramLabel = "MS", defaultValue = "10000", hidden = true,
            description = "How often the DHT connection manager runs, ms (the testbed shortens it).")
    long dhtIntervalMs;

    @Option(names = "--autonat", paramLabel = "on|off", defaultValue = "on",
            description = "AutoNAT: answer dial-back requests, learn external addresses from peers, decide whether this"
                    + " node is reachable (status shows it); a node found PRIVATE runs the DHT in client mode (default ${DEFAULT-VALUE}).")
    String autoNat;

    @Option(names = "--autonat-retry-ms", paramLabel = "MS", defaultValue = "30000", hidden = true,
            description = "How often AutoNAT probes while reachability is unknown, ms (tests shorten it).")
    long autoNatRetryMs;

    @Option(names = "--punch-dial-timeout-ms", paramLabel = "MS", defaultValue = "5000", hidden = true,
            description = "How long one hole-punch try's direct dial may take, ms (tests shorten it).")
    long punchDialTimeoutMs;
    @Option(names = "--idle-timeout-ms", paramLabel = "MS", defaultValue = "30000",
            description = "QUIC idle timeout: a connection that hears nothing for this long closes (keep-alives every"
                    + " third of it), ms (default ${DEFAULT-VALUE}; the testbed shortens it so cuts show quickly).")
    long idleTimeoutMs;

    @Option(names = "--handshake-timeout-ms", paramLabel = "MS", defaultValue = "10000",
            description = "A dial that gets no QUIC handshake within this long fails, ms (default ${DEFAULT-VALUE}).")
    long handshakeTimeoutMs;

    @Option(names = "--chunk-capacity", paramLabel = "N", defaultValue = "1000000",
            description = "Most unpinned chunks (cached or synced for others, ~4 KiB each) kept before the farthest"
                    + " are garbage collected; shared chunks do not count (default ${DEFAULT-VALUE}).")
    long chunkCapacity;

    @Option(names = "--bandwidth-limit", paramLabel = "BYTES/s", defaultValue = "0",
            description = {"Most bytes per second of content traffic (retrieval, push and pull sync) this node sends in all;",
                    "suffixes k, M, G (x1024) allowed, e.g. 8M; 0 = unlimited (default)."})
    String bandwidthLimit;

    @Option(names = "--peer-bandwidth-limit", paramLabel = "BYTES/s", defaultValue = "0",
            description = "Most bytes per second of content traffic this node sends to any one peer; suffixes as above; 0 = unlimited (default).")
    String peerBandwidthLimit;

    @Option(names = "--content", paramLabel = "on|off", defaultValue = "on",
            description = {"Run the content protocols (retrieval, push sync, pull sync: /peersocket/retrieval|pushsync|sync/1.0.0),",
                    "so share pushes chunks to the network and get retrieves them (default on)."})
    String contentMode;

    @Option(names = "--pull-sync", paramLabel = "on|off", defaultValue = "on",
            description = {"Pull the chunks of this node's neighbourhood from its neighbours (default on); off: the node",
                    "still serves pull sync, retrieval and push sync, but keeps only what is pushed to it or it retrieves."})
    String pullSyncMode;

    @Option(names = "--log-level", paramLabel = "LEVEL", defaultValue = "info",
            description = "Log level on stderr: error, warn, info, debug, trace (default ${DEFAULT-VALUE}).")
    String logLevel;

    @Option(names = "--otlp-endpoint", paramLabel = "URL",
            description = "Also export spans and metrics to this OTLP/HTTP collector, e.g. http://127.0.0.1:4318.")
    String otlpEndpoint;

    @Option(names = "--metrics", paramLabel = "HOST:PORT",
            description = "Serve Prometheus text metrics at http://HOST:PORT/metrics, e.g. 127.0.0.1:9464.")
    String metrics;

    @Option(names = "--trace-sampling", paramLabel = "RATIO", defaultValue = "1.0",
            description = "Fraction of new traces recorded, 0.0 to 1.0 (default ${DEFAULT-VALUE}); traces started by other nodes follow their choice.")
    double traceSampling;

    @Option(names = "--ledger", paramLabel = "CHAIN",
            description = "Run the ledger app on chain CHAIN (blocks, transactions, chain sync; docs/ledger.md).")
    String ledgerChain;

    @Option(names = "--ledger-produce-ms", paramLabel = "MS", defaultValue = "0",
            description = "Produce a ledger block every MS ms in normal mode (0, default: never; for test networks).")
    long ledgerProduceMs;

    @Option(names = "--ledger-min-peers", paramLabel = "N", defaultValue = "3",
            description = "Ledger peers needed before leaving the connecting state (default ${DEFAULT-VALUE}).")
    int ledgerMinPeers;

    @Option(names = "--ledger-finality", paramLabel = "BLOCKS", defaultValue = "100",
            description = "Deepest reorg the ledger accepts, blocks (default ${DEFAULT-VALUE}).")
    int ledgerFinality;

    @Option(names = "--ledger-cycle-ms", paramLabel = "MS", defaultValue = "1000", hidden = true,
            description = "Ledger connector step interval, ms (the testbed shortens it).")
    long ledgerCycleMs;

    @Option(names = "--relay-service",
            description = {"Serve as a Circuit Relay v2 relay (/libp2p/circuit/relay/0.2.0/hop): peers reserve slots and others",
                    "reach them through this node over limited, relayed connections (docs/wire.md)."})
    boolean relayService;

    @Option(names = "--relay-max-reservations", paramLabel = "N", defaultValue = "128",
            description = "With --relay-service: most reservations held at once (default ${DEFAULT-VALUE}).")
    int relayMaxReservations;

    @Option(names = "--relay-max-circuits", paramLabel = "N", defaultValue = "16",
            description = "With --relay-service: most circuits open at once (default ${DEFAULT-VALUE}).")
    int relayMaxCircuits;

    @Option(names = "--relay-circuit-bytes", paramLabel = "BYTES", defaultValue = "128k",
            description = "With --relay-service: most bytes relayed per direction of one circuit before it is closed;"
                    + " suffixes k, M, G (x1024); 0 = unlimited (default ${DEFAULT-VALUE}).")
    String relayCircuitBytes;

    @Option(names = "--relay-circuit-ms", paramLabel = "MS", defaultValue = "120000",
            description = "With --relay-service: longest life of one circuit, ms; 0 = unlimited (default ${DEFAULT-VALUE}).")
    long relayCircuitMs;

    @Option(names = "--relay", paramLabel = "MULTIADDR", split = ",",
            description = {"Keep a reservation on this relay (…/p2p/RELAY; repeatable) and advertise the circuit address",
                    "…/p2p/RELAY/p2p-circuit/p2p/ME, printed as a listening line once reserved; a failed first try is repeated (5 s, doubling up to 60 s)."})
    List<String> relays = new ArrayList<>();

    @Option(names = "--control-stdin", hidden = true,
            description = "Also read JSON control requests on stdin and answer on stdout (used by the testbed); EOF stops the node.")
    boolean controlStdin;

    @Override public Integer call() throws Exception {
        // Before the first logger exists; an explicit -Dorg.slf4j.simpleLogger.defaultLogLevel wins.
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", logLevel);
        }
        String metricsHost = null;
        int metricsPort = 0;
        if (metrics != null) {
            int colon = metrics.lastIndexOf(':');
            if (colon <= 0) throw new IllegalArgumentException("--metrics must be HOST:PORT, got " + metrics);
            metricsHost = metrics.substring(0, colon).replaceAll("^\\[|\\]$", "");
            try {
                metricsPort = Integer.parseInt(metrics.substring(colon + 1));
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("--metrics port must be a number, got " + metrics);
            }
            if (metricsPort < 1 || metricsPort > 65535) throw new IllegalArgumentException("--metrics port must be 1..65535");
        }
        if (chunkCapacity < 1) throw new IllegalArgumentException("--chunk-capacity must be >= 1");
        long globalRate = parseRate("--bandwidth-limit", bandwidthLimit);
        long peerRate = parseRate("--peer-bandwidth-limit", peerBandwidthLimit);
        if (!pullSyncMode.equals("on") && !pullSyncMode.equals("off")) {
            throw new IllegalArgumentException("--pull-sync must be on or off, not " + pullSyncMode);
        }
        if (!contentMode.equals("on") && !contentMode.equals("off")) {
            throw new IllegalArgumentException("--content must be on or off, not " + contentMode);
        }
        if (idleTimeoutMs < 100) throw new IllegalArgumentException("--idle-timeout-ms must be >= 100");
        if (handshakeTimeoutMs < 100) throw new IllegalArgumentException("--handshake-timeout-ms must be >= 100");
        List<Multiaddr> relayAddrs = new ArrayList<>();
        for (String r : relays) {
            Multiaddr a = Multiaddr.parse(r);
            if (a.peerId() == null || a.has(io.peersocket.multiaddr.Protocol.P2P_CIRCUIT)) {
                throw new IllegalArgumentException("--relay must be a direct address ending in /p2p/RELAY, got " + r);
            }
            relayAddrs.add(a);
        }
        RelayConfig relayConf = relayService ? relayConfig() : null;
        HostKey key = HostKey.loadOrCreate(data);
        NodeTelemetry telemetry = NodeTelemetry.start(data, key.peerId(), traceSampling, otlpEndpoint, metricsHost, metricsPort);
        NodeBuilder b = Node.builder().dataDir(data).hostKey(key).openTelemetry(telemetry.openTelemetry())
                .chunkCapacity(chunkCapacity)
                .transportSettings(t -> t.withIdleTimeoutMs(idleTimeoutMs).withHandshakeTimeoutMs(handshakeTimeoutMs));
        if (listen.isEmpty()) listen.add("/ip4/0.0.0.0/udp/4001/quic-v1");
        for (String l : listen) b.listen(Multiaddr.parse(l));
        for (String p : peers) b.bootstrap(Multiaddr.parse(p));
        if (contentMode.equals("on")) {
            BandwidthScheduler.Limits u = BandwidthScheduler.Limits.unlimited();
            b.content(ContentConfig.defaults().withBandwidth(
                    new BandwidthScheduler.Limits(globalRate, peerRate, u.burstBytes(), u.maxQueuedBytesPerPeer()))
                    .withPullSync(pullSyncMode.equals("on")));
        }
        switch (dhtMode) {
            case "server" -> b.kademlia(KadConfig.builder().mode(KadConfig.Mode.SERVER)
                    .connectionManagerIntervalMs(dhtIntervalMs).build());
            case "client" -> b.kademlia(KadConfig.builder().mode(KadConfig.Mode.CLIENT)
                    .connectionManagerIntervalMs(dhtIntervalMs).build());
            case "off" -> { }
            default -> throw new IllegalArgumentException("--dht must be server, client or off, not " + dhtMode);
        }
        if (pubsub) b.pubsub(GossipSubConfig.defaults());
        switch (autoNat) {
            case "on" -> b.autoNat(AutoNatConfig.defaults().withProbeIntervals(autoNatRetryMs,
                    AutoNatConfig.defaults().refreshIntervalMs()));
            case "off" -> { }
            default -> throw new IllegalArgumentException("--autonat must be on or off, not " + autoNat);
        }
        if (autoNatRetryMs < 1) throw new IllegalArgumentException("--autonat-retry-ms must be >= 1");
        if (punchDialTimeoutMs < 100 || punchDialTimeoutMs > 60_000) {
            throw new IllegalArgumentException("--punch-dial-timeout-ms must be 100..60000");
        }
        b.holePunch(io.peersocket.protocol.holepunch.HolePunchConfig.defaults().withDialTimeoutMs(punchDialTimeoutMs));
        if (relayService) b.relayService(relayConf);
        Node node;
        try {
            node = b.start();
        } catch (Exception e) {
            telemetry.close();
            throw e;
        }
        DemoApp.install(node.despatcher(), node.peerId());
        SnapshotControl.install(node);
        if (node.kademlia() != null) DhtNames.install(node.kademlia());
        if (ledgerChain != null) {
            try {
                LedgerControl.install(node, io.peersocket.ledger.LedgerConfig.defaults(ledgerChain).withMinPeers(ledgerMinPeers)
                        .withFinality(ledgerFinality).withProduceMs(ledgerProduceMs).withCycleMs(ledgerCycleMs)
                        .withSampleMs(Math.max(10, 2 * ledgerCycleMs)));
            } catch (Exception e) {
                node.close();
                telemetry.close();
                throw e;
            }
        }
        ControlHandler handler = new ControlHandler(node);
        ControlSocket control = ControlSocket.start(data, handler);
        CountDownLatch stopped = new CountDownLatch(1);
        Runnable shutdown = () -> {
            control.close();
            node.close();
            telemetry.close(); // flushes the span file
            stopped.countDown();
        };
        Runtime.getRuntime().addShutdownHook(new Thread(shutdown, "peersocket-shutdown"));
        PrintStream out = System.out;
        for (Multiaddr a : node.addresses()) out.println("listening " + a);
        out.flush();
        // stdout in --control-stdin mode carries JSON answers only after the first lines: circuit lines go to stderr there
        for (Multiaddr r : relayAddrs) keepReservation(node, r, controlStdin ? System.err : out);
        if (!controlStdin) {
            // Issue 7: the node shows its reachability and external addresses as AutoNAT settles them (stdout in
            // --control-stdin mode carries JSON answers only; `status` shows the same there).
            node.onReachabilityChange(state -> {
                synchronized (out) {
                    out.println("reachability " + state + " external " + node.externalAddresses());
                    out.flush();
                }
            });
        }
        if (controlStdin) {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = ControlSocket.readLine(in)) != null) {
                if (line.isBlank()) continue;
                String answer = JSON.std.asString(ControlSocket.answer(handler, line));
                synchronized (out) {
                    out.println(answer);
                    out.flush();
                }
            }
            shutdown.run();
            return 0;
        }
        stopped.await();
        return 0;
    }

    /** The relay service's settings: defaults with the --relay-* limits. */
    RelayConfig relayConfig() {
        if (relayMaxReservations < 0) throw new IllegalArgumentException("--relay-max-reservations must be >= 0");
        if (relayMaxCircuits < 0) throw new IllegalArgumentException("--relay-max-circuits must be >= 0");
        if (relayCircuitMs < 0) throw new IllegalArgumentException("--relay-circuit-ms must be >= 0");
        long bytes = parseRate("--relay-circuit-bytes", relayCircuitBytes);
        RelayConfig d = RelayConfig.defaults();
        return d.withMaxReservations(relayMaxReservations, d.maxReservationsPerIp())
                .withMaxCircuits(relayMaxCircuits, d.maxCircuitsPerPeer())
                .withLimit(relayCircuitMs, bytes);
    }

    /** Delay before a failed first reservation is tried again, ms; doubled after each failure up to {@link #RESERVE_RETRY_MAX_MS}. */
    static final long RESERVE_RETRY_MS = 5_000;
    static final long RESERVE_RETRY_MAX_MS = 60_000;

    /**
     * Reserves on {@code relay} and prints the circuit addresses as {@code listening} lines; a failed first
     * reservation is tried again after {@link #RESERVE_RETRY_MS}, then with doubling delays up to
     * {@link #RESERVE_RETRY_MAX_MS}. Once held, the relay client refreshes it and makes a new one if the relay
     * drops it.
     */
    static void keepReservation(Node node, Multiaddr relay, PrintStream out) {
        keepReservation(node, relay, out, RESERVE_RETRY_MS);
    }

    private static void keepReservation(Node node, Multiaddr relay, PrintStream out, long retryMs) {
        node.relay().reserve(relay).whenComplete((res, err) -> {
            if (err == null) {
                synchronized (out) {
                    for (Multiaddr a : res.circuitAddresses()) out.println("listening " + a.withPeerId(node.peerId()));
                    out.flush();
                }
                return;
            }
            Throwable cause = err instanceof java.util.concurrent.CompletionException && err.getCause() != null ? err.getCause() : err;
            System.err.println("relay " + relay + ": reservation failed (" + cause.getMessage() + "), retrying in "
                    + retryMs + " ms");
            java.util.concurrent.CompletableFuture.delayedExecutor(retryMs, java.util.concurrent.TimeUnit.MILLISECONDS)
                    .execute(() -> {
                        if (!node.isClosed()) keepReservation(node, relay, out, Math.min(RESERVE_RETRY_MAX_MS, retryMs * 2));
                    });
        });
    }

    /**
     * A byte rate: a non-negative number with an optional {@code k}, {@code M} or {@code G} suffix (powers of
     * 1024) and an optional {@code /s}, e.g. {@code 8M} or {@code 500000/s}.
     *
     * @throws IllegalArgumentException naming {@code flag} if {@code text} is not one
     */
    static long parseRate(String flag, String text) {
        String t = text.strip();
        if (t.endsWith("/s")) t = t.substring(0, t.length() - 2);
        long mult = 1;
        if (!t.isEmpty()) {
            switch (Character.toLowerCase(t.charAt(t.length() - 1))) {
                case 'k' -> mult = 1L << 10;
                case 'm' -> mult = 1L << 20;
                case 'g' -> mult = 1L << 30;
                default -> { }
            }
            if (mult != 1) t = t.substring(0, t.length() - 1);
        }
        long v;
        try {
            v = Long.parseLong(t);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(flag + " must be BYTES per second (e.g. 8M, 500k, 0 for unlimited), got " + text);
        }
        if (v < 0 || v > (1L << 40) / mult) throw new IllegalArgumentException(flag + " must be 0 .. 1T bytes/s, got " + text);
        return v * mult;
    }
}
