package io.peersocket.protocol.peers;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.peers.pb.PeersProto;
import io.peersocket.store.Store;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.NavigableMap;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListMap;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Peer exchange {@value #ID} (seed 000 "Minimal system"): every node keeps the recency-ordered list of peers it
 * successfully connected to, sends it to its counterparties as deltas, and remembers for each counterparty how far
 * it is up to date (its cursor), so nothing is sent twice unless the counterparty lost its data and asks to start
 * over.
 *
 * <p><b>Our list</b> is an append-only log: when a connection passes the handshake ({@link PeerEvent.Kind#READY})
 * the peer is appended with the next sequence number, its addresses (the one the connection came from first, then
 * the address book's; at most {@link PeerExchangeConfig#maxAddressesPerPeer()}) and the time. A peer's newer entry
 * supersedes its older one, and beyond {@link PeerExchangeConfig#maxListSize()} peers the oldest entry is dropped,
 * so the log holds at most one entry per peer. Only our own successful connections enter it.
 *
 * <p><b>Wire</b> ({@code peers.proto}; each message varint-length-prefixed): the sender opens a stream and sends
 * {@code Delta(log_id, after = cursor, up_to, entries)} with the entries of its log in {@code (after, up_to]}
 * (leaving out the receiver's own entry), in batches of at most {@link PeerExchangeConfig#maxEntriesPerMessage()}
 * entries and {@link PeerExchangeConfig#maxMessageBytes()} bytes. The receiver stores them, then answers
 * {@code Ack(up_to)}; the sender advances and persists that counterparty's cursor and sends the next batch, or
 * closes the stream when the counterparty is up to date. A receiver that does not hold the sender's log up to
 * {@code after} (it lost its data, or the log id is new to it while {@code after > 0}) answers {@code StartOver}, and
 * the sender resets the cursor to 0 and sends its whole log. Exchange runs when a peer becomes ready and every
 * {@link PeerExchangeConfig#exchangeIntervalMs()} for connected peers that are behind; {@link #exchange} runs it now.
 *
 * <p><b>Learned peers</b> go into the host's address book and {@link #knownPeers()} (newest information wins;
 * times later than our clock are clamped to it), never into our own list. Only peers that passed the handshake may
 * send us deltas (a delta that arrives just before our side of the handshake completes waits for it).
 *
 * <p><b>Persistence</b>: with a store, the log, the cursors, our position in each counterparty's log and the learned
 * peers live in the store (schema migration 3) and are loaded at construction, so a restarted node resumes exactly;
 * the receiver acknowledges only after its store committed. Without a store (ephemeral node) all is in memory.
 *
 * <p><b>Bad input</b>: a malformed, oversized or out-of-order message resets the stream and is counted
 * ({@value #MALFORMED}); the connection stays.
 *
 * <p>Threading: all state belongs to the host's event loop. The query methods may be called from any thread and
 * return a weakly consistent snapshot. Construct it right after the node starts, before it connects anywhere:
 * peers that became ready earlier are only picked up when they reconnect.
 */
public final class PeerExchange implements AutoCloseable {
    public static final String ID = "/peersocket/peers/1.0.0";

    /** Counter: delta messages sent. */
    public static final String DELTAS_SENT = "pex.delta.sent";
    /** Counter: log entries sent in deltas. */
    public static final String ENTRIES_SENT = "pex.entries.sent";
    /** Counter: delta messages received and acknowledged. */
    public static final String DELTAS_RECEIVED = "pex.delta.received";
    /** Counter: log entries received in acknowledged deltas. */
    public static final String ENTRIES_RECEIVED = "pex.entries.received";
    /** Counter: start-over requests we sent (we lacked part of a counterparty's log). */
    public static final String START_OVER_SENT = "pex.start_over.sent";
    /** Counter: start-over requests we received (a counterparty lost our log). */
    public static final String START_OVER_RECEIVED = "pex.start_over.received";
    /** Counter: malformed, oversized or out-of-order messages (stream reset). */
    public static final String MALFORMED = "pex.malformed";
    /** Counter: streams refused because the peer has not passed the handshake. */
    public static final String REFUSED_NOT_READY = "pex.refused.not_ready";
    /** Counter: exchange sessions that failed (timeout, stream closed, store failure). */
    public static final String EXCHANGE_FAILED = "pex.exchange.failed";

    private static final Logger log = LoggerFactory.getLogger(PeerExchange.class);
    /** Most messages a counterparty may send on one stream. */
    static final int MAX_MESSAGES_PER_STREAM = 100_000;
    /** Most streams of one peer waiting for its handshake to pass on our side. */
    static final int MAX_WAITING_PER_PEER = 4;

    private final Host host;
    private final EventLoop loop;
    private final PeerExchangeConfig config;
    private final PexStore store; // null when the host has no store
    private final CompletableFuture<Void> loaded = new CompletableFuture<>();
    private final ArrayDeque<Runnable> deferred = new ArrayDeque<>(); // loop; tasks waiting for the load
    private boolean ready; // loop; state loaded
    private volatile boolean closed;
    private EventLoop.Cancellable timer;

    // Event-loop state; the concurrent maps are also read by the query methods.
    private long logId;
    private long nextSeq = 1;
    private final ConcurrentSkipListMap<Long, PeerEntry> logBySeq = new ConcurrentSkipListMap<>();
    private final Map<PeerId, PeerEntry> logByPeer = new HashMap<>();
    private final ConcurrentHashMap<PeerId, PexStore.Cursor> cursors = new ConcurrentHashMap<>();
    private final Map<PeerId, PexStore.Source> sources = new HashMap<>();
    private final ConcurrentHashMap<PeerId, KnownPeer> known = new ConcurrentHashMap<>();
    private final Map<PeerId, Session> sessions = new HashMap<>();
    private final Set<PeerId> readyPeers = new HashSet<>();
    private final Map<PeerId, Connection> readyConnections = new HashMap<>(); // the latest that passed the handshake
    private final Map<PeerId, List<Waiting>> waitingForReady = new HashMap<>();

    /**
     * Registers {@value #ID} on {@code host}, listens for its peer events and loads the persisted state (in the
     * background; see {@link #loaded()}).
     */
    public PeerExchange(Host host, PeerExchangeConfig config) {
        this.host = Objects.requireNonNull(host);
        this.loop = host.loop();
        this.config = Objects.requireNonNull(config);
        Store s = host.store();
        this.store = s == null ? null : new PexStore(s);
        host.registerProtocol(ID, new Inbound());
        host.onPeerEvent(e -> {
            if (e.kind() == PeerEvent.Kind.READY) whenLoaded(() -> onReady(e.peer(), e.connection()));
            else if (e.kind() == PeerEvent.Kind.DISCONNECTED) whenLoaded(() -> onDisconnected(e.peer(), e.connection()));
        });
        if (store == null) {
            loop.execute(() -> finishLoad(new PexStore.Loaded(new SecureRandom().nextLong(), List.of(), List.of(),
                    List.of(), List.of())));
        } else {
            store.load(config).whenComplete((l, err) -> loop.execute(() -> {
                if (err != null) {
                    log.error("cannot load peer exchange state; starting empty in memory", err);
                    finishLoad(new PexStore.Loaded(new SecureRandom().nextLong(), List.of(), List.of(), List.of(), List.of()));
                } else {
                    finishLoad(l);
                }
            }));
        }
    }

    // ---- queries (any thread) --------------------------------------------------------------------------------

    /** Completes on the event loop once the persisted state is loaded and the exchange runs. */
    public CompletableFuture<Void> loaded() { return loaded.copy(); }

    /** Our connection log, newest first: the peers we successfully connected to, one entry each. */
    public List<PeerEntry> recencyList() { return List.copyOf(logBySeq.descendingMap().values()); }

    /** Peers learned from counterparties' logs, most recently seen first. */
    public List<KnownPeer> knownPeers() {
        return known.values().stream().sorted(Comparator.comparingLong(KnownPeer::lastSeenMs).reversed()
                .thenComparing(KnownPeer::peer)).toList();
    }

    /** How far {@code counterparty} is up to date with our log: it has acknowledged every entry up to this seq. */
    public long cursorFor(PeerId counterparty) {
        PexStore.Cursor c = cursors.get(counterparty);
        return c == null ? 0 : c.acked();
    }

    /** The newest sequence number in our log (0 if empty). */
    public long lastSeq() {
        var last = logBySeq.lastEntry();
        return last == null ? 0 : last.getKey();
    }

    // ---- actions -----------------------------------------------------------------------------------------------

    /**
     * Sends {@code counterparty} what it lacks of our log now (joining a session already running). Completes on the
     * event loop when it is up to date.
     *
     * @return fails with {@link IllegalStateException} if the peer has not passed the handshake or this is closed,
     *     {@link PeerExchangeException} if it answers out of protocol, {@link TimeoutException} if it does not
     *     answer in {@link PeerExchangeConfig#replyTimeoutMs()}, or the transport's exception
     */
    public CompletableFuture<ExchangeResult> exchange(PeerId counterparty) {
        CompletableFuture<ExchangeResult> result = new CompletableFuture<>();
        whenLoaded(() -> startSession(counterparty).whenComplete((r, e) -> {
            if (e != null) result.completeExceptionally(e);
            else result.complete(r);
        }));
        return result;
    }

    /**
     * Forgets how far we are up to date with {@code counterparty}'s log, so its next delta is answered with a
     * start-over request and it sends us its whole log again (what a node does after losing its data).
     */
    public CompletableFuture<Void> startOver(PeerId counterparty) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        whenLoaded(() -> {
            sources.remove(counterparty);
            if (store == null) {
                done.complete(null);
            } else {
                store.forgetSource(counterparty).whenComplete((v, e) -> {
                    if (e != null) done.completeExceptionally(e);
                    else done.complete(null);
                });
            }
        });
        return done;
    }

    /** Stops the periodic exchange and ends running sessions. Idempotent. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        loop.execute(() -> {
            if (timer != null) timer.cancel();
            for (Session s : List.copyOf(sessions.values())) s.finish(new IllegalStateException("peer exchange closed"));
        });
    }

    // ---- loading (loop) ----------------------------------------------------------------------------------------

    private void whenLoaded(Runnable task) {
        if (loop.inEventLoop() && ready) {
            task.run();
        } else {
            loop.execute(() -> {
                if (ready) task.run();
                else deferred.add(task);
            });
        }
    }

    private void finishLoad(PexStore.Loaded l) {
        logId = l.logId();
        long maxSeq = 0;
        for (PeerEntry e : l.log()) {
            PeerEntry old = logByPeer.put(e.peer(), e);
            if (old != null) logBySeq.remove(old.seq());
            logBySeq.put(e.seq(), e);
            maxSeq = Math.max(maxSeq, e.seq());
        }
        for (PexStore.Cursor c : l.cursors()) {
            cursors.put(c.peer(), c);
            maxSeq = Math.max(maxSeq, c.acked());
        }
        nextSeq = maxSeq + 1;
        for (PexStore.Source s : l.sources()) sources.put(s.peer(), s);
        for (KnownPeer k : l.known()) {
            known.put(k.peer(), k);
            host.addAddresses(k.peer(), k.addresses());
        }
        ready = true;
        log.debug("peer exchange loaded: {} log entries (next seq {}), {} cursors, {} sources, {} known peers",
                logBySeq.size(), nextSeq, cursors.size(), sources.size(), known.size());
        scheduleTick();
        loaded.complete(null);
        while (!deferred.isEmpty()) deferred.poll().run();
    }

    private void scheduleTick() {
        if (closed) return;
        timer = loop.schedule(() -> {
            for (PeerId p : List.copyOf(readyPeers)) {
                if (!host.isConnected(p)) {
                    readyPeers.remove(p);
                } else if (!sessions.containsKey(p) && hasPending(p)) {
                    startSession(p).whenComplete((r, e) -> {
                        if (e != null) log.debug("periodic exchange failed peer={}: {}", p, e.getMessage());
                    });
                }
            }
            scheduleTick();
        }, config.exchangeIntervalMs());
    }

    // ---- our log (loop) ----------------------------------------------------------------------------------------

    private void onReady(PeerId peer, Connection c) {
        List<Waiting> waiting = waitingForReady.remove(peer);
        if (waiting != null) waiting.forEach(Waiting::run);
        if (closed) return;
        readyPeers.add(peer);
        if (c != null) readyConnections.put(peer, c);
        LinkedHashSet<Multiaddr> addrs = new LinkedHashSet<>();
        if (c != null) addrs.add(c.remoteAddress().withoutPeerId());
        List<Multiaddr> book = new ArrayList<>(host.addressesOf(peer));
        for (int i = book.size() - 1; i >= 0; i--) addrs.add(book.get(i).withoutPeerId()); // most recent first
        List<Multiaddr> kept = addrs.stream().filter(a -> a.byteLength() <= PeerExchangeConfig.MAX_ADDRESS_BYTES)
                .limit(config.maxAddressesPerPeer()).toList();
        append(new PeerEntry(nextSeq++, peer, kept, loop.nowMs()));
        startSession(peer).whenComplete((r, e) -> {
            if (e != null) log.debug("exchange on ready failed peer={}: {}", peer, e.getMessage());
        });
    }

    private void onDisconnected(PeerId peer, Connection c) {
        if (c != null) readyConnections.remove(peer, c);
        if (!host.isConnected(peer)) {
            readyPeers.remove(peer);
            readyConnections.remove(peer);
            List<Waiting> waiting = waitingForReady.remove(peer);
            if (waiting != null) waiting.forEach(Waiting::refuse);
        }
    }

    private void append(PeerEntry entry) {
        PeerEntry old = logByPeer.put(entry.peer(), entry);
        if (old != null) logBySeq.remove(old.seq());
        logBySeq.put(entry.seq(), entry);
        List<Long> evicted = new ArrayList<>();
        while (logBySeq.size() > config.maxListSize()) {
            PeerEntry gone = logBySeq.pollFirstEntry().getValue();
            logByPeer.remove(gone.peer());
            evicted.add(gone.seq());
        }
        if (store != null) {
            store.append(entry, evicted).whenComplete((v, e) -> {
                if (e != null) log.warn("cannot store peer exchange entry for {}: {}", entry.peer(), e.getMessage());
            });
        }
    }

    private boolean hasPending(PeerId peer) { return lastSeq() > cursorFor(peer); }

    private void setCursor(PeerId peer, long acked) {
        List<PeerId> evicted = new ArrayList<>();
        cursors.put(peer, new PexStore.Cursor(peer, acked, loop.nowMs()));
        if (cursors.size() > config.maxCounterparties()) {
            cursors.values().stream().filter(c -> !c.peer().equals(peer))
                    .sorted(Comparator.comparingLong(PexStore.Cursor::updatedMs))
                    .limit(cursors.size() - config.maxCounterparties())
                    .forEach(c -> evicted.add(c.peer()));
            evicted.forEach(cursors::remove);
        }
        if (store != null) {
            store.setCursor(peer, acked, loop.nowMs(), evicted).whenComplete((v, e) -> {
                if (e != null) log.warn("cannot store peer exchange cursor for {}: {}", peer, e.getMessage());
            });
        }
    }

    // ---- sending (loop) ----------------------------------------------------------------------------------------

    private CompletableFuture<ExchangeResult> startSession(PeerId peer) {
        if (closed) return CompletableFuture.failedFuture(new IllegalStateException("peer exchange closed"));
        Session running = sessions.get(peer);
        if (running != null) return running.done.copy();
        if (host.handshakeOf(peer) == null) {
            return CompletableFuture.failedFuture(new IllegalStateException(peer + " has not passed the handshake"));
        }
        if (!hasPending(peer)) {
            return CompletableFuture.completedFuture(new ExchangeResult(peer, 0, 0, false, cursorFor(peer)));
        }
        Session s = new Session(peer);
        sessions.put(peer, s);
        // On the connection that passed the handshake if it is still open: after the peer restarted, an old
        // connection may linger until its close arrives.
        Connection c = readyConnections.get(peer);
        CompletableFuture<Stream> opened;
        if (c != null && c.isOpen()) {
            s.connection = c;
            opened = Multistream.select(c, List.of(ID), id -> s).thenApply(Multistream.Negotiated::stream);
        } else {
            opened = host.openStream(peer, ID, s);
        }
        opened.whenComplete((stream, err) -> loop.execute(() -> {
            if (err != null) {
                s.finish(err instanceof CompletionException && err.getCause() != null ? err.getCause() : err);
            } else if (s.finished) {
                stream.reset();
            } else {
                s.stream = stream;
                s.connection = stream.connection();
                s.sendNext();
            }
        }));
        return s.done.copy();
    }

    /** One exchange with a counterparty on a stream we opened: deltas out, acks in. */
    private final class Session implements StreamHandler {
        final PeerId peer;
        final CompletableFuture<ExchangeResult> done = new CompletableFuture<>();
        final FrameDecoder decoder = new FrameDecoder(config.maxMessageBytes());
        Stream stream;
        Connection connection;
        long inflightUpTo = -1;
        int entriesSent, batches;
        boolean startedOver, finished;
        EventLoop.Cancellable replyTimer;

        Session(PeerId peer) { this.peer = peer; }

        void sendNext() {
            if (finished) return;
            long cursor = cursorFor(peer);
            NavigableMap<Long, PeerEntry> pending = logBySeq.tailMap(cursor, false);
            if (pending.isEmpty()) {
                finish(null);
                return;
            }
            List<PeersProto.Entry> batch = new ArrayList<>();
            long upTo = cursor;
            int bytes = PeersCodec.DELTA_OVERHEAD;
            for (PeerEntry e : pending.values()) {
                if (e.peer().equals(peer)) { // its own entry is of no use to it
                    upTo = e.seq();
                    continue;
                }
                if (batch.size() >= config.maxEntriesPerMessage()) break;
                PeersProto.Entry pb = PeersCodec.toProto(e);
                int size = PeersCodec.sizeInDelta(pb);
                if (bytes + size > config.maxMessageBytes()) {
                    if (!batch.isEmpty()) break;
                    log.warn("log entry {} for {} does not fit a {}-byte message; skipped", e.seq(), e.peer(),
                            config.maxMessageBytes()); // cannot happen with a valid config; never loop on it
                    upTo = e.seq();
                    continue;
                }
                batch.add(pb);
                bytes += size;
                upTo = e.seq();
            }
            inflightUpTo = upTo;
            stream.write(FrameDecoder.frame(PeersCodec.encodeDelta(logId, cursor, upTo, batch)));
            batches++;
            entriesSent += batch.size();
            host.counters().increment(DELTAS_SENT);
            host.counters().add(ENTRIES_SENT, batch.size());
            replyTimer = loop.schedule(() -> finish(new TimeoutException(peer + " did not answer a peer exchange delta within "
                    + config.replyTimeoutMs() + " ms")), config.replyTimeoutMs());
        }

        @Override public void onData(Stream s, byte[] data) {
            if (finished) return;
            try {
                decoder.feed(data, this::onMessage);
            } catch (IllegalArgumentException e) {
                host.counters().increment(MALFORMED);
                finish(e instanceof PeerExchangeException ? e : new PeerExchangeException(e.getMessage()));
            }
        }

        private void onMessage(byte[] frame) {
            if (finished) return;
            PeersCodec.Msg m = PeersCodec.decode(frame, config);
            if (inflightUpTo < 0) throw new PeerExchangeException("answer without a delta outstanding");
            if (replyTimer != null) replyTimer.cancel();
            switch (m) {
                case PeersCodec.Ack a -> {
                    if (a.logId() != logId || a.upTo() != inflightUpTo) {
                        throw new PeerExchangeException("ack for log " + Long.toHexString(a.logId()) + " up to " + a.upTo()
                                + ", expected log " + Long.toHexString(logId) + " up to " + inflightUpTo);
                    }
                    inflightUpTo = -1;
                    setCursor(peer, a.upTo());
                    sendNext();
                }
                case PeersCodec.StartOver so -> {
                    if (startedOver) throw new PeerExchangeException("second start-over request in one session");
                    startedOver = true;
                    inflightUpTo = -1;
                    host.counters().increment(START_OVER_RECEIVED);
                    log.info("peer={} asks to start over ({}); sending our whole log", peer, so.reason());
                    setCursor(peer, 0);
                    sendNext();
                }
                case PeersCodec.Delta d -> throw new PeerExchangeException("delta sent on our own exchange stream");
            }
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (!finished) finish(new PeerExchangeException(peer + " closed the exchange stream before answering"));
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (!finished) {
                finish(cause != null ? cause : new PeerExchangeException("exchange stream with " + peer + " closed"));
            }
        }

        void finish(Throwable err) {
            if (finished) return;
            finished = true;
            if (replyTimer != null) replyTimer.cancel();
            sessions.remove(peer, this);
            if (err == null) {
                if (stream != null) stream.close();
                done.complete(new ExchangeResult(peer, entriesSent, batches, startedOver, cursorFor(peer)));
            } else {
                if (stream != null) stream.reset();
                host.counters().increment(EXCHANGE_FAILED);
                done.completeExceptionally(err);
                retryOnNewerConnection(err);
            }
        }

        /**
         * A session that failed because its connection went away (not because the peer broke the protocol or did
         * not answer) is retried at once if the peer has since passed the handshake on another open connection;
         * e.g. after the peer restarted, the old connection lingers until its close arrives.
         */
        private void retryOnNewerConnection(Throwable err) {
            if (closed || err instanceof PeerExchangeException || err instanceof TimeoutException
                    || err instanceof IllegalStateException) {
                return;
            }
            Connection now = readyConnections.get(peer);
            if (now == null || now == connection || !now.isOpen()) return;
            log.debug("retrying the exchange with {} on its newer connection", peer);
            startSession(peer).whenComplete((r, e) -> {
                if (e != null) log.debug("exchange with {} failed again: {}", peer, e.getMessage());
            });
        }
    }

    // ---- receiving (loop) --------------------------------------------------------------------------------------

    private final class Inbound implements ProtocolHandler {
        @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
            if (closed) {
                stream.reset();
                return (s, d) -> {};
            }
            return new Receiver(stream.connection().remotePeer());
        }
    }

    /**
     * Runs {@code task} once {@code peer} has passed the handshake on our side. The remote may finish its side
     * first and open a stream while our verdict is still in flight, so its first delta may arrive a moment before
     * our READY; it waits for it up to {@link PeerExchangeConfig#replyTimeoutMs()}, then the stream is reset and
     * counted ({@value #REFUSED_NOT_READY}).
     */
    private void whenPeerReady(PeerId peer, Stream stream, Runnable task) {
        if (host.handshakeOf(peer) != null) {
            task.run();
            return;
        }
        List<Waiting> waiting = waitingForReady.computeIfAbsent(peer, k -> new ArrayList<>());
        if (waiting.size() >= MAX_WAITING_PER_PEER) {
            refuseNotReady(peer, stream);
            return;
        }
        Waiting w = new Waiting(peer, stream, task);
        waiting.add(w);
        w.timer = loop.schedule(() -> {
            List<Waiting> list = waitingForReady.get(peer);
            if (list != null && list.remove(w) && list.isEmpty()) waitingForReady.remove(peer);
            w.refuse();
        }, config.replyTimeoutMs());
    }

    /** A delta waiting for its sender's handshake to pass on our side. */
    private final class Waiting {
        final PeerId peer;
        final Stream stream;
        final Runnable task;
        EventLoop.Cancellable timer;
        boolean done;

        Waiting(PeerId peer, Stream stream, Runnable task) {
            this.peer = peer;
            this.stream = stream;
            this.task = task;
        }

        void run() {
            if (done) return;
            done = true;
            if (timer != null) timer.cancel();
            task.run();
        }

        void refuse() {
            if (done) return;
            done = true;
            if (timer != null) timer.cancel();
            refuseNotReady(peer, stream);
        }
    }

    private void refuseNotReady(PeerId peer, Stream stream) {
        host.counters().increment(REFUSED_NOT_READY);
        log.debug("refusing peer exchange from {}: it has not passed the handshake", peer);
        stream.reset();
    }

    /** A counterparty's exchange stream: deltas in, acks or start-over out. */
    private final class Receiver implements StreamHandler {
        final PeerId from;
        final FrameDecoder decoder = new FrameDecoder(config.maxMessageBytes());
        boolean busy, failed;
        int messages;

        Receiver(PeerId from) { this.from = from; }

        @Override public void onData(Stream s, byte[] data) {
            if (failed) return;
            try {
                decoder.feed(data, frame -> {
                    if (busy) throw new PeerExchangeException("delta sent before the previous one was answered");
                    if (++messages > MAX_MESSAGES_PER_STREAM) {
                        throw new PeerExchangeException("more than " + MAX_MESSAGES_PER_STREAM + " messages on one stream");
                    }
                    PeersCodec.Msg m = PeersCodec.decode(frame, config);
                    if (!(m instanceof PeersCodec.Delta d)) {
                        throw new PeerExchangeException("expected a delta, got " + m.getClass().getSimpleName());
                    }
                    busy = true;
                    whenLoaded(() -> whenPeerReady(from, s, () -> onDelta(s, d)));
                });
            } catch (IllegalArgumentException e) {
                failed = true;
                host.counters().increment(MALFORMED);
                log.debug("bad peer exchange message peer={}: {}", from, e.getMessage());
                s.reset();
            }
        }

        private void onDelta(Stream s, PeersCodec.Delta d) {
            if (failed) return;
            PexStore.Source src = sources.get(from);
            boolean sameLog = src != null && src.logId() == d.logId();
            long have = sameLog ? src.received() : 0;
            if (d.after() > have) {
                String reason = sameLog
                        ? "we hold your log up to " + have + ", not " + d.after()
                        : "we hold nothing of your log " + Long.toHexString(d.logId());
                host.counters().increment(START_OVER_SENT);
                log.info("asking peer={} to start over: {}", from, reason);
                s.write(FrameDecoder.frame(PeersCodec.encode(new PeersCodec.StartOver(d.logId(), reason))));
                busy = false;
                return;
            }
            long now = loop.nowMs();
            PeerId self = host.peerId();
            List<KnownPeer> updated = new ArrayList<>();
            for (PeerEntry e : d.entries()) {
                if (e.peer().equals(self) || e.peer().equals(from)) continue;
                long seen = Math.min(e.lastSeenMs(), now);
                KnownPeer cur = known.get(e.peer());
                if (cur != null && cur.lastSeenMs() > seen) continue;
                KnownPeer k = new KnownPeer(e.peer(), e.addresses(), seen, from);
                known.put(e.peer(), k);
                updated.add(k);
                if (!e.addresses().isEmpty()) host.addAddresses(e.peer(), e.addresses());
            }
            List<PeerId> evictedKnown = new ArrayList<>();
            if (known.size() > config.maxKnownPeers()) {
                known.values().stream().sorted(Comparator.comparingLong(KnownPeer::lastSeenMs))
                        .limit(known.size() - config.maxKnownPeers()).forEach(k -> evictedKnown.add(k.peer()));
                evictedKnown.forEach(known::remove);
                updated.removeIf(k -> !known.containsKey(k.peer()));
            }
            PexStore.Source next = new PexStore.Source(from, d.logId(), Math.max(have, d.upTo()), now);
            sources.put(from, next);
            List<PeerId> evictedSources = new ArrayList<>();
            if (sources.size() > config.maxCounterparties()) {
                sources.values().stream().filter(x -> !x.peer().equals(from))
                        .sorted(Comparator.comparingLong(PexStore.Source::updatedMs))
                        .limit(sources.size() - config.maxCounterparties()).forEach(x -> evictedSources.add(x.peer()));
                evictedSources.forEach(sources::remove);
            }
            host.counters().increment(DELTAS_RECEIVED);
            host.counters().add(ENTRIES_RECEIVED, d.entries().size());
            byte[] ack = FrameDecoder.frame(PeersCodec.encode(new PeersCodec.Ack(d.logId(), d.upTo())));
            if (store == null) {
                busy = false;
                s.write(ack);
                return;
            }
            store.received(next, evictedSources, updated, evictedKnown).whenComplete((v, err) -> loop.execute(() -> {
                if (err != null) {
                    log.warn("cannot store peer exchange delta from {}: {}", from, err.getMessage());
                    failed = true;
                    s.reset(); // no ack: the sender will send it again
                    return;
                }
                busy = false;
                s.write(ack);
            }));
        }

        @Override public void onRemoteWriteClosed(Stream s) { s.close(); }
    }
}
