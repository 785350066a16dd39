package io.peersocket.protocol.content;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.InvalidChunkException;
import io.peersocket.identity.PeerId;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Push sync, {@value Content#PUSHSYNC_ID} (see {@link Content}): a chunk is forwarded hop by hop, like a
 * retrieval, to peers strictly closer to its address, until it reaches a storer — a node whose neighbourhood
 * covers the address (PO ≥ depth) or that knows no closer peer. The storer verifies and stores the chunk and signs
 * a {@link Receipt}, which travels back along the path; every hop checks the chunk against its address and the
 * receipt's signature. A hop that fails or times out is replaced by the next closest peer; if none is left the
 * forwarding node, the closest reachable one, stores the chunk and signs the receipt itself. Counters
 * {@code content.push.*}. Event loop only.
 */
final class PushSync {
    private static final Logger log = LoggerFactory.getLogger(PushSync.class);

    private final Content c;
    private final Channel ch;
    private long nextId = 1;
    private final Map<Long, Attempt> attempts = new HashMap<>();
    /** Chunks being pushed, by peer: pull sync does not offer them to that peer meanwhile. */
    private final Map<PeerId, Map<ChunkAddress, Integer>> pushing = new HashMap<>();
    /** Longest time a chunk is held back from pull sync for a push that has not ended, ms. */
    static final long HOLD_BACK_MS = 120_000;
    /** Chunks held back from pull sync (about to be pushed, or being pushed) → loop time the hold lapses. */
    private final Map<ChunkAddress, Long> held = new HashMap<>();

    private final class Job {
        final Chunk chunk;
        final int hops;
        final PeerId requester; // null for a local push
        final long requestId;
        final CompletableFuture<Receipt> local;
        final Set<PeerId> tried = new HashSet<>();

        Job(Chunk chunk, int hops, PeerId requester, long requestId, CompletableFuture<Receipt> local) {
            this.chunk = chunk;
            this.hops = hops;
            this.requester = requester;
            this.requestId = requestId;
            this.local = local;
        }
    }

    private record Attempt(long id, PeerId peer, Job job, EventLoop.Cancellable timer) {}

    PushSync(Content c) {
        this.c = c;
        this.ch = new Channel(c.host, Content.PUSHSYNC_ID, "push", c.scheduler, c.reputation,
                m -> m instanceof ContentCodec.Push || m instanceof ContentCodec.Receipt || m instanceof ContentCodec.PushFailed,
                this::onMessage, this::onPeerGone);
    }

    CompletableFuture<Receipt> push(Chunk chunk) {
        c.counters.increment("content.push.started");
        CompletableFuture<Receipt> out = new CompletableFuture<>();
        ChunkAddress address = chunk.address();
        held.put(address, c.loop.nowMs() + HOLD_BACK_MS);
        out.whenComplete((r, e) -> c.loop.execute(() -> {
            held.remove(address);
            c.pullSync.onPushDone(address);
        }));
        c.when(c.local.put(chunk, true), (s, err) -> {
            if (err != null) {
                out.completeExceptionally(err);
                return;
            }
            route(new Job(chunk, c.config.maxHops(), null, 0, out));
        });
        return out;
    }

    /** Stores here if this node is a storer, else forwards. */
    private void route(Job job) {
        if (c.isStorerFor(job.chunk.address()) || job.hops == 0) {
            storeAndReceipt(job);
        } else {
            next(job);
        }
    }

    private void storeAndReceipt(Job job) {
        c.when(c.local.put(job.chunk, job.requester == null), (s, err) -> {
            if (err != null) {
                c.counters.increment("content.push.store_failed");
                complete(job, null, ContentCodec.REASON_OVERLOADED);
                return;
            }
            c.counters.increment("content.push.stored");
            complete(job, Receipt.sign(c.key, job.chunk.address()), 0);
        });
    }

    private void next(Job job) {
        Set<PeerId> exclude = new HashSet<>(job.tried);
        if (job.requester != null) exclude.add(job.requester);
        List<PeerId> cands = job.tried.size() >= c.config.maxAttempts() ? List.of()
                : c.closest(job.chunk.address(), c.overlay, exclude);
        if (cands.isEmpty()) {
            // the closest reachable node keeps it
            c.counters.increment("content.push.fallback_stored");
            storeAndReceipt(job);
            return;
        }
        PeerId peer = cands.get(0);
        job.tried.add(peer);
        long id = nextId++;
        int hops = Math.max(0, job.hops - 1);
        EventLoop.Cancellable timer = c.loop.schedule(() -> {
            Attempt a = attempts.remove(id);
            if (a == null) return;
            done(a);
            c.counters.increment("content.push.timeout");
            c.reputation.penalize(a.peer, "unanswered", Reputation.UNANSWERED);
            next(a.job);
        }, (hops + 1L) * c.config.hopTimeoutMs());
        attempts.put(id, new Attempt(id, peer, job, timer));
        pushing.computeIfAbsent(peer, k -> new HashMap<>()).merge(job.chunk.address(), 1, Integer::sum);
        c.counters.increment("content.push.forwarded");
        c.counters.add("content.push.payload_out", job.chunk.data().length);
        ch.send(peer, BandwidthScheduler.Priority.LIVE,
                new ContentCodec.Push(id, hops, job.chunk.address().toBytes(), job.chunk.data()), false);
    }

    private void complete(Job job, Receipt r, int reason) {
        if (job.local != null) {
            if (r != null) job.local.complete(r);
            else job.local.completeExceptionally(new ContentException("push of " + job.chunk.address().shortString()
                    + " failed: " + Retrieval.reasonText(reason)));
            return;
        }
        if (r != null) {
            ch.send(job.requester, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Receipt(job.requestId,
                    r.address().toBytes(), r.storer().toBytes(), r.signature()), false);
        } else {
            ch.send(job.requester, BandwidthScheduler.Priority.CONTROL, new ContentCodec.PushFailed(job.requestId, reason), false);
        }
    }

    void onPeerGone(PeerId peer) {
        for (Attempt a : new ArrayList<>(attempts.values())) {
            if (!a.peer.equals(peer)) continue;
            attempts.remove(a.id);
            a.timer.cancel();
            done(a);
            next(a.job);
        }
        ch.dropPeer(peer);
    }

    private void onMessage(PeerId from, ContentCodec.Msg m) {
        switch (m) {
            case ContentCodec.Push p -> {
                c.counters.increment("content.push.received");
                if (c.inFlight.containsKey(ContentCodec.prefix(p.address()))) c.counters.increment("content.push.raced_sync");
                ChunkAddress address = ChunkAddress.of(p.address());
                Chunk chunk;
                try {
                    chunk = Chunk.decode(address, p.payload());
                } catch (InvalidChunkException e) {
                    c.counters.increment("content.push.invalid_chunk");
                    c.reputation.penalize(from, "invalid_chunk", Reputation.INVALID_CHUNK);
                    log.debug("push from {} rejected: {}", from, e.getMessage());
                    ch.send(from, BandwidthScheduler.Priority.CONTROL, new ContentCodec.PushFailed(p.id(), ContentCodec.REASON_INVALID), false);
                    return;
                }
                route(new Job(chunk, p.hops(), from, p.id(), null));
            }
            case ContentCodec.Receipt r -> {
                Attempt a = attempts.get(r.id());
                if (a == null || !a.peer.equals(from)) {
                    c.counters.increment("content.push.late");
                    return;
                }
                Receipt receipt;
                try {
                    receipt = new Receipt(ChunkAddress.of(r.address()), io.peersocket.identity.PeerId.fromBytes(r.storer()), r.signature());
                } catch (IllegalArgumentException e) {
                    receipt = null;
                }
                if (receipt == null || !receipt.address().equals(a.job.chunk.address()) || !receipt.verify()) {
                    attempts.remove(r.id());
                    a.timer.cancel();
                    done(a);
                    c.counters.increment("content.push.bad_receipt");
                    c.reputation.penalize(from, "bad_receipt", Reputation.LIED);
                    next(a.job);
                    return;
                }
                attempts.remove(r.id());
                a.timer.cancel();
                c.reputation.reward(from);
                if (receipt.storer().equals(from)) c.pullSync.knownBy(from, receipt.address()); // it holds the chunk
                done(a);
                c.counters.increment("content.push.receipt");
                complete(a.job, receipt, 0);
            }
            case ContentCodec.PushFailed f -> {
                Attempt a = attempts.remove(f.id());
                if (a == null) return;
                a.timer.cancel();
                done(a);
                if (f.reason() == ContentCodec.REASON_INVALID) { // we sent a valid chunk: the peer lies
                    c.reputation.penalize(from, "lied", Reputation.LIED);
                }
                next(a.job);
            }
            default -> throw new ContentProtocolException("unexpected " + m);
        }
    }

    /**
     * Marks chunks about to be stored and pushed (see {@link Content#holdBack}): pull sync offers them to no one
     * until their push is over, or for at most {@value #HOLD_BACK_MS} ms. Loop only.
     */
    void holdBack(java.util.Collection<ChunkAddress> addresses) {
        long until = c.loop.nowMs() + HOLD_BACK_MS;
        for (ChunkAddress a : addresses) held.put(a, until);
    }

    /**
     * True while this node is about to push {@code a} or pushes it to any peer. Pull sync holds such chunks back from
     * every downstream until the push is over, so a storer never gets a chunk both by push and by a neighbour's sync
     * (one transfer each). Loop only.
     */
    boolean isPushing(ChunkAddress a) {
        Long until = held.get(a);
        if (until != null) {
            if (until > c.loop.nowMs()) return true;
            held.remove(a); // lapsed: the push never came (a share that failed part-way)
        }
        for (Map<ChunkAddress, Integer> m : pushing.values()) if (m.containsKey(a)) return true;
        return false;
    }

    private void done(Attempt a) {
        Map<ChunkAddress, Integer> m = pushing.get(a.peer);
        if (m == null) return;
        ChunkAddress addr = a.job.chunk.address();
        if (m.merge(addr, -1, Integer::sum) <= 0) m.remove(addr);
        if (m.isEmpty()) pushing.remove(a.peer);
        if (!held.containsKey(addr)) c.pullSync.onPushDone(addr);
    }

    boolean uses(PeerId peer, io.peersocket.transport.Connection connection) { return ch.uses(peer, connection); }

    void close() {
        for (Attempt a : attempts.values()) {
            a.timer.cancel();
            if (a.job.local != null) a.job.local.completeExceptionally(new ContentException("content protocols closed"));
        }
        attempts.clear();
        ch.close();
    }
}
