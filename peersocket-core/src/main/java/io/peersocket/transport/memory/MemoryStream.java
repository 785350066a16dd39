package io.peersocket.transport.memory;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One side of an in-memory stream. State is guarded by the network lock; the other side's data, FIN, reset and
 * STOP_SENDING arrive through the connection's inbox; upcalls run on the transport's executor.
 */
final class MemoryStream implements Stream {
    private static final Logger log = LoggerFactory.getLogger(MemoryStream.class);
    /** Bytes in flight to the remote above which {@link #isWritable()} turns false. */
    static final long HIGH_WATER_BYTES = 1 << 20;

    private final MemoryConnection conn;
    private final Object lock;
    private final long id;
    private final boolean outbound;
    volatile StreamHandler handler; // null for an inbound stream until onStream returned

    // Guarded by lock.
    MemoryStream peer;
    private boolean writeClosed; // FIN sent, or the remote stopped reading
    private boolean stopped; // the remote sent STOP_SENDING
    private boolean readDone; // the remote's FIN was delivered
    private boolean reset; // reset locally or by the remote
    private boolean closed; // onClosed decided (called or queued)
    private long inFlight; // bytes written, not yet delivered to the remote

    MemoryStream(MemoryConnection conn, long id, boolean outbound, StreamHandler handler) {
        this.conn = conn;
        this.lock = conn.lock;
        this.id = id;
        this.outbound = outbound;
        this.handler = handler;
    }

    @Override public long id() { return id; }

    @Override public Connection connection() { return conn; }

    @Override public boolean isOutbound() { return outbound; }

    @Override public CompletableFuture<Void> write(byte[] data) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        synchronized (lock) {
            TransportException e = writeErrorLocked();
            if (e != null) return conn.transport.failOnExecutor(result, e);
            if (data.length > 0) {
                byte[] copy = data.clone();
                inFlight += copy.length;
                MemoryStream p = peer;
                p.conn.inbox.postLocked(conn.latencyLocked(copy.length), () -> p.dataArrived(copy, this));
            }
            conn.transport.post(() -> result.complete(null));
        }
        return result;
    }

    private TransportException writeErrorLocked() {
        if (reset) return new TransportException(TransportException.Kind.CLOSED, "stream reset");
        if (conn.isClosedLocked()) return new TransportException(TransportException.Kind.CLOSED, "connection closed");
        if (stopped) return new TransportException(TransportException.Kind.CLOSED, "stream stopped by remote");
        if (writeClosed || closed) return new TransportException(TransportException.Kind.CLOSED, "stream write side closed");
        return null;
    }

    @Override public boolean isWritable() {
        synchronized (lock) {
            return writeErrorLocked() == null && inFlight < HIGH_WATER_BYTES;
        }
    }

    @Override public CompletableFuture<Void> closeWrite() {
        CompletableFuture<Void> result = new CompletableFuture<>();
        synchronized (lock) {
            if (writeClosed && !reset && !stopped) {
                conn.transport.post(() -> result.complete(null)); // idempotent
                return result;
            }
            TransportException e = writeErrorLocked();
            if (e != null) return conn.transport.failOnExecutor(result, e);
            writeClosed = true;
            sendLocked(MemoryStream::finArrived);
            boolean nowClosed = readDone;
            if (nowClosed) markClosedLocked();
            conn.transport.post(() -> {
                result.complete(null);
                if (nowClosed) deliverClosed(null);
            });
        }
        return result;
    }

    @Override public void reset() {
        synchronized (lock) {
            if (closed || conn.isClosedLocked()) return;
            reset = true;
            markClosedLocked();
            sendLocked(MemoryStream::resetArrived);
            TransportException cause = new TransportException(TransportException.Kind.CLOSED, "stream reset locally");
            conn.transport.post(() -> deliverClosed(cause));
        }
    }

    @Override public void close() {
        synchronized (lock) {
            if (closed || conn.isClosedLocked()) return;
            if (!writeClosed) {
                writeClosed = true;
                sendLocked(MemoryStream::finArrived);
            }
            if (!readDone) sendLocked(MemoryStream::stopArrived);
            markClosedLocked();
            conn.transport.post(() -> deliverClosed(null));
        }
    }

    /** Queues {@code event} to run on the remote side after the link latency. */
    private void sendLocked(java.util.function.Consumer<MemoryStream> event) {
        MemoryStream p = peer;
        p.conn.inbox.postLocked(conn.latencyLocked(), () -> event.accept(p));
    }

    /** Marks this side closed (onClosed decided); frees the opener's stream slot once both sides are closed. */
    void markClosedLocked() {
        if (closed) return;
        closed = true;
        conn.streams.remove(id);
        if (peer.closed) {
            MemoryConnection opener = outbound ? conn : peer.conn;
            opener.openedStreams--;
        }
    }

    // ---- events from the remote (on this side's executor) -------------------------------------------

    private void dataArrived(byte[] data, MemoryStream from) {
        synchronized (lock) {
            from.inFlight -= data.length;
            if (closed || conn.isClosedLocked()) return;
        }
        try {
            handler.onData(this, data);
        } catch (RuntimeException e) {
            log.warn("onData failed on {}; resetting the stream", this, e);
            reset();
        }
    }

    private void finArrived() {
        boolean nowClosed;
        synchronized (lock) {
            if (closed || readDone || conn.isClosedLocked()) return;
            readDone = true;
            nowClosed = writeClosed;
            if (nowClosed) markClosedLocked();
        }
        try {
            handler.onRemoteWriteClosed(this);
        } catch (RuntimeException e) {
            log.warn("onRemoteWriteClosed failed on {}", this, e);
        }
        if (nowClosed) deliverClosed(null);
    }

    private void stopArrived() {
        boolean nowClosed;
        synchronized (lock) {
            if (closed || conn.isClosedLocked()) return;
            stopped = true;
            writeClosed = true;
            nowClosed = readDone;
            if (nowClosed) markClosedLocked();
        }
        if (nowClosed) deliverClosed(null);
    }

    private void resetArrived() {
        synchronized (lock) {
            if (closed || conn.isClosedLocked()) return;
            reset = true;
            markClosedLocked();
        }
        deliverClosed(new TransportException(TransportException.Kind.CLOSED, "stream reset by remote"));
    }

    /** Calls onClosed (once: callers decide closing under the lock exactly once). */
    void deliverClosed(Throwable cause) {
        StreamHandler h = handler;
        if (h == null) return;
        try {
            h.onClosed(this, cause);
        } catch (RuntimeException e) {
            log.warn("onClosed failed on {}", this, e);
        }
    }

    @Override public String toString() {
        return "MemoryStream#" + id + "[" + (outbound ? "out" : "in") + " on connection " + conn.id() + "]";
    }
}
