package io.peersocket.content;

import io.peersocket.store.Db;
import io.peersocket.store.Store;
import io.peersocket.store.StoreException;
import io.peersocket.util.Counters;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.Collection;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executor;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.function.LongSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's chunk store (seed 001 "localstore"): content-addressed {@link Chunk}s in the node's SQLite
 * database (table {@code chunks}, schema migration 4), indexed by proximity order (PO) to the node's overlay
 * address. Each of the 256 bins has a monotonic <em>bin index</em>: a chunk newly stored in bin {@code po}
 * gets the bin's next index, so "everything in bin {@code po} after index {@code i}" is what pull syncing
 * iterates ({@link #chunksInBin}, {@link #lastIndex}) and what a persisted sync interval refers to. Indexes
 * are never reused, even after garbage collection or a restart; gaps are possible.
 *
 * <p>Pinning: chunks of locally shared content are <em>pinned</em> and never garbage collected. Unpinned
 * chunks (cached or synced for others) are kept up to {@link ChunkStoreConfig#capacity()}; beyond it the
 * farthest ones (lowest PO, then lowest bin index) are removed: those outside the node's neighbourhood go
 * first.
 *
 * <p>Integrity: a {@link Chunk} always matches its address (its factories check), so nothing corrupt can be
 * put; {@link #receive} decodes and verifies wire data, counting rejects ({@code chunks.rejected.invalid}).
 * Reads re-verify when {@link ChunkStoreConfig#verifyOnRead()} is set.
 *
 * <p>Threading: every method may be called from any thread. Database work is enqueued on the {@link Store}
 * (batched into shared transactions by the store thread); futures complete on the store thread, or, for
 * {@link #get}/{@link #getAll} with verification, on the common fork-join pool. Listeners run on the listener
 * executor given at {@link #open} (the node's event loop for {@code Node#chunks()}).
 */
public final class ChunkStore {
    /** Number of bins (POs 0..255). */
    public static final int BINS = ChunkAddress.MAX_PO + 1;
    /** Most entries {@link #chunksInBin} returns at once. */
    public static final int MAX_BIN_PAGE = 100_000;
    /** Most addresses one {@link #hasAll}/{@link #getAll}/{@link #pinAll} call takes. */
    public static final int MAX_BATCH = 100_000;
    /** The kv key under which the overlay the bins were computed for is kept. */
    static final String OVERLAY_KEY = "chunks.overlay";

    private static final Logger log = LoggerFactory.getLogger(ChunkStore.class);

    private final Store store;
    private final byte[] overlay;
    private final ChunkStoreConfig config;
    private final Executor listenerExecutor;
    private final LongSupplier clock;
    private final Counters counters;
    private final List<ChunkListener> listeners = new CopyOnWriteArrayList<>();
    /** Last assigned index per bin; owned by the store thread (may run ahead of commits: gaps only). */
    private final long[] assigned = new long[BINS];
    /** Last committed index per bin. */
    private final AtomicLongArray committed = new AtomicLongArray(BINS);
    private final AtomicLong total = new AtomicLong();
    private final AtomicLong pinned = new AtomicLong();
    private final AtomicBoolean gcScheduled = new AtomicBoolean();
    private final Object gcLock = new Object();
    private CompletableFuture<Long> gcTail = CompletableFuture.completedFuture(0L);

    private ChunkStore(Store store, byte[] overlay, ChunkStoreConfig config, Executor listenerExecutor,
            LongSupplier clock, Counters counters) {
        this.store = store;
        this.overlay = overlay;
        this.config = config;
        this.listenerExecutor = listenerExecutor;
        this.clock = clock;
        this.counters = counters;
    }

    /**
     * Opens the chunk store of {@code store} with default settings, listeners called on the store thread,
     * wall-clock time and private counters. Blocks until the bins are loaded.
     *
     * @throws StoreException if the database cannot be read
     */
    public static ChunkStore open(Store store, byte[] overlay) {
        return open(store, overlay, ChunkStoreConfig.defaults(), Runnable::run, System::currentTimeMillis,
                new Counters());
    }

    /**
     * Opens the chunk store of {@code store} for a node with overlay address {@code overlay} (see
     * {@link ChunkAddress#overlayOf}). Loads the bins' last indexes and counts. If the database was indexed
     * for another overlay (the data dir got a new identity), re-indexes every chunk for this one (new POs and
     * bin indexes). Blocks until done.
     *
     * @param listenerExecutor where {@link ChunkListener}s run
     * @param clockMs epoch ms for {@code stored_at}
     * @param counters where rejects and GC are counted ({@code chunks.*})
     * @throws IllegalArgumentException if {@code overlay} is not 32 bytes
     * @throws StoreException if the database cannot be read or re-indexed
     */
    public static ChunkStore open(Store store, byte[] overlay, ChunkStoreConfig config, Executor listenerExecutor,
            LongSupplier clockMs, Counters counters) {
        Objects.requireNonNull(store, "store");
        Objects.requireNonNull(overlay, "overlay");
        if (overlay.length != ChunkAddress.BYTES) {
            throw new IllegalArgumentException("overlay must be " + ChunkAddress.BYTES + " bytes, got " + overlay.length);
        }
        ChunkStore cs = new ChunkStore(store, overlay.clone(), Objects.requireNonNull(config, "config"),
                Objects.requireNonNull(listenerExecutor, "listenerExecutor"), Objects.requireNonNull(clockMs, "clockMs"),
                Objects.requireNonNull(counters, "counters"));
        await(store.write("chunks.open", cs::load), "open chunk store");
        return cs;
    }

    // ---------------------------------------------------------------------------------------------- basics

    /** The overlay address the bins are computed for (a copy). */
    public byte[] overlay() {
        return overlay.clone();
    }

    /** The settings. */
    public ChunkStoreConfig config() {
        return config;
    }

    /** Counters ({@code chunks.rejected.invalid}, {@code chunks.gc.removed}, {@code chunks.corrupt}, …). */
    public Counters counters() {
        return counters;
    }

    /** The bin of {@code address}: its proximity order to this node's overlay, 0..255. */
    public int binOf(ChunkAddress address) {
        return address.proximityOrder(overlay);
    }

    /** Chunks stored now (committed), pinned or not. */
    public long size() {
        return total.get();
    }

    /** Pinned chunks stored now (committed). */
    public long pinnedCount() {
        return pinned.get();
    }

    /**
     * The last bin index committed in bin {@code po} (0 if the bin never held a chunk). Every chunk added to
     * the bin later gets a larger index.
     *
     * @throws IllegalArgumentException if {@code po} is not in 0..255
     */
    public long lastIndex(int po) {
        checkPo(po);
        return committed.get(po);
    }

    /** Adds a listener for newly stored chunks (see {@link ChunkListener}); returns a handle that removes it. */
    public Runnable addListener(ChunkListener listener) {
        Objects.requireNonNull(listener, "listener");
        listeners.add(listener);
        return () -> listeners.remove(listener);
    }

    // ---------------------------------------------------------------------------------------------- writes

    /**
     * Stores a chunk. If it is already stored, nothing changes except that {@code pin} pins it.
     *
     * @param pin true for locally shared content (never garbage collected)
     * @return completes once committed; fails with {@link StoreException} subclasses as for {@link Store#write}
     */
    public CompletableFuture<StoredChunk> put(Chunk chunk, boolean pin) {
        Objects.requireNonNull(chunk, "chunk");
        return putAll(List.of(chunk), pin).thenApply(l -> l.get(0));
    }

    /**
     * Stores chunks in one unit of work (one transaction, shared with other queued work). Results are in the
     * order of {@code chunks}; a chunk listed twice is {@code added} only the first time.
     *
     * @throws IllegalArgumentException if more than {@value #MAX_BATCH} chunks are given
     */
    public CompletableFuture<List<StoredChunk>> putAll(List<Chunk> chunks, boolean pin) {
        Objects.requireNonNull(chunks, "chunks");
        checkBatch(chunks.size());
        if (chunks.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        Chunk[] cs = chunks.toArray(new Chunk[0]);
        int[] pos = new int[cs.length];
        for (int i = 0; i < cs.length; i++) {
            pos[i] = binOf(Objects.requireNonNull(cs[i], "chunk").address());
        }
        long now = clock.getAsLong();
        return store.write("chunks.put", db -> insert(db, cs, pos, pin, now)).thenApply(this::afterPut);
    }

    /**
     * Intake of a chunk received for {@code claimed}: decodes and verifies the data, then stores it unpinned.
     *
     * @return fails with {@link InvalidChunkException} (counted as {@code chunks.rejected.invalid}; nothing
     *     stored) if the data is malformed or is not the content of {@code claimed}
     */
    public CompletableFuture<StoredChunk> receive(ChunkAddress claimed, byte[] data) {
        Chunk c;
        try {
            c = Chunk.decode(claimed, data);
        } catch (InvalidChunkException e) {
            counters.increment("chunks.rejected.invalid");
            return CompletableFuture.failedFuture(e);
        }
        return put(c, false);
    }

    /**
     * Pins a stored chunk so it is never garbage collected.
     *
     * @return completes with whether the chunk is stored (and so now pinned)
     */
    public CompletableFuture<Boolean> pin(ChunkAddress address) {
        return pinAll(List.of(address)).thenApply(n -> n == 1);
    }

    /**
     * Pins stored chunks; addresses not stored are skipped.
     *
     * @return completes with how many of the addresses are stored (and so now pinned)
     * @throws IllegalArgumentException if more than {@value #MAX_BATCH} addresses are given
     */
    public CompletableFuture<Integer> pinAll(Collection<ChunkAddress> addresses) {
        return setPinned(addresses, true);
    }

    /**
     * Unpins a chunk: it becomes subject to garbage collection.
     *
     * @return completes with whether the chunk is stored
     */
    public CompletableFuture<Boolean> unpin(ChunkAddress address) {
        return unpinAll(List.of(address)).thenApply(n -> n == 1);
    }

    /** Unpins stored chunks; returns how many of the addresses are stored. Bounded as {@link #pinAll}. */
    public CompletableFuture<Integer> unpinAll(Collection<ChunkAddress> addresses) {
        return setPinned(addresses, false);
    }

    /**
     * Removes a chunk, pinned or not (its bin index is not reused).
     *
     * @return completes with whether it was stored
     */
    public CompletableFuture<Boolean> delete(ChunkAddress address) {
        byte[] a = Objects.requireNonNull(address, "address").raw();
        return store.write("chunks.delete", db -> {
            PreparedStatement ps = db.prepare("DELETE FROM chunks WHERE address = ? RETURNING pinned");
            ps.setBytes(1, a);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? (rs.getInt(1) != 0 ? 2 : 1) : 0;
            }
        }).thenApply(r -> {
            if (r > 0) {
                total.decrementAndGet();
                if (r == 2) {
                    pinned.decrementAndGet();
                }
            }
            return r > 0;
        });
    }

    /**
     * Runs garbage collection now: while more than {@link ChunkStoreConfig#capacity()} unpinned chunks are
     * stored, removes the farthest unpinned ones (lowest PO, then lowest bin index) in transactions of at most
     * {@link ChunkStoreConfig#gcBatch()}. Also runs by itself after puts that exceed the capacity.
     *
     * @return completes with the number of chunks removed
     */
    public CompletableFuture<Long> gc() {
        // One GC at a time: two GC units staged in one batch would both count chunks the other removes.
        synchronized (gcLock) {
            CompletableFuture<Long> next = gcTail.handle((r, e) -> null).thenCompose(x -> gcRound());
            gcTail = next;
            return next;
        }
    }

    private CompletableFuture<Long> gcRound() {
        if (total.get() - pinned.get() <= config.capacity()) {
            return CompletableFuture.completedFuture(0L);
        }
        return store.write("chunks.gc", db -> {
            // On the store thread the counts include every unit committed before this one.
            long excess = total.get() - pinned.get() - config.capacity();
            if (excess <= 0) {
                return 0L;
            }
            // Go a little below capacity so a steady inflow does not trigger a GC per put.
            int n = (int) Math.min(config.gcBatch(), excess + config.gcBatch() / 2);
            PreparedStatement ps = db.prepare("DELETE FROM chunks WHERE rowid IN (SELECT rowid FROM chunks"
                    + " INDEXED BY chunks_gc WHERE pinned = 0 ORDER BY po, bin_index LIMIT ?)");
            ps.setInt(1, n);
            return (long) ps.executeUpdate();
        }).thenCompose(removed -> {
            total.addAndGet(-removed);
            counters.add("chunks.gc.removed", removed);
            if (removed > 0 && total.get() - pinned.get() > config.capacity()) {
                return gcRound().thenApply(more -> removed + more);
            }
            return CompletableFuture.completedFuture(removed);
        });
    }

    // ---------------------------------------------------------------------------------------------- reads

    /** The chunk at {@code address}, or empty if not stored. */
    public CompletableFuture<Optional<Chunk>> get(ChunkAddress address) {
        Objects.requireNonNull(address, "address");
        return getAll(List.of(address)).thenApply(l -> Optional.ofNullable(l.get(0)));
    }

    /**
     * The chunks at {@code addresses}, in order, {@code null} for those not stored.
     *
     * @throws IllegalArgumentException if more than {@value #MAX_BATCH} addresses are given
     */
    public CompletableFuture<List<Chunk>> getAll(List<ChunkAddress> addresses) {
        Objects.requireNonNull(addresses, "addresses");
        checkBatch(addresses.size());
        ChunkAddress[] as = addresses.toArray(new ChunkAddress[0]);
        CompletableFuture<byte[][]> raw = store.read("chunks.get", db -> {
            byte[][] out = new byte[as.length][];
            PreparedStatement ps = db.prepare("SELECT data FROM chunks WHERE address = ?");
            for (int i = 0; i < as.length; i++) {
                ps.setBytes(1, Objects.requireNonNull(as[i], "address").raw());
                try (ResultSet rs = ps.executeQuery()) {
                    out[i] = rs.next() ? rs.getBytes(1) : null;
                }
            }
            return out;
        });
        if (!config.verifyOnRead()) {
            return raw.thenApply(data -> {
                List<Chunk> out = new ArrayList<>(as.length);
                for (int i = 0; i < as.length; i++) {
                    out.add(data[i] == null ? null : Chunk.trusted(as[i], data[i]));
                }
                return out;
            });
        }
        return raw.thenApplyAsync(data -> {
            List<Chunk> out = new ArrayList<>(as.length);
            for (int i = 0; i < as.length; i++) {
                Chunk c = null;
                if (data[i] != null) {
                    try {
                        c = Chunk.decodeOwned(as[i], data[i]);
                    } catch (InvalidChunkException e) {
                        counters.increment("chunks.corrupt");
                        log.error("chunk store: stored chunk {} is damaged ({}); deleting it", as[i], e.getMessage());
                        delete(as[i]);
                    }
                }
                out.add(c);
            }
            return out;
        }, ForkJoinPool.commonPool());
    }

    /** Whether {@code address} is stored. */
    public CompletableFuture<Boolean> has(ChunkAddress address) {
        Objects.requireNonNull(address, "address");
        return hasAll(List.of(address)).thenApply(b -> b.get(0));
    }

    /**
     * Which of {@code addresses} are stored: bit {@code i} is set if {@code addresses.get(i)} is (the
     * "wanted hashes" bit vector of seed 001 is its complement).
     *
     * @throws IllegalArgumentException if more than {@value #MAX_BATCH} addresses are given
     */
    public CompletableFuture<BitSet> hasAll(List<ChunkAddress> addresses) {
        Objects.requireNonNull(addresses, "addresses");
        checkBatch(addresses.size());
        ChunkAddress[] as = addresses.toArray(new ChunkAddress[0]);
        return store.read("chunks.has", db -> {
            BitSet out = new BitSet(as.length);
            PreparedStatement ps = db.prepare("SELECT 1 FROM chunks WHERE address = ?");
            for (int i = 0; i < as.length; i++) {
                ps.setBytes(1, Objects.requireNonNull(as[i], "address").raw());
                try (ResultSet rs = ps.executeQuery()) {
                    if (rs.next()) {
                        out.set(i);
                    }
                }
            }
            return out;
        });
    }

    /**
     * Which address prefixes have a stored chunk: bit {@code i} is set if some stored address starts with the 8
     * big-endian bytes of {@code prefixes[i]} (pull sync's compact offers, docs/wire.md). One primary-key range
     * probe per prefix.
     *
     * @throws IllegalArgumentException if more than {@value #MAX_BATCH} prefixes are given
     */
    public CompletableFuture<BitSet> hasPrefixes(long[] prefixes) {
        Objects.requireNonNull(prefixes, "prefixes");
        checkBatch(prefixes.length);
        long[] ps = prefixes.clone();
        return store.read("chunks.hasPrefixes", db -> {
            BitSet out = new BitSet(ps.length);
            PreparedStatement range = db.prepare("SELECT 1 FROM chunks WHERE address >= ? AND address < ? LIMIT 1");
            PreparedStatement top = db.prepare("SELECT 1 FROM chunks WHERE address >= ? LIMIT 1");
            for (int i = 0; i < ps.length; i++) {
                PreparedStatement q;
                if (ps[i] == -1L) { // all-ones prefix: no upper bound fits in 8 bytes
                    q = top;
                    q.setBytes(1, prefixBytes(ps[i]));
                } else {
                    q = range;
                    q.setBytes(1, prefixBytes(ps[i]));
                    q.setBytes(2, prefixBytes(ps[i] + 1));
                }
                try (ResultSet rs = q.executeQuery()) {
                    if (rs.next()) out.set(i);
                }
            }
            return out;
        });
    }

    /** {@code prefix} as the first 8 bytes of a 32-byte address, zeros after (the lowest address with that prefix). */
    private static byte[] prefixBytes(long prefix) {
        return java.nio.ByteBuffer.allocate(ChunkAddress.BYTES).putLong(prefix).array();
    }

    /** Whether {@code address} is stored and pinned. */
    public CompletableFuture<Boolean> isPinned(ChunkAddress address) {
        byte[] a = Objects.requireNonNull(address, "address").raw();
        return store.read("chunks.isPinned", db -> {
            PreparedStatement ps = db.prepare("SELECT pinned FROM chunks WHERE address = ?");
            ps.setBytes(1, a);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() && rs.getInt(1) != 0;
            }
        });
    }

    /**
     * Chunks of bin {@code po} with index greater than {@code fromIndexExclusive}, in increasing index order,
     * at most {@code limit} (pull syncing's "offered hashes" source: seed 001).
     *
     * @throws IllegalArgumentException if {@code po} is not in 0..255, {@code fromIndexExclusive} is
     *     negative, or {@code limit} is not in 1..{@value #MAX_BIN_PAGE}
     */
    public CompletableFuture<List<BinEntry>> chunksInBin(int po, long fromIndexExclusive, int limit) {
        checkPo(po);
        if (fromIndexExclusive < 0) {
            throw new IllegalArgumentException("fromIndexExclusive must be >= 0, got " + fromIndexExclusive);
        }
        if (limit < 1 || limit > MAX_BIN_PAGE) {
            throw new IllegalArgumentException("limit must be in 1.." + MAX_BIN_PAGE + ", got " + limit);
        }
        return store.read("chunks.bin", db -> {
            PreparedStatement ps = db.prepare("SELECT bin_index, address FROM chunks INDEXED BY chunks_bin"
                    + " WHERE po = ? AND bin_index > ? ORDER BY bin_index LIMIT ?");
            ps.setInt(1, po);
            ps.setLong(2, fromIndexExclusive);
            ps.setInt(3, limit);
            List<BinEntry> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new BinEntry(rs.getLong(1), ChunkAddress.wrap(rs.getBytes(2))));
                }
            }
            return out;
        });
    }

    @Override
    public String toString() {
        return "ChunkStore[" + total.get() + " chunks, " + pinned.get() + " pinned, capacity " + config.capacity() + "]";
    }

    // ---------------------------------------------------------------------------------------------- store thread

    /** Result of one put unit: per-chunk outcomes and count deltas. */
    private record PutOutcome(StoredChunk[] results, int added, int addedPinned, int newlyPinned) {}

    private PutOutcome insert(Db db, Chunk[] cs, int[] pos, boolean pin, long now) throws SQLException {
        PreparedStatement ins = db.prepare("INSERT INTO chunks (address, po, bin_index, data, pinned, stored_at)"
                + " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (address) DO NOTHING");
        StoredChunk[] out = new StoredChunk[cs.length];
        int added = 0;
        int newlyPinned = 0;
        boolean[] touched = new boolean[BINS];
        for (int i = 0; i < cs.length; i++) {
            Chunk c = cs[i];
            int po = pos[i];
            long index = assigned[po] + 1;
            ins.setBytes(1, c.address().raw());
            ins.setInt(2, po);
            ins.setLong(3, index);
            ins.setBytes(4, c.rawData());
            ins.setInt(5, pin ? 1 : 0);
            ins.setLong(6, now);
            if (ins.executeUpdate() == 1) {
                assigned[po] = index;
                touched[po] = true;
                added++;
                out[i] = new StoredChunk(c.address(), po, index, true);
            } else {
                PreparedStatement sel = db.prepare("SELECT po, bin_index, pinned FROM chunks WHERE address = ?");
                sel.setBytes(1, c.address().raw());
                int existingPo;
                long existingIndex;
                boolean wasPinned;
                try (ResultSet rs = sel.executeQuery()) {
                    if (!rs.next()) {
                        throw new SQLException("chunk " + c.address() + " neither inserted nor found");
                    }
                    existingPo = rs.getInt(1);
                    existingIndex = rs.getLong(2);
                    wasPinned = rs.getInt(3) != 0;
                }
                if (pin && !wasPinned) {
                    db.update("UPDATE chunks SET pinned = 1 WHERE address = ?", (Object) c.address().raw());
                    newlyPinned++;
                }
                out[i] = new StoredChunk(c.address(), existingPo, existingIndex, false);
            }
        }
        PreparedStatement bins = db.prepare("INSERT INTO chunk_bins (po, last_index) VALUES (?, ?)"
                + " ON CONFLICT (po) DO UPDATE SET last_index = max(last_index, excluded.last_index)");
        for (int po = 0; po < BINS; po++) {
            if (touched[po]) {
                bins.setInt(1, po);
                bins.setLong(2, assigned[po]);
                bins.executeUpdate();
            }
        }
        return new PutOutcome(out, added, pin ? added : 0, newlyPinned);
    }

    private List<StoredChunk> afterPut(PutOutcome o) {
        List<StoredChunk> results = Arrays.asList(o.results());
        if (o.added() > 0) {
            total.addAndGet(o.added());
            for (StoredChunk s : o.results()) {
                if (s.added()) {
                    committed.accumulateAndGet(s.po(), s.binIndex(), Math::max);
                }
            }
            if (!listeners.isEmpty()) {
                listenerExecutor.execute(() -> {
                    for (StoredChunk s : o.results()) {
                        if (s.added()) {
                            for (ChunkListener l : listeners) {
                                try {
                                    l.onStored(s);
                                } catch (RuntimeException e) {
                                    log.warn("chunk listener {} failed for {}", l, s.address(), e);
                                }
                            }
                        }
                    }
                });
            }
        }
        pinned.addAndGet(o.addedPinned() + o.newlyPinned());
        maybeGc();
        return results;
    }

    private CompletableFuture<Integer> setPinned(Collection<ChunkAddress> addresses, boolean pin) {
        Objects.requireNonNull(addresses, "addresses");
        checkBatch(addresses.size());
        byte[][] as = addresses.stream().map(a -> Objects.requireNonNull(a, "address").raw()).toArray(byte[][]::new);
        return store.write(pin ? "chunks.pin" : "chunks.unpin", db -> {
            PreparedStatement upd = db.prepare("UPDATE chunks SET pinned = ? WHERE address = ? AND pinned = ?");
            PreparedStatement sel = db.prepare("SELECT 1 FROM chunks WHERE address = ?");
            int stored = 0;
            int changed = 0;
            for (byte[] a : as) {
                upd.setInt(1, pin ? 1 : 0);
                upd.setBytes(2, a);
                upd.setInt(3, pin ? 0 : 1);
                if (upd.executeUpdate() == 1) {
                    changed++;
                    stored++;
                } else {
                    sel.setBytes(1, a);
                    try (ResultSet rs = sel.executeQuery()) {
                        if (rs.next()) {
                            stored++;
                        }
                    }
                }
            }
            return new int[] {stored, changed};
        }).thenApply(r -> {
            pinned.addAndGet(pin ? r[1] : -r[1]);
            if (!pin) {
                maybeGc();
            }
            return r[0];
        });
    }

    private void maybeGc() {
        if (total.get() - pinned.get() > config.capacity() && gcScheduled.compareAndSet(false, true)) {
            gc().whenComplete((n, e) -> {
                gcScheduled.set(false);
                if (e != null) {
                    log.warn("chunk store: garbage collection failed", e);
                } else {
                    log.debug("chunk store: garbage collection removed {} chunks", n);
                }
            });
        }
    }

    private Void load(Db db) throws SQLException {
        byte[] stored = null;
        PreparedStatement kv = db.prepare("SELECT value FROM kv WHERE key = ?");
        kv.setString(1, OVERLAY_KEY);
        try (ResultSet rs = kv.executeQuery()) {
            if (rs.next()) {
                stored = rs.getBytes(1);
            }
        }
        if (stored != null && !Arrays.equals(stored, overlay)) {
            reindex(db);
        }
        if (stored == null || !Arrays.equals(stored, overlay)) {
            db.update("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    OVERLAY_KEY, overlay);
        }
        try (ResultSet rs = db.prepare("SELECT po, last_index FROM chunk_bins").executeQuery()) {
            while (rs.next()) {
                int po = rs.getInt(1);
                if (po >= 0 && po < BINS) {
                    assigned[po] = Math.max(assigned[po], rs.getLong(2));
                }
            }
        }
        // Belt and braces: never hand out an index at or below one in the table.
        try (ResultSet rs = db.prepare("SELECT po, max(bin_index) FROM chunks GROUP BY po").executeQuery()) {
            while (rs.next()) {
                int po = rs.getInt(1);
                if (po >= 0 && po < BINS) {
                    assigned[po] = Math.max(assigned[po], rs.getLong(2));
                }
            }
        }
        for (int po = 0; po < BINS; po++) {
            committed.set(po, assigned[po]);
        }
        try (ResultSet rs = db.prepare("SELECT count(*), coalesce(sum(pinned), 0) FROM chunks").executeQuery()) {
            rs.next();
            total.set(rs.getLong(1));
            pinned.set(rs.getLong(2));
        }
        return null;
    }

    private void reindex(Db db) throws SQLException {
        log.info("chunk store: overlay address changed; re-indexing stored chunks into new bins");
        List<Long> rowids = new ArrayList<>();
        List<byte[]> addrs = new ArrayList<>();
        try (ResultSet rs = db.prepare("SELECT rowid, address FROM chunks ORDER BY rowid").executeQuery()) {
            while (rs.next()) {
                rowids.add(rs.getLong(1));
                addrs.add(rs.getBytes(2));
            }
        }
        long[] next = new long[BINS];
        try (ResultSet rs = db.prepare("SELECT po, last_index FROM chunk_bins").executeQuery()) {
            while (rs.next()) {
                int po = rs.getInt(1);
                if (po >= 0 && po < BINS) {
                    next[po] = rs.getLong(2);
                }
            }
        }
        db.update("UPDATE chunks SET bin_index = -rowid");
        PreparedStatement upd = db.prepare("UPDATE chunks SET po = ?, bin_index = ? WHERE rowid = ?");
        for (int i = 0; i < rowids.size(); i++) {
            int po = ChunkAddress.wrap(addrs.get(i)).proximityOrder(overlay);
            upd.setInt(1, po);
            upd.setLong(2, ++next[po]);
            upd.setLong(3, rowids.get(i));
            upd.executeUpdate();
        }
        PreparedStatement bins = db.prepare("INSERT INTO chunk_bins (po, last_index) VALUES (?, ?)"
                + " ON CONFLICT (po) DO UPDATE SET last_index = max(last_index, excluded.last_index)");
        for (int po = 0; po < BINS; po++) {
            if (next[po] > 0) {
                bins.setInt(1, po);
                bins.setLong(2, next[po]);
                bins.executeUpdate();
            }
        }
    }

    // ---------------------------------------------------------------------------------------------- helpers

    private static void checkPo(int po) {
        if (po < 0 || po >= BINS) {
            throw new IllegalArgumentException("po must be in 0.." + (BINS - 1) + ", got " + po);
        }
    }

    private static void checkBatch(int n) {
        if (n > MAX_BATCH) {
            throw new IllegalArgumentException(n + " chunks in one call, more than " + MAX_BATCH);
        }
    }

    private static <T> T await(CompletableFuture<T> f, String what) {
        try {
            return f.get(60, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RuntimeException re) {
                throw re;
            }
            throw new StoreException("cannot " + what + ": " + c, c);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("interrupted: " + what);
        } catch (TimeoutException e) {
            throw new StoreException("timed out: " + what);
        }
    }
}
