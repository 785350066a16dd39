package io.peersocket.transport.quic;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import java.io.ByteArrayOutputStream;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import java.util.function.UnaryOperator;

/**
 * A QUIC transport with a single-thread event executor that records every upcall, checks that each runs on the
 * executor thread and that per-connection order holds (onConnection first, onConnectionClosed last).
 */
final class TestNode implements TransportHandler, AutoCloseable {
    static final String LOOPBACK = "/ip4/127.0.0.1/udp/0/quic-v1";

    final HostKey key;
    final ExecutorService executor;
    final QuicTransport transport;
    private volatile Thread executorThread;
    final BlockingQueue<Connection> connections = new LinkedBlockingQueue<>();
    final BlockingQueue<Connection> closedConnections = new LinkedBlockingQueue<>();
    final ConcurrentHashMap<Connection, String> closeReasons = new ConcurrentHashMap<>();
    final BlockingQueue<byte[]> datagrams = new LinkedBlockingQueue<>();
    final BlockingQueue<Stream> inboundStreams = new LinkedBlockingQueue<>();
    /** Violations of threading / ordering rules seen in upcalls. */
    final List<String> violations = new CopyOnWriteArrayList<>();
    private final ConcurrentHashMap<Connection, String> state = new ConcurrentHashMap<>();
    /** Chooses the handler for inbound streams; default echo. */
    volatile Function<Stream, StreamHandler> streamHandlers = s -> new Echo();

    TestNode() {
        this(c -> c);
    }

    TestNode(UnaryOperator<TransportConfig> tweak) {
        this(tweak, true);
    }

    /** {@code loopbackCodecs} false: loopback peers use the WAN (1350-byte packet) codecs. */
    TestNode(UnaryOperator<TransportConfig> tweak, boolean loopbackCodecs) {
        key = HostKey.generate();
        executor = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "test-executor-" + key.peerId().toString().substring(46));
            t.setDaemon(true);
            executorThread = t;
            return t;
        });
        transport = new QuicTransport(tweak.apply(TransportConfig.defaults(key, executor)), this, loopbackCodecs);
    }

    PeerId peerId() {
        return key.peerId();
    }

    /** Listens on 127.0.0.1, random port; returns the address with {@code /p2p/}. */
    Multiaddr listen() throws Exception {
        List<Multiaddr> bound = transport.listen(List.of(Multiaddr.parse(LOOPBACK))).get(5, TimeUnit.SECONDS);
        return bound.get(0).withPeerId(peerId());
    }

    Multiaddr address() {
        return transport.listenAddresses().get(0).withPeerId(peerId());
    }

    Connection dial(TestNode other) throws Exception {
        return transport.dial(other.address(), null).get(10, TimeUnit.SECONDS);
    }

    void checkThread(String what) {
        if (Thread.currentThread() != executorThread) {
            violations.add(what + " ran on " + Thread.currentThread().getName());
        }
    }

    @Override
    public void onConnection(Connection connection) {
        checkThread("onConnection");
        if (state.putIfAbsent(connection, "open") != null) violations.add("onConnection twice for " + connection);
        connections.add(connection);
    }

    @Override
    public StreamHandler onStream(Stream stream) {
        checkThread("onStream");
        if (!"open".equals(state.get(stream.connection()))) {
            violations.add("onStream before onConnection or after close: " + stream);
        }
        inboundStreams.add(stream);
        return streamHandlers.apply(stream);
    }

    @Override
    public void onDatagram(Connection connection, byte[] data) {
        checkThread("onDatagram");
        if (!"open".equals(state.get(connection))) violations.add("onDatagram outside open connection");
        datagrams.add(data);
    }

    @Override
    public void onConnectionClosed(Connection connection, String reason) {
        checkThread("onConnectionClosed");
        if (!"open".equals(state.put(connection, "closed"))) {
            violations.add("onConnectionClosed without onConnection or twice: " + connection);
        }
        closeReasons.put(connection, reason);
        closedConnections.add(connection);
    }

    @Override
    public void close() {
        transport.close();
        executor.shutdownNow();
    }

    /** Echoes data and the FIN. */
    final class Echo implements StreamHandler {
        final CompletableFuture<Throwable> closed = new CompletableFuture<>();

        @Override
        public void onData(Stream stream, byte[] data) {
            checkThread("onData");
            stream.write(data);
        }

        @Override
        public void onRemoteWriteClosed(Stream stream) {
            checkThread("onRemoteWriteClosed");
            stream.closeWrite();
        }

        @Override
        public void onClosed(Stream stream, Throwable cause) {
            checkThread("onClosed");
            closed.complete(cause);
        }
    }

    /** Collects everything received; completes when the remote FIN arrives / the stream closes. */
    static final class Collector implements StreamHandler {
        final ByteArrayOutputStream received = new ByteArrayOutputStream();
        final CompletableFuture<byte[]> fin = new CompletableFuture<>();
        final CompletableFuture<Throwable> closed = new CompletableFuture<>();
        final AtomicReference<String> order = new AtomicReference<>("");

        @Override
        public synchronized void onData(Stream stream, byte[] data) {
            if (closed.isDone() || fin.isDone()) order.set(order.get() + " data-after-end");
            received.writeBytes(data);
        }

        @Override
        public synchronized void onRemoteWriteClosed(Stream stream) {
            fin.complete(received.toByteArray());
        }

        @Override
        public void onClosed(Stream stream, Throwable cause) {
            closed.complete(cause);
        }

        synchronized byte[] bytes() {
            return received.toByteArray();
        }
    }
}
