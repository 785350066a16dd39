package io.peersocket.content;

/**
 * The outcome of putting one chunk into a {@link ChunkStore}.
 *
 * @param address the chunk's address
 * @param po its proximity order to the node's overlay address, i.e. its bin (0..255)
 * @param binIndex its index in the bin (monotonic per bin, from 1; gaps are possible)
 * @param added true if this put stored it; false if it was already stored (then {@code binIndex} is the
 *     existing index)
 */
public record StoredChunk(ChunkAddress address, int po, long binIndex, boolean added) {}
