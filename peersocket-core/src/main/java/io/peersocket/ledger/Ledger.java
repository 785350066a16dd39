package io.peersocket.ledger;

import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Message;
import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The ledger app (seed 003, bitmarkd's peer package): a chain of signed blocks carrying asset, issue, transfer and
 * proof transactions, kept in the node's store, synchronised with peers of the same chain.
 *
 * <p><b>RPC</b> over despatch (request type, reply type = request + 1): {@link #INFO} (version, chain, normal or
 * synchronising, height, tip), {@link #HEIGHT}, {@link #BLOCK} by number, {@link #HASH} by number, {@link #HASHES} and
 * {@link #BLOCKS} (ranges, for sync), {@link #REGISTER} (chain, public key, listener addresses, timestamp; checked,
 * answered with our own registration, and announced on the {@code peer} topic).
 *
 * <p><b>Broadcast</b> topics {@code /peersocket/ledger/<chain>/<name>} for {@link #TOPICS}: blocks, the four tx kinds,
 * rpc and peer announcements (re-broadcast only when newer than what we know) and heartbeats (our height and tip).
 *
 * <p><b>Connector</b> (seed 003 state machine), stepped every {@link LedgerConfig#cycleMs()} on the event loop:
 * CONNECTING (until {@link LedgerConfig#minPeers()} ledger peers) → HIGHEST_BLOCK (ask every peer's info; pick the
 * best chain by the fork-choice rule, {@link ChainState#compare}) → FORK_DETECT (walk back block hashes to the
 * latest common block; a fork point more than {@link LedgerConfig#finality()} blocks below our tip is rejected) →
 * FETCH_BLOCKS (from the fork point, each verified on a scratch state) → REBUILD (roll back past the fork point and
 * apply, in one store transaction; then the in-memory chain is swapped) → SAMPLING (normal mode: blocks from
 * broadcasts are applied, producers produce, one random peer is sampled every {@link LedgerConfig#sampleMs()} to
 * detect missed broadcasts). A peer sending invalid data or lying about its height is scored down and dropped;
 * at {@link #BAN_SCORE} it is ignored for {@link LedgerConfig#banMs()}.
 *
 * <p><b>Partitions</b> are network cuts (the testbed uses {@link io.peersocket.node.Node#block}, a packet filter at
 * the QUIC socket): cut peers disconnect and drop out as ledger peers; known peers are registered again every few
 * cycles, which redials them once the cut heals.
 *
 * <p>Threading: all state lives on the node's event loop; public methods may be called from any thread and
 * return futures completed on the loop.
 */
public final class Ledger implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(Ledger.class);

    public static final int INFO = 0x7F00_0201, HEIGHT = 0x7F00_0203, BLOCK = 0x7F00_0205, HASH = 0x7F00_0207,
            REGISTER = 0x7F00_0209, HASHES = 0x7F00_020B, BLOCKS = 0x7F00_020D;
    /** Broadcast topic names (seed 003 subscriptions). */
    public static final List<String> TOPICS = List.of("block", "asset", "issue", "transfer", "proof", "rpc", "peer", "heartbeat");
    /** Version string answered by INFO. */
    public static final String VERSION = "peersocket-ledger/1";
    /** Score at or below which a peer is banned. */
    public static final int BAN_SCORE = -100;
    /** Most pending transactions kept. */
    public static final int MAX_PENDING = 4096;
    /** Most blocks fetched in one sync round before rebuilding. */
    public static final int MAX_FETCH_PER_ROUND = 1024;

    /** Connector states (seed 003). */
    public enum State { CONNECTING, HIGHEST_BLOCK, FORK_DETECT, FETCH_BLOCKS, REBUILD, SAMPLING }

    /** A rebuild done: the chain rolled back from {@code oldHeight} to {@code forkHeight} and grew to {@code newHeight}. */
    public record Rebuild(long atMs, long forkHeight, long oldHeight, long newHeight, String peer) {
        public long depth() { return oldHeight - forkHeight; }
    }

    private final Host host;
    private final Despatcher despatcher;
    private final EventLoop loop;
    private final HostKey key;
    private final LedgerConfig config;
    private final LedgerStore store;
    private final LedgerBroadcast broadcast;
    private final Counters counters;
    private final SplittableRandom random;
    private final String topicPrefix;

    // ---- event-loop state ----
    private ChainState chain;
    private State state = State.CONNECTING;
    private boolean busy;
    private long produceMs;
    private final Set<PeerId> peers = new LinkedHashSet<>();
    private final Map<PeerId, Integer> scores = new HashMap<>();
    private final Map<PeerId, Long> bannedUntil = new HashMap<>();
    private final Map<PeerId, Long> nextAttempt = new HashMap<>();
    private final Map<PeerId, LedgerWire.Announce> knownPeers = new LinkedHashMap<>();
    private final Map<PeerId, LedgerWire.Announce> rpcEndpoints = new LinkedHashMap<>();
    private final LinkedHashMap<String, Tx> pending = new LinkedHashMap<>();
    private final List<Rebuild> rebuilds = new ArrayList<>();
    private long lastSampleMs, lastHeartbeatMs, lastProduceMs, lastRpcAnnounceMs = Long.MIN_VALUE / 2, produced;
    /** How often we announce our own RPC endpoint on the {@code rpc} topic, ms. */
    static final long RPC_ANNOUNCE_MS = 60_000;
    // sync context
    private PeerId syncPeer;
    private long syncHeight;
    private byte[] syncTip;
    private long forkPoint;
    private ChainState scratch;
    private final List<Block> fetched = new ArrayList<>();
    private EventLoop.Cancellable timer;
    private volatile boolean closed;

    private Ledger(Host host, Despatcher despatcher, HostKey key, LedgerConfig config, LedgerStore store,
                   LedgerBroadcast broadcast, ChainState chain) {
        this.host = host;
        this.despatcher = despatcher;
        this.loop = host.loop();
        this.key = key;
        this.config = config;
        this.store = store;
        this.counters = host.counters();
        this.chain = chain;
        this.produceMs = config.produceMs();
        this.random = new SplittableRandom(Arrays.hashCode(host.peerId().toBytes()));
        this.topicPrefix = "/peersocket/ledger/" + config.chain() + "/";
        this.broadcast = broadcast != null ? broadcast
                : new FloodBroadcast(despatcher, loop, this::peerList, p -> !isBanned(p), counters);
    }

    /**
     * Installs the ledger on {@code node}: tables in the node's store (if it has one); broadcast over the node's
     * GossipSub ({@link GossipLedgerBroadcast}) if it runs pubsub, else {@link FloodBroadcast} over despatch.
     * Blocks until the stored chain is loaded.
     */
    public static Ledger install(Node node, LedgerConfig config) throws Exception {
        LedgerStore ls = node.store() == null ? null : LedgerStore.open(node.store(), config.chain()).get(30, TimeUnit.SECONDS);
        LedgerBroadcast b = node.pubsub() == null ? null : new GossipLedgerBroadcast(node.pubsub(), node.counters());
        Ledger l = start(node, node.despatcher(), node.hostKey(), config, ls, b);
        node.snapshots().register(new io.peersocket.protocol.snapshot.SnapshotParticipant() {
            @Override public String name() { return "ledger"; }

            @Override public Object state() { return l.snapshotState(); }
        });
        return l;
    }

    /** What a global snapshot records of the ledger (on the loop): chain, state, height, tip, peers, pending, rebuilds. */
    private Map<String, Object> snapshotState() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("chain", config.chain());
        m.put("state", state.name());
        m.put("height", chain.height());
        m.put("tip", Bytes.hex(chain.tipHash()));
        m.put("peers", peers.size());
        m.put("pending", pending.size());
        m.put("rebuilds", rebuilds.size());
        return m;
    }

    /**
     * Starts the ledger on {@code host}.
     *
     * @param key signs produced blocks and registrations (the node's key)
     * @param store where the chain is kept, or null for memory only
     * @param broadcast the broadcast layer, or null for {@link FloodBroadcast} over {@code despatcher}
     * @throws MalformedLedgerException if the stored chain does not verify
     */
    public static Ledger start(Host host, Despatcher despatcher, HostKey key, LedgerConfig config, LedgerStore store,
                               LedgerBroadcast broadcast) throws Exception {
        ChainState chain = new ChainState(config.chain());
        if (store != null) {
            for (byte[] enc : store.loadBlocks().get(60, TimeUnit.SECONDS)) chain.append(Block.decode(enc), Long.MAX_VALUE / 2, 0);
        }
        Ledger l = new Ledger(host, despatcher, key, config, store, broadcast, chain);
        l.install();
        return l;
    }

    private void install() {
        despatcher.register(INFO, "LEDGER_INFO", m -> serve(m, () -> info().encode()));
        despatcher.register(HEIGHT, "LEDGER_HEIGHT", m -> serve(m, () -> LedgerWire.height(chain.height())));
        despatcher.register(BLOCK, "LEDGER_BLOCK", m -> serve(m, () -> {
            Block b = chain.blockAt(LedgerWire.decodeHeight(m.payload()));
            if (b == null) throw new MalformedLedgerException("block not found");
            return b.encode();
        }));
        despatcher.register(HASH, "LEDGER_HASH", m -> serve(m, () -> {
            long h = LedgerWire.decodeHeight(m.payload());
            if (h > chain.height()) throw new MalformedLedgerException("block not found");
            return chain.hashAt(h);
        }));
        despatcher.register(HASHES, "LEDGER_HASHES", m -> serve(m, () -> {
            LedgerWire.Range r = LedgerWire.Range.decode(m.payload(), LedgerWire.MAX_HASHES);
            List<byte[]> out = new ArrayList<>();
            for (long h = r.from(); h < r.from() + r.count() && h <= chain.height(); h++) out.add(chain.hashAt(h));
            return LedgerWire.encodeHashes(out);
        }));
        despatcher.register(BLOCKS, "LEDGER_BLOCKS", m -> serve(m, () -> {
            LedgerWire.Range r = LedgerWire.Range.decode(m.payload(), LedgerWire.MAX_BLOCKS);
            List<Block> out = new ArrayList<>();
            for (long h = Math.max(1, r.from()); h < r.from() + r.count() && h <= chain.height(); h++) out.add(chain.blockAt(h));
            return LedgerWire.encodeBlocks(out);
        }));
        despatcher.register(REGISTER, "LEDGER_REGISTER", m -> serve(m, () -> {
            LedgerWire.Announce a = LedgerWire.Announce.decode(m.payload());
            checkRegistration(m.peer(), a);
            addPeer(m.peer(), a);
            return ownAnnounce().encode();
        }));
        for (int t : new int[] {INFO, HEIGHT, BLOCK, HASH, HASHES, BLOCKS, REGISTER}) {
            despatcher.nameType(t + 1, despatcher.typeName(t) + "_R");
        }
        subscribe("block", this::onBlockBroadcast);
        for (Tx.Kind k : Tx.Kind.values()) {
            subscribe(k.name().toLowerCase(), (from, data) -> onTxBroadcast(k, from, data));
        }
        subscribe("peer", (from, data) -> onAnnounce(knownPeers, from, data));
        subscribe("rpc", (from, data) -> onAnnounce(rpcEndpoints, from, data));
        subscribe("heartbeat", this::onHeartbeat);
        host.onPeerEvent(this::onPeerEvent);
        loop.execute(() -> timer = loop.schedule(this::cycle, config.cycleMs()));
    }

    /** Subscribes {@code handler} to topic {@code name}, refusing (IGNORE) messages from banned peers. */
    private void subscribe(String name, LedgerBroadcast.Handler handler) {
        broadcast.subscribe(topic(name), (from, data) -> {
            if (from != null && isBanned(from)) {
                counters.increment("ledger.bcast.refused");
                return LedgerBroadcast.Verdict.IGNORE;
            }
            return handler.onMessage(from, data);
        });
    }

    /** Topic name of {@code name} on this chain. */
    public String topic(String name) { return topicPrefix + name; }

    // ---- RPC serving ----------------------------------------------------------------------------------

    private interface Answer { byte[] get() throws Exception; }

    /** Answers request {@code m} on the loop (chain state lives there). */
    private void serve(Message m, Answer answer) {
        PeerId from = m.peer();
        loop.execute(() -> {
            if (isBanned(from)) {
                if (m.isRequest()) m.replyError("refused");
                return;
            }
            counters.increment("ledger.rpc.served");
            try {
                byte[] out = answer.get();
                if (m.isRequest()) m.reply(m.type() + 1, out);
            } catch (Exception e) {
                if (e instanceof MalformedLedgerException && !"block not found".equals(e.getMessage())) {
                    counters.increment("ledger.rpc.malformed");
                }
                if (m.isRequest()) m.replyError(e.getMessage() == null ? e.toString() : e.getMessage());
            }
        });
    }

    private LedgerWire.Info info() {
        return new LedgerWire.Info(VERSION, config.chain(), state == State.SAMPLING, chain.height(), chain.tipHash());
    }

    private LedgerWire.Announce ownAnnounce() {
        List<String> addrs = new ArrayList<>();
        for (Multiaddr a : host.listenAddresses()) addrs.add(a.toString());
        return new LedgerWire.Announce(config.chain(), key.publicKey().raw(), addrs, loop.nowMs());
    }

    private void checkRegistration(PeerId from, LedgerWire.Announce a) throws MalformedLedgerException {
        if (!a.chain().equals(config.chain())) throw new MalformedLedgerException("chain " + a.chain() + " is not " + config.chain());
        if (!announcedPeer(a).equals(from)) throw new MalformedLedgerException("public key is not the sender's");
        if (Math.abs(a.timestampMs() - loop.nowMs()) > config.maxClockSkewMs()) throw new MalformedLedgerException("registration timestamp off by more than " + config.maxClockSkewMs() + " ms");
    }

    private static PeerId announcedPeer(LedgerWire.Announce a) throws MalformedLedgerException {
        try {
            return PublicKey.ed25519(a.publicKey()).peerId();
        } catch (RuntimeException e) {
            throw new MalformedLedgerException("bad public key");
        }
    }

    // ---- peers ------------------------------------------------------------------------------------------

    private void onPeerEvent(PeerEvent e) {
        PeerId p = e.peer();
        switch (e.kind()) {
            case READY -> {
                if (!isBanned(p)) register(p);
            }
            case DISCONNECTED -> {
                if (!host.isConnected(p)) peers.remove(p);
            }
            default -> { }
        }
    }

    /** Sends our registration to {@code p}; on a valid answer it becomes a ledger peer. */
    private void register(PeerId p) {
        nextAttempt.put(p, loop.nowMs() + Math.max(5 * config.cycleMs(), 2000));
        despatcher.request(p, REGISTER, ownAnnounce().encode(), config.requestTimeoutMs()).whenCompleteAsync((m, err) -> {
            if (err != null || closed) return;
            try {
                LedgerWire.Announce a = LedgerWire.Announce.decode(m.payload());
                checkRegistration(p, a);
                addPeer(p, a);
            } catch (MalformedLedgerException e) {
                penalize(p, 50, "register", e.getMessage());
            }
        }, loop);
    }

    private void addPeer(PeerId p, LedgerWire.Announce a) {
        if (isBanned(p)) return;
        boolean added = peers.add(p);
        LedgerWire.Announce old = knownPeers.get(p);
        if (old == null || old.timestampMs() < a.timestampMs()) {
            knownPeers.put(p, a);
            learnAddresses(p, a);
            broadcast.publish(topic("peer"), a.encode());
        }
        if (added) {
            counters.increment("ledger.peer.added");
            lastRpcAnnounceMs = Long.MIN_VALUE / 2; // announce our RPC endpoint again at the next heartbeat
            if (state == State.SAMPLING) maybeBetter(p);
        }
    }

    private void learnAddresses(PeerId p, LedgerWire.Announce a) {
        List<Multiaddr> addrs = new ArrayList<>();
        for (String s : a.addresses()) {
            try {
                addrs.add(Multiaddr.parse(s));
            } catch (RuntimeException ignored) {
                // not an address we can dial
            }
        }
        if (!addrs.isEmpty()) host.addAddresses(p, addrs);
    }

    private List<PeerId> peerList() { return List.copyOf(peers); }

    private boolean isBanned(PeerId p) {
        Long until = bannedUntil.get(p);
        return until != null && until > loop.nowMs();
    }

    /** Scores {@code p} down by {@code points}, drops it as a ledger peer, bans it at {@link #BAN_SCORE}. */
    private void penalize(PeerId p, int points, String reason, String detail) {
        counters.increment("ledger.bad." + reason);
        int s = scores.merge(p, -points, Integer::sum);
        log.info("ledger: peer={} scored {} for {}: {}", p, s, reason, detail);
        peers.remove(p);
        nextAttempt.put(p, loop.nowMs() + config.banMs());
        if (s <= BAN_SCORE) {
            bannedUntil.put(p, loop.nowMs() + config.banMs());
            counters.increment("ledger.peer.banned");
        }
        if (p.equals(syncPeer) && state != State.SAMPLING && state != State.CONNECTING) abortSync();
    }

    /** Each cycle: re-register known peers that are not ledger peers now (redials after a cut heals). */
    private void ensurePeers() {
        long now = loop.nowMs();
        Set<PeerId> candidates = new LinkedHashSet<>(knownPeers.keySet());
        for (PeerId p : candidates) {
            if (p.equals(host.peerId()) || peers.contains(p) || isBanned(p)) continue;
            if (nextAttempt.getOrDefault(p, 0L) > now) continue;
            register(p);
        }
    }

    // ---- broadcasts ---------------------------------------------------------------------------------------

    private LedgerBroadcast.Verdict onBlockBroadcast(PeerId from, byte[] data) {
        Block b;
        try {
            b = Block.decode(data);
        } catch (MalformedLedgerException e) {
            penalize(from, 50, "block_malformed", e.getMessage());
            return LedgerBroadcast.Verdict.REJECT;
        }
        if (!b.chain().equals(config.chain())) return LedgerBroadcast.Verdict.IGNORE;
        if (ChainState.compare(b.height(), b.hash(), chain.height(), chain.tipHash()) <= 0) return LedgerBroadcast.Verdict.IGNORE;
        if (!b.signatureValid()) {
            penalize(from, 50, "block_signature", "broadcast block " + b.height());
            return LedgerBroadcast.Verdict.REJECT;
        }
        // Seed 003 ignores broadcast blocks while synchronising; we also take a block that simply extends our tip
        // while no fetched chain is being built (CONNECTING, HIGHEST_BLOCK, FORK_DETECT), so a node catching up with
        // a fast producer does not chase it forever.
        boolean canAppend = state != State.FETCH_BLOCKS && state != State.REBUILD;
        if (canAppend && b.height() == chain.height() + 1 && Arrays.equals(b.prev(), chain.tipHash())) {
            try {
                chain.verify(b, loop.nowMs(), config.maxClockSkewMs());
            } catch (MalformedLedgerException e) {
                penalize(from, 50, "block_invalid", e.getMessage());
                return LedgerBroadcast.Verdict.REJECT;
            }
            appendOwn(b);
            counters.increment("ledger.block.received");
            return LedgerBroadcast.Verdict.ACCEPT;
        }
        // A better chain we do not have the base of: synchronise with the sender.
        if (state == State.SAMPLING && peers.contains(from)) startSync();
        return LedgerBroadcast.Verdict.ACCEPT;
    }

    private LedgerBroadcast.Verdict onTxBroadcast(Tx.Kind kind, PeerId from, byte[] data) {
        Tx tx;
        try {
            tx = Tx.decode(data);
            if (tx.kind() != kind) throw new MalformedLedgerException("tx kind " + tx.kind() + " on the " + kind + " topic");
        } catch (MalformedLedgerException e) {
            penalize(from, 50, "tx_malformed", e.getMessage());
            return LedgerBroadcast.Verdict.REJECT;
        }
        String id = Bytes.hex(tx.id());
        if (pending.containsKey(id) || chain.hasTx(tx.id())) return LedgerBroadcast.Verdict.IGNORE;
        if (!tx.signatureValid(config.chain())) {
            penalize(from, 50, "tx_signature", id);
            return LedgerBroadcast.Verdict.REJECT;
        }
        if (pending.size() >= MAX_PENDING) return LedgerBroadcast.Verdict.IGNORE;
        pending.put(id, tx);
        return LedgerBroadcast.Verdict.ACCEPT;
    }

    private LedgerBroadcast.Verdict onAnnounce(Map<PeerId, LedgerWire.Announce> table, PeerId from, byte[] data) {
        LedgerWire.Announce a;
        PeerId p;
        try {
            a = LedgerWire.Announce.decode(data);
            p = announcedPeer(a);
        } catch (MalformedLedgerException e) {
            penalize(from, 25, "announce_malformed", e.getMessage());
            return LedgerBroadcast.Verdict.REJECT;
        }
        if (!a.chain().equals(config.chain()) || a.timestampMs() > loop.nowMs() + config.maxClockSkewMs()) return LedgerBroadcast.Verdict.IGNORE;
        if (p.equals(host.peerId())) return LedgerBroadcast.Verdict.IGNORE;
        LedgerWire.Announce old = table.get(p);
        if (old != null && old.timestampMs() >= a.timestampMs()) return LedgerBroadcast.Verdict.IGNORE; // not new
        if (table.size() >= 4096 && old == null) return LedgerBroadcast.Verdict.IGNORE;
        table.put(p, a);
        learnAddresses(p, a);
        return LedgerBroadcast.Verdict.ACCEPT;
    }

    private LedgerBroadcast.Verdict onHeartbeat(PeerId from, byte[] data) {
        LedgerWire.Info i;
        try {
            i = LedgerWire.Info.decode(data);
        } catch (MalformedLedgerException e) {
            penalize(from, 25, "heartbeat_malformed", e.getMessage());
            return LedgerBroadcast.Verdict.REJECT;
        }
        if (!i.chain().equals(config.chain())) return LedgerBroadcast.Verdict.IGNORE;
        if (state == State.SAMPLING && ChainState.compare(i.height(), i.tip(), chain.height(), chain.tipHash()) > 0) startSync();
        return LedgerBroadcast.Verdict.ACCEPT;
    }

    // ---- production and local appends ----------------------------------------------------------------

    /** Appends a verified block that extends our tip, stores it, and publishes it. */
    private void appendOwn(Block b) {
        try {
            chain.append(b, loop.nowMs(), config.maxClockSkewMs());
        } catch (MalformedLedgerException e) {
            throw new IllegalStateException("verified block did not apply: " + e.getMessage(), e);
        }
        for (Tx tx : b.txs()) pending.remove(Bytes.hex(tx.id()));
        if (store != null) {
            // commit() takes the rows it writes from the state now, on the loop
            store.commit(b.height() - 1, List.of(b), chain, false).exceptionally(e -> {
                counters.increment("ledger.store.failed");
                log.error("ledger: storing block {} failed: {}", b.height(), e.toString());
                return null;
            });
        }
        broadcast.publish(topic("block"), b.encode());
    }

    private void produce() {
        List<Tx> txs = chain.validSubset(pending.values(), Block.MAX_TXS);
        if (txs.size() < Math.min(pending.size(), Block.MAX_TXS)) {
            Set<Tx> keep = new HashSet<>(txs);
            // Left out although there was room: no longer valid (spent, replayed); drop them.
            pending.values().removeIf(tx -> !keep.contains(tx) && chain.validSubset(List.of(tx), 1).isEmpty());
        }
        long ts = Math.max(loop.nowMs(), chain.tipTimestamp());
        Block b = Block.produce(config.chain(), chain.height() + 1, chain.tipHash(), ts, key, txs);
        appendOwn(b);
        produced++;
        counters.increment("ledger.block.produced");
    }

    // ---- connector state machine ---------------------------------------------------------------------

    private void cycle() {
        if (closed) return;
        try {
            long now = loop.nowMs();
            ensurePeers();
            if (config.heartbeatMs() > 0 && now - lastHeartbeatMs >= config.heartbeatMs() && !peers.isEmpty()) {
                lastHeartbeatMs = now;
                broadcast.publish(topic("heartbeat"), info().encode());
                if (now - lastRpcAnnounceMs >= RPC_ANNOUNCE_MS) {
                    lastRpcAnnounceMs = now;
                    broadcast.publish(topic("rpc"), ownAnnounce().encode());
                }
                // Pending txs go out again (a tx submitted before we had peers, or lost with a cut): receivers that
                // saw it already drop it as a duplicate.
                int n = 0;
                for (Tx tx : pending.values()) {
                    if (n++ >= 64) break;
                    broadcast.publish(topic(tx.kind().name().toLowerCase()), tx.encode());
                }
            }
            if (!busy) step();
            if (state == State.SAMPLING && produceMs > 0 && now - lastProduceMs >= produceMs) {
                lastProduceMs = now;
                produce();
            }
        } catch (RuntimeException e) {
            log.warn("ledger: cycle failed: {}", e.toString(), e);
        } finally {
            if (!closed) timer = loop.schedule(this::cycle, Math.min(config.cycleMs(), produceMs > 0 ? produceMs : Long.MAX_VALUE));
        }
    }

    private void setState(State s) {
        if (s != state) {
            log.debug("ledger: {} -> {}", state, s);
            counters.increment("ledger.state." + s.name().toLowerCase());
        }
        state = s;
    }

    private void startSync() {
        if (state == State.SAMPLING) {
            setState(State.HIGHEST_BLOCK);
            if (!busy) step();
        }
    }

    private void step() {
        switch (state) {
            case CONNECTING -> {
                if (peers.size() >= config.minPeers() && !peers.isEmpty()) {
                    setState(State.HIGHEST_BLOCK);
                    step();
                } else if (config.minPeers() == 0) {
                    setState(State.SAMPLING);
                }
            }
            case HIGHEST_BLOCK -> highestBlock();
            case FORK_DETECT -> forkDetect();
            case FETCH_BLOCKS -> fetchBlocks();
            case REBUILD -> rebuild();
            case SAMPLING -> {
                if (peers.size() < config.minPeers()) {
                    setState(State.CONNECTING);
                    return;
                }
                long now = loop.nowMs();
                if (now - lastSampleMs >= config.sampleMs() && !peers.isEmpty()) {
                    lastSampleMs = now;
                    List<PeerId> l = peerList();
                    maybeBetter(l.get(random.nextInt(l.size())));
                }
            }
        }
    }

    /** Samples {@code p}: if its chain is better than ours, start synchronising. */
    private void maybeBetter(PeerId p) {
        busy = true;
        despatcher.request(p, INFO, new byte[0], config.requestTimeoutMs()).whenCompleteAsync((m, err) -> {
            busy = false;
            if (err != null || closed || state != State.SAMPLING) return;
            try {
                LedgerWire.Info i = LedgerWire.Info.decode(m.payload());
                counters.increment("ledger.sample");
                if (i.chain().equals(config.chain()) && ChainState.compare(i.height(), i.tip(), chain.height(), chain.tipHash()) > 0) {
                    counters.increment("ledger.sample.behind");
                    startSync();
                }
            } catch (MalformedLedgerException e) {
                penalize(p, 25, "info_malformed", e.getMessage());
            }
        }, loop);
    }

    private void highestBlock() {
        List<PeerId> asked = peerList();
        if (asked.isEmpty()) {
            setState(State.CONNECTING);
            return;
        }
        busy = true;
        Map<PeerId, LedgerWire.Info> answers = new HashMap<>();
        List<CompletableFuture<Void>> fs = new ArrayList<>();
        for (PeerId p : asked) {
            fs.add(despatcher.request(p, INFO, new byte[0], config.requestTimeoutMs()).handleAsync((m, err) -> {
                if (err != null) return null;
                try {
                    LedgerWire.Info i = LedgerWire.Info.decode(m.payload());
                    if (i.chain().equals(config.chain())) answers.put(p, i);
                } catch (MalformedLedgerException e) {
                    penalize(p, 25, "info_malformed", e.getMessage());
                }
                return null;
            }, loop));
        }
        CompletableFuture.allOf(fs.toArray(CompletableFuture[]::new)).whenCompleteAsync((v, err) -> {
            busy = false;
            if (closed || state != State.HIGHEST_BLOCK) return;
            PeerId best = null;
            LedgerWire.Info bi = null;
            for (PeerId p : asked) {
                LedgerWire.Info i = answers.get(p);
                if (i == null || !peers.contains(p)) continue;
                if (bi == null || ChainState.compare(i.height(), i.tip(), bi.height(), bi.tip()) > 0) {
                    best = p;
                    bi = i;
                }
            }
            if (bi == null || ChainState.compare(bi.height(), bi.tip(), chain.height(), chain.tipHash()) <= 0) {
                setState(State.SAMPLING); // normal mode
                lastProduceMs = loop.nowMs();
                return;
            }
            syncPeer = best;
            syncHeight = bi.height();
            syncTip = bi.tip();
            setState(State.FORK_DETECT);
            step();
        }, loop);
    }

    private void forkDetect() {
        long top = Math.min(chain.height(), syncHeight);
        long floor = Math.max(0, chain.height() - config.finality());
        walkBack(top, floor);
    }

    /** Asks the sync peer for hashes of heights {@code [max(floor, top-127), top]} and compares them with ours. */
    private void walkBack(long top, long floor) {
        long lo = Math.max(floor, top - LedgerWire.MAX_HASHES + 1);
        int count = (int) (top - lo + 1);
        PeerId p = syncPeer;
        busy = true;
        despatcher.request(p, HASHES, new LedgerWire.Range(lo, count).encode(), config.requestTimeoutMs()).whenCompleteAsync((m, err) -> {
            busy = false;
            if (closed || state != State.FORK_DETECT || !p.equals(syncPeer)) return;
            if (err != null) {
                abortSync();
                return;
            }
            List<byte[]> hs;
            try {
                hs = LedgerWire.decodeHashes(m.payload());
                if (hs.size() != count) throw new MalformedLedgerException("claimed height " + syncHeight + " but sent " + hs.size() + " of " + count + " hashes");
            } catch (MalformedLedgerException e) {
                penalize(p, 25, "height_lie", e.getMessage());
                return;
            }
            for (long h = top; h >= lo; h--) {
                if (Arrays.equals(hs.get((int) (h - lo)), chain.hashAt(h))) {
                    if (h == syncHeight && Arrays.equals(chain.hashAt(h), syncTip) && h <= chain.height()) {
                        // Its tip is in our chain: nothing better to fetch (it claimed a better chain).
                        penalize(p, 25, "height_lie", "its claimed tip is already ours");
                        return;
                    }
                    forkPoint = h;
                    scratch = chain.truncated(h);
                    fetched.clear();
                    setState(State.FETCH_BLOCKS);
                    step();
                    return;
                }
            }
            if (lo == 0) {
                penalize(p, 100, "wrong_genesis", "no common block, not even genesis");
            } else if (lo <= floor) {
                counters.increment("ledger.reject.finality");
                penalize(p, 50, "fork_below_finality", "no common block within " + config.finality() + " blocks of our tip " + chain.height());
            } else {
                walkBack(lo - 1, floor);
            }
        }, loop);
    }

    private void fetchBlocks() {
        long from = scratch.height() + 1;
        boolean roundFull = fetched.size() >= MAX_FETCH_PER_ROUND
                && ChainState.compare(scratch.height(), scratch.tipHash(), chain.height(), chain.tipHash()) > 0;
        if (scratch.height() >= syncHeight || roundFull) {
            setState(State.REBUILD);
            step();
            return;
        }
        int count = (int) Math.min(LedgerWire.MAX_BLOCKS, syncHeight - scratch.height());
        PeerId p = syncPeer;
        busy = true;
        despatcher.request(p, BLOCKS, new LedgerWire.Range(from, count).encode(), config.requestTimeoutMs()).whenCompleteAsync((m, err) -> {
            busy = false;
            if (closed || state != State.FETCH_BLOCKS || !p.equals(syncPeer)) return;
            if (err != null) {
                abortSync();
                return;
            }
            try {
                List<Block> bs = LedgerWire.decodeBlocks(m.payload());
                if (bs.isEmpty()) throw new MalformedLedgerException("claimed height " + syncHeight + " but sent no block at " + from);
                for (Block b : bs) {
                    scratch.append(b, loop.nowMs(), config.maxClockSkewMs());
                    fetched.add(b);
                }
            } catch (MalformedLedgerException e) {
                String reason = e.getMessage() != null && e.getMessage().startsWith("claimed height") ? "height_lie" : "block_invalid";
                penalize(p, 50, reason, e.getMessage());
                return;
            }
            step();
        }, loop);
    }

    private void rebuild() {
        PeerId p = syncPeer;
        if (ChainState.compare(scratch.height(), scratch.tipHash(), chain.height(), chain.tipHash()) <= 0) {
            penalize(p, 25, "height_lie", "its chain is not better than ours after fetching");
            return;
        }
        busy = true;
        adopt(forkPoint, List.copyOf(fetched), scratch, p).whenCompleteAsync((ok, err) -> {
            busy = false;
            if (closed) return;
            setState(State.HIGHEST_BLOCK); // more may be waiting (fetch limit, peers moved on)
            step();
        }, loop);
    }

    /**
     * Replaces our chain above {@code fork} by {@code added} (already verified on {@code next}): one store transaction,
     * then the in-memory swap. On a store failure nothing changes. Completes on the loop with whether it applied.
     */
    CompletableFuture<Boolean> adopt(long fork, List<Block> added, ChainState next, PeerId from) {
        long oldHeight = chain.height();
        boolean rollback = oldHeight > fork;
        CompletableFuture<Void> stored = store == null ? CompletableFuture.completedFuture(null)
                : store.commit(fork, added, next, rollback);
        return stored.handleAsync((v, err) -> {
            if (err != null) {
                counters.increment("ledger.rebuild.failed");
                log.error("ledger: rebuild from fork point {} failed in the store, chain unchanged: {}", fork, err.toString());
                return false;
            }
            List<Block> dropped = new ArrayList<>();
            for (long h = fork + 1; h <= oldHeight; h++) dropped.add(chain.blockAt(h));
            chain = next;
            for (Block b : added) for (Tx tx : b.txs()) pending.remove(Bytes.hex(tx.id()));
            for (Block b : dropped) {
                for (Tx tx : b.txs()) if (!chain.hasTx(tx.id()) && pending.size() < MAX_PENDING) pending.put(Bytes.hex(tx.id()), tx);
            }
            counters.add("ledger.block.synced", added.size());
            if (rollback) {
                Rebuild r = new Rebuild(loop.nowMs(), fork, oldHeight, chain.height(), from == null ? "" : from.toString());
                rebuilds.add(r);
                if (rebuilds.size() > 1000) rebuilds.remove(0);
                counters.increment("ledger.rebuild");
                log.info("ledger: rebuild: rolled back {} blocks to fork point {}, now at height {}", r.depth(), fork, chain.height());
            }
            return true;
        }, loop);
    }

    private void abortSync() {
        syncPeer = null;
        scratch = null;
        fetched.clear();
        busy = false;
        setState(peers.isEmpty() ? State.CONNECTING : State.HIGHEST_BLOCK);
    }

    // ---- public API ------------------------------------------------------------------------------------

    private <T> CompletableFuture<T> onLoop(Supplier<T> s) {
        CompletableFuture<T> f = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                f.complete(s.get());
            } catch (RuntimeException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    public LedgerConfig config() { return config; }

    /** Status: chain, state, mode, height, tip, peers, rebuilds, produced, pending. */
    public CompletableFuture<Map<String, Object>> status() {
        return onLoop(() -> {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("version", VERSION);
            m.put("chain", config.chain());
            m.put("state", state.name());
            m.put("mode", state == State.SAMPLING ? "normal" : "synchronising");
            m.put("height", chain.height());
            m.put("tip", Bytes.hex(chain.tipHash()));
            m.put("peers", peers.size());
            m.put("knownPeers", knownPeers.size());
            m.put("rpcEndpoints", rpcEndpoints.size());
            m.put("pending", pending.size());
            m.put("produced", produced);
            m.put("producing", produceMs > 0);
            m.put("rebuilds", rebuilds.size());
            long deepest = 0;
            for (Rebuild r : rebuilds) deepest = Math.max(deepest, r.depth());
            m.put("deepestRebuild", deepest);
            m.put("assets", chain.assets().size());
            m.put("tokens", chain.tokens().size());
            Map<String, Long> bad = new java.util.TreeMap<>();
            counters.snapshot().forEach((k, v) -> {
                if (k.startsWith("ledger.bad.") || k.startsWith("ledger.reject.") || k.equals("ledger.peer.banned")) bad.put(k, v);
            });
            m.put("rejected", bad);
            return m;
        });
    }

    public CompletableFuture<State> state() { return onLoop(() -> state); }

    public CompletableFuture<Long> height() { return onLoop(() -> chain.height()); }

    /** Our tip hash. */
    public CompletableFuture<byte[]> tipHash() { return onLoop(() -> chain.tipHash()); }

    /** The block at {@code height}, or null. */
    public CompletableFuture<Block> block(long height) { return onLoop(() -> chain.blockAt(height)); }

    /** Hash at {@code height}, or null if above the tip. */
    public CompletableFuture<byte[]> hashAt(long height) { return onLoop(() -> height >= 0 && height <= chain.height() ? chain.hashAt(height) : null); }

    /** A copy of the chain state (tests, tools). */
    public CompletableFuture<ChainState> chainCopy() { return onLoop(() -> chain.copy()); }

    /** Rebuilds done so far. */
    public CompletableFuture<List<Rebuild>> rebuilds() { return onLoop(() -> List.copyOf(rebuilds)); }

    /** The connected peers of our chain. */
    public CompletableFuture<List<PeerId>> ledgerPeers() { return onLoop(this::peerList); }

    /**
     * Submits a tx: verified against our chain, kept pending, broadcast on its topic.
     *
     * @return fails with {@link MalformedLedgerException} if it does not verify
     */
    public CompletableFuture<byte[]> submit(Tx tx) {
        CompletableFuture<byte[]> f = new CompletableFuture<>();
        loop.execute(() -> {
            try {
                chain.verifyTx(tx);
                String id = Bytes.hex(tx.id());
                if (pending.containsKey(id)) throw new MalformedLedgerException("tx already pending");
                if (pending.size() >= MAX_PENDING) throw new MalformedLedgerException("pending pool full");
                pending.put(id, tx);
                broadcast.publish(topic(tx.kind().name().toLowerCase()), tx.encode());
                f.complete(tx.id());
            } catch (MalformedLedgerException e) {
                f.completeExceptionally(e);
            }
        });
        return f;
    }

    /** Starts (ms > 0) or stops (0) block production. */
    public CompletableFuture<Void> produceEvery(long ms) {
        if (ms < 0) throw new IllegalArgumentException("ms must be >= 0");
        return onLoop(() -> {
            produceMs = ms;
            if (timer != null) timer.cancel();
            timer = loop.schedule(this::cycle, 1);
            return null;
        });
    }

    /** Tests driving the loop themselves (the simulator's thread): the chain now, without a loop hop. */
    ChainState chainNow() { return chain; }

    /** Tests: the rebuilds now, without a loop hop. */
    List<Rebuild> rebuildsNow() { return List.copyOf(rebuilds); }

    /** Tests: the ledger peers now, without a loop hop. */
    Set<PeerId> peersNow() { return Set.copyOf(peers); }

    /** This node's signing key (the owner key of txs the CLI submits). */
    public HostKey key() { return key; }

    @Override public void close() {
        closed = true;
        loop.execute(() -> {
            if (timer != null) timer.cancel();
        });
    }
}
