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
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Retrieval, {@value Content#RETRIEVAL_ID} (see {@link Content}). A request names a chunk address and a hop
 * budget; a node that has the chunk answers with it, else it forwards the request (budget − 1) to its connected
 * peer closest to the address among those strictly closer than itself — so requests cannot loop — and relays the
 * answer. Concurrent requests for one address share one fetch (de-duplication); a requester that gives up sends
 * CANCEL and a fetch nobody waits for any more is cancelled upstream. A hop that answers not-found, fails, times
 * out ({@code (hops + 1) × hopTimeoutMs}) or delivers a chunk whose content does not match the address is replaced
 * by the next closest peer, at most {@code maxAttempts} peers. Chunks are verified before they are cached or
 * relayed. Counters {@code content.retrieval.*}. Event loop only.
 */
final class Retrieval {
    private static final Logger log = LoggerFactory.getLogger(Retrieval.class);

    private final Content c;
    private final Channel ch;
    private long nextId = 1;
    private final Map<ChunkAddress, Fetch> fetches = new HashMap<>();
    private final Map<Long, Attempt> attempts = new HashMap<>();
    /** Requests we serve by forwarding: requester → request id → fetch. */
    private final Map<PeerId, Map<Long, Fetch>> served = new HashMap<>();

    /** One requester of a fetch: a remote peer's request, or a local future. */
    private record Waiter(PeerId peer, long id, CompletableFuture<Chunk> local) {}

    private final class Fetch {
        final ChunkAddress address;
        final int hops; // hop budget given to the next peer
        final byte[] than; // only peers closer than this (null: any)
        final Set<PeerId> tried = new HashSet<>();
        final List<Waiter> waiters = new ArrayList<>();
        final CompletableFuture<Chunk> result = new CompletableFuture<>();
        Attempt current;
        int reason = ContentCodec.REASON_NO_ROUTE;

        Fetch(ChunkAddress address, int hops, byte[] than) {
            this.address = address;
            this.hops = hops;
            this.than = than;
        }
    }

    private record Attempt(long id, PeerId peer, Fetch fetch, EventLoop.Cancellable timer) {}

    Retrieval(Content c) {
        this.c = c;
        this.ch = new Channel(c.host, Content.RETRIEVAL_ID, "retrieval", c.scheduler, c.reputation,
                m -> m instanceof ContentCodec.Retrieve || m instanceof ContentCodec.Deliver
                        || m instanceof ContentCodec.NotFound || m instanceof ContentCodec.Cancel,
                this::onMessage, this::onPeerGone);
    }

    // ---- local requests -----------------------------------------------------------------------------

    /** Local store first, then a chunk already being fetched (by sync too), then the network. */
    CompletableFuture<Chunk> retrieve(ChunkAddress address) {
        c.counters.increment("content.retrieval.requested");
        CompletableFuture<Chunk> out = new CompletableFuture<>();
        c.when(c.local.get(address), (found, err) -> {
            if (found != null && found.isPresent()) {
                c.counters.increment("content.retrieval.local");
                out.complete(found.get());
                return;
            }
            CompletableFuture<Chunk> pending = c.inFlight.get(ContentCodec.prefix(address));
            if (pending != null && !fetches.containsKey(address)) {
                c.counters.increment("content.retrieval.joined_sync");
                c.when(pending, (ch, e) -> {
                    if (e == null) out.complete(ch);
                    else networkFetch(address, out);
                });
                return;
            }
            networkFetch(address, out);
        });
        return out;
    }

    private void networkFetch(ChunkAddress address, CompletableFuture<Chunk> out) {
        Fetch f = fetches.get(address);
        if (f != null) {
            c.counters.increment("content.retrieval.deduplicated");
        } else {
            f = start(new Fetch(address, c.config.maxHops(), null));
        }
        f.waiters.add(new Waiter(null, 0, out));
        if (f.result.isDone()) finish(f); // failed synchronously (no route)
    }

    private Fetch start(Fetch f) {
        fetches.put(f.address, f);
        c.inFlight.putIfAbsent(ContentCodec.prefix(f.address), f.result);
        next(f);
        return f;
    }

    // ---- attempts -----------------------------------------------------------------------------------

    /** Sends the request to the next untried peer, or fails the fetch. */
    private void next(Fetch f) {
        if (f.result.isDone()) return;
        f.current = null;
        PeerId peer = null;
        if (f.tried.size() < c.config.maxAttempts()) {
            Set<PeerId> exclude = new HashSet<>(f.tried);
            for (Waiter w : f.waiters) if (w.peer != null) exclude.add(w.peer);
            List<PeerId> cands = c.closest(f.address, f.than, exclude);
            if (!cands.isEmpty()) peer = cands.get(0);
        }
        if (peer == null) {
            fail(f, f.tried.isEmpty() ? f.reason : ContentCodec.REASON_NOT_FOUND);
            return;
        }
        f.tried.add(peer);
        long id = nextId++;
        long timeout = (f.hops + 1L) * c.config.hopTimeoutMs();
        PeerId p = peer;
        EventLoop.Cancellable timer = c.loop.schedule(() -> onTimeout(id), timeout);
        Attempt a = new Attempt(id, p, f, timer);
        attempts.put(id, a);
        f.current = a;
        c.counters.increment("content.retrieval.attempt");
        ch.send(p, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Retrieve(id, f.hops, f.address.toBytes()), false);
    }

    private void onTimeout(long id) {
        Attempt a = attempts.remove(id);
        if (a == null) return;
        c.counters.increment("content.retrieval.timeout");
        c.reputation.penalize(a.peer, "unanswered", Reputation.UNANSWERED);
        ch.send(a.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Cancel(id), false); // cancel the late request
        a.fetch.reason = ContentCodec.REASON_TIMEOUT;
        next(a.fetch);
    }

    /** The peer disconnected: its attempts fail over to other peers. */
    void onPeerGone(PeerId peer) {
        for (Attempt a : new ArrayList<>(attempts.values())) {
            if (!a.peer.equals(peer)) continue;
            attempts.remove(a.id);
            a.timer.cancel();
            next(a.fetch);
        }
        Map<Long, Fetch> s = served.remove(peer);
        if (s != null) for (Map.Entry<Long, Fetch> e : s.entrySet()) dropWaiter(e.getValue(), peer, e.getKey());
        ch.dropPeer(peer);
    }

    private void fail(Fetch f, int reason) {
        c.counters.increment("content.retrieval.failed");
        f.reason = reason;
        f.result.completeExceptionally(new ContentException("chunk " + f.address.shortString() + " not retrieved: "
                + reasonText(reason) + " (" + f.tried.size() + " peers tried)"));
        finish(f);
    }

    private void succeed(Fetch f, Chunk chunk) {
        f.result.complete(chunk);
        finish(f);
    }

    /** Answers every waiter of a completed fetch and forgets it. */
    private void finish(Fetch f) {
        if (fetches.get(f.address) == f) fetches.remove(f.address);
        if (c.inFlight.get(ContentCodec.prefix(f.address)) == f.result) c.inFlight.remove(ContentCodec.prefix(f.address));
        if (f.current != null) {
            attempts.remove(f.current.id);
            f.current.timer.cancel();
            f.current = null;
        }
        Chunk chunk = f.result.isCompletedExceptionally() ? null : f.result.join();
        for (Waiter w : f.waiters) {
            if (w.local != null) {
                if (chunk != null) w.local.complete(chunk);
                else w.local.completeExceptionally(new ContentException("chunk " + f.address.shortString() + " not retrieved: "
                        + reasonText(f.reason)));
            } else {
                Map<Long, Fetch> s = served.get(w.peer);
                if (s != null) {
                    s.remove(w.id);
                    if (s.isEmpty()) served.remove(w.peer);
                }
                if (chunk != null) serve(w.peer, w.id, chunk);
                else ch.send(w.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.NotFound(w.id, f.reason), false);
            }
        }
        f.waiters.clear();
    }

    private void serve(PeerId peer, long id, Chunk chunk) {
        c.counters.increment("content.retrieval.served");
        ch.send(peer, BandwidthScheduler.Priority.RETRIEVAL, new ContentCodec.Deliver(id, chunk.data()), false);
    }

    private void dropWaiter(Fetch f, PeerId peer, long id) {
        f.waiters.removeIf(w -> peer.equals(w.peer) && w.id == id);
        if (f.waiters.isEmpty() && !f.result.isDone()) {
            c.counters.increment("content.retrieval.cancelled");
            if (f.current != null) {
                ch.send(f.current.peer, BandwidthScheduler.Priority.CONTROL, new ContentCodec.Cancel(f.current.id), false);
            }
            f.result.completeExceptionally(new ContentException("cancelled"));
            finish(f);
        }
    }

    // ---- inbound ------------------------------------------------------------------------------------

    private void onMessage(PeerId from, ContentCodec.Msg m) {
        switch (m) {
            case ContentCodec.Retrieve r -> onRequest(from, r);
            case ContentCodec.Deliver d -> onDeliver(from, d);
            case ContentCodec.NotFound n -> {
                Attempt a = attempts.get(n.id());
                if (a == null || !a.peer.equals(from)) {
                    c.counters.increment("content.retrieval.late");
                    return;
                }
                attempts.remove(n.id());
                a.timer.cancel();
                c.counters.increment("content.retrieval.not_found_answer");
                a.fetch.reason = n.reason();
                next(a.fetch);
            }
            case ContentCodec.Cancel x -> {
                Map<Long, Fetch> s = served.get(from);
                Fetch f = s == null ? null : s.remove(x.id());
                if (f != null) dropWaiter(f, from, x.id());
            }
            default -> throw new ContentProtocolException("unexpected " + m);
        }
    }

    private void onRequest(PeerId from, ContentCodec.Retrieve r) {
        c.counters.increment("content.retrieval.request_in");
        ChunkAddress address = ChunkAddress.of(r.address());
        c.when(c.local.get(address), (Optional<Chunk> found, Throwable err) -> {
            if (found != null && found.isPresent()) {
                serve(from, r.id(), found.get());
                return;
            }
            if (r.hops() == 0) {
                ch.send(from, BandwidthScheduler.Priority.CONTROL, new ContentCodec.NotFound(r.id(), ContentCodec.REASON_HOPS), false);
                return;
            }
            Fetch f = fetches.get(address);
            if (f == null) {
                CompletableFuture<Chunk> syncing = c.inFlight.get(ContentCodec.prefix(address));
                if (syncing != null) { // pull sync is fetching it: answer when it lands
                    c.counters.increment("content.retrieval.joined_sync");
                    c.when(syncing, (chunk, e) -> {
                        if (chunk != null) serve(from, r.id(), chunk);
                        else ch.send(from, BandwidthScheduler.Priority.CONTROL, new ContentCodec.NotFound(r.id(), ContentCodec.REASON_NOT_FOUND), false);
                    });
                    return;
                }
                f = new Fetch(address, r.hops() - 1, c.overlay);
                f.waiters.add(new Waiter(from, r.id(), null));
                served.computeIfAbsent(from, k -> new HashMap<>()).put(r.id(), f);
                c.counters.increment("content.retrieval.forwarded");
                start(f);
            } else {
                c.counters.increment("content.retrieval.deduplicated");
                f.waiters.add(new Waiter(from, r.id(), null));
                served.computeIfAbsent(from, k -> new HashMap<>()).put(r.id(), f);
            }
        });
    }

    private void onDeliver(PeerId from, ContentCodec.Deliver d) {
        Attempt a = attempts.get(d.id());
        if (a == null || !a.peer.equals(from)) {
            c.counters.increment("content.retrieval.late");
            return;
        }
        attempts.remove(d.id());
        a.timer.cancel();
        Fetch f = a.fetch;
        Chunk chunk;
        try {
            chunk = Chunk.decode(f.address, d.payload());
        } catch (InvalidChunkException e) {
            c.counters.increment("content.retrieval.invalid_chunk");
            c.reputation.penalize(from, "invalid_chunk", Reputation.INVALID_CHUNK);
            log.debug("retrieval: {} delivered a bad chunk: {}", from, e.getMessage());
            f.reason = ContentCodec.REASON_INVALID;
            next(f);
            return;
        }
        c.reputation.reward(from);
        c.pullSync.knownBy(from, f.address);
        c.counters.increment("content.retrieval.delivered");
        c.counters.add("content.retrieval.payload_in", d.payload().length);
        c.when(c.local.put(chunk, false), (s, e) -> {
            if (e != null) log.debug("retrieval: caching {} failed: {}", f.address, e.getMessage());
        });
        succeed(f, chunk);
    }

    static String reasonText(int reason) {
        return switch (reason) {
            case ContentCodec.REASON_NOT_FOUND -> "not found";
            case ContentCodec.REASON_NO_ROUTE -> "no peer closer to the address";
            case ContentCodec.REASON_HOPS -> "hop budget exhausted";
            case ContentCodec.REASON_TIMEOUT -> "timed out";
            case ContentCodec.REASON_OVERLOADED -> "overloaded";
            case ContentCodec.REASON_INVALID -> "invalid chunk delivered";
            default -> "reason " + reason;
        };
    }

    boolean uses(PeerId peer, io.peersocket.transport.Connection connection) { return ch.uses(peer, connection); }

    void close() {
        for (Attempt a : attempts.values()) a.timer.cancel();
        attempts.clear();
        for (Fetch f : new ArrayList<>(fetches.values())) {
            f.reason = ContentCodec.REASON_NOT_FOUND;
            f.result.completeExceptionally(new ContentException("content protocols closed"));
            for (Waiter w : f.waiters) if (w.local != null) w.local.completeExceptionally(new ContentException("content protocols closed"));
        }
        fetches.clear();
        ch.close();
    }
}
