package io.peersocket.sim;

import io.peersocket.identity.PeerId;
import java.util.concurrent.CompletableFuture;

/**
 * What {@link DiscoveryBench} needs from a discovery protocol running on one simulated node: join through a
 * bootstrap peer, find a peer, and one plain request for comparison. An adapter over the real protocol (e.g.
 * {@code KadDiscovery} over {@code Kademlia}); the application object of each node
 * ({@link SimConfig#setup}). Methods are called on the simulation thread; futures complete on the loop.
 */
public interface Discovery extends AutoCloseable {

    /**
     * A successful lookup.
     *
     * @param hops the lookup's hop count as the protocol reports it (0 if answered locally)
     * @param queried peers asked
     */
    record Found(int hops, int queried) {}

    /**
     * Joins the network through {@code bootstrap} (its address is already in this node's address book):
     * connects to it and runs the protocol's join (e.g. a self-lookup). Completes when joined.
     */
    CompletableFuture<?> join(SimNode bootstrap);

    /** Finds {@code target}'s addresses; fails if it cannot be found. */
    CompletableFuture<Found> findPeer(PeerId target);

    /**
     * One request and its answer to {@code peer} through the protocol (e.g. a kad PING), connecting first if
     * needed: the cost of one lookup step.
     */
    CompletableFuture<?> oneRequest(PeerId peer);

    /** Peers in the routing table now (call on the simulation thread). */
    int tableSize();

    /** How often joining had to be retried (after failed attempts, or because the table emptied); default 0. */
    default int joinRetries() { return 0; }

    /** Stops the protocol's timers. */
    @Override void close();
}
