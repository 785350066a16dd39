package io.peersocket.interop;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.EventLoop;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.util.Arrays;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Test-only: a blocking TCP {@link Socket} as a raw {@link Stream} for the upgrader. A reader thread delivers
 * reads to {@link #handler} on {@code loop} (in order); writes go out on a writer thread, in order, and their
 * futures complete on {@code loop}. EOF is {@code onRemoteWriteClosed} then {@code onClosed}.
 */
final class SocketPipe implements Stream {
    private static final AtomicLong IDS = new AtomicLong();
    private final long id = IDS.incrementAndGet();
    private final Socket socket;
    private final EventLoop loop;
    private final boolean outbound;
    private final ExecutorService writer;
    private final AtomicLong pendingBytes = new AtomicLong();
    private volatile StreamHandler handler;
    private volatile boolean closed;
    private boolean ended; // on the loop

    SocketPipe(Socket socket, EventLoop loop, boolean outbound) {
        this.socket = socket;
        this.loop = loop;
        this.outbound = outbound;
        this.writer = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "socket-pipe-writer-" + id);
            t.setDaemon(true);
            return t;
        });
    }

    /** Sets the handler (before {@link #startReading()}). */
    void handler(StreamHandler h) { handler = h; }

    void startReading() {
        Thread t = new Thread(this::readLoop, "socket-pipe-reader-" + id);
        t.setDaemon(true);
        t.start();
    }

    private void readLoop() {
        byte[] buf = new byte[64 * 1024];
        try {
            InputStream in = socket.getInputStream();
            int n;
            while ((n = in.read(buf)) >= 0) {
                byte[] d = Arrays.copyOf(buf, n);
                loop.execute(() -> {
                    if (!ended) handler.onData(this, d);
                });
            }
            loop.execute(() -> {
                if (!ended) handler.onRemoteWriteClosed(this);
                end(null);
            });
        } catch (IOException e) {
            loop.execute(() -> end(closed ? null : e));
        }
    }

    private void end(Throwable cause) {
        if (ended) return;
        ended = true;
        handler.onClosed(this, cause);
    }

    @Override public long id() { return id; }

    @Override public Connection connection() { return null; }

    @Override public boolean isOutbound() { return outbound; }

    @Override public CompletableFuture<Void> write(byte[] data) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        pendingBytes.addAndGet(data.length);
        try {
            writer.execute(() -> {
                try {
                    OutputStream out = socket.getOutputStream();
                    out.write(data);
                    out.flush();
                    loop.execute(() -> f.complete(null));
                } catch (IOException e) {
                    loop.execute(() -> f.completeExceptionally(new TransportException(TransportException.Kind.IO, e.getMessage(), e)));
                } finally {
                    pendingBytes.addAndGet(-data.length);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            f.completeExceptionally(new TransportException(TransportException.Kind.CLOSED, "socket closed"));
        }
        return f;
    }

    @Override public boolean isWritable() { return !closed && pendingBytes.get() < (1 << 20); }

    @Override public CompletableFuture<Void> closeWrite() {
        CompletableFuture<Void> f = new CompletableFuture<>();
        writer.execute(() -> {
            try {
                socket.shutdownOutput();
            } catch (IOException ignored) {
                // already closed
            }
            loop.execute(() -> f.complete(null));
        });
        return f;
    }

    @Override public void reset() {
        closed = true;
        try {
            socket.setSoLinger(true, 0);
            socket.close();
        } catch (IOException ignored) {
            // closing anyway
        }
        writer.shutdownNow();
    }

    @Override public void close() {
        closed = true;
        try {
            writer.execute(() -> {
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closing anyway
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException ignored) {
            // already closed
        }
        writer.shutdown();
    }

    @Override public String toString() { return "SocketPipe#" + id + "[" + socket.getRemoteSocketAddress() + "]"; }
}
