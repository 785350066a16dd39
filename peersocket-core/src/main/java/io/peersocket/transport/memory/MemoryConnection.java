package io.peersocket.transport.memory;

import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One side of an in-memory connection. State is guarded by the network lock; events from the other side arrive
 * through {@link #inbox}; upcalls run on the owning transport's executor without the lock.
 */
final class MemoryConnection implements Connection {
    private static final Logger log = LoggerFactory.getLogger(MemoryConnection.class);

    final MemoryTransport transport;
    final Object lock;
    final Inbox inbox;
    private final long id;
    private final Direction direction;
    private final Multiaddr localAddress;
    private final Multiaddr remoteAddress;
    private final PeerId remotePeer;
    private final PublicKey remotePublicKey;
    /** Completes the dial (outbound side only); null for inbound. */
    private final CompletableFuture<Connection> dialFuture;
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    /** The relayed path's conditions if this connection is limited ({@link MemoryNetwork#setLimited}), else null. */
    private final MemoryNetwork.LinkConditions limited;

    // Guarded by lock.
    MemoryConnection peer; // the other side; null if the dial found no listener
    private boolean established;
    private boolean closed;
    final Map<Long, MemoryStream> streams = new LinkedHashMap<>();
    private long nextStreamId;
    /** Streams this side opened that are not yet closed on both sides (the remote's limit applies to them). */
    int openedStreams;

    MemoryConnection(MemoryTransport transport, Direction direction, Multiaddr remoteAddress, PeerId remotePeer,
                     PublicKey remotePublicKey, CompletableFuture<Connection> dialFuture,
                     MemoryNetwork.LinkConditions limited) {
        this.transport = transport;
        this.lock = transport.lock;
        this.inbox = new Inbox(transport, lock);
        this.id = transport.nextConnectionIdLocked();
        this.direction = direction;
        this.localAddress = transport.localAddressLocked();
        this.remoteAddress = remoteAddress;
        this.remotePeer = remotePeer;
        this.remotePublicKey = remotePublicKey;
        this.dialFuture = dialFuture;
        this.limited = limited;
        this.nextStreamId = direction == Direction.OUTBOUND ? 0 : 1; // QUIC: client-initiated bidi ids are even
    }

    @Override public long id() { return id; }

    @Override public PeerId remotePeer() { return remotePeer; }

    @Override public PublicKey remotePublicKey() { return remotePublicKey; }

    @Override public Multiaddr remoteAddress() { return remoteAddress; }

    @Override public Multiaddr localAddress() { return localAddress; }

    @Override public Direction direction() { return direction; }

    /** As set by {@link MemoryNetwork#setLimited} when the connection was dialled. */
    @Override public boolean isLimited() { return limited != null; }

    @Override public boolean isOpen() {
        synchronized (lock) {
            return established && !closed;
        }
    }

    boolean isEstablishedLocked() { return established && !closed; }

    boolean isClosedLocked() { return closed; }

    long latencyLocked() {
        if (limited != null) return limited.latencyMs();
        return transport.net.linkLocked(transport.peerId(), remotePeer).latencyMs();
    }

    /** Latency of a stream write of {@code bytes} (bandwidth models add the wait for the sender's uplink). */
    long latencyLocked(int bytes) {
        return transport.net.linkLocked(transport.peerId(), remotePeer, bytes, transport.nowNanos()).latencyMs();
    }

    // ---- handshake ----------------------------------------------------------------------------------

    /** Listener side, one latency after the dial: accept or refuse. */
    void accept(long listenId, PeerId expected, long latency) {
        MemoryConnection c;
        synchronized (lock) {
            c = peer;
            if (c.closed) { // the dialer gave up meanwhile
                closed = true;
                return;
            }
            TransportException refusal = null;
            MemoryTransport t = transport;
            if (!t.isListeningOnLocked(listenId)) {
                refusal = new TransportException(TransportException.Kind.REFUSED, "nothing listens at " + c.remoteAddress);
            } else if (expected != null && !expected.equals(t.peerId())) {
                refusal = new TransportException(TransportException.Kind.PEER_ID_MISMATCH, "dialled " + expected
                        + " but " + c.remoteAddress + " is " + t.peerId());
            } else if (t.conns.size() >= t.config.maxConnections()) {
                refusal = new TransportException(TransportException.Kind.REFUSED, c.remoteAddress
                        + " refused: its connection limit " + t.config.maxConnections() + " is reached");
            }
            if (refusal != null) {
                closed = true;
                TransportException r = refusal;
                c.inbox.postLocked(latency, () -> c.dialFailed(r));
                return;
            }
            established = true;
            t.conns.add(this);
            c.inbox.postLocked(latency, c::dialSucceeded);
        }
        transport.handler.onConnection(this);
    }

    /** Dialer side: the listener accepted. */
    private void dialSucceeded() {
        synchronized (lock) {
            if (closed) return;
            established = true;
        }
        try {
            transport.handler.onConnection(this);
        } finally {
            dialFuture.complete(this);
        }
    }

    /** Dialer side: the dial failed. */
    void dialFailed(TransportException e) {
        synchronized (lock) {
            if (closed) return;
            closed = true;
            transport.conns.remove(this);
        }
        dialFuture.completeExceptionally(e);
    }

    // ---- streams ------------------------------------------------------------------------------------

    @Override public CompletableFuture<Stream> openStream(StreamHandler handler) {
        java.util.Objects.requireNonNull(handler, "handler");
        CompletableFuture<Stream> result = new CompletableFuture<>();
        synchronized (lock) {
            if (closed || !established) {
                return transport.failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED,
                        "connection closed"));
            }
            int limit = peer.transport.config.maxStreamsPerConnection();
            if (openedStreams >= limit) {
                return transport.failOnExecutor(result, new TransportException(TransportException.Kind.LIMIT,
                        "stream limit " + limit + " of " + remotePeer.shortString() + " reached"));
            }
            long sid = nextStreamId;
            nextStreamId += 4;
            MemoryStream local = new MemoryStream(this, sid, true, handler);
            MemoryStream remote = new MemoryStream(peer, sid, false, null);
            local.peer = remote;
            remote.peer = local;
            streams.put(sid, local);
            openedStreams++;
            MemoryConnection p = peer;
            p.inbox.postLocked(latencyLocked(), () -> p.remoteOpened(remote));
            transport.post(() -> result.complete(local));
        }
        return result;
    }

    /** The remote opened {@code s}; ask the handler for its stream handler. */
    private void remoteOpened(MemoryStream s) {
        synchronized (lock) {
            if (closed) return;
            streams.put(s.id(), s);
        }
        StreamHandler h;
        try {
            h = transport.handler.onStream(s);
        } catch (RuntimeException e) {
            log.warn("onStream failed on {}; resetting the stream", this, e);
            h = null;
        }
        if (h == null || h == StreamHandler.REJECT) {
            s.handler = StreamHandler.REJECT;
            s.reset();
        } else {
            s.handler = h;
        }
    }

    // ---- datagrams ----------------------------------------------------------------------------------

    @Override public boolean sendDatagram(byte[] data) {
        synchronized (lock) {
            int max = maxDatagramSizeLocked();
            if (max == 0 || data.length > max) return false;
            MemoryConnection p = peer;
            MemoryNetwork net = transport.net;
            MemoryNetwork.LinkConditions link = net.linkLocked(transport.peerId(), remotePeer);
            boolean through = net.reachableLocked(transport.peerId(), remotePeer);
            if (net.datagramLostLocked(through ? link.lossRate() : 1.0)) return true;
            byte[] copy = data.clone();
            p.inbox.postLocked(link.latencyMs(), () -> p.datagramArrived(copy));
            return true;
        }
    }

    private void datagramArrived(byte[] data) {
        synchronized (lock) {
            if (closed || !established) return;
        }
        transport.handler.onDatagram(this, data);
    }

    @Override public int maxDatagramSize() {
        synchronized (lock) {
            return maxDatagramSizeLocked();
        }
    }

    private int maxDatagramSizeLocked() {
        if (closed || !established || limited != null || !transport.config.datagrams() || !peer.transport.config.datagrams()) return 0;
        return transport.net.maxDatagramBytes();
    }

    // ---- close --------------------------------------------------------------------------------------

    @Override public CompletableFuture<Void> close() {
        synchronized (lock) {
            closeLocked("closed locally", true);
            return closeFuture;
        }
    }

    /**
     * Closes this side: marks its streams closed, tells the peer (if {@code notifyPeer}), removes it from the
     * transport, and queues the upcalls (streams' onClosed, then onConnectionClosed with {@code reason}) or fails
     * a pending dial.
     */
    void closeLocked(String reason, boolean notifyPeer) {
        if (closed) return;
        closed = true;
        transport.conns.remove(this);
        boolean wasEstablished = established;
        List<MemoryStream> open = new ArrayList<>(streams.values());
        for (MemoryStream s : open) s.markClosedLocked();
        streams.clear();
        if (notifyPeer && peer != null) {
            MemoryConnection p = peer;
            p.inbox.postLocked(latencyLocked(), p::remoteClosed);
        }
        if (!wasEstablished) {
            if (dialFuture != null) {
                transport.failOnExecutor(dialFuture, new TransportException(TransportException.Kind.CLOSED,
                        "dial abandoned: " + reason));
            }
            transport.post(() -> closeFuture.complete(null));
            return;
        }
        TransportException cause = new TransportException(TransportException.Kind.CLOSED, "connection " + reason);
        transport.post(() -> {
            for (MemoryStream s : open) s.deliverClosed(cause);
            try {
                transport.handler.onConnectionClosed(this, reason);
            } finally {
                closeFuture.complete(null);
            }
        });
    }

    private void remoteClosed() {
        synchronized (lock) {
            closeLocked("closed by remote", false);
        }
    }

    @Override public String toString() {
        return "MemoryConnection#" + id + "[" + direction.name().toLowerCase() + (limited != null ? " limited " : " ")
                + (remotePeer == null ? "?" : remotePeer.shortString()) + " " + remoteAddress + "]";
    }
}
