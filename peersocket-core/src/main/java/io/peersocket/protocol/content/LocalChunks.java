package io.peersocket.protocol.content;

import io.peersocket.content.BinEntry;
import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkListener;
import io.peersocket.content.ChunkStore;
import io.peersocket.content.StoredChunk;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;

/**
 * What the content protocols need of a node's chunks: the {@link ChunkStore} operations pull sync, push sync and
 * retrieval use. {@link #of(ChunkStore)} adapts the node's SQLite chunk store ({@code Host.chunks()});
 * {@link #memory} is an in-memory store with the same contract (bins by PO to the overlay, monotonic per-bin
 * index from 1, listeners for added chunks) for ephemeral and simulated nodes: it completes every future at once
 * on the calling thread and calls listeners through the given executor, so a simulation stays deterministic.
 *
 * <p>Futures may complete on any thread; the protocols hop back to their event loop.
 */
public interface LocalChunks {
    /** The node's overlay address the bins are computed for (32 bytes). */
    byte[] overlay();

    /** Whether {@code a} is stored. */
    CompletableFuture<Boolean> has(ChunkAddress a);

    /** Bit {@code i} set if {@code as.get(i)} is stored. */
    CompletableFuture<BitSet> hasAll(List<ChunkAddress> as);

    /** Bit {@code i} set if a chunk whose address starts with {@code prefixes[i]} ({@link ContentCodec#prefix}) is stored. */
    CompletableFuture<BitSet> hasPrefixes(long[] prefixes);

    /** The chunk, or empty. */
    CompletableFuture<Optional<Chunk>> get(ChunkAddress a);

    /** The chunks in order, null for those not stored. */
    CompletableFuture<List<Chunk>> getAll(List<ChunkAddress> as);

    /** Stores {@code c} ({@code pin}: never garbage collected). */
    CompletableFuture<StoredChunk> put(Chunk c, boolean pin);

    /** Entries of bin {@code po} with index {@code > fromExclusive}, in index order, at most {@code limit}. */
    CompletableFuture<List<BinEntry>> chunksInBin(int po, long fromExclusive, int limit);

    /** Last committed index of bin {@code po}, 0 if none. */
    long lastIndex(int po);

    /** Calls {@code l} for each chunk newly added; returns a handle that removes it. */
    Runnable addListener(ChunkListener l);

    /** The node's SQLite chunk store ({@code Host.chunks()}). */
    static LocalChunks of(ChunkStore store) {
        return new LocalChunks() {
            @Override public CompletableFuture<BitSet> hasPrefixes(long[] prefixes) { return store.hasPrefixes(prefixes); }
            @Override public byte[] overlay() { return store.overlay(); }
            @Override public CompletableFuture<Boolean> has(ChunkAddress a) { return store.has(a); }
            @Override public CompletableFuture<BitSet> hasAll(List<ChunkAddress> as) { return store.hasAll(as); }
            @Override public CompletableFuture<Optional<Chunk>> get(ChunkAddress a) { return store.get(a); }
            @Override public CompletableFuture<List<Chunk>> getAll(List<ChunkAddress> as) { return store.getAll(as); }
            @Override public CompletableFuture<StoredChunk> put(Chunk c, boolean pin) { return store.put(c, pin); }
            @Override public CompletableFuture<List<BinEntry>> chunksInBin(int po, long from, int limit) {
                return store.chunksInBin(po, from, limit);
            }
            @Override public long lastIndex(int po) { return store.lastIndex(po); }
            @Override public Runnable addListener(ChunkListener l) { return store.addListener(l); }
        };
    }

    /** An in-memory chunk store for {@code overlay}; listeners run on {@code listenerExecutor}. Thread-safe. */
    static LocalChunks memory(byte[] overlay, Executor listenerExecutor) { return new Memory(overlay, listenerExecutor); }

    /** See {@link #memory}. */
    final class Memory implements LocalChunks {
        private final byte[] overlay;
        private final Executor executor;
        private final Map<ChunkAddress, Chunk> chunks = new HashMap<>();
        private final Map<Long, Integer> prefixes = new HashMap<>();
        private final List<TreeMap<Long, ChunkAddress>> bins = new ArrayList<>();
        private final long[] last = new long[ChunkStore.BINS];
        private final List<ChunkListener> listeners = new CopyOnWriteArrayList<>();

        Memory(byte[] overlay, Executor executor) {
            if (overlay.length != ChunkAddress.BYTES) throw new IllegalArgumentException("overlay must be 32 bytes");
            this.overlay = overlay.clone();
            this.executor = executor;
            for (int i = 0; i < ChunkStore.BINS; i++) bins.add(new TreeMap<>());
        }

        @Override public byte[] overlay() { return overlay.clone(); }

        @Override public synchronized CompletableFuture<Boolean> has(ChunkAddress a) {
            return CompletableFuture.completedFuture(chunks.containsKey(a));
        }

        @Override public synchronized CompletableFuture<BitSet> hasAll(List<ChunkAddress> as) {
            BitSet b = new BitSet(as.size());
            for (int i = 0; i < as.size(); i++) if (chunks.containsKey(as.get(i))) b.set(i);
            return CompletableFuture.completedFuture(b);
        }

        @Override public synchronized CompletableFuture<BitSet> hasPrefixes(long[] ps) {
            BitSet b = new BitSet(ps.length);
            for (int i = 0; i < ps.length; i++) if (prefixes.containsKey(ps[i])) b.set(i);
            return CompletableFuture.completedFuture(b);
        }

        @Override public synchronized CompletableFuture<Optional<Chunk>> get(ChunkAddress a) {
            return CompletableFuture.completedFuture(Optional.ofNullable(chunks.get(a)));
        }

        @Override public synchronized CompletableFuture<List<Chunk>> getAll(List<ChunkAddress> as) {
            List<Chunk> out = new ArrayList<>(as.size());
            for (ChunkAddress a : as) out.add(chunks.get(a));
            return CompletableFuture.completedFuture(out);
        }

        @Override public CompletableFuture<StoredChunk> put(Chunk c, boolean pin) {
            StoredChunk s;
            synchronized (this) {
                int po = c.address().proximityOrder(overlay);
                if (chunks.containsKey(c.address())) {
                    long idx = 0;
                    for (Map.Entry<Long, ChunkAddress> e : bins.get(po).entrySet()) if (e.getValue().equals(c.address())) idx = e.getKey();
                    return CompletableFuture.completedFuture(new StoredChunk(c.address(), po, idx, false));
                }
                chunks.put(c.address(), c);
                prefixes.merge(ContentCodec.prefix(c.address()), 1, Integer::sum);
                long idx = ++last[po];
                bins.get(po).put(idx, c.address());
                s = new StoredChunk(c.address(), po, idx, true);
            }
            for (ChunkListener l : listeners) executor.execute(() -> l.onStored(s));
            return CompletableFuture.completedFuture(s);
        }

        @Override public synchronized CompletableFuture<List<BinEntry>> chunksInBin(int po, long from, int limit) {
            List<BinEntry> out = new ArrayList<>();
            for (Map.Entry<Long, ChunkAddress> e : bins.get(po).tailMap(from, false).entrySet()) {
                if (out.size() >= limit) break;
                out.add(new BinEntry(e.getKey(), e.getValue()));
            }
            return CompletableFuture.completedFuture(out);
        }

        @Override public synchronized long lastIndex(int po) { return last[po]; }

        @Override public Runnable addListener(ChunkListener l) {
            listeners.add(l);
            return () -> listeners.remove(l);
        }

        /** Number of chunks stored. */
        public synchronized int size() { return chunks.size(); }

        /** Whether {@code a} is stored (synchronously). */
        public synchronized boolean contains(ChunkAddress a) { return chunks.containsKey(a); }

        /** Removes a chunk (tests: an upstream that lost a chunk); its index stays used. */
        public synchronized boolean remove(ChunkAddress a) {
            if (chunks.remove(a) == null) return false;
            if (prefixes.merge(ContentCodec.prefix(a), -1, Integer::sum) <= 0) prefixes.remove(ContentCodec.prefix(a));
            bins.get(a.proximityOrder(overlay)).values().remove(a);
            return true;
        }
    }
}
