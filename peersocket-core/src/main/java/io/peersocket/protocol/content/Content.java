package io.peersocket.protocol.content;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.protocol.handshake.HandshakeInfo;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.Futures;
import io.peersocket.util.Proximity;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * The network protocols for content (seed 001 "Swarm stream protocol"): retrieval
 * ({@value #RETRIEVAL_ID}), push sync ({@value #PUSHSYNC_ID}) and pull sync ({@value #SYNC_ID}) over one node's
 * {@link Host}, its chunks ({@link LocalChunks}) and one {@link BandwidthScheduler}. Wire: docs/wire.md "Content
 * protocols".
 *
 * <ul>
 *   <li><b>Retrieval</b> ({@link #retrieve}): a request for a chunk address travels hop by hop to a connected peer
 *       strictly closer (XOR) to the address, and is served by the first node that has it; concurrent requests
 *       for one chunk share one fetch; a hop that fails, answers not-found, times out or delivers a chunk that
 *       does not match its address is replaced by the next closest peer (a timed-out request is cancelled); every
 *       chunk is verified before it is cached or served.
 *   <li><b>Push sync</b> ({@link #push}): a chunk travels the same way to a <em>storer</em>, a node with no
 *       connected peer closer to the address or whose neighbourhood (PO ≥ depth) covers it; the storer keeps it
 *       and answers with a {@link Receipt} signed by its host key, relayed back to the pusher.
 *   <li><b>Pull sync</b>: each node, as a downstream, subscribes to the bins of its connected peers it is
 *       responsible for — all bins ≥ its depth of every neighbour (and, with {@link ContentConfig#syncOwnBin},
 *       the own bin of the others) — and syncs historical ranges (gaps in its persisted {@link Intervals}) and
 *       live ones (new chunks) with offered hashes, wanted bit vectors and deliveries in instalments that it NACKs
 *       when one goes missing. A chunk being fetched from one peer is never asked of another unless that fetch
 *       fails.
 * </ul>
 *
 * <p>Counters ({@link Host#counters()}): {@code content.retrieval.*}, {@code content.push.*}, {@code content.sync.*}
 * (notably {@code content.sync.duplicates}: a chunk delivered that was already stored — 0 when each chunk is
 * transferred once), {@code content.<protocol>.wire.out} bytes, {@code content.sched.*}, {@code content.reputation.*}.
 *
 * <p>Threading: protocol state lives on the host's event loop; public methods may be called from any thread and
 * return futures completed on the loop. Construct before the node connects to anyone (peers identified earlier are
 * not seen).
 */
public final class Content implements AutoCloseable {
    /** Retrieval protocol id. */
    public static final String RETRIEVAL_ID = "/peersocket/retrieval/1.0.0";
    /** Push sync protocol id. */
    public static final String PUSHSYNC_ID = "/peersocket/pushsync/1.0.0";
    /** Pull sync protocol id. */
    public static final String SYNC_ID = "/peersocket/sync/1.0.0";

    final Host host;
    final HostKey key;
    final LocalChunks local;
    final ContentConfig config;
    final EventLoop loop;
    final Counters counters;
    final byte[] overlay;
    final BandwidthScheduler scheduler;
    final Reputation reputation;
    /** Connected content peers (full nodes that speak pull sync) and their overlay addresses. */
    final Map<PeerId, byte[]> peers = new HashMap<>();
    /**
     * Chunks being fetched from some peer (by retrieval or pull sync), by address prefix
     * ({@link ContentCodec#prefix}; pull sync knows only the prefix until the data arrives): one transfer per chunk.
     */
    final Map<Long, CompletableFuture<Chunk>> inFlight = new HashMap<>();
    final Retrieval retrieval;
    final PushSync pushSync;
    final PullSync pullSync;
    private boolean closed;

    /**
     * Starts the protocols on {@code host}: registers the three protocol ids and listens to peer events.
     *
     * @param key the node's host key (signs push-sync receipts)
     * @param local the node's chunks ({@code LocalChunks.of(host.chunks())}, or an in-memory store)
     * @param intervals where pull sync keeps covered intervals ({@code IntervalStore.sqlite(host.store())} to
     *     survive restarts)
     */
    public Content(Host host, HostKey key, LocalChunks local, IntervalStore intervals, ContentConfig config) {
        if (!key.peerId().equals(host.peerId())) throw new IllegalArgumentException("host key is not the host's identity");
        this.host = host;
        this.key = key;
        this.local = local;
        this.config = config;
        this.loop = host.loop();
        this.counters = host.counters();
        this.overlay = ChunkAddress.overlayOf(host.peerId());
        if (!Arrays.equals(overlay, local.overlay())) throw new IllegalArgumentException("chunk store overlay is not this node's");
        this.scheduler = new BandwidthScheduler(loop, config.bandwidth(), counters);
        this.reputation = new Reputation(counters);
        this.retrieval = new Retrieval(this);
        this.pushSync = new PushSync(this);
        this.pullSync = new PullSync(this, intervals);
        host.onPeerEvent(this::onPeerEvent);
        loop.execute(pullSync::start);
    }

    // ---- public API ---------------------------------------------------------------------------------

    /**
     * The chunk at {@code address}: from the local store, else retrieved from the network (verified, then
     * cached). Fails with {@link ContentException} if no peer delivers it.
     */
    public CompletableFuture<Chunk> retrieve(ChunkAddress address) {
        return onLoop(() -> retrieval.retrieve(address));
    }

    /**
     * Stores {@code chunk} locally (pinned) and pushes it toward its neighbourhood; completes with the storer's
     * receipt, or fails with {@link ContentException} if no storer could be reached. If this node is itself the
     * storer, the receipt is its own.
     */
    public CompletableFuture<Receipt> push(Chunk chunk) {
        return onLoop(() -> pushSync.push(chunk));
    }

    /**
     * Announces that {@code addresses} are about to be stored here and then {@link #push}ed: pull sync offers them to
     * no downstream until their push is over (at most 120 s), so a storer gets each chunk once — by push — and
     * never also by a neighbour's sync. Call it before storing the chunks. Any thread; enqueues to the loop.
     */
    public void holdBack(java.util.Collection<ChunkAddress> addresses) {
        List<ChunkAddress> copy = List.copyOf(addresses);
        loop.execute(() -> pushSync.holdBack(copy));
    }

    /** This node's depth over connected content peers (as {@code RoutingTable.depth()} computes it). Loop only. */
    public int depth() {
        int[] perBin = new int[257];
        for (byte[] o : peers.values()) perBin[Proximity.order(overlay, o)]++;
        return Proximity.depth(perBin, config.neighbourhoodSize());
    }

    /** Connected content peers. Loop only. */
    public Set<PeerId> peers() { return Set.copyOf(peers.keySet()); }

    public Reputation reputation() { return reputation; }

    public BandwidthScheduler scheduler() { return scheduler; }

    /** This node's overlay address. */
    public byte[] overlay() { return overlay.clone(); }

    /** Pull sync subscriptions: upstream → subscribed bins (loop only; for tests and status). */
    public Map<PeerId, List<Integer>> subscriptions() { return pullSync.subscriptions(); }

    /** Pull sync state toward {@code upstream}, human-readable (loop only; status and debugging). */
    public String describeSync(PeerId upstream) { return pullSync.describe(upstream); }

    /** Chunks currently being fetched (loop only). */
    public int inFlightCount() { return inFlight.size(); }

    // ---- peers --------------------------------------------------------------------------------------

    private void onPeerEvent(PeerEvent e) {
        if (closed) return;
        PeerId p = e.peer();
        switch (e.kind()) {
            case IDENTIFIED -> {
                if (e.identify().protocols().contains(SYNC_ID) && !isLight(p) && !peers.containsKey(p)) {
                    peers.put(p, ChunkAddress.overlayOf(p));
                    counters.increment("content.peers.added");
                    pullSync.reconcile();
                }
            }
            case READY -> {
                if (isLight(p) && peers.remove(p) != null) pullSync.onPeerGone(p);
            }
            case DISCONNECTED -> {
                // Messages on the closed connection's streams are lost even if another connection remains: if it
                // carried a protocol's streams, fail its requests over now and start sync sessions afresh.
                boolean gone = !host.isConnected(p);
                if (gone) {
                    peers.remove(p);
                    scheduler.dropPeer(p);
                }
                if (gone || retrieval.uses(p, e.connection())) retrieval.onPeerGone(p);
                if (gone || pushSync.uses(p, e.connection())) pushSync.onPeerGone(p);
                if (gone || pullSync.uses(p, e.connection())) pullSync.onPeerGone(p);
            }
            default -> { }
        }
    }

    private boolean isLight(PeerId p) {
        HandshakeInfo h = host.handshakeOf(p);
        return h != null && h.light();
    }

    /**
     * Connected, non-shunned content peers closer (XOR) to {@code address} than {@code than} (null: any), not in
     * {@code exclude}, closest first.
     */
    List<PeerId> closest(ChunkAddress address, byte[] than, Collection<PeerId> exclude) {
        byte[] a = address.toBytes();
        List<Map.Entry<PeerId, byte[]>> l = new ArrayList<>();
        for (Map.Entry<PeerId, byte[]> e : peers.entrySet()) {
            if (exclude.contains(e.getKey()) || reputation.banned(e.getKey())) continue;
            if (than != null && compareDistance(a, e.getValue(), than) >= 0) continue;
            l.add(e);
        }
        l.sort((x, y) -> compareDistance(a, x.getValue(), y.getValue()));
        List<PeerId> out = new ArrayList<>(l.size());
        for (Map.Entry<PeerId, byte[]> e : l) out.add(e.getKey());
        return out;
    }

    /** Negative if {@code x} is closer to {@code a} than {@code y} (XOR distance). */
    static int compareDistance(byte[] a, byte[] x, byte[] y) { return Proximity.compareDistance(a, x, y); }

    /**
     * Whether this node is the storer of {@code a}: no connected peer is closer to it (XOR). That node's
     * neighbourhood covers the address, and every node whose neighbourhood covers it has that node as a neighbour,
     * so they pull it from there.
     */
    boolean isStorerFor(ChunkAddress a) {
        byte[] addr = a.toBytes();
        for (Map.Entry<PeerId, byte[]> e : peers.entrySet()) {
            if (!reputation.banned(e.getKey()) && compareDistance(addr, e.getValue(), overlay) < 0) return false;
        }
        return true;
    }

    <T> CompletableFuture<T> onLoop(Supplier<CompletableFuture<T>> task) {
        if (closed) return CompletableFuture.failedFuture(new ContentException("content protocols closed"));
        return Futures.composeOn(loop, task);
    }

    /** Runs {@code then} on the loop when {@code f} completes. */
    <T> void when(CompletableFuture<T> f, java.util.function.BiConsumer<T, Throwable> then) {
        f.whenCompleteAsync((v, e) -> {
            if (!closed) then.accept(v, e == null ? null : Futures.unwrap(e));
        }, loop);
    }

    boolean closed() { return closed; }

    /** Stops timers, fails pending work and closes streams. Idempotent; call on or off the loop. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        pullSync.close();
        retrieval.close();
        pushSync.close();
    }
}
