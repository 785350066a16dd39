package io.peersocket.transport.memory;

import io.peersocket.identity.PeerId;

/**
 * Decides the conditions of every send across a {@link MemoryNetwork}: the seam for latency distributions,
 * partitions and (later) NAT models. Set with {@link MemoryNetwork#setLinkModel}; pairs given their own
 * conditions with {@link MemoryNetwork#setLink} bypass it.
 *
 * <p>Called under the network's lock, on the thread that sends (with a simulator: its one driving thread), once
 * per stream event, datagram or dial, so it may draw per-message jitter from a seeded random source and stay
 * deterministic. It must be quick and must not call back into the network. A model whose latency varies per
 * call cannot reorder a connection's stream data: each connection side delivers in send order (a message never
 * overtakes an earlier one; it waits for it).
 */
public interface LinkModel {

    /**
     * The conditions for one send from {@code from} to {@code to} now (for a dial to nowhere, {@code to} is the
     * dialer itself).
     */
    MemoryNetwork.LinkConditions conditions(PeerId from, PeerId to);

    /**
     * The conditions for one write of {@code bytes} of stream data from {@code from} to {@code to} at
     * {@code nowNanos} (the sender's clock): the seam for bandwidth models, where a write also waits for the
     * sender's earlier writes to leave its uplink. Default: {@link #conditions(PeerId, PeerId)}.
     */
    default MemoryNetwork.LinkConditions conditions(PeerId from, PeerId to, int bytes, long nowNanos) {
        return conditions(from, to);
    }

    /**
     * Whether packets from {@code from} reach {@code to} at all. False for a partition or a crashed peer: dials
     * between them fail with {@code TIMEOUT} at the dialer's handshake timeout and datagrams are lost. Connections
     * already established are not affected; break them with {@link MemoryNetwork#breakConnections}. Default
     * true.
     */
    default boolean reachable(PeerId from, PeerId to) { return true; }

    /**
     * Whether a dial from {@code dialer} to {@code listener} gets through (the hook for NAT and firewall models:
     * a peer behind a NAT can dial out but refuses unsolicited dials). Default: reachable both ways.
     */
    default boolean canDial(PeerId dialer, PeerId listener) {
        return reachable(dialer, listener) && reachable(listener, dialer);
    }

    /** A model giving every send the same {@code conditions}. */
    static LinkModel constant(MemoryNetwork.LinkConditions conditions) {
        java.util.Objects.requireNonNull(conditions);
        return (from, to) -> conditions;
    }
}
