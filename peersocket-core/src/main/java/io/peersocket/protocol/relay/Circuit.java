package io.peersocket.protocol.relay;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.EventLoop;
import java.util.concurrent.CompletableFuture;

/**
 * A raw relayed byte pipe to {@link #remotePeer()} through {@link #relay()}, after the relay (hop) or this node
 * (stop) said OK: the hop stream on the initiator's side, the stop stream on the target's. Bytes are neither
 * authenticated nor encrypted by the relay; {@link RelayClient#dial} runs an {@link
 * io.peersocket.transport.upgrade.Upgrader} over it. Data that arrived before {@link #attach} is held (bounded)
 * and delivered first.
 */
public final class Circuit {
    private final EventLoop loop;
    private final MessageStream messages;
    private final PeerId remotePeer;
    private final PeerId relay;
    private final Limit limit;
    private final Multiaddr address;
    private final boolean inbound;

    Circuit(EventLoop loop, MessageStream messages, PeerId remotePeer, PeerId relay, Limit limit, Multiaddr address,
            boolean inbound) {
        this.loop = loop;
        this.messages = messages;
        this.remotePeer = remotePeer;
        this.relay = relay;
        this.limit = limit == null ? Limit.NONE : limit;
        this.address = address;
        this.inbound = inbound;
    }

    /** The underlying stream (hop or stop); write to it directly or through {@link #write}. */
    public Stream stream() { return messages.stream(); }

    /** The peer at the other end: the target (outbound) or the initiator as named by the relay (inbound). */
    public PeerId remotePeer() { return remotePeer; }

    public PeerId relay() { return relay; }

    /** The relay's limits on this circuit ({@link Limit#NONE} if it announced none). */
    public Limit limit() { return limit; }

    /** The circuit address, {@code /…relay address…/p2p/RELAY/p2p-circuit} (without the remote's {@code /p2p/}). */
    public Multiaddr address() { return address; }

    /** True on the target's side (the relay opened a stop stream to us). */
    public boolean isInbound() { return inbound; }

    /**
     * Sends the circuit's data to {@code handler} on the event loop: first the bytes held so far, then all later
     * data, the remote's FIN and the close. Call once. Any thread.
     */
    public void attach(StreamHandler handler) {
        if (loop.inEventLoop()) messages.attach(handler);
        else loop.execute(() -> messages.attach(handler));
    }

    /** Writes {@code data} to the circuit (see {@link Stream#write}). */
    public CompletableFuture<Void> write(byte[] data) { return stream().write(data); }

    /** Closes the circuit gracefully. */
    public void close() { stream().close(); }

    @Override public String toString() {
        return "Circuit(" + (inbound ? "from " : "to ") + remotePeer + " via " + relay + ")";
    }
}
