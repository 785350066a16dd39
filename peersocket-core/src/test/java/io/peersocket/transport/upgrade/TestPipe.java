package io.peersocket.transport.upgrade;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.EventLoop;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/**
 * One end of an in-memory byte pipe (a TCP-like raw stream): bytes written at one end arrive, in order, at the
 * other end's handler on that end's event loop. {@link #close()} gives the peer FIN then close; {@link #reset()}
 * gives it a close with a cause.
 */
final class TestPipe implements Stream {
    private static final AtomicLong IDS = new AtomicLong();
    final EventLoop loop;
    private final long id = IDS.incrementAndGet();
    private final boolean outbound;
    TestPipe peer;
    volatile StreamHandler handler;
    /** Rewrites each write before it travels (tests tamper with it). */
    volatile UnaryOperator<byte[]> tap = b -> b;
    final AtomicLong bytesWritten = new AtomicLong();
    volatile boolean closed, resetCalled;
    private boolean writeClosed, ended;

    private TestPipe(EventLoop loop, boolean outbound) {
        this.loop = loop;
        this.outbound = outbound;
    }

    /** A connected pair: [0] on {@code a}, [1] on {@code b}. */
    static TestPipe[] pair(EventLoop a, EventLoop b) {
        TestPipe x = new TestPipe(a, true), y = new TestPipe(b, false);
        x.peer = y;
        y.peer = x;
        return new TestPipe[] {x, y};
    }

    /** Delivers {@code data} to this end's handler as if the peer wrote it. */
    void inject(byte[] data) { loop.execute(() -> deliver(data)); }

    private final java.util.List<byte[]> early = new java.util.ArrayList<>();

    /** Installs the handler on this end's loop; bytes that arrived before it are delivered first. */
    void setHandler(StreamHandler h) {
        loop.execute(() -> {
            handler = h;
            for (byte[] d : early) deliver(d);
            early.clear();
        });
    }

    private void deliver(byte[] data) {
        if (ended) return;
        if (handler == null) early.add(data);
        else handler.onData(this, data);
    }

    private void deliverFin() {
        if (!ended && handler != null) handler.onRemoteWriteClosed(this);
    }

    private void deliverEnd(Throwable cause) {
        if (ended) return;
        ended = true;
        if (handler != null) handler.onClosed(this, cause);
    }

    @Override public long id() { return id; }

    @Override public Connection connection() { return null; }

    @Override public boolean isOutbound() { return outbound; }

    @Override public synchronized CompletableFuture<Void> write(byte[] data) {
        if (closed || writeClosed) {
            return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.CLOSED, "pipe closed"));
        }
        byte[] d = tap.apply(data);
        bytesWritten.addAndGet(d.length);
        TestPipe p = peer;
        p.loop.execute(() -> p.deliver(d));
        return CompletableFuture.completedFuture(null);
    }

    @Override public boolean isWritable() { return !closed; }

    @Override public synchronized CompletableFuture<Void> closeWrite() {
        if (!writeClosed && !closed) {
            writeClosed = true;
            TestPipe p = peer;
            p.loop.execute(p::deliverFin);
        }
        return CompletableFuture.completedFuture(null);
    }

    @Override public synchronized void reset() {
        if (closed) return;
        closed = true;
        resetCalled = true;
        TestPipe p = peer;
        p.loop.execute(() -> p.deliverEnd(new TransportException(TransportException.Kind.CLOSED, "pipe reset by peer")));
        loop.execute(() -> deliverEnd(new TransportException(TransportException.Kind.CLOSED, "pipe reset locally")));
    }

    @Override public synchronized void close() {
        if (closed) return;
        closeWrite();
        closed = true;
        TestPipe p = peer;
        p.loop.execute(() -> p.deliverEnd(null));
        loop.execute(() -> deliverEnd(null));
    }

    @Override public String toString() { return "TestPipe#" + id; }
}
