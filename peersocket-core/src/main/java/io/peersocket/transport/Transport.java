package io.peersocket.transport;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.Collection;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;

/**
 * A transport endpoint: one local port that both accepts and dials (needed for hole punching), with mutual
 * authentication by public key. Connections, inbound and outbound, are reported to the
 * {@link TransportHandler} given at creation.
 */
public interface Transport extends AutoCloseable {

    /**
     * Binds the local socket(s). May be called once.
     *
     * @param addresses listen addresses, e.g. {@code /ip4/127.0.0.1/udp/0/quic-v1}; port 0 picks a free port
     * @return the bound addresses (with real ports, without {@code /p2p/})
     * @throws TransportException (in the future) if an address is unsupported or cannot be bound
     */
    CompletableFuture<List<Multiaddr>> listen(List<Multiaddr> addresses);

    /** Bound listen addresses, without {@code /p2p/}; empty before {@link #listen}. */
    List<Multiaddr> listenAddresses();

    /**
     * Dials {@code address}. If the address ends in {@code /p2p/ID} the remote must prove it is ID, else the
     * connection fails with {@link TransportException} ({@code PEER_ID_MISMATCH}). The connection is also
     * reported to {@link TransportHandler#onConnection}.
     *
     * @param address a multiaddr this transport supports
     * @param expected the required remote peer, or null to take the one in the address (or accept any)
     * @return completes with the authenticated connection or fails with {@link TransportException}
     */
    CompletableFuture<Connection> dial(Multiaddr address, PeerId expected);

    /** True if this transport can dial {@code address}. */
    boolean canDial(Multiaddr address);

    /**
     * Hole punching (libp2p DCUtR, seed 000 introduction): sends {@code count} UDP datagrams of random bytes from
     * the listening socket (the one that also dials) to {@code target}, so this side's NAT opens a mapping towards
     * it and a later inbound handshake from {@code target} passes. The payload is not a valid QUIC packet (its
     * fixed bit is clear), so a QUIC receiver drops it. Sending is best effort: the future says the datagrams were
     * handed to the socket, never that they arrived.
     *
     * @param target the remote's observed address ({@code /ip4|ip6/H/udp/P/quic-v1}, {@code /p2p/} ignored)
     * @param count datagrams to send now, 1..{@value #MAX_PUNCH_PACKETS}
     * @return completes when handed to the socket; fails with {@link TransportException} ({@code BAD_ADDRESS}
     *     for an address this transport cannot punch, {@code CLOSED}, {@code IO}). Transports without a shared
     *     UDP socket fail it with {@link UnsupportedOperationException}
     */
    default CompletableFuture<Void> punch(Multiaddr target, int count) {
        return CompletableFuture.failedFuture(new UnsupportedOperationException(
                getClass().getSimpleName() + " cannot send hole-punch packets"));
    }

    /** Most datagrams one {@link #punch} call sends. */
    int MAX_PUNCH_PACKETS = 16;

    /** Open connections (a snapshot). */
    List<Connection> connections();

    /**
     * Firewall (testing a network cut without root): drops all traffic between this transport and the given
     * remote addresses, both ways, until {@link #unblock}. Connections to a blocked address stop carrying data
     * and end as a real cut ends them (QUIC: at the idle timeout); dials to one fail with {@code TIMEOUT};
     * inbound dials from one never arrive. Adding an address already blocked is a no-op. Any thread.
     *
     * @param remotes the remote transport addresses (as in {@link Connection#remoteAddress()}; a {@code /p2p/}
     *     suffix is ignored)
     * @throws IllegalArgumentException if an address is not one this transport can filter
     * @throws UnsupportedOperationException if this transport has no firewall (the default)
     */
    default void block(Collection<Multiaddr> remotes) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no firewall");
    }

    /**
     * Ends {@link #block} for the given addresses (unknown ones are ignored); traffic flows again, so peers can
     * reconnect. Any thread.
     *
     * @throws IllegalArgumentException if an address is not one this transport can filter
     * @throws UnsupportedOperationException if this transport has no firewall (the default)
     */
    default void unblock(Collection<Multiaddr> remotes) {
        throw new UnsupportedOperationException(getClass().getSimpleName() + " has no firewall");
    }

    /** The addresses blocked now, in this transport's normal form, without {@code /p2p/} (a snapshot; empty by default). */
    default Set<Multiaddr> blocked() {
        return Set.of();
    }

    /** Closes every connection and the socket; idempotent. Completes when released. */
    CompletableFuture<Void> closeAsync();

    /** Blocking {@link #closeAsync()}, bounded by a few seconds. */
    @Override
    void close();
}
