/**
 * The node's store (DESIGN.md "store" layer; seed 000: the peer list "endures in an sql database between
 * reboots"): one SQLite file, {@code peersocket.db}, in the node's data dir.
 *
 * <p>Threading (DESIGN.md "Concurrency"): one platform thread, {@code peersocket-store}, owns the SQLite
 * connection. Every read and write is enqueued as a unit of work and returns a {@link
 * java.util.concurrent.CompletableFuture}; the store thread drains the queue and runs what it took in one
 * transaction, so many small writes share one commit. All public methods may be called from any thread.
 * Futures complete on the store thread: dependent stages added with the non-async methods run there and must
 * be short and must not block; blocking on a store future from the store thread throws
 * {@link java.lang.IllegalStateException} rather than deadlocking.
 *
 * <p>Entry point: {@link io.peersocket.store.Store#open(java.nio.file.Path)}; views
 * {@link io.peersocket.store.PeerStore} (peers and their multiaddrs) and {@link io.peersocket.store.KvStore}
 * (node settings). The schema is versioned by ordered {@link io.peersocket.store.Migration}s.
 */
package io.peersocket.store;
