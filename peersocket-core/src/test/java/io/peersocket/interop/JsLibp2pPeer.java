package io.peersocket.interop;

import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStreamWriter;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Runs and drives an independent js-libp2p peer ({@code interop/js/peer.mjs}: js-libp2p 3 over
 * {@code @chainsafe/libp2p-quic}, with {@code /ipfs/ping/1.0.0} and {@code /ipfs/id/1.0.0}, and optionally the
 * Kademlia DHT {@code /ipfs/kad/1.0.0} from {@code @libp2p/kad-dht} 16 in server mode) for interop tests.
 *
 * <p>{@link #start(Path, byte[])} installs the pinned npm packages when needed ({@code npm ci}, serialised across
 * JVMs with a file lock), starts {@code node peer.mjs}, and waits for its ready line. Commands are JSON lines on
 * the process's stdin; answers and events are JSON lines on its stdout (see the header of {@code peer.mjs}).
 * Node.js ≥ 20 and npm must be on {@code PATH}; otherwise {@code start} throws {@link IllegalStateException} —
 * the interop test fails rather than being skipped.
 *
 * <p>Thread-safe: commands may be issued from several threads at once; each carries an id that the JS peer
 * echoes. {@link #close()} stops the process tree (gracefully, then forcibly); a JVM shutdown hook stops any
 * peer that was not closed. The last {@value #STDERR_KEEP_CHARS} characters of the process's stderr are kept
 * for failure messages ({@link #stderrTail()}).
 */
public final class JsLibp2pPeer implements AutoCloseable {
    /** Message of the exception thrown when Node.js or npm cannot be found. */
    public static final String NODE_REQUIRED =
            "node and npm are required for the js-libp2p interop test; install Node.js ≥ 20";

    /** How long {@link #start} waits for the ready line. */
    public static final Duration READY_TIMEOUT = Duration.ofSeconds(60);
    /** Default timeout of a ping or identify command (passed to the JS peer as {@code timeoutMs}). */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofSeconds(10);
    /** Upper bound for {@code npm ci}. */
    public static final Duration NPM_CI_TIMEOUT = Duration.ofMinutes(5);

    /** js-libp2p debug namespaces enabled unless {@code DEBUG} is set in the environment. */
    public static final String DEFAULT_DEBUG = "libp2p:quic*,*:error";

    static final int STDERR_KEEP_CHARS = 64 * 1024;
    private static final int MAX_STDOUT_LINE_BYTES = 1 << 20;
    /** Extra time the Java side waits beyond the JS-side timeout before giving up on an answer. */
    private static final Duration ANSWER_GRACE = Duration.ofSeconds(5);
    private static final Duration STOP_GRACE = Duration.ofSeconds(5);

    private static final ReentrantLock NPM_LOCK_IN_JVM = new ReentrantLock();
    private static final Set<JsLibp2pPeer> LIVE = ConcurrentHashMap.newKeySet();

    static {
        Thread hook = new Thread(() -> {
            for (JsLibp2pPeer peer : LIVE) {
                peer.destroyTree(Duration.ofSeconds(2));
            }
        }, "js-libp2p-peer-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
    }

    /** One identify result: of the peer we asked ({@link #identify}), or of a peer the JS peer identified. */
    public record IdentifyInfo(
            String peerId,
            List<String> protocols,
            List<String> listenAddrs,
            String agentVersion,
            String protocolVersion,
            String observedAddr) {
        public IdentifyInfo {
            Objects.requireNonNull(peerId, "peerId");
            protocols = List.copyOf(protocols);
            listenAddrs = List.copyOf(listenAddrs);
        }

        static IdentifyInfo fromJson(Map<String, Object> json) {
            return new IdentifyInfo(
                    str(json, "peerId"),
                    strings(json.get("protocols")),
                    strings(json.get("listenAddrs")),
                    optStr(json, "agentVersion"),
                    optStr(json, "protocolVersion"),
                    optStr(json, "observedAddr"));
        }
    }

    /**
     * How to start a JS peer.
     *
     * @param seed 32-byte Ed25519 seed for a deterministic identity, or null for a random one (copied)
     * @param dht  whether to run kad-dht ({@code node peer.mjs --dht}): server mode on {@code /ipfs/kad/1.0.0},
     *             127.0.0.1 addresses kept, a {@code /test/} record namespace that accepts any value
     */
    public record Options(byte[] seed, boolean dht, boolean pubsub) {
        /** Random identity, no DHT, no pubsub. */
        public static final Options DEFAULT = new Options(null, false, false);

        public Options {
            if (seed != null) {
                if (seed.length != 32) {
                    throw new IllegalArgumentException("seed must be 32 bytes, got " + seed.length);
                }
                seed = seed.clone();
            }
        }

        /** Without pubsub. */
        public Options(byte[] seed, boolean dht) {
            this(seed, dht, false);
        }

        @Override
        public byte[] seed() {
            return seed == null ? null : seed.clone();
        }

        /** These options with the given seed (or null for a random identity). */
        public Options withSeed(byte[] seedOrNull) {
            return new Options(seedOrNull, dht, pubsub);
        }

        /** These options with the DHT on or off. */
        public Options withDht(boolean on) {
            return new Options(seed, on, pubsub);
        }

        /** These options with gossipsub ({@code node peer.mjs --pubsub}) on or off. */
        public Options withPubsub(boolean on) {
            return new Options(seed, dht, on);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Options other && other.dht == dht && other.pubsub == pubsub
                    && Arrays.equals(other.seed, seed);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Arrays.hashCode(seed) + Boolean.hashCode(dht)) + Boolean.hashCode(pubsub);
        }

        @Override
        public String toString() {
            return "Options[seed=" + (seed == null ? "random" : HexFormat.of().formatHex(seed)) + ", dht=" + dht
                    + ", pubsub=" + pubsub + "]";
        }
    }

    /**
     * A pubsub message the JS peer's gossipsub delivered to its subscription.
     *
     * @param topic        the topic
     * @param from         the author's peer id (signed messages)
     * @param seqno        the sequence number, decimal
     * @param data         the payload (copied)
     * @param receivedFrom the peer that forwarded it to the JS peer
     */
    public record PubSubMessage(String topic, String from, String seqno, byte[] data, String receivedFrom) {
        public PubSubMessage {
            data = data.clone();
        }

        @Override
        public byte[] data() {
            return data.clone();
        }

        /** The payload as UTF-8 text. */
        public String text() {
            return new String(data, StandardCharsets.UTF_8);
        }
    }

    /**
     * A peer as the JS DHT reports it.
     *
     * @param peerId base58btc peer id
     * @param addrs  its multiaddrs as the JS peer knows them (without {@code /p2p/}, duplicates removed)
     * @param from   the peer whose DHT answer carried this record (our JS peer's own id for a local hit), or null
     *               where not applicable (routing table entries)
     */
    public record DhtPeer(String peerId, List<String> addrs, String from) {
        public DhtPeer {
            Objects.requireNonNull(peerId, "peerId");
            addrs = List.copyOf(addrs);
        }

        static DhtPeer fromJson(Map<String, Object> json) {
            return new DhtPeer(str(json, "peerId"), strings(json.get("addrs")), optStr(json, "from"));
        }
    }

    /**
     * Outcome of a DHT put or provide.
     *
     * @param reached peers that accepted the record: for a put those that echoed the record back in their
     *                PUT_VALUE answer; for a provide those the ADD_PROVIDER message was written to (kad-dht expects no
     *                answer to it). May be empty — the JS peer stores the record locally in any case.
     * @param errors  up to 20 per-peer query errors, as {@code "<peerId>: <error>"}
     */
    public record DhtPublishResult(List<String> reached, List<String> errors) {
        public DhtPublishResult {
            reached = List.copyOf(reached);
            errors = List.copyOf(errors);
        }
    }

    /**
     * A value got from the DHT.
     *
     * @param value the record value (copied)
     * @param from  the peer that supplied the selected record; the JS peer's own id if it held the record itself
     */
    public record DhtValue(byte[] value, String from) {
        public DhtValue {
            value = value.clone();
        }

        @Override
        public byte[] value() {
            return value.clone();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof DhtValue other && Arrays.equals(other.value, value) && Objects.equals(other.from, from);
        }

        @Override
        public int hashCode() {
            return 31 * Arrays.hashCode(value) + Objects.hashCode(from);
        }

        @Override
        public String toString() {
            return "DhtValue[" + value.length + " bytes, from " + from + "]";
        }
    }

    /**
     * The JS peer's kad-dht routing table.
     *
     * @param mode  {@code "server"} or {@code "client"}
     * @param size  number of peers in the table
     * @param peers the peers with their peer-store addresses ({@link DhtPeer#from()} is null)
     */
    public record RoutingTable(String mode, int size, List<DhtPeer> peers) {
        public RoutingTable {
            peers = List.copyOf(peers);
        }

        /** The peer ids in the table. */
        public List<String> peerIds() {
            return peers.stream().map(DhtPeer::peerId).toList();
        }
    }

    /**
     * The end of kad-dht's first self-lookup.
     *
     * @param succeeded        whether it found peers (false: it failed, queries run anyway)
     * @param durationMs       how long it took, or null if it failed
     * @param routingTableSize routing table size when this was answered
     */
    public record SelfQuery(boolean succeeded, Long durationMs, int routingTableSize) {
    }

    /** An error the JS peer reported for a command (its {@code "error"} text is the message). */
    public static final class JsPeerException extends RuntimeException {
        private static final long serialVersionUID = 1L;
        private final String jsError;

        /**
         * @param jsError the JS peer's {@code "error"} text
         * @param message full message: command, JS error and the tail of the JS peer's stderr
         */
        public JsPeerException(String jsError, String message) {
            super(message);
            this.jsError = jsError;
        }

        /** The JS peer's error text alone, e.g. {@code "Dialed peer X but connected to Y"}. */
        public String jsError() {
            return jsError;
        }
    }

    private final Process process;
    private final String peerId;
    private final List<String> addresses;
    private final boolean dht;
    private final BufferedWriter stdin;
    private final Object stdinLock = new Object();
    private final AtomicLong nextId = new AtomicLong(1);
    private final Map<String, CompletableFuture<Map<String, Object>>> pending = new ConcurrentHashMap<>();
    private final List<IdentifyInfo> identified = new ArrayList<>(); // guarded by itself
    private final StringBuilder stderr = new StringBuilder(); // guarded by itself
    private final CompletableFuture<Map<String, Object>> ready = new CompletableFuture<>();
    private final CompletableFuture<Void> stdoutClosed = new CompletableFuture<>();
    private volatile boolean closing;

    private JsLibp2pPeer(Process process) {
        this.process = process;
        this.stdin = new BufferedWriter(new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8));
        LIVE.add(this);
        startDaemon("js-peer-stderr-" + process.pid(), this::pumpStderr);
        startDaemon("js-peer-stdout-" + process.pid(), this::pumpStdout);
        Map<String, Object> readyLine;
        try {
            readyLine = awaitReady();
        } catch (RuntimeException | Error e) {
            destroyTree(STOP_GRACE);
            throw e;
        }
        this.peerId = str(readyLine, "peerId");
        this.addresses = strings(readyLine.get("addrs"));
        this.dht = Boolean.TRUE.equals(readyLine.get("dht"));
        if (addresses.isEmpty()) {
            destroyTree(STOP_GRACE);
            throw new IllegalStateException("js peer reported no listen addresses" + stderrSuffix());
        }
    }

    /**
     * Starts a JS peer with a fresh random identity; finds the repository root from the working directory.
     *
     * @see #start(Path, byte[])
     */
    public static JsLibp2pPeer start() {
        return start(findRepoRoot(), null);
    }

    /**
     * Starts a JS peer listening on {@code /ip4/127.0.0.1/udp/0/quic-v1}.
     *
     * @param repoRoot   the repository root (contains {@code interop/js/package.json}); see {@link #findRepoRoot()}
     * @param seedOrNull a 32-byte Ed25519 seed for a deterministic identity, or null for a random one
     * @return the running peer, ready for commands
     * @throws IllegalStateException if node/npm are missing or too old, {@code npm ci} fails, or the peer does not
     *                               become ready within {@link #READY_TIMEOUT} (the message carries its stderr)
     */
    public static JsLibp2pPeer start(Path repoRoot, byte[] seedOrNull) {
        return startWith(repoRoot, new Options(seedOrNull, false));
    }

    /**
     * Starts a JS peer running kad-dht in server mode ({@code node peer.mjs --dht}); the ready line is awaited
     * until the DHT service has started. Queries need a routing-table peer: {@link #dial} another DHT peer first.
     *
     * @see #startWith(Path, Options)
     */
    public static JsLibp2pPeer startWithDht(Path repoRoot, byte[] seedOrNull) {
        return startWith(repoRoot, new Options(seedOrNull, true));
    }

    /**
     * Starts a JS peer listening on {@code /ip4/127.0.0.1/udp/0/quic-v1} with the given options.
     *
     * @param repoRoot the repository root (contains {@code interop/js/package.json}); see {@link #findRepoRoot()}
     * @param options  identity seed and whether to run the DHT
     * @return the running peer, ready for commands
     * @throws IllegalStateException if node/npm are missing or too old, {@code npm ci} fails, the peer does not
     *                               become ready within {@link #READY_TIMEOUT} (the message carries its stderr), or
     *                               the DHT was asked for but the peer does not report it started
     */
    public static JsLibp2pPeer startWith(Path repoRoot, Options options) {
        return startWith(repoRoot, options, List.of());
    }

    // ---------------------------------------------------------------- extra peer.mjs flags (upgrade branch)

    /** {@code peer.mjs --tcp}: also listen on {@code /ip4/127.0.0.1/tcp/0} with TCP + Noise + Yamux. */
    public static final String TCP_FLAG = "--tcp";

    /**
     * Starts a JS peer like {@link #startWith(Path, Options)}, passing {@code extraArgs} (such as {@link #TCP_FLAG})
     * to {@code peer.mjs} after the options' own flags.
     */
    public static JsLibp2pPeer startWith(Path repoRoot, Options options, List<String> extraArgs) {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(extraArgs, "extraArgs");
        Path jsDir = repoRoot.resolve("interop").resolve("js");
        if (!Files.isRegularFile(jsDir.resolve("package.json"))) {
            throw new IllegalStateException("no interop/js/package.json under " + repoRoot);
        }
        requireNodeAndNpm();
        ensureNodeModules(jsDir);

        List<String> command = new ArrayList<>(List.of(executable("node"), "peer.mjs"));
        byte[] seed = options.seed();
        if (seed != null) {
            command.add("--seed");
            command.add(HexFormat.of().formatHex(seed));
        }
        if (options.dht()) {
            command.add("--dht");
        }
        if (options.pubsub()) {
            command.add("--pubsub");
        }
        command.addAll(extraArgs);
        ProcessBuilder pb = new ProcessBuilder(command).directory(jsDir.toFile());
        // QUIC/TLS details and every libp2p error log go to stderr, which failure messages quote.
        pb.environment().putIfAbsent("DEBUG", DEFAULT_DEBUG);
        Process process;
        try {
            process = pb.start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + String.join(" ", command) + " in " + jsDir, e);
        }
        JsLibp2pPeer peer = new JsLibp2pPeer(process);
        if (options.dht() && !peer.dht) {
            String tail = peer.stderrSuffix();
            peer.close();
            throw new IllegalStateException("js peer started without the DHT although --dht was given" + tail);
        }
        return peer;
    }

    // ---------------------------------------------------------------- Circuit Relay v2 flags (relay branch)

    /** {@code peer.mjs --relay-server}: run js-libp2p's circuitRelayServer() (default limits). */
    public static final String RELAY_SERVER_FLAG = "--relay-server";

    /** {@code peer.mjs --relay-client}: circuitRelayTransport() with Noise + Yamux (dial and accept circuits). */
    public static final String RELAY_CLIENT_FLAG = "--relay-client";

    /** {@code peer.mjs --relay-listen RELAY}: reserve on {@code relayAddress} (ends in /p2p/RELAY) before ready. */
    public static List<String> relayListenArgs(String relayAddress) {
        return List.of("--relay-listen", relayAddress);
    }

    /** Peer ids holding a reservation on the js peer's relay service ({@link #RELAY_SERVER_FLAG}). */
    public List<String> relayReservations() {
        Map<String, Object> answer = call("relayReservations", Map.of(), DEFAULT_COMMAND_TIMEOUT);
        List<String> ids = new ArrayList<>();
        if (answer.get("reservations") instanceof List<?> list) for (Object o : list) ids.add(String.valueOf(o));
        return ids;
    }

    // ---------------------------------------------------------------- end relay

    /**
     * Finds the repository root: the first directory, walking up from {@code user.dir}, that contains
     * {@code interop/js/package.json}.
     *
     * @throws IllegalStateException if there is none
     */
    public static Path findRepoRoot() {
        Path start = Path.of(System.getProperty("user.dir")).toAbsolutePath();
        for (Path dir = start; dir != null; dir = dir.getParent()) {
            if (Files.isRegularFile(dir.resolve("interop").resolve("js").resolve("package.json"))) {
                return dir;
            }
        }
        throw new IllegalStateException("no directory containing interop/js/package.json at or above " + start);
    }

    /** The JS peer's id, base58btc ({@code 12D3KooW…}). */
    public String peerId() {
        return peerId;
    }

    /** The JS peer's listen addresses, each ending in {@code /p2p/<peerId>}. */
    public List<String> addresses() {
        return addresses;
    }

    /** Whether the JS peer runs kad-dht (started with {@link Options#dht()}). */
    public boolean dhtEnabled() {
        return dht;
    }

    /** The operating-system process id of the node process. */
    public long pid() {
        return process.pid();
    }

    /**
     * Dials (if needed) and pings a peer with {@code /ipfs/ping/1.0.0}; timeout {@link #DEFAULT_COMMAND_TIMEOUT}.
     *
     * @param multiaddr where to reach it, e.g. {@code /ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooW…}
     * @return the round-trip time in ms as measured by js-libp2p
     * @throws JsPeerException with the JS error text if the dial or ping failed
     */
    public long ping(String multiaddr) {
        return ping(multiaddr, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #ping(String)} with an explicit timeout. */
    public long ping(String multiaddr, Duration timeout) {
        Map<String, Object> answer = call("ping", Map.of("addr", multiaddr), timeout);
        Object rtt = answer.get("rttMs");
        if (!(rtt instanceof Number n)) {
            throw new IllegalStateException("ping answer without numeric rttMs: " + answer);
        }
        return n.longValue();
    }

    /**
     * Dials (if needed) a peer and returns its identify ({@code /ipfs/id/1.0.0}) answer for that connection;
     * timeout {@link #DEFAULT_COMMAND_TIMEOUT}.
     *
     * @throws JsPeerException with the JS error text if the dial or identify failed
     */
    public IdentifyInfo identify(String multiaddr) {
        return identify(multiaddr, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #identify(String)} with an explicit timeout. */
    public IdentifyInfo identify(String multiaddr, Duration timeout) {
        return IdentifyInfo.fromJson(call("identify", Map.of("addr", multiaddr), timeout));
    }

    /** Peer ids the JS peer currently has a connection to. */
    public List<String> connectedPeers() {
        Map<String, Object> answer = call("peers", Map.of(), DEFAULT_COMMAND_TIMEOUT);
        List<String> ids = new ArrayList<>();
        if (answer.get("peers") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m && m.get("peerId") instanceof String id) {
                    ids.add(id);
                }
            }
        }
        return ids;
    }

    /** Closes all connections of the JS peer to {@code peerId}. */
    public void hangUp(String peerId) {
        call("hangup", Map.of("peerId", peerId), DEFAULT_COMMAND_TIMEOUT);
    }

    /**
     * Connects the JS peer to {@code multiaddr} (no protocol is run by this call; js-libp2p runs identify on
     * every new connection by itself, and with the DHT on, a peer that identifies with {@code /ipfs/kad/1.0.0}
     * is pinged and then added to the routing table).
     *
     * @return the remote peer id
     * @throws JsPeerException with the JS error text if the dial failed
     */
    public String dial(String multiaddr) {
        return dial(multiaddr, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #dial(String)} with an explicit timeout. */
    public String dial(String multiaddr, Duration timeout) {
        return str(call("dial", Map.of("addr", multiaddr), timeout), "peerId");
    }

    // ---------------------------------------------------------------- pubsub commands (need Options#pubsub)

    /** Subscribes the JS peer's gossipsub to {@code topic}. */
    public void subscribe(String topic) {
        call("subscribe", Map.of("topic", topic), DEFAULT_COMMAND_TIMEOUT);
    }

    /**
     * Publishes {@code data} (at most about 45 KiB) to {@code topic} from the JS peer.
     *
     * @return the peer ids gossipsub sent it to (may be empty)
     */
    public List<String> publish(String topic, byte[] data) {
        return strings(call("publish", Map.of("topic", topic, "data", Base64.getEncoder().encodeToString(data)),
                DEFAULT_COMMAND_TIMEOUT).get("recipients"));
    }

    /** Every message of {@code topic} delivered to the JS peer's subscription so far, oldest first. */
    public List<PubSubMessage> received(String topic) {
        Map<String, Object> answer = call("received", Map.of("topic", topic), DEFAULT_COMMAND_TIMEOUT);
        List<PubSubMessage> out = new ArrayList<>();
        if (answer.get("messages") instanceof List<?> list) {
            for (Object o : list) {
                if (o instanceof Map<?, ?> m) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> json = (Map<String, Object>) m;
                    out.add(new PubSubMessage(str(json, "topic"), optStr(json, "from"), optStr(json, "seqno"),
                            decodeBase64(json, "data"), optStr(json, "receivedFrom")));
                }
            }
        }
        return out;
    }

    /** The peers the JS peer knows to be subscribed to {@code topic}. */
    public List<String> topicPeers(String topic) {
        return strings(call("topicPeers", Map.of("topic", topic), DEFAULT_COMMAND_TIMEOUT).get("peers"));
    }

    /** The JS peer's mesh peers of {@code topic}. */
    public List<String> meshPeers(String topic) {
        return strings(call("topicPeers", Map.of("topic", topic), DEFAULT_COMMAND_TIMEOUT).get("mesh"));
    }

    // ---------------------------------------------------------------- DHT commands (need Options#dht)
    // Every network query of kad-dht first waits for a routing-table peer and for the first self-lookup to end;
    // that wait counts against the command's timeout.

    /**
     * Looks a peer up through the DHT network (FIND_NODE walk; the local peer store is not consulted); timeout
     * {@link #DEFAULT_COMMAND_TIMEOUT}.
     *
     * @return the peer record, with {@link DhtPeer#from()} the peer whose FIND_NODE answer carried it
     * @throws JsPeerException ({@code "NotFoundError: Not found"}) if the walk ends without it, or on timeout
     */
    public DhtPeer findPeer(String peerId) {
        return findPeer(peerId, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #findPeer(String)} with an explicit timeout. */
    public DhtPeer findPeer(String peerId, Duration timeout) {
        return DhtPeer.fromJson(call("findPeer", Map.of("peerId", peerId), timeout));
    }

    /**
     * Stores {@code value} under {@code key} locally and sends PUT_VALUE to the closest peers found for the key;
     * timeout {@link #DEFAULT_COMMAND_TIMEOUT}.
     *
     * @param key   a record key such as {@code "/test/abc"} (UTF-8; the JS peer validates {@code /test/} and
     *              {@code /pk/} keys only)
     * @param value at most about 45 KiB (the JSON line limit of the JS peer is 64 Ki chars)
     */
    public DhtPublishResult put(String key, byte[] value) {
        return put(key, value, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #put(String, byte[])} with an explicit timeout. */
    public DhtPublishResult put(String key, byte[] value, Duration timeout) {
        Map<String, Object> answer = call("put",
                Map.of("key", key, "value", Base64.getEncoder().encodeToString(value)), timeout);
        return new DhtPublishResult(strings(answer.get("storedAt")), strings(answer.get("errors")));
    }

    /**
     * Gets the value of {@code key}: the local record if any, plus GET_VALUE answers of the whole walk, reduced
     * with the namespace's selector; timeout {@link #DEFAULT_COMMAND_TIMEOUT}.
     *
     * @throws JsPeerException if no value was found
     */
    public DhtValue get(String key) {
        return get(key, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #get(String)} with an explicit timeout. */
    public DhtValue get(String key, Duration timeout) {
        Map<String, Object> answer = call("get", Map.of("key", key), timeout);
        return new DhtValue(decodeBase64(answer, "value"), optStr(answer, "from"));
    }

    /**
     * Announces the JS peer as a provider of {@code cid} (a CID string, v0 or v1; kad-dht keys provider records by
     * its multihash) to the closest peers; timeout {@link #DEFAULT_COMMAND_TIMEOUT}.
     */
    public DhtPublishResult provide(String cid) {
        return provide(cid, DEFAULT_COMMAND_TIMEOUT);
    }

    /** {@link #provide(String)} with an explicit timeout. */
    public DhtPublishResult provide(String cid, Duration timeout) {
        return publishResult(call("provide", Map.of("cid", cid), timeout));
    }

    /** {@link #provide(String)} for raw multihash bytes (wrapped by the JS peer as a CIDv1 with codec raw). */
    public DhtPublishResult provideMultihash(byte[] multihash, Duration timeout) {
        return publishResult(call("provide",
                Map.of("multihash", Base64.getEncoder().encodeToString(multihash)), timeout));
    }

    /**
     * Finds providers of {@code cid}: local provider records first, then GET_PROVIDERS along the walk, stopping
     * after {@code count} distinct providers.
     *
     * @param count stop after this many providers (kad-dht's own limit is 20); at least 1
     * @return the providers found, possibly empty
     */
    public List<DhtPeer> findProviders(String cid, int count, Duration timeout) {
        return providers(call("findProviders", Map.of("cid", cid, "count", positive(count)), timeout));
    }

    /** {@link #findProviders(String, int, Duration)} for raw multihash bytes. */
    public List<DhtPeer> findProvidersOfMultihash(byte[] multihash, int count, Duration timeout) {
        return providers(call("findProviders", Map.of("multihash", Base64.getEncoder().encodeToString(multihash),
                "count", positive(count)), timeout));
    }

    /** The JS peer's kad-dht routing table. */
    public RoutingTable routingTable() {
        Map<String, Object> answer = call("routingTable", Map.of(), DEFAULT_COMMAND_TIMEOUT);
        return new RoutingTable(str(answer, "mode"), intValue(answer, "size"), dhtPeers(answer.get("peers")));
    }

    /**
     * Waits until kad-dht's first self-lookup has ended. It starts 1 s after the DHT started, waits without limit
     * for the first routing-table peer, then walks FIND_NODE for the JS peer's own id; every other query of the JS
     * peer waits for it too.
     *
     * @throws JsPeerException if it does not end within {@code timeout} (message names the routing table size)
     */
    public SelfQuery awaitSelfQuery(Duration timeout) {
        Map<String, Object> answer = call("awaitSelfQuery", Map.of(), timeout);
        Object duration = answer.get("durationMs");
        return new SelfQuery(Boolean.TRUE.equals(answer.get("succeeded")),
                duration instanceof Number n ? n.longValue() : null, intValue(answer, "routingTableSize"));
    }

    /**
     * Waits until the JS peer has identified {@code peerId} (it ran {@code /ipfs/id/1.0.0} against that peer on
     * some connection, inbound or outbound). Results that arrived before this call count.
     *
     * @return the latest identify result for that peer
     * @throws AssertionError if none arrives within {@code timeout}, or the JS peer exits first
     */
    public IdentifyInfo awaitIdentifiedBy(String peerId, Duration timeout) {
        Objects.requireNonNull(peerId, "peerId");
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (identified) {
            while (true) {
                for (int i = identified.size() - 1; i >= 0; i--) {
                    if (identified.get(i).peerId().equals(peerId)) {
                        return identified.get(i);
                    }
                }
                if (stdoutClosed.isDone()) {
                    throw new AssertionError("js peer exited before identifying " + peerId + stderrSuffix());
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    throw new AssertionError("js peer " + this.peerId + " did not identify " + peerId + " within "
                            + timeout.toMillis() + " ms; identified so far: "
                            + identified.stream().map(IdentifyInfo::peerId).toList() + stderrSuffix());
                }
                try {
                    TimeUnit.NANOSECONDS.timedWait(identified, left);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IllegalStateException("interrupted while waiting for identify of " + peerId, e);
                }
            }
        }
    }

    /** All identify results the JS peer has reported so far, oldest first. */
    public List<IdentifyInfo> identifiedSoFar() {
        synchronized (identified) {
            return List.copyOf(identified);
        }
    }

    /** The last {@value #STDERR_KEEP_CHARS} characters the node process wrote to stderr. */
    public String stderrTail() {
        synchronized (stderr) {
            return stderr.toString();
        }
    }

    /** Whether the node process is still running. */
    public boolean isAlive() {
        return process.isAlive();
    }

    /**
     * Stops the peer: asks it to quit, closes its stdin, waits up to 5 s, then kills the process tree. Idempotent.
     */
    @Override
    public void close() {
        if (closing) {
            return;
        }
        closing = true;
        try {
            if (process.isAlive()) {
                try {
                    synchronized (stdinLock) {
                        stdin.write(MiniJson.write(Map.of("cmd", "quit", "id", "quit")));
                        stdin.write('\n');
                        stdin.flush();
                        stdin.close();
                    }
                } catch (IOException ignored) {
                    // Already gone: destroyTree below handles it.
                }
                try {
                    process.waitFor(STOP_GRACE.toMillis(), TimeUnit.MILLISECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        } finally {
            destroyTree(STOP_GRACE);
        }
    }

    @Override
    public String toString() {
        return "JsLibp2pPeer[" + peerId + ", pid " + process.pid() + ", " + addresses + "]";
    }

    // ---------------------------------------------------------------- AutoNAT (peer.mjs --autonat)

    /**
     * Starts a JS peer with the @libp2p/autonat v1 service ({@code node peer.mjs --autonat}): it answers AutoNAT
     * DIAL requests (refusing private and loopback addresses, which it never dials) and asks each new AutoNAT peer
     * to verify one unverified public address of its own.
     */
    public static JsLibp2pPeer startWithAutonat(Path repoRoot) {
        return startWith(repoRoot, Options.DEFAULT, List.of("--autonat"));
    }

    /** One entry of the JS address manager's view ({@code getAddressesWithMetadata}). */
    public record AddressInfo(String addr, String type, boolean verified) {}

    /**
     * Maps every {@code 127.0.0.1} UDP listen port P of the JS peer to {@code ip}:P (as a UPnP service would), so
     * it has an unverified public address for AutoNAT to verify. Needs {@code --autonat}.
     *
     * @return the mapped {@code /ip4/IP/udp/P} prefixes
     */
    public List<String> mapPublicAddress(String ip, Duration timeout) {
        return strings(call("mapPublicAddress", Map.of("ip", ip), timeout).get("mapped"));
    }

    /** The JS peer's addresses with type and verified flag. Needs {@code --autonat}. */
    public List<AddressInfo> addressInfo(Duration timeout) {
        List<AddressInfo> out = new ArrayList<>();
        Object list = call("addressInfo", Map.of(), timeout).get("addresses");
        if (list instanceof List<?> l) {
            for (Object o : l) {
                if (o instanceof Map<?, ?> m) {
                    out.add(new AddressInfo(String.valueOf(m.get("addr")), String.valueOf(m.get("type")),
                            Boolean.TRUE.equals(m.get("verified"))));
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- commands

    private Map<String, Object> call(String cmd, Map<String, Object> args, Duration timeout) {
        if (closing) {
            throw new IllegalStateException("js peer is closed");
        }
        if (!process.isAlive() || stdoutClosed.isDone()) {
            throw new IllegalStateException("js peer has exited" + exitSuffix() + stderrSuffix());
        }
        String id = Long.toString(nextId.getAndIncrement());
        Map<String, Object> line = new LinkedHashMap<>();
        line.put("id", id);
        line.put("cmd", cmd);
        line.put("timeoutMs", Math.max(1, timeout.toMillis()));
        line.putAll(args);
        CompletableFuture<Map<String, Object>> answer = new CompletableFuture<>();
        pending.put(id, answer);
        try {
            synchronized (stdinLock) {
                stdin.write(MiniJson.write(line));
                stdin.write('\n');
                stdin.flush();
            }
            if (stdoutClosed.isDone()) {
                // The pump may have failed all pending futures before ours was registered.
                answer.completeExceptionally(new IllegalStateException("js peer has exited" + exitSuffix()));
            }
            Map<String, Object> result = answer.get(timeout.plus(ANSWER_GRACE).toMillis(), TimeUnit.MILLISECONDS);
            if (!Boolean.TRUE.equals(result.get("ok"))) {
                Object error = result.get("error");
                String jsError = error instanceof String e ? e : MiniJson.write(result);
                throw new JsPeerException(jsError, cmd + " failed in js peer: " + jsError + stderrSuffix(4000));
            }
            return result;
        } catch (IOException e) {
            throw new IllegalStateException("cannot write to js peer stdin" + exitSuffix() + stderrSuffix(), e);
        } catch (TimeoutException e) {
            throw new IllegalStateException("js peer did not answer " + cmd + " within "
                    + timeout.plus(ANSWER_GRACE).toMillis() + " ms" + stderrSuffix(), e);
        } catch (ExecutionException e) {
            throw new IllegalStateException(cmd + ": " + e.getCause().getMessage() + stderrSuffix(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for " + cmd, e);
        } finally {
            pending.remove(id);
        }
    }

    private Map<String, Object> awaitReady() {
        try {
            return CompletableFuture.anyOf(ready, stdoutClosed)
                    .thenApply(x -> {
                        if (!ready.isDone()) {
                            throw new IllegalStateException("js peer exited before it was ready" + exitSuffix()
                                    + stderrSuffix());
                        }
                        return ready.join();
                    })
                    .get(READY_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new IllegalStateException("js peer not ready within " + READY_TIMEOUT.toSeconds() + " s"
                    + stderrSuffix(), e);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException re) {
                throw re;
            }
            throw new IllegalStateException("js peer failed to start: " + cause, cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while waiting for the js peer", e);
        }
    }

    // ---------------------------------------------------------------- output pumps

    private void pumpStdout() {
        try (InputStream in = process.getInputStream()) {
            String line;
            while ((line = readLine(in)) != null) {
                handleStdoutLine(line);
            }
        } catch (IOException | RuntimeException e) {
            appendStderr("[JsLibp2pPeer] stdout reader failed: " + e + "\n");
        } finally {
            stdoutClosed.complete(null);
            IllegalStateException gone = new IllegalStateException("js peer closed its stdout" + exitSuffix());
            pending.values().forEach(f -> f.completeExceptionally(gone));
            synchronized (identified) {
                identified.notifyAll();
            }
        }
    }

    private void handleStdoutLine(String line) {
        if (line.isBlank()) {
            return;
        }
        Map<String, Object> json;
        try {
            json = MiniJson.parseObject(line);
        } catch (IllegalArgumentException e) {
            appendStderr("[JsLibp2pPeer] non-JSON line on stdout: " + line + "\n");
            return;
        }
        Object event = json.get("event");
        if ("ready".equals(event)) {
            ready.complete(json);
        } else if ("identified".equals(event)) {
            IdentifyInfo info = IdentifyInfo.fromJson(json);
            synchronized (identified) {
                identified.add(info);
                identified.notifyAll();
            }
        } else if (event != null) {
            appendStderr("[JsLibp2pPeer] unknown event: " + line + "\n");
        } else if (json.get("id") != null) {
            CompletableFuture<Map<String, Object>> f = pending.get(String.valueOf(json.get("id")));
            if (f != null) {
                f.complete(json);
            }
        } else {
            appendStderr("[JsLibp2pPeer] answer without id: " + line + "\n");
        }
    }

    /** Reads one '\n'-terminated UTF-8 line (CR stripped), or null at end of stream. Bounded in length. */
    private static String readLine(InputStream in) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(256);
        int b;
        boolean any = false;
        while ((b = in.read()) != -1) {
            any = true;
            if (b == '\n') {
                break;
            }
            if (!buf.hasRemaining()) {
                if (buf.capacity() >= MAX_STDOUT_LINE_BYTES) {
                    throw new IOException("js peer stdout line longer than " + MAX_STDOUT_LINE_BYTES + " bytes");
                }
                ByteBuffer bigger = ByteBuffer.allocate(Math.min(buf.capacity() * 2, MAX_STDOUT_LINE_BYTES));
                buf.flip();
                bigger.put(buf);
                buf = bigger;
            }
            buf.put((byte) b);
        }
        if (!any) {
            return null;
        }
        int len = buf.position();
        if (len > 0 && buf.get(len - 1) == '\r') {
            len--;
        }
        return new String(buf.array(), 0, len, StandardCharsets.UTF_8);
    }

    private void pumpStderr() {
        byte[] chunk = new byte[4096];
        try (InputStream err = process.getErrorStream()) {
            int n;
            while ((n = err.read(chunk)) != -1) {
                appendStderr(new String(chunk, 0, n, StandardCharsets.UTF_8));
            }
        } catch (IOException e) {
            appendStderr("[JsLibp2pPeer] stderr reader failed: " + e + "\n");
        }
    }

    private void appendStderr(String s) {
        synchronized (stderr) {
            stderr.append(s);
            if (stderr.length() > STDERR_KEEP_CHARS) {
                stderr.delete(0, stderr.length() - STDERR_KEEP_CHARS);
            }
        }
    }

    private String stderrSuffix() {
        return stderrSuffix(8000);
    }

    private String stderrSuffix(int maxChars) {
        String tail = stderrTail().strip();
        if (tail.isEmpty()) {
            return "";
        }
        if (tail.length() > maxChars) {
            tail = "…" + tail.substring(tail.length() - maxChars);
        }
        return "\n--- js peer stderr ---\n" + tail;
    }

    private String exitSuffix() {
        if (process.isAlive()) {
            return "";
        }
        return " (exit code " + process.exitValue() + ")";
    }

    private void destroyTree(Duration grace) {
        try {
            List<ProcessHandle> descendants = process.descendants().toList();
            descendants.forEach(ProcessHandle::destroy);
            process.destroy();
            if (!process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly();
                process.waitFor(grace.toMillis(), TimeUnit.MILLISECONDS);
            }
            descendants.stream().filter(ProcessHandle::isAlive).forEach(ProcessHandle::destroyForcibly);
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        } finally {
            LIVE.remove(this);
        }
    }

    private static void startDaemon(String name, Runnable body) {
        Thread t = new Thread(body, name);
        t.setDaemon(true);
        t.start();
    }

    // ---------------------------------------------------------------- environment

    /** Throws {@link IllegalStateException} with {@link #NODE_REQUIRED} unless node ≥ 20 and npm are on PATH. */
    static void requireNodeAndNpm() {
        requireNodeAndNpm(System.getenv("PATH"));
    }

    /** As {@link #requireNodeAndNpm()}, searching the given PATH value. */
    static void requireNodeAndNpm(String pathEnv) {
        if (findOnPath("node", pathEnv) == null || findOnPath("npm", pathEnv) == null) {
            throw new IllegalStateException(NODE_REQUIRED + " (PATH=" + pathEnv + ")");
        }
        String version = runForOutput(List.of(executable("node"), "--version"), Duration.ofSeconds(20)).strip();
        int major;
        try {
            major = Integer.parseInt(version.replaceFirst("^v", "").split("\\.")[0]);
        } catch (NumberFormatException e) {
            throw new IllegalStateException(NODE_REQUIRED + "; cannot read `node --version` output: " + version);
        }
        if (major < 20) {
            throw new IllegalStateException(NODE_REQUIRED + "; found node " + version);
        }
    }

    private static boolean isWindows() {
        return System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("windows");
    }

    private static String executable(String name) {
        if (!isWindows()) {
            return name;
        }
        return name.equals("npm") ? "npm.cmd" : name + ".exe";
    }

    private static Path findOnPath(String name, String path) {
        if (path == null) {
            return null;
        }
        String exe = executable(name);
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (dir.isEmpty()) {
                continue;
            }
            Path candidate = Path.of(dir).resolve(exe);
            if (Files.isRegularFile(candidate) && Files.isExecutable(candidate)) {
                return candidate;
            }
        }
        return null;
    }

    /**
     * Runs {@code npm ci --no-audit --no-fund} in {@code jsDir} unless {@code node_modules} is newer than
     * {@code package-lock.json}. Serialised across threads and JVMs with a lock on
     * {@code interop/js/.npm-install.lock}.
     */
    static void ensureNodeModules(Path jsDir) {
        if (!needsInstall(jsDir)) {
            return;
        }
        NPM_LOCK_IN_JVM.lock();
        try (FileChannel ch = FileChannel.open(jsDir.resolve(".npm-install.lock"),
                StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             FileLock ignored = ch.lock()) {
            if (!needsInstall(jsDir)) {
                return; // another JVM installed while we waited for the lock
            }
            List<String> cmd = List.of(executable("npm"), "ci", "--no-audit", "--no-fund");
            String output = runForOutput(cmd, jsDir, NPM_CI_TIMEOUT);
            if (needsInstall(jsDir)) {
                throw new IllegalStateException("npm ci finished but node_modules still looks stale in " + jsDir
                        + "\n" + tail(output));
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot lock " + jsDir.resolve(".npm-install.lock"), e);
        } finally {
            NPM_LOCK_IN_JVM.unlock();
        }
    }

    private static boolean needsInstall(Path jsDir) {
        // npm ci writes node_modules/.package-lock.json (the "hidden lockfile") last, after a full install.
        Path stamp = jsDir.resolve("node_modules").resolve(".package-lock.json");
        Path lock = jsDir.resolve("package-lock.json");
        try {
            if (!Files.isRegularFile(stamp)) {
                return true;
            }
            FileTime installed = Files.getLastModifiedTime(stamp);
            return installed.compareTo(Files.getLastModifiedTime(lock)) < 0;
        } catch (IOException e) {
            return true;
        }
    }

    private static String runForOutput(List<String> cmd, Duration timeout) {
        return runForOutput(cmd, null, timeout);
    }

    /** Runs a short helper command, returning stdout+stderr; throws IllegalStateException on failure. */
    private static String runForOutput(List<String> cmd, Path dir, Duration timeout) {
        Path out = null;
        try {
            out = Files.createTempFile("js-libp2p-peer-", ".log");
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(nullDevice()));
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            Process p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", cmd) + " did not finish within "
                        + timeout.toSeconds() + " s\n" + tail(Files.readString(out)));
            }
            String output = Files.readString(out);
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", cmd) + " failed with exit code " + p.exitValue()
                        + (dir != null ? " in " + dir : "") + "\n" + tail(output));
            }
            return output;
        } catch (IOException e) {
            if (cmd.get(0).startsWith("node") || cmd.get(0).startsWith("npm")) {
                throw new IllegalStateException(NODE_REQUIRED + "; cannot run " + String.join(" ", cmd), e);
            }
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while running " + String.join(" ", cmd), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException ignored) {
                    // temp file; best effort
                }
            }
        }
    }

    private static java.io.File nullDevice() {
        return new java.io.File(isWindows() ? "NUL" : "/dev/null");
    }

    private static String tail(String s) {
        return s.length() <= 8000 ? s : "…" + s.substring(s.length() - 8000);
    }

    // ---------------------------------------------------------------- JSON helpers

    private static String str(Map<String, Object> json, String key) {
        if (!(json.get(key) instanceof String s)) {
            throw new IllegalStateException("js peer line lacks string \"" + key + "\": " + MiniJson.write(json));
        }
        return s;
    }

    private static DhtPublishResult publishResult(Map<String, Object> answer) {
        return new DhtPublishResult(strings(answer.get("sentTo")), strings(answer.get("errors")));
    }

    private static List<DhtPeer> providers(Map<String, Object> answer) {
        return dhtPeers(answer.get("providers"));
    }

    private static List<DhtPeer> dhtPeers(Object value) {
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw new IllegalStateException("expected a JSON array of peers, got " + MiniJson.typeName(value));
        }
        List<DhtPeer> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof Map<?, ?> m)) {
                throw new IllegalStateException("expected a peer object in array, got " + MiniJson.typeName(o));
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> peer = (Map<String, Object>) m;
            out.add(DhtPeer.fromJson(peer));
        }
        return List.copyOf(out);
    }

    private static int positive(int count) {
        if (count < 1) {
            throw new IllegalArgumentException("count must be at least 1, got " + count);
        }
        return count;
    }

    private static int intValue(Map<String, Object> json, String key) {
        if (!(json.get(key) instanceof Number n)) {
            throw new IllegalStateException("js peer line lacks number \"" + key + "\": " + MiniJson.write(json));
        }
        return n.intValue();
    }

    private static byte[] decodeBase64(Map<String, Object> json, String key) {
        try {
            return Base64.getDecoder().decode(str(json, key));
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException("js peer sent bad base64 in \"" + key + "\": " + e.getMessage(), e);
        }
    }

    private static String optStr(Map<String, Object> json, String key) {
        return json.get(key) instanceof String s ? s : null;
    }

    private static List<String> strings(Object value) {
        if (value == null) {
            return List.of();
        }
        if (!(value instanceof List<?> list)) {
            throw new IllegalStateException("expected a JSON array of strings, got " + MiniJson.typeName(value));
        }
        List<String> out = new ArrayList<>(list.size());
        for (Object o : list) {
            if (!(o instanceof String s)) {
                throw new IllegalStateException("expected a string in array, got " + MiniJson.typeName(o));
            }
            out.add(s);
        }
        return List.copyOf(out);
    }
}
