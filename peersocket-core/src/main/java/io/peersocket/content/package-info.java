/**
 * Content-addressed chunks and the node's chunk store (seed 001, Swarm's localstore): {@link
 * io.peersocket.content.Chunk} (≤ 4 KiB payload with an 8-byte span, addressed by its SHA-256 BMT hash),
 * {@link io.peersocket.content.ChunkAddress} (32 bytes; proximity order to an overlay address), and {@link
 * io.peersocket.content.ChunkStore} (SQLite-backed, indexed by bin with a per-bin monotonic index for pull
 * syncing, pinning, capacity-bounded garbage collection by distance). Files and directories are split into
 * chunk trees by {@code io.peersocket.content.files}.
 *
 * <p>This layer sits above the store and below the protocols: retrieval and push/pull sync use it; it
 * knows nothing of the network.
 */
package io.peersocket.content;
