package io.peersocket.transport.upgrade;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.EventLoop;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.Function;

/** Records upcalls, checks they run on {@code loop} and in order (onConnection first, onConnectionClosed last). */
final class RecordingHandler implements TransportHandler {
    final EventLoop loop;
    final BlockingQueue<Connection> connections = new LinkedBlockingQueue<>();
    final BlockingQueue<Stream> inboundStreams = new LinkedBlockingQueue<>();
    final ConcurrentHashMap<Connection, CompletableFuture<String>> closed = new ConcurrentHashMap<>();
    final List<String> violations = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<Connection, String> state = new ConcurrentHashMap<>();
    volatile Function<Stream, StreamHandler> streamHandlers = s -> new Echo();

    RecordingHandler(EventLoop loop) { this.loop = loop; }

    CompletableFuture<String> closedFuture(Connection c) {
        return closed.computeIfAbsent(c, k -> new CompletableFuture<>());
    }

    void check(String what) {
        if (!loop.inEventLoop()) violations.add(what + " ran on " + Thread.currentThread().getName());
    }

    @Override public void onConnection(Connection connection) {
        check("onConnection");
        if (state.putIfAbsent(connection, "open") != null) violations.add("onConnection twice");
        connections.add(connection);
    }

    @Override public StreamHandler onStream(Stream stream) {
        check("onStream");
        if (!"open".equals(state.get(stream.connection()))) violations.add("onStream outside an open connection");
        inboundStreams.add(stream);
        return streamHandlers.apply(stream);
    }

    @Override public void onConnectionClosed(Connection connection, String reason) {
        check("onConnectionClosed");
        if (!"open".equals(state.put(connection, "closed"))) violations.add("onConnectionClosed without onConnection or twice");
        closedFuture(connection).complete(reason);
    }

    /** Echoes data and the FIN. */
    final class Echo implements StreamHandler {
        @Override public void onData(Stream stream, byte[] data) {
            check("onData");
            stream.write(data);
        }

        @Override public void onRemoteWriteClosed(Stream stream) { stream.closeWrite(); }
    }

    /** Collects what arrives; {@code fin} completes with everything at the remote FIN. */
    static final class Collector implements StreamHandler {
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final CompletableFuture<byte[]> fin = new CompletableFuture<>();
        final CompletableFuture<Throwable> closed = new CompletableFuture<>();

        @Override public synchronized void onData(Stream stream, byte[] data) { received.writeBytes(data); }

        @Override public synchronized void onRemoteWriteClosed(Stream stream) { fin.complete(received.toByteArray()); }

        @Override public void onClosed(Stream stream, Throwable cause) {
            closed.complete(cause);
            fin.completeExceptionally(cause == null ? new IllegalStateException("closed before FIN") : cause);
        }

        synchronized int size() { return received.size(); }
    }
}
