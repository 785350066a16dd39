package io.peersocket.content;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.store.Store;
import io.peersocket.util.Counters;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The chunk store on a real SQLite file in a temp data dir, with chunks cut from real data. */
class ChunkStoreTest {
    @TempDir
    Path dir;

    private static final byte[] OVERLAY = Chunk.of(RealData.bytes(10)).address().toBytes();

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    private static ChunkStore open(Store store, ChunkStoreConfig config, Counters counters) {
        return ChunkStore.open(store, OVERLAY, config, Runnable::run, System::currentTimeMillis, counters);
    }

    @Test
    void putGetHasAcrossReopen() throws Exception {
        List<Chunk> chunks = RealData.chunks(50);
        List<ChunkAddress> addrs = chunks.stream().map(Chunk::address).toList();
        ChunkAddress absent = Chunk.of(RealData.bytes(7)).address();
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            List<StoredChunk> r = await(cs.putAll(chunks, false));
            assertThat(r).hasSize(50).allMatch(StoredChunk::added);
            for (int i = 0; i < 50; i++) {
                assertThat(r.get(i).address()).isEqualTo(addrs.get(i));
                assertThat(r.get(i).po()).isEqualTo(addrs.get(i).proximityOrder(OVERLAY)).isEqualTo(cs.binOf(addrs.get(i)));
            }
            assertThat(cs.size()).isEqualTo(50);
            // Putting again adds nothing and reports the existing bin index.
            StoredChunk again = await(cs.put(chunks.get(3), false));
            assertThat(again.added()).isFalse();
            assertThat(again.binIndex()).isEqualTo(r.get(3).binIndex());
            assertThat(cs.size()).isEqualTo(50);
            assertThat(await(cs.get(absent))).isEmpty();
            assertThat(await(cs.has(absent))).isFalse();
        }
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            assertThat(cs.size()).isEqualTo(50);
            Chunk got = await(cs.get(addrs.get(7))).orElseThrow();
            assertThat(got.payload()).isEqualTo(chunks.get(7).payload());
            List<ChunkAddress> query = new ArrayList<>(addrs.subList(0, 5));
            query.add(2, absent);
            BitSet has = await(cs.hasAll(query));
            assertThat(has.cardinality()).isEqualTo(5);
            assertThat(has.get(2)).isFalse();
            assertThat(has.get(0)).isTrue();
            assertThat(has.get(5)).isTrue();
            List<Chunk> all = await(cs.getAll(query));
            assertThat(all.get(2)).isNull();
            assertThat(all.get(3).address()).isEqualTo(addrs.get(2));
        }
    }

    @Test
    void hasPrefixesFindsStoredAddressPrefixesOnly() throws Exception {
        List<Chunk> chunks = RealData.chunks(20);
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            await(cs.putAll(chunks.subList(0, 10), false));
            long[] prefixes = new long[22];
            for (int i = 0; i < 20; i++) {
                prefixes[i] = java.nio.ByteBuffer.wrap(chunks.get(i).address().raw()).getLong();
            }
            prefixes[20] = -1L; // all-ones prefix: the open-ended range
            prefixes[21] = prefixes[0] + 1; // a neighbour of a stored prefix
            BitSet has = await(cs.hasPrefixes(prefixes));
            for (int i = 0; i < 20; i++) assertThat(has.get(i)).as("prefix %d", i).isEqualTo(i < 10);
            assertThat(has.get(20)).isFalse();
            assertThat(has.get(21)).isFalse();
            assertThatThrownBy(() -> cs.hasPrefixes(new long[ChunkStore.MAX_BATCH + 1]))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void binIndexesAreMonotonicPerBinAndIterable() throws Exception {
        List<Chunk> chunks = RealData.chunks(200);
        Map<Integer, List<ChunkAddress>> byBin = new HashMap<>();
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            // Separate puts, some concurrent from two threads: indexes still strictly increase per bin.
            ExecutorService ex = Executors.newFixedThreadPool(2);
            try {
                List<CompletableFuture<StoredChunk>> fs = new ArrayList<>();
                for (Chunk c : chunks) {
                    fs.add(CompletableFuture.supplyAsync(() -> cs.put(c, false), ex).thenCompose(f -> f));
                }
                for (CompletableFuture<StoredChunk> f : fs) {
                    await(f);
                }
            } finally {
                ex.shutdown();
            }
            for (Chunk c : chunks) {
                byBin.computeIfAbsent(cs.binOf(c.address()), k -> new ArrayList<>()).add(c.address());
            }
            assertThat(byBin.keySet()).as("real data spreads over several bins").hasSizeGreaterThan(3);
            for (var e : byBin.entrySet()) {
                int po = e.getKey();
                List<BinEntry> all = await(cs.chunksInBin(po, 0, ChunkStore.MAX_BIN_PAGE));
                assertThat(all).extracting(BinEntry::address).containsExactlyInAnyOrderElementsOf(e.getValue());
                assertThat(all).extracting(BinEntry::binIndex).isSorted().doesNotHaveDuplicates();
                assertThat(cs.lastIndex(po)).isEqualTo(all.get(all.size() - 1).binIndex());
                // Paging: limit and fromIndexExclusive.
                List<BinEntry> paged = new ArrayList<>();
                long from = 0;
                while (true) {
                    List<BinEntry> page = await(cs.chunksInBin(po, from, 3));
                    if (page.isEmpty()) {
                        break;
                    }
                    assertThat(page.size()).isLessThanOrEqualTo(3);
                    paged.addAll(page);
                    from = page.get(page.size() - 1).binIndex();
                }
                assertThat(paged).isEqualTo(all);
            }
            int emptyBin = 200;
            assertThat(cs.lastIndex(emptyBin)).isZero();
            assertThat(await(cs.chunksInBin(emptyBin, 0, 10))).isEmpty();
        }
    }

    @Test
    void indexesAreNeverReusedAfterDeleteOrRestart() throws Exception {
        List<Chunk> chunks = RealData.chunks(40);
        int po;
        long lastBefore;
        ChunkAddress deleted;
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            await(cs.putAll(chunks.subList(0, 30), false));
            po = cs.binOf(chunks.get(0).address());
            lastBefore = cs.lastIndex(po);
            List<BinEntry> bin = await(cs.chunksInBin(po, 0, 1000));
            deleted = bin.get(bin.size() - 1).address();
            assertThat(await(cs.delete(deleted))).isTrue();
            assertThat(await(cs.delete(deleted))).isFalse();
            assertThat(cs.size()).isEqualTo(29);
        }
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            assertThat(cs.lastIndex(po)).isEqualTo(lastBefore);
            // Re-put the deleted chunk: it gets a new, larger index.
            Chunk again = chunks.stream().filter(c -> c.address().equals(deleted)).findFirst().orElseThrow();
            StoredChunk s = await(cs.put(again, false));
            assertThat(s.added()).isTrue();
            assertThat(s.binIndex()).isGreaterThan(lastBefore);
        }
    }

    @Test
    void listenersHearOnlyNewChunksOnTheirExecutor() throws Exception {
        List<Chunk> chunks = RealData.chunks(20);
        ExecutorService loop = Executors.newSingleThreadExecutor(r -> new Thread(r, "test-loop"));
        try (Store store = Store.open(dir)) {
            ChunkStore cs = ChunkStore.open(store, OVERLAY, ChunkStoreConfig.defaults(), loop,
                    System::currentTimeMillis, new Counters());
            await(cs.putAll(chunks.subList(0, 5), false));
            List<StoredChunk> heard = new CopyOnWriteArrayList<>();
            List<String> threads = new CopyOnWriteArrayList<>();
            CountDownLatch done = new CountDownLatch(15);
            Runnable remove = cs.addListener(s -> {
                heard.add(s);
                threads.add(Thread.currentThread().getName());
                done.countDown();
            });
            // 5 already stored + 15 new.
            await(cs.putAll(chunks, false));
            assertThat(done.await(30, TimeUnit.SECONDS)).isTrue();
            assertThat(heard).hasSize(15).allMatch(StoredChunk::added);
            assertThat(heard).extracting(StoredChunk::address)
                    .containsExactlyElementsOf(chunks.subList(5, 20).stream().map(Chunk::address).toList());
            assertThat(threads).containsOnly("test-loop");
            remove.run();
            await(cs.put(Chunk.of(RealData.bytes(99)), false));
            CompletableFuture.runAsync(() -> {}, loop).get(30, TimeUnit.SECONDS); // loop drained
            assertThat(heard).hasSize(15);
        } finally {
            loop.shutdown();
        }
    }

    @Test
    void gcRemovesFarthestUnpinnedChunksAndNeverPinnedOnes() throws Exception {
        List<Chunk> chunks = RealData.chunks(60);
        List<Chunk> pinnedChunks = chunks.subList(0, 15);
        List<Chunk> cached = chunks.subList(15, 60);
        Counters counters = new Counters();
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, new ChunkStoreConfig(20, 6, true), counters);
            await(cs.putAll(pinnedChunks, true));
            for (Chunk c : cached) {
                await(cs.put(c, false));
            }
            // Puts over capacity start GC by themselves; its unit is queued before this flush.
            await(store.flush());
            assertThat(counters.get("chunks.gc.removed")).as("automatic GC ran").isPositive();
            await(cs.gc());
            await(store.flush());
            long unpinned = cs.size() - cs.pinnedCount();
            assertThat(cs.pinnedCount()).isEqualTo(15);
            assertThat(unpinned).isLessThanOrEqualTo(20).isGreaterThanOrEqualTo(20 - 6);
            assertThat(counters.get("chunks.gc.removed")).isEqualTo(45 - unpinned);
            for (Chunk c : pinnedChunks) {
                assertThat(await(cs.has(c.address()))).as("pinned %s", c.address()).isTrue();
                assertThat(await(cs.isPinned(c.address()))).isTrue();
            }
            // The kept unpinned chunks are at least as close (PO) as every removed one.
            int minKept = Integer.MAX_VALUE;
            int maxRemoved = -1;
            for (Chunk c : cached) {
                int po = cs.binOf(c.address());
                if (await(cs.has(c.address()))) {
                    minKept = Math.min(minKept, po);
                } else {
                    maxRemoved = Math.max(maxRemoved, po);
                }
            }
            assertThat(maxRemoved).isLessThanOrEqualTo(minKept);
            // Unpinning makes chunks collectable again.
            assertThat(await(cs.unpinAll(pinnedChunks.stream().map(Chunk::address).toList()))).isEqualTo(15);
            assertThat(cs.pinnedCount()).isZero();
            await(cs.gc());
            await(store.flush());
            assertThat(cs.size()).isLessThanOrEqualTo(20);
        }
    }

    @Test
    void pinningAnExistingChunkByPutOrPin() throws Exception {
        List<Chunk> chunks = RealData.chunks(3);
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            await(cs.putAll(chunks, false));
            assertThat(cs.pinnedCount()).isZero();
            await(cs.put(chunks.get(0), true));
            assertThat(await(cs.pin(chunks.get(1).address()))).isTrue();
            assertThat(await(cs.pin(Chunk.of(RealData.bytes(5)).address()))).isFalse();
            assertThat(cs.pinnedCount()).isEqualTo(2);
            assertThat(await(cs.isPinned(chunks.get(2).address()))).isFalse();
        }
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), new Counters());
            assertThat(cs.pinnedCount()).isEqualTo(2);
            assertThat(cs.size()).isEqualTo(3);
        }
    }

    @Test
    void receiveRejectsWrongContentAndNeverStoresIt() throws Exception {
        Chunk good = Chunk.of(RealData.bytes(4096));
        byte[] bad = good.data();
        bad[50] ^= 0x40;
        Counters counters = new Counters();
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), counters);
            CompletableFuture<StoredChunk> f = cs.receive(good.address(), bad);
            try {
                f.get(30, TimeUnit.SECONDS);
                throw new AssertionError("wrong content was accepted");
            } catch (ExecutionException e) {
                assertThat(e.getCause()).isInstanceOf(InvalidChunkException.class)
                        .hasMessageContaining("does not match its address");
            }
            assertThat(counters.get("chunks.rejected.invalid")).isEqualTo(1);
            assertThat(await(cs.has(good.address()))).isFalse();
            assertThat(cs.size()).isZero();
            assertThat(await(cs.receive(good.address(), good.data())).added()).isTrue();
            assertThat(await(cs.get(good.address())).orElseThrow().payload()).isEqualTo(good.payload());
        }
    }

    @Test
    void damagedRowIsDetectedOnReadAndDropped() throws Exception {
        Chunk good = Chunk.of(RealData.bytes(4000));
        Counters counters = new Counters();
        try (Store store = Store.open(dir)) {
            ChunkStore cs = open(store, ChunkStoreConfig.defaults(), counters);
            await(cs.put(good, false));
            // Simulate disk damage behind the store's back.
            await(store.write("test.damage", db -> db.update(
                    "UPDATE chunks SET data = ? WHERE address = ?", Chunk.of(RealData.bytes(10)).data(),
                    good.address().toBytes())));
            assertThat(await(cs.get(good.address()))).isEmpty();
            assertThat(counters.get("chunks.corrupt")).isEqualTo(1);
        }
    }

    @Test
    void newOverlayReindexesBins() throws Exception {
        List<Chunk> chunks = RealData.chunks(30);
        try (Store store = Store.open(dir)) {
            open(store, ChunkStoreConfig.defaults(), new Counters()).putAll(chunks, false).get(30, TimeUnit.SECONDS);
        }
        byte[] other = Chunk.of(RealData.bytes(11)).address().toBytes();
        try (Store store = Store.open(dir)) {
            ChunkStore cs = ChunkStore.open(store, other, ChunkStoreConfig.defaults(), Runnable::run,
                    System::currentTimeMillis, new Counters());
            assertThat(cs.size()).isEqualTo(30);
            int listed = 0;
            for (int po = 0; po < ChunkStore.BINS; po++) {
                for (BinEntry e : await(cs.chunksInBin(po, 0, 1000))) {
                    assertThat(e.address().proximityOrder(other)).isEqualTo(po);
                    assertThat(e.binIndex()).isLessThanOrEqualTo(cs.lastIndex(po));
                    listed++;
                }
            }
            assertThat(listed).isEqualTo(30);
        }
    }
}
