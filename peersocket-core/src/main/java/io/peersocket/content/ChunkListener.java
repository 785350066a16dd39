package io.peersocket.content;

/**
 * Hears about chunks newly stored in a {@link ChunkStore} (live syncing: seed 001 "live session syncing").
 * Called once per chunk that a put actually added (not for chunks already present), after the transaction
 * committed, in bin-index order per bin, on the store's listener executor (the node's event loop for
 * {@code Node#chunks()}). Must not block.
 */
@FunctionalInterface
public interface ChunkListener {
    /** {@code chunk.added()} is always true here. */
    void onStored(StoredChunk chunk);
}
