package io.peersocket.content;

/**
 * Settings of a {@link ChunkStore}.
 *
 * @param capacity most unpinned chunks kept (pinned chunks, i.e. locally shared content, do not count and
 *     are never collected); when exceeded, garbage collection removes the unpinned chunks farthest from the
 *     node's overlay address (lowest proximity order first, oldest first within a bin) down to
 *     {@code capacity - gcBatch / 2} or lower. {@code >= 1}
 * @param gcBatch most chunks removed by one garbage-collection transaction, {@code >= 1}
 * @param verifyOnRead whether {@link ChunkStore#get} re-hashes stored data (guards against a damaged file;
 *     a chunk that fails is deleted, counted and reported missing)
 */
public record ChunkStoreConfig(long capacity, int gcBatch, boolean verifyOnRead) {
    /** Default capacity: 1,000,000 unpinned chunks (about 4 GiB). */
    public static final long DEFAULT_CAPACITY = 1_000_000;
    /** Default GC batch: 10,000 chunks. */
    public static final int DEFAULT_GC_BATCH = 10_000;

    public ChunkStoreConfig {
        if (capacity < 1) {
            throw new IllegalArgumentException("chunk store capacity must be >= 1, got " + capacity);
        }
        if (gcBatch < 1) {
            throw new IllegalArgumentException("chunk store gcBatch must be >= 1, got " + gcBatch);
        }
    }

    /** Capacity 1,000,000 unpinned chunks, GC batches of 10,000, verify on read. */
    public static ChunkStoreConfig defaults() {
        return new ChunkStoreConfig(DEFAULT_CAPACITY, DEFAULT_GC_BATCH, true);
    }

    public ChunkStoreConfig withCapacity(long v) {
        return new ChunkStoreConfig(v, gcBatch, verifyOnRead);
    }

    public ChunkStoreConfig withGcBatch(int v) {
        return new ChunkStoreConfig(capacity, v, verifyOnRead);
    }

    public ChunkStoreConfig withVerifyOnRead(boolean v) {
        return new ChunkStoreConfig(capacity, gcBatch, v);
    }
}
