package io.peersocket.protocol.kad;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.ProtocolNotSupportedException;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.Futures;
import io.peersocket.util.FrameDecoder;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The libp2p Kademlia DHT, {@code /ipfs/kad/1.0.0} (libp2p specs kad-dht/README.md), over a {@link Host}.
 *
 * <p><b>Server side</b> (server mode only): answers FIND_NODE, GET_VALUE, PUT_VALUE, ADD_PROVIDER,
 * GET_PROVIDERS and PING. Each request and answer is one varint-length-prefixed {@code Message} on a stream;
 * several requests may follow on one stream. Messages over {@link KadCodec#MAX_MESSAGE_BYTES}, malformed
 * messages, records failing validation and requests over the per-peer rate limit reset the stream and are
 * counted ({@code kad.inbound.*} counters).
 *
 * <p><b>Client side</b>: iterative lookups with α requests in flight that end when the k closest peers seen have
 * answered ({@link #getClosestPeers}, {@link #findPeer}, {@link #getValue}, {@link #putValue}, {@link #provide},
 * {@link #findProviders}); each result reports hops and duration ({@link LookupStats}). Answers keep at most
 * {@link KadCodec#MAX_PEERS} closer peers (the rest counted in {@code kad.response.dropped_peers}).
 *
 * <p><b>Routing table</b>: fed from the host's peer events: a peer whose identify lists
 * {@code /ipfs/kad/1.0.0} joins the {@link RoutingTable}; disconnects mark it unconnected; failed queries remove
 * it; peers learned from answers become candidates for {@link KadConnectionManager}. In client mode the
 * protocol is not registered, so identify does not list it and others never add this node. Peers whose Peersocket
 * handshake says they are light nodes are never added either (seed 001: light nodes do not serve).
 *
 * <p><b>Records</b>: kept in memory, expiring after {@link KadConfig#recordTtlMs()} /
 * {@link KadConfig#providerTtlMs()}; records this node put and keys it provides are republished on the loop's
 * clock. Keys look like {@code /namespace/...}; a record is accepted only if a {@link Validator} is registered
 * for its namespace and accepts it ({@code /pk/} is built in).
 *
 * <p>Counters (on {@link Host#counters()}): {@code kad.inbound.request.<type>}, {@code kad.inbound.malformed},
 * {@code .rate_limited}, {@code .record_rejected}, {@code .provider_rejected}, {@code .refused}, {@code .idle};
 * {@code kad.outbound.request.<type>}, {@code kad.outbound.failed}, {@code .timeout}; {@code kad.response.malformed},
 * {@code .dropped_peers}, {@code .dropped_addresses}, {@code .invalid_record}; {@code kad.lookup.started},
 * {@code .completed}, {@code .failed}; {@code kad.table.added}, {@code .evicted}, {@code .removed.failed},
 * {@code .removed.not_server}, {@code .removed.light}; {@code kad.record.stored}, {@code .stale}, {@code .expired}, {@code .republished},
 * {@code .corrected}, {@code .not_stored}; {@code kad.provider.stored}, {@code .expired}, {@code .republished}; and
 * {@code kad.connmgr.*} from {@link KadConnectionManager}.
 *
 * <p>Threading: state lives on the host's event loop. Public methods may be called from any thread and return
 * futures completed on the loop (do not block in their callbacks). Construct before the node connects to
 * anyone: peers identified earlier are not seen.
 */
public final class Kademlia implements AutoCloseable {
    /** The protocol id. */
    public static final String PROTOCOL_ID = "/ipfs/kad/1.0.0";
    /** An inbound stream with no request for this long is reset, ms. */
    static final long INBOUND_IDLE_MS = 60_000;
    /** Remote peers whose request rate is tracked at most (least recently active forgotten first). */
    static final int MAX_RATE_LIMITED_PEERS = 4096;
    /** Bins deeper than this are refreshed by a self-lookup instead of a random key (finding one costs 2^(po+1) hashes). */
    static final int MAX_RANDOM_REFRESH_PO = 16;

    private static final Logger log = LoggerFactory.getLogger(Kademlia.class);

    /**
     * How a lookup went.
     *
     * @param hops the length of the request chain that produced the answer (0: answered locally); see
     *     {@code Lookup}
     * @param durationMs time from start to answer, event-loop clock
     * @param queried requests sent
     * @param failed requests that failed or timed out
     */
    public record LookupStats(int hops, long durationMs, int queried, int failed) {}

    /** {@link #getClosestPeers}: the k closest peers that answered, closest first. */
    public record LookupResult(List<KadPeer> closest, LookupStats stats) {}

    /** {@link #findPeer}: the peer with the addresses found for it. */
    public record FindPeerResult(KadPeer peer, LookupStats stats) {}

    /**
     * {@link #getValue}: the best value found.
     *
     * @param from the peer that sent it, or null if it came from the local store
     * @param copies valid values collected (local one included)
     */
    public record GetValueResult(byte[] key, byte[] value, PeerId from, int copies, LookupStats stats) {}

    /** {@link #putValue}: how many of the closest peers stored the record, and how many refused or failed. */
    public record PutValueResult(int stored, int failed, LookupStats stats) {}

    /** {@link #provide}: to how many of the closest peers the provider record was sent. */
    public record ProvideResult(int announced, int failed, LookupStats stats) {}

    /** {@link #findProviders}: providers found (this node first if it provides the key). */
    public record FindProvidersResult(List<KadPeer> providers, LookupStats stats) {}

    private final Host host;
    private final KadConfig config;
    private volatile KadConfig.Mode mode;
    private final EventLoop loop;
    private final Counters counters;
    private final RoutingTable table;
    private final Random random;
    private final Map<String, Validator> validators = new ConcurrentHashMap<>();
    private final RecordStore records;
    private final ProviderStore providers;
    private final Map<ByteKey, byte[]> published = new LinkedHashMap<>();
    private final Map<ByteKey, Boolean> provided = new LinkedHashMap<>();
    private final Map<PeerId, RateLimiter> limiters = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<PeerId, RateLimiter> e) { return size() > MAX_RATE_LIMITED_PEERS; }
    };
    private final Set<PeerId> pinging = new HashSet<>();
    private final List<EventLoop.Cancellable> timers = new ArrayList<>();
    private volatile boolean closed;

    /**
     * Starts the service on {@code host}: registers {@link #PROTOCOL_ID} (server mode), listens to peer events
     * and schedules record expiry, republish and refresh timers.
     */
    public Kademlia(Host host, KadConfig config) {
        this.host = host;
        this.config = config;
        this.loop = host.loop();
        this.counters = host.counters();
        this.table = new RoutingTable(host.peerId(), config);
        this.random = new Random(config.seed() ^ Arrays.hashCode(host.peerId().toBytes()));
        this.records = new RecordStore(config.maxRecords());
        this.providers = new ProviderStore(config.maxProviderKeys(), config.maxProvidersPerKey());
        validators.put("pk", new PublicKeyValidator());
        this.mode = config.mode();
        if (mode == KadConfig.Mode.SERVER) host.registerProtocol(PROTOCOL_ID, (s, id) -> new Inbound(s));
        host.onPeerEvent(this::onPeerEvent);
        loop.execute(this::startTimers);
    }

    public PeerId self() { return host.peerId(); }

    public KadConfig config() { return config; }

    /** The current mode: {@link KadConfig#mode()} at start, then as set by {@link #setMode}. Any thread. */
    public KadConfig.Mode mode() { return mode; }

    /**
     * Switches between server and client mode at run time (e.g. to client when AutoNAT finds the node PRIVATE,
     * as the libp2p kad-dht spec asks of undialable nodes): SERVER registers {@link #PROTOCOL_ID}, CLIENT withdraws
     * it ({@link Host#unregisterProtocol}), so peers identifying us later stop adding us to their tables. Peers
     * that identified us earlier learn it only when they reconnect (identify push is not implemented yet).
     * Idempotent; any thread (runs on the event loop).
     */
    public void setMode(KadConfig.Mode newMode) {
        java.util.Objects.requireNonNull(newMode, "mode");
        if (!loop.inEventLoop()) {
            loop.execute(() -> setMode(newMode));
            return;
        }
        if (newMode == mode) return;
        mode = newMode;
        if (newMode == KadConfig.Mode.SERVER) host.registerProtocol(PROTOCOL_ID, (s, id) -> new Inbound(s));
        else host.unregisterProtocol(PROTOCOL_ID);
        counters.increment("kad.mode." + newMode.name().toLowerCase());
    }

    Host host() { return host; }

    EventLoop loop() { return loop; }

    Counters counters() { return counters; }

    Random random() { return random; }

    /** The routing table. Event loop only; from other threads use {@link #inspect}. */
    public RoutingTable table() { return table; }

    /** Runs {@code f} on the event loop with the routing table; completes with its result. */
    public <T> CompletableFuture<T> inspect(Function<RoutingTable, T> f) {
        return call(() -> CompletableFuture.completedFuture(f.apply(table)));
    }

    /** The table's health against {@code network} (see {@link RoutingTable#health(Collection)}). */
    public CompletableFuture<RoutingTable.Health> health(Collection<PeerId> network) {
        List<PeerId> copy = List.copyOf(network);
        return inspect(t -> t.health(copy));
    }

    /**
     * Validates records whose key starts with {@code /namespace/}; replaces an earlier validator of the
     * namespace. Any thread.
     *
     * @throws IllegalArgumentException if {@code namespace} is empty or contains {@code /}
     */
    public void registerValidator(String namespace, Validator validator) {
        if (namespace.isEmpty() || namespace.indexOf('/') >= 0) {
            throw new IllegalArgumentException("namespace must be non-empty without '/': \"" + namespace + "\"");
        }
        validators.put(namespace, validator);
    }

    // ---- peer events --------------------------------------------------------------------------------

    private void onPeerEvent(PeerEvent e) {
        if (closed) return;
        PeerId peer = e.peer();
        switch (e.kind()) {
            case CONNECTED -> table.setConnected(peer, true);
            case IDENTIFIED -> {
                if (e.identify().protocols().contains(PROTOCOL_ID) && !isLight(peer)) {
                    addVerified(peer);
                } else if (table.knows(peer)) {
                    table.remove(peer); // not (or no longer) a kad server, or a light node
                    counters.increment("kad.table.removed.not_server");
                }
            }
            case READY -> { // the handshake may finish after identify: a light node must not serve
                if (isLight(peer) && table.remove(peer)) counters.increment("kad.table.removed.light");
            }
            case DISCONNECTED -> {
                if (!host.isConnected(peer)) table.setConnected(peer, false);
            }
        }
    }

    /** True if the peer said in the Peersocket handshake that it is a light node (seed 001: it does not serve). */
    private boolean isLight(PeerId peer) {
        io.peersocket.protocol.handshake.HandshakeInfo h = host.handshakeOf(peer);
        return h != null && h.light();
    }

    private void addVerified(PeerId peer) {
        if (isLight(peer)) return;
        boolean known = table.isMember(peer);
        RoutingTable.AddResult r = table.addPeer(peer, host.isConnected(peer), loop.nowMs());
        if (r == RoutingTable.AddResult.ADDED && !known) counters.increment("kad.table.added");
        if (r == RoutingTable.AddResult.CACHED) checkLeastRecentlySeen(table.proximity(peer));
    }

    /** Least-recently-seen eviction: ping the bin's oldest member if unconnected; drop it if it does not answer. */
    private void checkLeastRecentlySeen(int po) {
        PeerId lrs = table.leastRecentlySeen(po);
        if (lrs == null || !pinging.add(lrs)) return;
        RoutingTable.PeerInfo info = table.info(lrs);
        if (info != null && info.connected()) {
            pinging.remove(lrs);
            return;
        }
        request(lrs, KadMessage.of(KadMessage.Type.PING, new byte[0]), true).whenComplete((m, err) -> onLoop(() -> {
            pinging.remove(lrs);
            if (err == null) {
                table.touch(lrs, loop.nowMs());
            } else if (table.remove(lrs)) {
                counters.increment("kad.table.evicted");
            }
        }));
    }

    // ---- server side --------------------------------------------------------------------------------

    private final class Inbound implements StreamHandler {
        private final Stream stream;
        private final PeerId remote;
        private final FrameDecoder decoder = new FrameDecoder(KadCodec.MAX_MESSAGE_BYTES);
        private boolean dead;
        private EventLoop.Cancellable idle;

        Inbound(Stream stream) {
            this.stream = stream;
            this.remote = stream.connection().remotePeer();
            armIdle();
        }

        private void armIdle() {
            if (idle != null) idle.cancel();
            idle = loop.schedule(() -> {
                if (!dead) reject("kad.inbound.idle", "no request for " + INBOUND_IDLE_MS + " ms");
            }, INBOUND_IDLE_MS);
        }

        @Override public void onData(Stream s, byte[] data) {
            if (dead) return;
            if (closed) {
                reject("kad.inbound.closed", "service closed");
                return;
            }
            try {
                decoder.feed(data, this::onFrame);
            } catch (FrameDecoder.FrameException e) {
                reject("kad.inbound.malformed", e.getMessage());
            } catch (KadProtocolException e) {
                reject("kad.inbound.malformed", e.getMessage());
            } catch (InvalidRecordException e) {
                reject("kad.inbound.record_rejected", e.getMessage());
            } catch (KadException e) {
                reject("kad.inbound.refused", e.getMessage());
            } catch (RuntimeException e) {
                log.warn("kad request failed peer={}", remote, e);
                reject("kad.inbound.failed", e.toString());
            }
        }

        private void onFrame(byte[] frame) {
            if (dead) {
                decoder.stop();
                return;
            }
            armIdle();
            if (!allow(remote)) {
                reject("kad.inbound.rate_limited", "over " + config.inboundRequestsPerSecond() + " requests/s");
                decoder.stop();
                return;
            }
            KadMessage req = KadCodec.decode(frame);
            counters.increment("kad.inbound.request." + req.type().name().toLowerCase());
            KadMessage resp = handle(remote, req);
            if (resp != null) stream.write(FrameDecoder.frame(KadCodec.encode(resp)));
        }

        private void reject(String counter, String reason) {
            dead = true;
            if (idle != null) idle.cancel();
            counters.increment(counter);
            log.debug("kad: resetting stream from {}: {}", remote, reason);
            stream.reset();
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (idle != null) idle.cancel();
            if (!dead) s.close();
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            dead = true;
            if (idle != null) idle.cancel();
        }
    }

    private boolean allow(PeerId peer) {
        long now = loop.nowMs();
        RateLimiter l = limiters.computeIfAbsent(peer, p -> new RateLimiter(config.inboundBurst(), now));
        return l.tryAcquire(now, config.inboundRequestsPerSecond(), config.inboundBurst());
    }

    /** A token bucket: {@code burst} tokens, refilled at {@code rate} per second. */
    private static final class RateLimiter {
        private double tokens;
        private long lastMs;

        RateLimiter(int burst, long nowMs) {
            this.tokens = burst;
            this.lastMs = nowMs;
        }

        boolean tryAcquire(long nowMs, double rate, int burst) {
            if (nowMs > lastMs) {
                tokens = Math.min(burst, tokens + (nowMs - lastMs) * rate / 1000.0);
                lastMs = nowMs;
            }
            if (tokens < 1) return false;
            tokens -= 1;
            return true;
        }
    }

    /** Answers one request; null for none (ADD_PROVIDER). Throws to reset the stream. */
    KadMessage handle(PeerId from, KadMessage req) {
        long now = loop.nowMs();
        table.touch(from, now);
        switch (req.type()) {
            case PING:
                return KadMessage.of(KadMessage.Type.PING, new byte[0]);
            case FIND_NODE:
                return KadMessage.of(KadMessage.Type.FIND_NODE, req.key()).withCloserPeers(closerPeersFor(req.key(), from, true));
            case GET_VALUE: {
                requireKey(req);
                KadMessage resp = KadMessage.of(KadMessage.Type.GET_VALUE, req.key())
                        .withCloserPeers(closerPeersFor(req.key(), from, false));
                RecordStore.Stored s = records.get(req.key(), now);
                if (s != null) resp = resp.withRecord(new KadRecord(s.key(), s.value(), Instant.ofEpochMilli(s.receivedMs()).toString()));
                return resp;
            }
            case PUT_VALUE: {
                requireKey(req);
                KadRecord r = req.record();
                if (r == null) throw new KadProtocolException("PUT_VALUE without a record");
                if (!Arrays.equals(r.key(), req.key())) throw new InvalidRecordException("PUT_VALUE record key differs from the message key");
                storeRecord(r.key(), r.value(), now);
                counters.increment("kad.record.stored");
                return req;
            }
            case ADD_PROVIDER: {
                requireKey(req);
                int added = 0;
                for (KadPeer p : req.providerPeers()) {
                    if (!p.id().equals(from)) continue; // only the sender may announce itself
                    List<Multiaddr> addrs = p.addresses().stream().map(Multiaddr::withoutPeerId).distinct().toList();
                    if (!providers.add(req.key(), from, addrs, now, config.providerTtlMs())) {
                        throw new KadException("provider store full");
                    }
                    if (!addrs.isEmpty()) host.addAddresses(from, addrs);
                    added++;
                }
                counters.increment(added > 0 ? "kad.provider.stored" : "kad.inbound.provider_rejected");
                return null;
            }
            case GET_PROVIDERS: {
                requireKey(req);
                List<KadPeer> ps = new ArrayList<>();
                for (ProviderStore.Provider p : providers.get(req.key(), now, KadCodec.MAX_PEERS)) {
                    ps.add(kadPeer(p.peer(), p.addresses().isEmpty() ? addressesOf(p.peer()) : p.addresses()));
                }
                return KadMessage.of(KadMessage.Type.GET_PROVIDERS, req.key()).withProviderPeers(ps)
                        .withCloserPeers(closerPeersFor(req.key(), from, false));
            }
            default:
                throw new KadProtocolException("unsupported request type " + req.type());
        }
    }

    private static void requireKey(KadMessage req) {
        if (req.key().length == 0) throw new KadProtocolException(req.type() + " with an empty key");
    }

    /**
     * The k closest table members to {@code key} with known addresses, never the requester. For FIND_NODE of our
     * own id, ourselves; of another peer whose addresses we know, that peer too (as go-libp2p-kad-dht does).
     */
    private List<KadPeer> closerPeersFor(byte[] key, PeerId requester, boolean findNode) {
        int n = Math.min(config.k(), KadCodec.MAX_PEERS);
        if (findNode && Arrays.equals(key, self().toBytes())) {
            return List.of(new KadPeer(self(), limit(host.listenAddresses()), KadPeer.ConnectionType.CONNECTED));
        }
        List<KadPeer> out = new ArrayList<>();
        PeerId target = null;
        if (findNode) {
            try {
                target = PeerId.fromBytes(key);
            } catch (IllegalArgumentException e) {
                target = null; // any key may be looked up
            }
        }
        if (target != null && !target.equals(requester) && !target.equals(self())) {
            List<Multiaddr> addrs = addressesOf(target);
            if (!addrs.isEmpty()) out.add(kadPeer(target, addrs));
        }
        for (PeerId p : table.closest(KadKey.ofKey(key), n + 2)) {
            if (out.size() >= n) break;
            if (p.equals(requester) || p.equals(target)) continue;
            List<Multiaddr> addrs = addressesOf(p);
            if (addrs.isEmpty()) continue;
            out.add(kadPeer(p, addrs));
        }
        return out;
    }

    private KadPeer kadPeer(PeerId p, List<Multiaddr> addrs) {
        return new KadPeer(p, limit(addrs), host.isConnected(p) ? KadPeer.ConnectionType.CONNECTED
                : KadPeer.ConnectionType.NOT_CONNECTED);
    }

    private List<Multiaddr> addressesOf(PeerId p) { return limit(host.addressesOf(p)); }

    private static List<Multiaddr> limit(List<Multiaddr> addrs) {
        if (addrs.size() <= KadCodec.MAX_ADDRESSES_PER_PEER) return addrs;
        return addrs.subList(addrs.size() - KadCodec.MAX_ADDRESSES_PER_PEER, addrs.size()); // most recent
    }

    /** Validates and stores a record unless the stored one is better. @throws InvalidRecordException */
    private void storeRecord(byte[] key, byte[] value, long now) {
        Validator v = validatorFor(key);
        v.validate(key, value);
        RecordStore.Stored existing = records.get(key, now);
        if (existing != null && !Arrays.equals(existing.value(), value)) {
            int best = v.select(key, List.of(value, existing.value()));
            if (best != 0) {
                counters.increment("kad.record.stale");
                throw new InvalidRecordException("record for " + KadMessage.printable(key) + " is older than the stored one");
            }
        }
        if (!records.put(key, value, now, config.recordTtlMs())) throw new KadException("record store full");
    }

    /** The validator of {@code key}'s namespace. @throws InvalidRecordException if there is none */
    Validator validatorFor(byte[] key) {
        String ns = namespace(key);
        if (ns == null) throw new InvalidRecordException("record key " + KadMessage.printable(key) + " has no /namespace/ prefix");
        Validator v = validators.get(ns);
        if (v == null) throw new InvalidRecordException("no validator for namespace \"" + ns + "\"");
        return v;
    }

    static String namespace(byte[] key) {
        if (key.length < 3 || key[0] != '/') return null;
        for (int i = 1; i < key.length; i++) {
            if (key[i] == '/') return i == 1 ? null : new String(key, 1, i - 1, StandardCharsets.UTF_8);
        }
        return null;
    }

    // ---- client side: requests ----------------------------------------------------------------------

    /**
     * Sends {@code msg} to {@code peer} on a new stream and reads one answer (or, if {@code expectAnswer} is
     * false, completes once the request is written). Completes on the loop; fails with {@link KadException}
     * (timeout, malformed answer, stream closed) or the transport's or negotiation's exception.
     */
    CompletableFuture<KadMessage> request(PeerId peer, KadMessage msg, boolean expectAnswer) {
        CompletableFuture<KadMessage> result = new CompletableFuture<>();
        if (closed) {
            result.completeExceptionally(new KadException("kademlia closed"));
            return result;
        }
        byte[] frame = FrameDecoder.frame(KadCodec.encode(msg));
        counters.increment("kad.outbound.request." + msg.type().name().toLowerCase());
        Outbound handler = new Outbound(peer, msg.type(), result);
        EventLoop.Cancellable timer = loop.schedule(() -> {
            if (result.isDone()) return;
            counters.increment("kad.outbound.timeout");
            handler.abort();
            result.completeExceptionally(new KadException("kad " + msg.type() + " to " + peer + " timed out after "
                    + config.requestTimeoutMs() + " ms"));
        }, config.requestTimeoutMs());
        result.whenComplete((m, e) -> timer.cancel());
        host.openStream(peer, PROTOCOL_ID, handler).whenComplete((stream, err) -> onLoop(() -> {
            if (err != null) {
                result.completeExceptionally(unwrap(err));
                return;
            }
            if (result.isDone()) {
                stream.reset();
                return;
            }
            handler.stream = stream;
            CompletableFuture<Void> written = stream.write(frame);
            if (!expectAnswer) {
                written.thenCompose(v -> stream.closeWrite()).whenComplete((v, e) -> onLoop(() -> {
                    if (e != null) result.completeExceptionally(unwrap(e));
                    else result.complete(null);
                }));
            }
        }));
        return result;
    }

    private final class Outbound implements StreamHandler {
        private final PeerId peer;
        private final KadMessage.Type type;
        private final CompletableFuture<KadMessage> result;
        private final FrameDecoder decoder = new FrameDecoder(KadCodec.MAX_MESSAGE_BYTES);
        Stream stream;

        Outbound(PeerId peer, KadMessage.Type type, CompletableFuture<KadMessage> result) {
            this.peer = peer;
            this.type = type;
            this.result = result;
        }

        void abort() {
            if (stream != null) stream.reset();
        }

        @Override public void onData(Stream s, byte[] data) {
            if (result.isDone()) return;
            try {
                decoder.feed(data, frame -> {
                    decoder.stop();
                    KadMessage m = KadCodec.decode(frame);
                    if (m.type() != type) throw new KadProtocolException("answer of type " + m.type() + " to a " + type + " request");
                    if (m.droppedPeers() > 0) counters.add("kad.response.dropped_peers", m.droppedPeers());
                    if (m.droppedAddresses() > 0) counters.add("kad.response.dropped_addresses", m.droppedAddresses());
                    result.complete(m);
                });
            } catch (RuntimeException e) {
                counters.increment("kad.response.malformed");
                result.completeExceptionally(e instanceof KadException ? e
                        : new KadProtocolException("bad answer from " + peer + ": " + e.getMessage()));
                s.reset();
                return;
            }
            if (result.isDone()) s.close();
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (result.completeExceptionally(new KadException("kad " + type + " to " + peer + ": stream ended without an answer"))) {
                s.reset();
            } else {
                s.close();
            }
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            result.completeExceptionally(new KadException("kad " + type + " to " + peer + ": stream closed"
                    + (cause == null ? "" : ": " + cause.getMessage())));
        }
    }

    /** Sends a kad PING to {@code peer}; completes with the round-trip time in ms. */
    public CompletableFuture<Long> ping(PeerId peer) {
        return call(() -> {
            long start = loop.nanoTime();
            return request(peer, KadMessage.of(KadMessage.Type.PING, new byte[0]), true)
                    .thenApply(m -> (loop.nanoTime() - start) / 1_000_000);
        });
    }

    // ---- client side: lookups -----------------------------------------------------------------------

    private CompletableFuture<Lookup.Outcome> lookup(KadMessage request, KadKey target, Lookup.Visitor visitor) {
        List<PeerId> seedIds = table.closest(target, config.k());
        if (seedIds.isEmpty()) {
            return CompletableFuture.failedFuture(new KadException("no peers in the routing table; connect to a bootstrap peer first"));
        }
        List<KadPeer> seeds = new ArrayList<>();
        for (PeerId p : seedIds) seeds.add(new KadPeer(p, addressesOf(p), KadPeer.ConnectionType.NOT_CONNECTED));
        counters.increment("kad.lookup.started");
        Lookup l = new Lookup(loop, self(), target, config.k(), config.alpha(), config.lookupTimeoutMs(),
                peer -> request(peer, request, true), visitor, new Lookup.Listener() {
                    @Override public void learned(KadPeer p) { learn(p); }

                    @Override public void answered(PeerId p) { addVerified(p); }

                    @Override public void failed(PeerId p, Throwable cause) { onQueryFailed(p, cause); }
                });
        return l.run(seeds).whenComplete((o, e) -> counters.increment(e == null ? "kad.lookup.completed" : "kad.lookup.failed"));
    }

    /** A peer heard of in an answer: remember its addresses and keep it as a candidate. */
    private void learn(KadPeer p) {
        if (p.id().equals(self())) return;
        if (!p.addresses().isEmpty()) host.addAddresses(p.id(), p.addresses());
        table.addCandidate(p.id(), loop.nowMs());
    }

    private void onQueryFailed(PeerId p, Throwable cause) {
        counters.increment("kad.outbound.failed");
        Throwable c = unwrap(cause);
        log.debug("kad query failed peer={}: {}", p, c.toString());
        if (c instanceof ProtocolNotSupportedException) { // a client or not a kad node at all
            table.remove(p);
            return;
        }
        if (table.recordFailure(p, config.failuresBeforeEviction())) counters.increment("kad.table.removed.failed");
    }

    private static LookupStats stats(Lookup.Outcome o, int hops) {
        return new LookupStats(hops, o.durationMs(), o.queried(), o.failed());
    }

    /** A self-lookup: fills the table with our neighbourhood. Fails if the table is empty. */
    public CompletableFuture<LookupResult> bootstrap() { return getClosestPeers(self().toBytes()); }

    /**
     * The k peers closest to {@code key} (any bytes; a PeerId's bytes for a peer), found by an iterative
     * FIND_NODE lookup.
     *
     * @throws IllegalArgumentException (in the future) if the key is empty or over {@link KadCodec#MAX_KEY_BYTES}
     */
    public CompletableFuture<LookupResult> getClosestPeers(byte[] key) {
        byte[] k = key.clone();
        return call(() -> {
            checkKey(k);
            return lookup(KadMessage.of(KadMessage.Type.FIND_NODE, k), KadKey.ofKey(k), (from, hop, m) -> false)
                    .thenApply(o -> new LookupResult(o.closest(), stats(o, o.hops())));
        });
    }

    /** Looks up a random key in bin {@code po} (or our own key for deep bins) to discover peers there. */
    CompletableFuture<LookupResult> refreshBin(int po) {
        byte[] key = po <= MAX_RANDOM_REFRESH_PO
                ? KadKey.randomPreimageInBin(table.selfKey(), po, random, 1 << (MAX_RANDOM_REFRESH_PO + 4)) : null;
        return getClosestPeers(key != null ? key : self().toBytes());
    }

    /**
     * Finds the addresses of {@code peer}: answered at once if we are connected to it, else by a FIND_NODE lookup
     * that ends as soon as someone returns the peer with addresses. Fails with {@link KadException} if nobody
     * knows it.
     */
    public CompletableFuture<FindPeerResult> findPeer(PeerId peer) {
        return call(() -> {
            long start = loop.nanoTime();
            if (peer.equals(self()) || host.isConnected(peer)) {
                List<Multiaddr> addrs = peer.equals(self()) ? limit(host.listenAddresses()) : addressesOf(peer);
                return CompletableFuture.completedFuture(new FindPeerResult(
                        new KadPeer(peer, addrs, KadPeer.ConnectionType.CONNECTED),
                        new LookupStats(0, (loop.nanoTime() - start) / 1_000_000, 0, 0)));
            }
            KadPeer[] found = new KadPeer[1];
            int[] foundHop = new int[1];
            return lookup(KadMessage.of(KadMessage.Type.FIND_NODE, peer.toBytes()), KadKey.of(peer), (from, hop, m) -> {
                for (KadPeer p : m.closerPeers()) {
                    if (p.id().equals(peer) && !p.addresses().isEmpty()) {
                        found[0] = p;
                        foundHop[0] = hop;
                        return true;
                    }
                }
                return false;
            }).thenApply(o -> {
                if (found[0] == null) {
                    throw new KadException("peer " + peer + " not found (asked " + o.queried() + " peers, "
                            + o.failed() + " failed)");
                }
                return new FindPeerResult(found[0], stats(o, foundHop[0]));
            });
        });
    }

    /**
     * Stores {@code value} under {@code key} locally and at the k closest peers (PUT_VALUE), and republishes it
     * every {@link KadConfig#recordRepublishMs()}.
     *
     * @return fails with {@link InvalidRecordException} if no validator accepts the record or the local store
     *     holds a better one (validator {@code select}), or {@link KadException} if the table is empty; peers that
     *     refuse the record count as {@code failed}
     */
    public CompletableFuture<PutValueResult> putValue(byte[] key, byte[] value) {
        byte[] k = key.clone();
        byte[] v = value.clone();
        return call(() -> {
            checkKey(k);
            if (v.length > KadCodec.MAX_VALUE_BYTES) {
                throw new IllegalArgumentException("value of " + v.length + " bytes exceeds limit " + KadCodec.MAX_VALUE_BYTES);
            }
            storeRecord(k, v, loop.nowMs());
            if (config.recordRepublishMs() > 0) remember(published, new ByteKey(k), v, config.maxRecords());
            return publish(k, v);
        });
    }

    private CompletableFuture<PutValueResult> publish(byte[] k, byte[] v) {
        KadMessage put = KadMessage.of(KadMessage.Type.PUT_VALUE, k).withRecord(new KadRecord(k, v, ""));
        return lookup(KadMessage.of(KadMessage.Type.FIND_NODE, k), KadKey.ofKey(k), (from, hop, m) -> false)
                .thenCompose(o -> sendToAll(o.closest(), put, true)
                        .thenApply(ok -> new PutValueResult(ok, o.closest().size() - ok, stats(o, o.hops()))));
    }

    /**
     * Sends {@code msg} to each peer; completes on the loop with how many succeeded. A PUT_VALUE succeeds only if
     * the answer echoes the record's value (as go-libp2p-kad-dht and @libp2p/kad-dht check).
     */
    private CompletableFuture<Integer> sendToAll(List<KadPeer> peers, KadMessage msg, boolean expectAnswer) {
        CompletableFuture<Integer> done = new CompletableFuture<>();
        if (peers.isEmpty()) {
            done.complete(0);
            return done;
        }
        int[] left = {peers.size()};
        int[] ok = {0};
        for (KadPeer p : peers) {
            request(p.id(), msg, expectAnswer).whenComplete((m, e) -> onLoop(() -> {
                if (e != null) {
                    log.debug("kad {} failed peer={}: {}", msg.type(), p.id(), unwrap(e).toString());
                } else if (msg.type() == KadMessage.Type.PUT_VALUE
                        && (m.record() == null || !Arrays.equals(m.record().value(), msg.record().value()))) {
                    counters.increment("kad.record.not_stored");
                    log.debug("kad PUT_VALUE to {}: answer does not echo the record", p.id());
                } else {
                    ok[0]++;
                }
                if (--left[0] == 0) done.complete(ok[0]);
            }));
        }
        return done;
    }

    /** {@link #getValue(byte[], int)} with a quorum of 1 (a valid local record answers at once). */
    public CompletableFuture<GetValueResult> getValue(byte[] key) { return getValue(key, 1); }

    /**
     * Gets the value of {@code key}: collects {@code quorum} valid values (the local one counts), picks the best
     * with the namespace's {@link Validator#select}, and sends the best to peers that returned a worse one.
     *
     * @return fails with {@link InvalidRecordException} if the key's namespace has no validator, or
     *     {@link KadException} if no valid value was found
     */
    public CompletableFuture<GetValueResult> getValue(byte[] key, int quorum) {
        byte[] k = key.clone();
        if (quorum < 1) throw new IllegalArgumentException("quorum must be >= 1");
        return call(() -> {
            checkKey(k);
            long start = loop.nanoTime();
            Validator validator = validatorFor(k);
            List<byte[]> values = new ArrayList<>();
            List<PeerId> sources = new ArrayList<>();
            List<Integer> hops = new ArrayList<>();
            RecordStore.Stored local = records.get(k, loop.nowMs());
            if (local != null) {
                values.add(local.value());
                sources.add(null);
                hops.add(0);
                if (quorum == 1) {
                    return CompletableFuture.completedFuture(new GetValueResult(k, local.value().clone(), null, 1,
                            new LookupStats(0, (loop.nanoTime() - start) / 1_000_000, 0, 0)));
                }
            }
            return lookup(KadMessage.of(KadMessage.Type.GET_VALUE, k), KadKey.ofKey(k), (from, hop, m) -> {
                KadRecord r = m.record();
                if (r == null) return false;
                try {
                    if (!Arrays.equals(r.key(), k)) throw new InvalidRecordException("record key differs from the requested key");
                    validator.validate(k, r.value());
                } catch (InvalidRecordException e) {
                    counters.increment("kad.response.invalid_record");
                    log.debug("invalid record for {} from {}: {}", KadMessage.printable(k), from, e.getMessage());
                    return false;
                }
                values.add(r.value());
                sources.add(from);
                hops.add(hop);
                return values.size() >= quorum;
            }).thenApply(o -> {
                if (values.isEmpty()) {
                    throw new KadException("no record for " + KadMessage.printable(k) + " (asked " + o.queried() + " peers)");
                }
                int best = values.size() == 1 ? 0 : validator.select(k, values);
                if (best < 0 || best >= values.size()) best = 0;
                byte[] value = values.get(best);
                List<KadPeer> outdated = new ArrayList<>();
                for (int i = 0; i < values.size(); i++) {
                    if (sources.get(i) != null && !Arrays.equals(values.get(i), value)) {
                        outdated.add(new KadPeer(sources.get(i), List.of(), KadPeer.ConnectionType.NOT_CONNECTED));
                    }
                }
                if (!outdated.isEmpty()) { // entry correction
                    counters.add("kad.record.corrected", outdated.size());
                    sendToAll(outdated, KadMessage.of(KadMessage.Type.PUT_VALUE, k).withRecord(new KadRecord(k, value, "")), true);
                }
                return new GetValueResult(k, value.clone(), sources.get(best), values.size(), stats(o, hops.get(best)));
            });
        });
    }

    /**
     * Announces this node as a provider of {@code key}: records it locally and sends ADD_PROVIDER to the k closest
     * peers; re-announced every {@link KadConfig#providerRepublishMs()}.
     */
    public CompletableFuture<ProvideResult> provide(byte[] key) {
        byte[] k = key.clone();
        return call(() -> {
            checkKey(k);
            if (config.providerRepublishMs() > 0) remember(provided, new ByteKey(k), Boolean.TRUE, config.maxProviderKeys());
            return announce(k);
        });
    }

    private CompletableFuture<ProvideResult> announce(byte[] k) {
        List<Multiaddr> mine = limit(host.listenAddresses());
        providers.add(k, self(), mine, loop.nowMs(), config.providerTtlMs());
        KadMessage add = KadMessage.of(KadMessage.Type.ADD_PROVIDER, k)
                .withProviderPeers(List.of(new KadPeer(self(), mine, KadPeer.ConnectionType.CONNECTED)));
        return lookup(KadMessage.of(KadMessage.Type.FIND_NODE, k), KadKey.ofKey(k), (from, hop, m) -> false)
                .thenCompose(o -> sendToAll(o.closest(), add, false)
                        .thenApply(ok -> new ProvideResult(ok, o.closest().size() - ok, stats(o, o.hops()))));
    }

    /** {@link #findProviders(byte[], int)} for up to k providers. */
    public CompletableFuture<FindProvidersResult> findProviders(byte[] key) { return findProviders(key, config.k()); }

    /**
     * Finds up to {@code count} providers of {@code key} (local ones first) by a GET_PROVIDERS lookup that ends
     * early once {@code count} are known. An empty list if none were found.
     */
    public CompletableFuture<FindProvidersResult> findProviders(byte[] key, int count) {
        byte[] k = key.clone();
        if (count < 1) throw new IllegalArgumentException("count must be >= 1");
        return call(() -> {
            checkKey(k);
            long start = loop.nanoTime();
            Map<PeerId, KadPeer> found = new LinkedHashMap<>();
            for (ProviderStore.Provider p : providers.get(k, loop.nowMs(), count)) {
                found.put(p.peer(), kadPeer(p.peer(), p.peer().equals(self()) ? limit(host.listenAddresses()) : p.addresses()));
            }
            if (found.size() >= count || table.size() == 0) {
                return CompletableFuture.completedFuture(new FindProvidersResult(List.copyOf(found.values()),
                        new LookupStats(0, (loop.nanoTime() - start) / 1_000_000, 0, 0)));
            }
            int[] lastHop = {0};
            return lookup(KadMessage.of(KadMessage.Type.GET_PROVIDERS, k), KadKey.ofKey(k), (from, hop, m) -> {
                for (KadPeer p : m.providerPeers()) {
                    if (found.size() >= count) break;
                    if (found.containsKey(p.id())) continue;
                    found.put(p.id(), p);
                    lastHop[0] = hop;
                    if (!p.addresses().isEmpty() && !p.id().equals(self())) host.addAddresses(p.id(), p.addresses());
                }
                return found.size() >= count;
            }).thenApply(o -> new FindProvidersResult(List.copyOf(found.values()), stats(o, lastHop[0])));
        });
    }

    /** Puts {@code key} last in {@code map}, dropping the oldest entries beyond {@code max}. */
    private static <V> void remember(Map<ByteKey, V> map, ByteKey key, V value, int max) {
        map.remove(key);
        map.put(key, value);
        while (map.size() > max) map.remove(map.keySet().iterator().next());
    }

    private static void checkKey(byte[] key) {
        if (key.length == 0) throw new IllegalArgumentException("kad key is empty");
        if (key.length > KadCodec.MAX_KEY_BYTES) {
            throw new IllegalArgumentException("kad key of " + key.length + " bytes exceeds limit " + KadCodec.MAX_KEY_BYTES);
        }
    }

    // ---- local stores (event loop; for tests, the CLI and diagnostics) ------------------------------

    /** The locally stored, unexpired value of {@code key}, or null. Event loop only. */
    byte[] localValue(byte[] key) {
        RecordStore.Stored s = records.get(key, loop.nowMs());
        return s == null ? null : s.value();
    }

    /** Locally known, unexpired providers of {@code key}. Event loop only. */
    List<PeerId> localProviders(byte[] key) {
        return providers.get(key, loop.nowMs(), Integer.MAX_VALUE).stream().map(ProviderStore.Provider::peer).toList();
    }

    /** Expiry time (loop ms) of {@code peer}'s provider record for {@code key}, or -1. Event loop only. */
    long providerExpiry(byte[] key, PeerId peer) {
        for (ProviderStore.Provider p : providers.get(key, loop.nowMs(), Integer.MAX_VALUE)) {
            if (p.peer().equals(peer)) return p.expiresMs();
        }
        return -1;
    }

    // ---- timers -------------------------------------------------------------------------------------

    private void startTimers() {
        if (closed) return;
        every(config.cleanupIntervalMs(), () -> {
            long now = loop.nowMs();
            int r = records.sweep(now), p = providers.sweep(now);
            if (r > 0) counters.add("kad.record.expired", r);
            if (p > 0) counters.add("kad.provider.expired", p);
        });
        if (config.recordRepublishMs() > 0) {
            every(config.recordRepublishMs(), () -> {
                for (Map.Entry<ByteKey, byte[]> e : new ArrayList<>(published.entrySet())) {
                    byte[] k = e.getKey().bytes();
                    try {
                        storeRecord(k, e.getValue(), loop.nowMs());
                    } catch (KadException ex) {
                        log.debug("not republishing {}: {}", e.getKey(), ex.getMessage());
                        continue;
                    }
                    counters.increment("kad.record.republished");
                    publish(k, e.getValue()).exceptionally(ex -> null);
                }
            });
        }
        if (config.providerRepublishMs() > 0) {
            every(config.providerRepublishMs(), () -> {
                for (ByteKey k : new ArrayList<>(provided.keySet())) {
                    counters.increment("kad.provider.republished");
                    announce(k.bytes()).exceptionally(ex -> null);
                }
            });
        }
        if (config.refreshIntervalMs() > 0) {
            every(config.refreshIntervalMs(), () -> {
                if (table.size() > 0) bootstrap().exceptionally(ex -> null);
            });
        }
    }

    private void every(long periodMs, Runnable task) {
        EventLoop.Cancellable[] handle = new EventLoop.Cancellable[1];
        Runnable[] tick = new Runnable[1];
        tick[0] = () -> {
            if (closed) return;
            try {
                task.run();
            } catch (RuntimeException e) {
                log.warn("kad timer task failed", e);
            }
            timers.remove(handle[0]);
            handle[0] = loop.schedule(tick[0], periodMs);
            timers.add(handle[0]);
        };
        handle[0] = loop.schedule(tick[0], periodMs);
        timers.add(handle[0]);
    }

    /** Stops timers and answers no more requests (inbound streams are reset). Idempotent. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        loop.execute(() -> {
            for (EventLoop.Cancellable c : timers) c.cancel();
            timers.clear();
        });
    }

    // ---- helpers ------------------------------------------------------------------------------------

    void onLoop(Runnable r) {
        if (loop.inEventLoop()) r.run();
        else loop.execute(r);
    }

    /** Runs {@code task} on the loop; its future (or exception) becomes the result. */
    <T> CompletableFuture<T> call(Supplier<CompletableFuture<T>> task) {
        return Futures.composeOn(this::onLoop, () -> closed
                ? CompletableFuture.failedFuture(new KadException("kademlia closed")) : task.get());
    }

    static Throwable unwrap(Throwable t) { return Futures.unwrap(t); }

    /** {@code /pk/<binary PeerId>} → the peer's protobuf public key; valid if the key's PeerId matches. */
    private static final class PublicKeyValidator implements Validator {
        @Override public void validate(byte[] key, byte[] value) {
            PeerId expected;
            try {
                expected = PeerId.fromBytes(Arrays.copyOfRange(key, 4, key.length));
            } catch (IllegalArgumentException e) {
                throw new InvalidRecordException("/pk/ key does not hold a peer id: " + e.getMessage());
            }
            PeerId actual;
            try {
                io.peersocket.identity.PublicKey.fromProto(value);
                actual = PeerId.fromPublicKeyProto(value);
            } catch (IllegalArgumentException e) {
                throw new InvalidRecordException("/pk/ value is not a public key: " + e.getMessage());
            }
            if (!actual.equals(expected)) throw new InvalidRecordException("/pk/ value is the key of " + actual + ", not " + expected);
        }
    }
}
