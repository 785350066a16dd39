package io.peersocket.protocol.content;

import io.peersocket.content.BinEntry;
import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.InvalidChunkException;
import io.peersocket.content.StoredChunk;
import io.peersocket.identity.PeerId;
import io.peersocket.util.EventLoop;
import io.peersocket.util.Proximity;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Pull sync, {@value Content#SYNC_ID} (seed 001 "Syncing"; see {@link Content} and docs/wire.md).
 *
 * <p><b>Downstream</b>, per upstream peer and subscribed bin: SUBSCRIBE → the upstream's CURSOR (its last index in
 * the bin now). Two streams then run: <em>historical</em> asks for the gaps of the persisted {@link Intervals} in
 * {@code [1, cursor]} (GET with a closed range), <em>live</em> asks for everything after the cursor (GET open-ended;
 * the upstream answers when it has something). Each GET is answered by an OFFER of at most 128 hashes; the
 * downstream looks them up (offers name chunks by an 8-byte address prefix), answers a WANT bit vector of the ones
 * it neither has nor is fetching from another peer (those it waits for instead), and receives the wanted chunks as
 * DELIVERY instalments, each checked against its prefix. When every offered chunk is stored, the range is added to
 * the intervals, persisted, and the next GET goes out. Instalments that stop arriving are NACKed
 * ({@link ContentConfig#nackAfterMs}, {@link ContentConfig#maxNackRounds} rounds); after that, and for chunks the
 * upstream no longer has, that do not match their prefix, or whose other fetch failed, the batch fails and its range
 * is asked for again after {@link ContentConfig#retryBackoffMs} — from every upstream's session, so a chunk is asked
 * of a second peer only after the first failed. A chunk delivered that is already stored counts
 * {@code content.sync.duplicates}.
 *
 * <p><b>Upstream</b>: answers SUBSCRIBE with its cursor, GET with offered hashes from the chunk store's bin index
 * (a live GET is held until a chunk with a higher index is stored, then answered after a short coalescing delay),
 * WANT with deliveries — the first at once, the rest through the {@link BandwidthScheduler} in the live or
 * historical class, each saying when the next is due — and NACK by sending the missing instalments again. Hashes
 * the downstream is known to have (it delivered them to us, or signed a push receipt for them) are left out of
 * offers.
 *
 * <p>Bad input (offers that do not match the GET, wanted vectors or NACKs naming entries never offered,
 * deliveries never asked for, chunks not matching their address, upstreams that never deliver) is rejected,
 * counted ({@code content.sync.*}) and costs reputation. Event loop only.
 */
final class PullSync {
    private static final Logger log = LoggerFactory.getLogger(PullSync.class);
    /** A live GET is answered this long after the first new chunk, so offers carry several hashes. */
    static final long LIVE_COALESCE_MS = 100;
    /** Addresses remembered per peer as known to it. */
    static final int MAX_KNOWN_PER_PEER = 8192;

    private final Content c;
    private final Channel ch;
    private final IntervalStore store;
    private final Map<PeerId, Map<Integer, BinSync>> subs = new HashMap<>();
    /** Unsubscribed bins whose batches still receive their instalments (so nothing is sent twice). */
    private final Map<PeerId, Map<Integer, BinSync>> draining = new HashMap<>();
    private final Map<PeerId, Map<Integer, UpBin>> served = new HashMap<>();
    private final Map<PeerId, LinkedHashSet<ChunkAddress>> known = new HashMap<>();
    /** Upstream sessions per downstream peer: instalments queued for an ended session are not sent. */
    private final Map<PeerId, Long> sessions = new HashMap<>();
    private long nextSession = 1;
    private Runnable removeListener;
    private EventLoop.Cancellable timer;
    private boolean closed;

    // ---- downstream state ----

    private final class BinSync {
        final PeerId peer;
        final int bin;
        final Intervals iv = new Intervals();
        boolean loaded;
        long cursor = -1;
        long subscribedAt;
        long histTarget;
        final Flow live = new Flow(ContentCodec.LIVE), hist = new Flow(ContentCodec.HISTORICAL);
        boolean closed;

        BinSync(PeerId peer, int bin) {
            this.peer = peer;
            this.bin = bin;
        }

        Flow flow(int kind) { return kind == ContentCodec.LIVE ? live : hist; }
    }

    private final class Flow {
        final int kind;
        boolean getOutstanding;
        long getFrom, getTo;
        long liveFrom;
        Batch batch;
        EventLoop.Cancellable retry;

        Flow(int kind) { this.kind = kind; }
    }

    private final class Batch {
        final long from, to;
        final long[] addrs; // offered address prefixes
        final TreeSet<Integer> pending = new TreeSet<>();
        final Map<Integer, CompletableFuture<Chunk>> mine = new HashMap<>();
        int unresolved;
        boolean failed, done;
        int nackRounds;
        EventLoop.Cancellable nackTimer;

        Batch(long from, long to, long[] addrs) {
            this.from = from;
            this.to = to;
            this.addrs = addrs;
        }
    }

    // ---- upstream state ----

    private static final class UpBin {
        long heldFrom = -1; // where the held live get scans from
        long reportFrom = -1; // the from of the downstream's live get (heldFrom moves past hashes it is known to have)
        boolean answerScheduled;
        final Map<Integer, Offered> offered = new HashMap<>();
    }

    private record Offered(long to, ChunkAddress[] addrs, Set<Integer> wanted) {}

    PullSync(Content c, IntervalStore store) {
        this.c = c;
        this.store = store;
        this.ch = new Channel(c.host, Content.SYNC_ID, "sync", c.scheduler, c.reputation, m -> switch (m) {
            case ContentCodec.Subscribe s -> true;
            case ContentCodec.Cursor s -> true;
            case ContentCodec.Get s -> true;
            case ContentCodec.Offer s -> true;
            case ContentCodec.Want s -> true;
            case ContentCodec.Delivery s -> true;
            case ContentCodec.Nack s -> true;
            case ContentCodec.Unsubscribe s -> true;
            default -> false;
        }, this::onMessage, p -> { });
    }

    void start() {
        if (closed) return;
        removeListener = c.local.addListener(this::onStored);
        tick();
    }

    private void tick() {
        if (closed) return;
        reconcile();
        timer = c.loop.schedule(this::tick, c.config.syncIntervalMs());
    }

    Map<PeerId, List<Integer>> subscriptions() {
        Map<PeerId, List<Integer>> m = new HashMap<>();
        subs.forEach((p, bins) -> m.put(p, new ArrayList<>(new TreeMap<>(bins).keySet())));
        return m;
    }

    /** A human-readable dump of the downstream state for {@code upstream} (status, debugging). */
    String describe(PeerId upstream) {
        Map<Integer, BinSync> m = subs.get(upstream);
        if (m == null) return "no subscription";
        if (timer == null) return "sync timer not running";
        StringBuilder sb = new StringBuilder();
        for (BinSync bs : new TreeMap<>(m).values()) {
            sb.append("bin ").append(bs.bin).append(" (subscribed ").append(c.loop.nowMs() - bs.subscribedAt).append(" ms ago): cursor ").append(bs.cursor).append(", loaded ").append(bs.loaded)
                    .append(", intervals ").append(bs.iv);
            for (Flow f : List.of(bs.live, bs.hist)) {
                sb.append(f.kind == ContentCodec.LIVE ? "; live" : "; hist").append(f.getOutstanding ? " get(" + f.getFrom + "," + f.getTo + ")" : "");
                if (f.batch != null) sb.append(" batch(").append(f.batch.from).append(",").append(f.batch.to).append("] pending ")
                        .append(f.batch.pending).append(" unresolved ").append(f.batch.unresolved);
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    /** The bins of {@code peer} this node is responsible for, by the depth rule. */
    private Set<Integer> desiredBins(PeerId peer, int depth) {
        int po = Proximity.order(c.overlay, c.peers.get(peer));
        Set<Integer> bins = new HashSet<>();
        if (po >= depth) {
            for (int b = depth; b <= ContentCodec.MAX_BIN; b++) bins.add(b);
        } else if (c.config.syncOwnBin() && po <= ContentCodec.MAX_BIN) {
            bins.add(po);
        }
        return bins;
    }

    /** Brings subscriptions in line with the connected peers and depth. */
    void reconcile() {
        if (closed || !c.config.pullSync()) return;
        int depth = c.depth();
        for (PeerId p : new ArrayList<>(subs.keySet())) if (!c.peers.containsKey(p) || c.reputation.banned(p)) dropPeer(p, true);
        for (PeerId p : c.peers.keySet()) {
            if (c.reputation.banned(p)) continue;
            Set<Integer> want = desiredBins(p, depth);
            Map<Integer, BinSync> have = subs.computeIfAbsent(p, k -> new HashMap<>());
            long now = c.loop.nowMs();
            for (Integer b : new ArrayList<>(have.keySet())) {
                BinSync bs = have.get(b);
                if (!want.contains(b) || bs.cursor < 0 && now - bs.subscribedAt > CURSOR_TIMEOUT_MS) {
                    if (want.contains(b)) c.counters.increment("content.sync.cursor_timeout"); // subscribed again below
                    unsubscribe(have.remove(b), true);
                }
            }
            List<Integer> fresh = new ArrayList<>();
            for (int b : new java.util.TreeSet<>(want)) if (!have.containsKey(b)) {
                subscribe(p, b, have);
                fresh.add(b);
            }
            // one SUBSCRIBE per run of consecutive bins
            for (int i = 0; i < fresh.size(); ) {
                int j = i;
                while (j + 1 < fresh.size() && fresh.get(j + 1) == fresh.get(j) + 1) j++;
                ch.send(p, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Subscribe(fresh.get(i), fresh.get(j)), false);
                i = j + 1;
            }
            if (have.isEmpty()) subs.remove(p);
        }
    }

    /** A subscription whose cursor has not come for this long is sent again, ms. */
    static final long CURSOR_TIMEOUT_MS = 10_000;

    private void subscribe(PeerId peer, int bin, Map<Integer, BinSync> have) {
        BinSync bs = new BinSync(peer, bin);
        bs.subscribedAt = c.loop.nowMs();
        have.put(bin, bs);
        c.counters.increment("content.sync.subscribed");
        c.when(store.load(peer, bin), (iv, err) -> {
            if (bs.closed) return;
            if (err != null) log.warn("sync: cannot load intervals of {} bin {}: {}", peer, bin, err.getMessage());
            boolean grew = bs.iv.size() > 0;
            if (iv != null) for (long[] r : iv.list()) bs.iv.add(r[0], r[1]);
            bs.loaded = true;
            if (grew) save(bs);
            maybeStart(bs);
        });
    }

    /**
     * Ends a subscription. With {@code tell} (the peer is still connected) batches in progress keep receiving their
     * instalments until they complete; otherwise (the peer is gone) they are abandoned.
     */
    private void unsubscribe(BinSync bs, boolean tell) {
        bs.closed = true;
        if (tell) ch.send(bs.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Unsubscribe(bs.bin), false);
        boolean busy = false;
        for (Flow f : List.of(bs.live, bs.hist)) {
            if (f.retry != null) f.retry.cancel();
            if (f.batch == null) continue;
            if (tell && !f.batch.pending.isEmpty()) busy = true;
            else abandon(bs, f, f.batch);
        }
        if (busy) draining.computeIfAbsent(bs.peer, k -> new HashMap<>()).put(bs.bin, bs);
    }

    private void drained(BinSync bs) {
        if (bs.live.batch != null || bs.hist.batch != null) return;
        Map<Integer, BinSync> m = draining.get(bs.peer);
        if (m != null && m.get(bs.bin) == bs) {
            m.remove(bs.bin);
            if (m.isEmpty()) draining.remove(bs.peer);
        }
    }

    private void dropPeer(PeerId p, boolean tell) {
        Map<Integer, BinSync> m = subs.remove(p);
        if (m != null) for (BinSync bs : m.values()) unsubscribe(bs, tell && c.host.isConnected(p));
        if (!tell) {
            Map<Integer, BinSync> d = draining.remove(p);
            if (d != null) for (BinSync bs : d.values()) {
                for (Flow f : List.of(bs.live, bs.hist)) if (f.batch != null) abandon(bs, f, f.batch);
            }
        }
    }

    void onPeerGone(PeerId p) {
        dropPeer(p, false);
        served.remove(p);
        sessions.remove(p);
        known.remove(p);
        ch.dropPeer(p);
        reconcile();
    }

    // ---- downstream flows ---------------------------------------------------------------------------

    /** Starts historical sync once both the intervals and the cursor are known (live runs from the cursor). */
    private void maybeStart(BinSync bs) {
        if (bs.closed || !bs.loaded || bs.cursor < 0) return;
        bs.histTarget = Math.max(bs.histTarget, bs.cursor);
        nextHist(bs);
    }

    private void save(BinSync bs) {
        store.save(bs.peer, bs.bin, bs.iv).whenComplete((v, e) -> {
            if (e != null) log.warn("sync: cannot save intervals of {} bin {}: {}", bs.peer, bs.bin, e.getMessage());
        });
    }

    private void nextLive(BinSync bs) {
        Flow f = bs.live;
        if (bs.closed || f.getOutstanding || f.batch != null) return;
        f.getOutstanding = true;
        f.getFrom = f.liveFrom;
        f.getTo = 0;
        ch.send(bs.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Get(bs.bin, ContentCodec.LIVE, f.getFrom, 0), false);
    }

    private void nextHist(BinSync bs) {
        Flow f = bs.hist;
        if (bs.closed || !bs.loaded || f.getOutstanding || f.batch != null || (f.retry != null)) return;
        long[] gap = bs.histTarget >= 1 ? bs.iv.firstGap(1, bs.histTarget) : null;
        if (gap == null) return; // historical sync complete (for now)
        f.getOutstanding = true;
        f.getFrom = gap[0] - 1;
        f.getTo = gap[1];
        c.counters.increment("content.sync.get.historical");
        ch.send(bs.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Get(bs.bin, ContentCodec.HISTORICAL, f.getFrom, f.getTo), false);
    }

    private BinSync lookup(PeerId from, int bin) {
        Map<Integer, BinSync> m = subs.get(from);
        BinSync bs = m == null ? null : m.get(bin);
        return bs == null || bs.closed ? null : bs;
    }

    private void onCursor(PeerId from, ContentCodec.Cursor cur) {
        for (int i = 0; i < cur.lasts().length; i++) {
            BinSync bs = lookup(from, cur.lo() + i);
            if (bs == null) {
                c.counters.increment("content.sync.unsolicited.cursor");
                continue;
            }
            if (bs.cursor >= 0) {
                // the answer to a later SUBSCRIBE of this bin (an earlier one's crossed it): the upstream now holds
                // a live get from this cursor
                c.counters.increment("content.sync.cursor_again");
                Flow live = bs.live;
                if (live.getOutstanding && live.batch == null) live.getFrom = live.liveFrom = cur.lasts()[i];
                bs.cursor = Math.max(bs.cursor, cur.lasts()[i]);
                bs.histTarget = Math.max(bs.histTarget, bs.cursor);
                nextHist(bs);
                continue;
            }
            bs.cursor = cur.lasts()[i];
            // the subscription implies a live get from the cursor
            bs.live.getOutstanding = true;
            bs.live.getFrom = bs.cursor;
            bs.live.getTo = 0;
            bs.live.liveFrom = bs.cursor;
            maybeStart(bs);
        }
    }

    private void onOffer(PeerId from, ContentCodec.Offer o) {
        BinSync bs = lookup(from, o.bin());
        if (bs == null) {
            c.counters.increment("content.sync.unsolicited.offer");
            return;
        }
        Flow f = bs.flow(o.kind());
        if (!f.getOutstanding) { // e.g. answering a get of an earlier session that crossed our new subscribe
            c.counters.increment("content.sync.unsolicited.offer");
            return;
        }
        boolean matches = f.getOutstanding && o.from() == f.getFrom && o.to() > o.from()
                && (f.kind == ContentCodec.LIVE || o.to() <= f.getTo);
        if (!matches) {
            c.counters.increment("content.sync.offer_mismatch");
            throw new ContentProtocolException("offer (" + o.from() + ", " + o.to() + "] of bin " + o.bin()
                    + " does not answer the get (" + f.getFrom + ", " + (f.getTo == 0 ? "live" : f.getTo) + "]");
        }
        f.getOutstanding = false;
        long[] addrs = o.prefixes();
        Batch b = new Batch(o.from(), o.to(), addrs);
        f.batch = b;
        c.counters.increment("content.sync.offers");
        c.counters.add("content.sync.offered", addrs.length);
        if (addrs.length == 0) {
            completeBatch(bs, f, b);
            return;
        }
        c.when(c.local.hasPrefixes(addrs), (BitSet have, Throwable err) -> {
            if (b.done || bs.closed) return;
            if (err != null) have = new BitSet();
            boolean[] wanted = new boolean[addrs.length];
            boolean any = false;
            for (int i = 0; i < addrs.length; i++) {
                if (have.get(i)) continue;
                b.unresolved++;
                CompletableFuture<Chunk> other = c.inFlight.get(addrs[i]);
                if (other != null) { // being fetched from another peer: wait for it; if that fails, ask again later
                    c.counters.increment("content.sync.waited_for_other");
                    int seq = i;
                    c.when(other, (chunk, e) -> {
                        if (b.done) return;
                        if (e == null) resolve(bs, f, b);
                        else fallback(bs, f, b, seq);
                    });
                    continue;
                }
                CompletableFuture<Chunk> mine = new CompletableFuture<>();
                c.inFlight.put(addrs[i], mine);
                b.mine.put(i, mine);
                b.pending.add(i);
                wanted[i] = true;
                any = true;
            }
            if (any) {
                c.counters.add("content.sync.wanted", b.pending.size());
                ch.send(bs.peer, BandwidthScheduler.Priority.CONTROL,
                        new ContentCodec.Want(bs.bin, f.kind, b.to, ContentCodec.bits(wanted)), false);
                armNack(bs, f, b, c.config.nackAfterMs());
            }
            if (b.unresolved == 0) completeBatch(bs, f, b);
        });
    }

    private void armNack(BinSync bs, Flow f, Batch b, long delayMs) {
        if (b.nackTimer != null) b.nackTimer.cancel();
        b.nackTimer = c.loop.schedule(() -> onNackTimer(bs, f, b), delayMs);
    }

    private void onNackTimer(BinSync bs, Flow f, Batch b) {
        b.nackTimer = null;
        if (b.done || b.pending.isEmpty()) return;
        if (b.nackRounds < c.config.maxNackRounds()) {
            b.nackRounds++;
            c.counters.increment("content.sync.nack");
            int[] seqs = b.pending.stream().mapToInt(Integer::intValue).toArray();
            ch.send(bs.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Nack(bs.bin, f.kind, b.to, seqs), false);
            armNack(bs, f, b, c.config.nackAfterMs());
            return;
        }
        c.counters.increment("content.sync.undelivered");
        c.reputation.penalize(bs.peer, "unanswered", Reputation.UNANSWERED * 4);
        for (int seq : new ArrayList<>(b.pending)) {
            b.pending.remove(seq);
            failMine(b, seq);
            fallback(bs, f, b, seq);
        }
    }

    private void onDelivery(PeerId from, ContentCodec.Delivery d) {
        BinSync bs = lookup(from, d.bin());
        if (bs == null) {
            Map<Integer, BinSync> m = draining.get(from);
            bs = m == null ? null : m.get(d.bin());
        }
        deliveryFor(from, bs, d);
    }

    private void deliveryFor(PeerId from, BinSync bs, ContentCodec.Delivery d) {
        Flow f = bs == null ? null : bs.flow(d.kind());
        Batch b = f == null ? null : f.batch;
        if (b == null || b.to != d.to() || !b.pending.contains(d.seq())) {
            // not (or no longer) asked for: a resent instalment, or one of an ended session; dropped unread
            c.counters.increment("content.sync.unsolicited.delivery");
            return;
        }
        b.pending.remove(d.seq());
        if (!b.pending.isEmpty()) armNack(bs, f, b, d.nextMs() + c.config.nackAfterMs());
        else if (b.nackTimer != null) b.nackTimer.cancel();
        int seq = d.seq();
        long prefix = b.addrs[seq];
        if (d.gone()) {
            c.counters.increment("content.sync.gone");
            failMine(b, seq);
            fallback(bs, f, b, seq);
            return;
        }
        Chunk chunk;
        try {
            chunk = Chunk.decode(d.payload());
            if (ContentCodec.prefix(chunk.address()) != prefix) {
                throw new InvalidChunkException("chunk content hashes to " + chunk.address() + ", not to the offered "
                        + String.format("%016x", prefix) + "…");
            }
        } catch (InvalidChunkException e) {
            c.counters.increment("content.sync.invalid_chunk");
            c.reputation.penalize(from, "invalid_chunk", Reputation.INVALID_CHUNK);
            log.debug("sync: {} delivered a bad chunk: {}", from, e.getMessage());
            failMine(b, seq);
            fallback(bs, f, b, seq);
            return;
        }
        c.reputation.reward(from);
        c.counters.increment("content.sync.delivered");
        c.counters.add("content.sync.payload_in", d.payload().length);
        knownBy(from, chunk.address());
        c.when(c.local.put(chunk, false), (StoredChunk s, Throwable err) -> {
            CompletableFuture<Chunk> mine = b.mine.remove(seq);
            if (c.inFlight.get(prefix) == mine) c.inFlight.remove(prefix);
            if (err != null) {
                if (mine != null) mine.completeExceptionally(err);
                b.failed = true;
                resolve(bs, f, b);
                return;
            }
            if (!s.added()) c.counters.increment("content.sync.duplicates");
            if (mine != null) mine.complete(chunk);
            resolve(bs, f, b);
        });
    }

    /** The chunk this batch fetched from its upstream did not come: release it for others. */
    private void failMine(Batch b, int seq) {
        CompletableFuture<Chunk> mine = b.mine.remove(seq);
        if (mine == null) return;
        if (c.inFlight.get(b.addrs[seq]) == mine) c.inFlight.remove(b.addrs[seq]);
        mine.completeExceptionally(new ContentException("not delivered by the upstream"));
    }

    /**
     * The chunk did not come: the batch fails, so its range stays uncovered and is asked for again after a backoff
     * (historical sync), from this upstream and — through their own sessions — from the others.
     */
    private void fallback(BinSync bs, Flow f, Batch b, int seq) {
        if (b.done) return;
        c.counters.increment("content.sync.fallback");
        b.failed = true;
        resolve(bs, f, b);
    }

    private void resolve(BinSync bs, Flow f, Batch b) {
        if (b.done) return;
        if (--b.unresolved <= 0) completeBatch(bs, f, b);
    }

    private void completeBatch(BinSync bs, Flow f, Batch b) {
        b.done = true;
        if (b.nackTimer != null) b.nackTimer.cancel();
        if (f.batch == b) f.batch = null;
        if (!b.failed) {
            bs.iv.add(b.from + 1, b.to);
            c.counters.increment("content.sync.batches");
            if (bs.loaded) save(bs);
        } else {
            c.counters.increment("content.sync.batch_failed");
        }
        if (bs.closed) {
            drained(bs);
            return;
        }
        if (f.kind == ContentCodec.LIVE) {
            f.liveFrom = b.to;
            if (b.failed) {
                bs.histTarget = Math.max(bs.histTarget, b.to);
                scheduleHistRetry(bs);
            }
            nextLive(bs);
        } else if (b.failed) {
            scheduleHistRetry(bs);
        } else {
            nextHist(bs);
        }
    }

    private void scheduleHistRetry(BinSync bs) {
        Flow f = bs.hist;
        if (f.retry != null) return;
        f.retry = c.loop.schedule(() -> {
            f.retry = null;
            nextHist(bs);
        }, c.config.retryBackoffMs());
    }

    /** Gives up a batch (unsubscribed or peer gone): its own fetches are released; waiting fetches fall back. */
    private void abandon(BinSync bs, Flow f, Batch b) {
        b.done = true;
        if (b.nackTimer != null) b.nackTimer.cancel();
        for (int seq : new ArrayList<>(b.mine.keySet())) failMine(b, seq);
        f.batch = null;
    }

    // ---- upstream -----------------------------------------------------------------------------------

    private UpBin up(PeerId peer, int bin) {
        return served.computeIfAbsent(peer, k -> new HashMap<>()).computeIfAbsent(bin, k -> new UpBin());
    }

    private void onGet(PeerId from, ContentCodec.Get g) {
        UpBin u = up(from, g.bin());
        if (g.kind() == ContentCodec.LIVE) {
            u.heldFrom = u.reportFrom = g.from();
            if (c.local.lastIndex(g.bin()) > g.from()) scheduleLiveAnswer(from, g.bin(), u, 0);
            return;
        }
        c.when(c.local.chunksInBin(g.bin(), g.from(), ContentCodec.MAX_BATCH), (List<BinEntry> es, Throwable err) -> {
            if (err != null) es = List.of();
            List<BinEntry> in = new ArrayList<>();
            for (BinEntry e : es) {
                if (e.binIndex() > g.to()) break;
                if (c.pushSync.isPushing(e.address())) { // being pushed: offer once the push is over
                    if (in.isEmpty()) {
                        c.loop.schedule(() -> onGet(from, g), 100);
                        return;
                    }
                    offer(from, g.bin(), ContentCodec.HISTORICAL, g.from(), in.get(in.size() - 1).binIndex(), in, u);
                    return;
                }
                in.add(e);
            }
            long to = in.size() == ContentCodec.MAX_BATCH && in.get(in.size() - 1).binIndex() < g.to()
                    ? in.get(in.size() - 1).binIndex() : g.to();
            offer(from, g.bin(), ContentCodec.HISTORICAL, g.from(), to, in, u);
        });
    }

    private void scheduleLiveAnswer(PeerId peer, int bin, UpBin u, long delayMs) {
        if (u.answerScheduled) return;
        u.answerScheduled = true;
        c.loop.schedule(() -> {
            u.answerScheduled = false;
            Map<Integer, UpBin> m = served.get(peer);
            if (m == null || m.get(bin) != u || u.heldFrom < 0) return;
            long from = u.heldFrom;
            long last = c.local.lastIndex(bin);
            if (last <= from) return;
            u.heldFrom = -1;
            c.when(c.local.chunksInBin(bin, from, ContentCodec.MAX_BATCH), (List<BinEntry> es, Throwable err) -> {
                if (err != null || es.isEmpty()) {
                    if (u.heldFrom < 0) u.heldFrom = from;
                    return;
                }
                long to = es.size() == ContentCodec.MAX_BATCH ? es.get(es.size() - 1).binIndex()
                        : Math.max(last, es.get(es.size() - 1).binIndex());
                for (int i = 0; i < es.size(); i++) {
                    if (!c.pushSync.isPushing(es.get(i).address())) continue;
                    // being pushed: offer up to the entry before, the rest once the push is over
                    if (i == 0) {
                        if (u.heldFrom < 0) u.heldFrom = from;
                        return;
                    }
                    es = es.subList(0, i);
                    to = es.get(i - 1).binIndex();
                    break;
                }
                offer(peer, bin, ContentCodec.LIVE, from, to, es, u);
                if (u.heldFrom >= 0) scheduleLiveAnswer(peer, bin, u, LIVE_COALESCE_MS); // nothing sent: still held
            });
        }, delayMs);
    }

    /** A push of {@code a} ended: live gets held back for it can be answered. */
    void onPushDone(ChunkAddress a) {
        int bin = a.proximityOrder(c.overlay);
        for (Map.Entry<PeerId, Map<Integer, UpBin>> e : served.entrySet()) {
            UpBin u = e.getValue().get(bin);
            if (u != null && u.heldFrom >= 0 && c.local.lastIndex(bin) > u.heldFrom) scheduleLiveAnswer(e.getKey(), bin, u, LIVE_COALESCE_MS);
        }
    }

    private void onStored(StoredChunk s) {
        if (closed || s.po() > ContentCodec.MAX_BIN) return;
        for (Map.Entry<PeerId, Map<Integer, UpBin>> e : served.entrySet()) {
            UpBin u = e.getValue().get(s.po());
            if (u != null && u.heldFrom >= 0 && s.binIndex() > u.heldFrom) scheduleLiveAnswer(e.getKey(), s.po(), u, LIVE_COALESCE_MS);
        }
    }

    private void offer(PeerId peer, int bin, int kind, long from, long to, List<BinEntry> entries, UpBin u) {
        LinkedHashSet<ChunkAddress> k = known.get(peer);
        List<BinEntry> out = new ArrayList<>(entries.size());
        for (BinEntry e : entries) {
            if (k != null && k.contains(e.address())) {
                c.counters.increment("content.sync.offer_skipped_known");
                continue;
            }
            out.add(e);
        }
        if (kind == ContentCodec.LIVE) {
            if (out.isEmpty()) { // nothing it lacks: keep holding the live get, past these
                c.counters.increment("content.sync.offer_suppressed");
                u.heldFrom = to;
                return;
            }
            from = u.reportFrom;
        }
        long[] idx = new long[out.size()];
        long[] as = new long[out.size()];
        ChunkAddress[] addrs = new ChunkAddress[out.size()];
        for (int i = 0; i < idx.length; i++) {
            idx[i] = out.get(i).binIndex();
            addrs[i] = out.get(i).address();
            as[i] = ContentCodec.prefix(addrs[i]);
        }
        u.offered.put(kind, new Offered(to, addrs, new HashSet<>()));
        ch.send(peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Offer(bin, kind, from, to, idx, as), false);
    }

    private void onWant(PeerId from, ContentCodec.Want w) {
        Map<Integer, UpBin> m = served.get(from);
        UpBin u = m == null ? null : m.get(w.bin());
        Offered o = u == null ? null : u.offered.get(w.kind());
        if (o == null || o.to() != w.to()) {
            c.counters.increment("content.sync.stale_want");
            return;
        }
        int n = o.addrs().length;
        if (w.bits().length > (n + 7) / 8) throw new ContentProtocolException("wanted vector of " + w.bits().length + " bytes for " + n + " offered hashes");
        List<Integer> seqs = new ArrayList<>();
        for (int i = 0; i < w.bits().length * 8; i++) {
            if (!w.wanted(i)) continue;
            if (i >= n) throw new ContentProtocolException("wanted entry " + i + " of " + n + " offered hashes");
            seqs.add(i);
        }
        o.wanted().addAll(seqs);
        deliver(from, w.bin(), w.kind(), o, seqs);
    }

    private void onNack(PeerId from, ContentCodec.Nack nk) {
        Map<Integer, UpBin> m = served.get(from);
        UpBin u = m == null ? null : m.get(nk.bin());
        Offered o = u == null ? null : u.offered.get(nk.kind());
        if (o == null || o.to() != nk.to()) {
            c.counters.increment("content.sync.stale_nack");
            return;
        }
        List<Integer> seqs = new ArrayList<>();
        for (int s : nk.seqs()) {
            if (!o.wanted().contains(s)) throw new ContentProtocolException("nack of instalment " + s + " that was never wanted");
            seqs.add(s);
        }
        c.counters.increment("content.sync.nack_in");
        deliver(from, nk.bin(), nk.kind(), o, seqs);
    }

    /** Sends instalments {@code seqs} of offer {@code o}: the first at once, the rest through the scheduler. */
    private void deliver(PeerId peer, int bin, int kind, Offered o, List<Integer> seqs) {
        if (seqs.isEmpty()) return;
        List<ChunkAddress> as = new ArrayList<>(seqs.size());
        for (int s : seqs) as.add(o.addrs()[s]);
        long session = sessions.computeIfAbsent(peer, k -> nextSession++);
        c.when(c.local.getAll(as), (List<Chunk> chunks, Throwable err) -> {
            if (!Long.valueOf(session).equals(sessions.get(peer))) return;
            BandwidthScheduler.Priority prio = kind == ContentCodec.LIVE ? BandwidthScheduler.Priority.LIVE : BandwidthScheduler.Priority.HISTORICAL;
            for (int i = 0; i < seqs.size(); i++) {
                Chunk chunk = err == null ? chunks.get(i) : null;
                byte[] data = chunk == null ? new byte[0] : chunk.data();
                long nextMs = i + 1 < seqs.size() ? Math.min(ContentCodec.MAX_NEXT_MS, c.scheduler.estimateDelayMs(peer, prio, data.length + 16)) : 0;
                ContentCodec.Delivery d = new ContentCodec.Delivery(bin, kind, o.to(), seqs.get(i), nextMs, chunk == null, data);
                c.counters.increment(chunk == null ? "content.sync.served_gone" : "content.sync.served");
                ch.send(peer, prio, d, i == 0, () -> Long.valueOf(session).equals(sessions.get(peer)));
            }
        });
    }

    /**
     * Remembers that {@code peer} has {@code a} (so it is not offered to it): only facts — it delivered the chunk
     * to us, or signed a receipt for it — never a send that may not have arrived.
     */
    void knownBy(PeerId peer, ChunkAddress a) {
        LinkedHashSet<ChunkAddress> s = known.computeIfAbsent(peer, k -> new LinkedHashSet<>());
        s.add(a);
        if (s.size() > MAX_KNOWN_PER_PEER) s.remove(s.iterator().next());
    }

    private void onMessage(PeerId from, ContentCodec.Msg m) {
        switch (m) {
            case ContentCodec.Subscribe s -> {
                c.counters.increment("content.sync.subscribe_in");
                Map<Integer, UpBin> mine = served.computeIfAbsent(from, k -> new HashMap<>());
                long[] lasts = new long[s.hi() - s.lo() + 1];
                for (int b = s.lo(); b <= s.hi(); b++) {
                    UpBin u = new UpBin(); // a new session, with a live get from the cursor
                    u.heldFrom = u.reportFrom = lasts[b - s.lo()] = c.local.lastIndex(b);
                    mine.put(b, u);
                }
                ch.send(from, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Cursor(s.lo(), lasts), false);
            }
            case ContentCodec.Unsubscribe s -> {
                Map<Integer, UpBin> mm = served.get(from);
                if (mm != null) mm.remove(s.bin());
            }
            case ContentCodec.Cursor cur -> onCursor(from, cur);
            case ContentCodec.Get g -> onGet(from, g);
            case ContentCodec.Offer o -> onOffer(from, o);
            case ContentCodec.Want w -> onWant(from, w);
            case ContentCodec.Delivery d -> onDelivery(from, d);
            case ContentCodec.Nack n -> onNack(from, n);
            default -> throw new ContentProtocolException("unexpected " + m);
        }
    }

    boolean uses(PeerId peer, io.peersocket.transport.Connection connection) { return ch.uses(peer, connection); }

    void close() {
        closed = true;
        if (timer != null) timer.cancel();
        if (removeListener != null) removeListener.run();
        for (PeerId p : new ArrayList<>(subs.keySet())) dropPeer(p, false);
        served.clear();
        ch.close();
    }
}
