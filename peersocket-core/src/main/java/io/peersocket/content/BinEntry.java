package io.peersocket.content;

/**
 * One chunk of a bin as listed by {@link ChunkStore#chunksInBin}: its per-bin index and its address.
 *
 * @param binIndex the chunk's index in its bin (from 1, increasing in storage order)
 * @param address the chunk's address
 */
public record BinEntry(long binIndex, ChunkAddress address) {}
