package io.peersocket.sim;

import io.peersocket.identity.PeerId;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.kad.KadConnectionManager;
import io.peersocket.protocol.kad.Kademlia;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * {@link Discovery} over the real {@link Kademlia} service with its {@link KadConnectionManager} (running from the
 * start on every node, the bootstrap node included): join = connect to the bootstrap peer, then a self-lookup
 * ({@link Kademlia#bootstrap()}); find = {@link Kademlia#findPeer}; one request = a kad PING.
 */
public final class KadDiscovery implements Discovery {
    /** Join attempts before {@link #join} gives up. */
    public static final int MAX_JOIN_ATTEMPTS = 6;
    /** How often a joined node checks that its routing table is not empty, ms. */
    public static final long WATCHDOG_MS = 10_000;

    private final SimNode node;
    private final Kademlia kad;
    private final KadConnectionManager manager;
    private int retries;
    private boolean closed;

    /** Starts Kademlia with {@code config} and its connection manager on {@code node} (call from the setup). */
    public KadDiscovery(SimNode node, KadConfig config) {
        this.node = node;
        this.kad = new Kademlia(node.node(), config);
        this.manager = new KadConnectionManager(kad);
        manager.start();
    }

    /** A {@link SimConfig#setup} factory; each node's kad seed is {@code config.seed() + index}. */
    public static Function<SimNode, Discovery> factory(KadConfig config) {
        return n -> new KadDiscovery(n, config.toBuilder().seed(config.seed() + n.index()).build());
    }

    public Kademlia kademlia() { return kad; }

    public KadConnectionManager connectionManager() { return manager; }

    /**
     * Joins through {@code bootstrap} as a careful node would: connect, wait (at most 2 virtual seconds) until
     * identify has put it in the routing table, run the self-lookup, and check that the table is not empty; if an
     * attempt fails, try again after 1, 2, 4 … s ({@value #MAX_JOIN_ATTEMPTS} attempts in all). Afterwards a
     * watchdog re-joins whenever the table is found empty (checked every {@value #WATCHDOG_MS} ms). Retries and
     * re-joins are counted in {@link #joinRetries()}.
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
                .thenCompose(v -> kad.bootstrap())
                .thenCompose(r -> kad.inspect(t -> t.size()))
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

    /** Completes once the table has a member or after {@code tries} checks 50 ms apart. */
    private CompletableFuture<Void> whenTableHasMembers(int tries) {
        return kad.inspect(t -> t.size()).thenCompose(size -> {
            if (size > 0 || tries <= 0) return CompletableFuture.completedFuture(null);
            CompletableFuture<Void> later = new CompletableFuture<>();
            node.node().loop().schedule(() -> whenTableHasMembers(tries - 1).whenComplete((v, e) -> later.complete(null)), 50);
            return later;
        });
    }

    @Override public CompletableFuture<Found> findPeer(PeerId target) {
        return kad.findPeer(target).thenApply(r -> new Found(r.stats().hops(), r.stats().queried()));
    }

    /** A kad PING (one request and answer on a new stream, dialling first if not connected). */
    @Override public CompletableFuture<?> oneRequest(PeerId peer) { return kad.ping(peer); }

    /** Members of the routing table (event loop only, i.e. the simulation thread). */
    @Override public int tableSize() { return kad.table().size(); }

    @Override public void close() {
        closed = true;
        manager.close();
        kad.close();
    }
}
