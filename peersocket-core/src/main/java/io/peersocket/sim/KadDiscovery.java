package io.peersocket.sim;

import io.peersocket.identity.PeerId;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.kad.Kademlia;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * {@link Discovery} over the node's own Kademlia ({@link io.peersocket.node.NodeBuilder#kademlia}): the DHT and its
 * connection manager run from the node's start, and the node bootstraps itself (a self-lookup) once it has
 * identified its first DHT server — exactly as a real node does. Join = connect to the bootstrap peer and wait
 * for the routing table to have a member; find = {@link Kademlia#findPeer}; one request = a kad PING.
 *
 * <p>Use {@link #configure} to build every node with the DHT and this adapter as its application object.
 */
public final class KadDiscovery implements Discovery {
    /** Join attempts before {@link #join} gives up. */
    public static final int MAX_JOIN_ATTEMPTS = 6;
    /** How often a joined node checks that its routing table is not empty, ms. */
    public static final long WATCHDOG_MS = 10_000;

    private final SimNode node;
    private final Kademlia kad;
    private int retries;
    private boolean closed;

    /**
     * The adapter for {@code node}.
     *
     * @throws NullPointerException if the node was built without Kademlia
     */
    public KadDiscovery(SimNode node) {
        this.node = node;
        this.kad = Objects.requireNonNull(node.node().kademlia(), "node " + node.index() + " runs without Kademlia");
    }

    /** {@code base} with every node running Kademlia with {@code kad} and this adapter as its application object. */
    public static SimConfig configure(SimConfig base, KadConfig kad) {
        Objects.requireNonNull(kad);
        var options = base.nodeOptions();
        return base.withNodeOptions(b -> options.apply(b).kademlia(kad)).withSetup(KadDiscovery::new);
    }

    public Kademlia kademlia() { return kad; }

    /**
     * Joins through {@code bootstrap}: connects and waits (at most 2 virtual seconds) until identify has put it in
     * the routing table (the node then runs its self-lookup by itself). A failed attempt is retried after 1, 2, 4
     * … s ({@value #MAX_JOIN_ATTEMPTS} attempts in all); afterwards a watchdog re-joins whenever the table is
     * found empty (checked every {@value #WATCHDOG_MS} ms). Both count in {@link #joinRetries()}.
     */
    @Override public CompletableFuture<?> join(SimNode bootstrap) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        attempt(bootstrap, 1, done);
        return done.thenRun(() -> watch(bootstrap));
    }

    private void attempt(SimNode bootstrap, int n, CompletableFuture<Void> done) {
        if (n > 1) retries++;
        node.node().connect(bootstrap.address())
                .thenCompose(c -> whenTableHasMembers(40))
                .whenComplete((size, e) -> {
                    if (e == null && size > 0) {
                        done.complete(null);
                    } else if (n >= MAX_JOIN_ATTEMPTS || closed) {
                        done.completeExceptionally(e != null ? e : new IllegalStateException(
                                "routing table still empty after " + n + " join attempts"));
                    } else {
                        node.node().loop().schedule(() -> attempt(bootstrap, n + 1, done), 1000L << (n - 1));
                    }
                });
    }

    /** Completes with the table size once it is positive, or after {@code tries} more checks 50 ms apart. */
    private CompletableFuture<Integer> whenTableHasMembers(int tries) {
        return kad.inspect(t -> t.size()).thenCompose(size -> {
            if (size > 0 || tries <= 0) return CompletableFuture.completedFuture(size);
            CompletableFuture<Integer> later = new CompletableFuture<>();
            node.node().loop().schedule(() -> whenTableHasMembers(tries - 1).whenComplete((v, e) -> {
                if (e != null) later.completeExceptionally(e);
                else later.complete(v);
            }), 50);
            return later;
        });
    }

    private void watch(SimNode bootstrap) {
        if (closed) return;
        node.node().loop().schedule(() -> {
            if (closed) return;
            if (kad.table().size() == 0) {
                CompletableFuture<Void> again = new CompletableFuture<>();
                attempt(bootstrap, 2, again); // counted as a retry
                again.whenComplete((v, e) -> watch(bootstrap));
            } else {
                watch(bootstrap);
            }
        }, WATCHDOG_MS);
    }

    /** Join attempts after the first, and re-joins after the table emptied. */
    @Override public int joinRetries() { return retries; }

    @Override public CompletableFuture<Found> findPeer(PeerId target) {
        return kad.findPeer(target).thenApply(r -> new Found(r.stats().hops(), r.stats().queried()));
    }

    /** A kad PING (one request and answer on a new stream, dialling first if not connected). */
    @Override public CompletableFuture<?> oneRequest(PeerId peer) { return kad.ping(peer); }

    /** Members of the routing table (event loop only, i.e. the simulation thread). */
    @Override public int tableSize() { return kad.table().size(); }

    /** Stops the watchdog; the node closes its DHT itself. */
    @Override public void close() { closed = true; }
}
