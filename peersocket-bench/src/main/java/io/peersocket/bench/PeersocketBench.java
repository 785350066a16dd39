package io.peersocket.bench;

import io.peersocket.despatch.DespatchConfig;
import io.peersocket.despatch.Despatcher;
import io.peersocket.identity.HostKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.quic.QuicTransport;
import io.peersocket.util.ThreadEventLoop;
import java.io.IOException;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Our stack on loopback: two {@link Node}s in this process (each with its own event thread and QUIC transport),
 * using only public API.
 */
final class PeersocketBench implements AutoCloseable {
    static final int TYPE_ECHO = 1;
    static final int TYPE_ECHO_REPLY = 2;
    static final String BULK_PROTOCOL = "/peersocket/bench/bulk/1.0.0";
    private static final Multiaddr LOOPBACK = Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1");

    private final Node client;
    private final Node server;
    private final boolean inlineHandlers;

    /** Two nodes; handlers on virtual threads (the default). */
    PeersocketBench() throws IOException {
        this(false);
    }

    /**
     * @param inlineHandlers run the server's despatch handlers on its event loop
     *     ({@link DespatchConfig#withHandlerExecutor}{@code (Runnable::run)}) instead of on virtual threads; fine
     *     for the echo handler, which never blocks
     */
    PeersocketBench(boolean inlineHandlers) throws IOException {
        this.inlineHandlers = inlineHandlers;
        DespatchConfig despatch = DespatchConfig.defaults();
        if (inlineHandlers) despatch = despatch.withHandlerExecutor(Runnable::run);
        server = Node.builder().listen(LOOPBACK).despatch(despatch).start();
        client = Node.builder().listen(LOOPBACK).start();
        server.despatcher().register(TYPE_ECHO, m -> m.reply(TYPE_ECHO_REPLY, m.payload()));
        try {
            client.connect(server.addresses().getFirst()).get(10, TimeUnit.SECONDS);
        } catch (Exception e) {
            close();
            throw new IOException("cannot connect the two bench nodes: " + e, e);
        }
    }

    /**
     * {@link Despatcher#request} round trips with {@code depth} requests outstanding: {@code depth} chains, each
     * sending its next request from the completion of the previous one.
     */
    RrResult requestReply(Settings s, int depth) throws Exception {
        byte[] payload = new byte[s.payloadBytes()];
        Recorder rec = new Recorder(s.warmupMs(), s.durationMs());
        CompletableFuture<Void> done = new CompletableFuture<>();
        AtomicInteger running = new AtomicInteger(depth);
        for (int i = 0; i < depth; i++) chain(payload, rec, done, running);
        done.get(rec.remainingMs(15_000), TimeUnit.MILLISECONDS);
        String name = "Peersocket despatch" + (depth == 1 ? "" : ", " + depth + " outstanding")
                + (inlineHandlers ? ", inline handler" : "");
        return rec.result(name);
    }

    private void chain(byte[] payload, Recorder rec, CompletableFuture<Void> done, AtomicInteger running) {
        long t0 = System.nanoTime();
        client.despatcher().request(server.peerId(), TYPE_ECHO, payload).whenComplete((reply, err) -> {
            long t1 = System.nanoTime();
            if (err != null) {
                done.completeExceptionally(err);
            } else if (reply.payload().length != payload.length) {
                done.completeExceptionally(new IllegalStateException("reply of " + reply.payload().length + " bytes"));
            } else if (rec.record(t0, t1)) {
                chain(payload, rec, done, running);
            } else if (running.decrementAndGet() == 0) {
                done.complete(null);
            }
        });
    }

    /**
     * One stream on {@link #BULK_PROTOCOL} (registered with {@link Node#registerProtocol}); a sender thread keeps
     * {@link Settings#writeWindow()} {@link Stream#write} futures in flight.
     */
    BulkResult bulk(Settings s) throws Exception {
        BulkMeter meter = new BulkMeter("Peersocket stream", s);
        CompletableFuture<Void> done = new CompletableFuture<>();
        server.registerProtocol(BULK_PROTOCOL, (stream, id) -> (st, data) -> {
            if (meter.onBytes(data.length)) done.complete(null);
        });
        Stream st = client.openStream(server.peerId(), BULK_PROTOCOL, (x, data) -> {}).get(10, TimeUnit.SECONDS);
        byte[] chunk = new byte[s.chunkBytes()];
        Semaphore window = new Semaphore(s.writeWindow());
        long deadline = System.nanoTime() + (s.warmupMs() + s.bulkCapMs() + 10_000) * 1_000_000L;
        while (!meter.isDone() && !done.isDone() && System.nanoTime() - deadline < 0) {
            if (!window.tryAcquire(100, TimeUnit.MILLISECONDS)) continue;
            st.write(chunk).whenComplete((v, err) -> {
                window.release();
                if (err != null) done.completeExceptionally(err);
            });
        }
        done.get(10, TimeUnit.SECONDS);
        st.reset();
        return meter.result();
    }

    /** Times {@link Node#connect} (QUIC + libp2p TLS handshake and peer id check), closing each connection after. */
    ConnectResult nodeConnect(Settings s) throws Exception {
        Multiaddr target = server.addresses().getFirst();
        client.disconnect(server.peerId()).get(5, TimeUnit.SECONDS);
        long[] samples = new long[s.connects()];
        for (int i = -s.connectWarmup(); i < s.connects(); i++) {
            long t0 = System.nanoTime();
            Connection c = client.connect(target).get(10, TimeUnit.SECONDS);
            long t1 = System.nanoTime();
            if (i >= 0) samples[i] = t1 - t0;
            c.close().get(5, TimeUnit.SECONDS);
        }
        return new ConnectResult("Peersocket Node.connect", samples);
    }

    /** Times {@link Transport#dial} between two bare {@link QuicTransport}s (no node, no identify). */
    static ConnectResult transportDial(Settings s) throws Exception {
        try (ThreadEventLoop serverLoop = new ThreadEventLoop("bench-dial-server");
             ThreadEventLoop clientLoop = new ThreadEventLoop("bench-dial-client")) {
            HostKey serverKey = HostKey.generate();
            try (QuicTransport server = new QuicTransport(TransportConfig.defaults(serverKey, serverLoop), IDLE);
                 QuicTransport client = new QuicTransport(TransportConfig.defaults(HostKey.generate(), clientLoop), IDLE)) {
                Multiaddr target = server.listen(List.of(LOOPBACK)).get(10, TimeUnit.SECONDS).getFirst()
                        .withPeerId(serverKey.peerId());
                client.listen(List.of(LOOPBACK)).get(10, TimeUnit.SECONDS);
                long[] samples = new long[s.connects()];
                for (int i = -s.connectWarmup(); i < s.connects(); i++) {
                    long t0 = System.nanoTime();
                    Connection c = client.dial(target, null).get(10, TimeUnit.SECONDS);
                    long t1 = System.nanoTime();
                    if (i >= 0) samples[i] = t1 - t0;
                    c.close().get(5, TimeUnit.SECONDS);
                }
                return new ConnectResult("Peersocket Transport.dial", samples);
            }
        }
    }

    private static final TransportHandler IDLE = new TransportHandler() {
        @Override public void onConnection(Connection connection) {}

        @Override public StreamHandler onStream(Stream stream) { return StreamHandler.REJECT; }

        @Override public void onConnectionClosed(Connection connection, String reason) {}
    };

    @Override public void close() {
        client.close();
        server.close();
    }
}
