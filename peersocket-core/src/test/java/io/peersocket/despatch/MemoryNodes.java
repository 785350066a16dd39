package io.peersocket.despatch;

import io.peersocket.identity.HostKey;
import io.peersocket.negotiation.Multistream;
import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.util.ManualEventLoop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * Test support: nodes on one {@link MemoryNetwork} sharing one {@link ManualEventLoop} driven by the test
 * thread. Virtual time moves only through {@link #loop}{@code .advance}; {@link #await} runs tasks (also those
 * that handlers on virtual threads submit) until a condition holds, bounded by real time.
 */
final class MemoryNodes implements AutoCloseable {
    static final long AWAIT_MS = 5_000;

    final ManualEventLoop loop = new ManualEventLoop(1_000_000);
    final MemoryNetwork network = new MemoryNetwork(1);
    final List<Node> nodes = new ArrayList<>();

    /** Starts a node listening on {@code /memory/0} with a key derived from {@code n}. */
    Node start(int n, DespatchConfig config) { return start(n, config, io.opentelemetry.api.OpenTelemetry.noop()); }

    /** As {@link #start(int, DespatchConfig)}, with spans and metrics going to {@code otel}. */
    Node start(int n, DespatchConfig config, io.opentelemetry.api.OpenTelemetry otel) {
        byte[] seed = new byte[32];
        Arrays.fill(seed, (byte) n);
        try {
            Node node = Node.builder()
                    .eventLoop(loop)
                    .transport((cfg, h) -> network.transport(cfg, h))
                    .listen("/memory/0")
                    .hostKey(HostKey.fromSeed(seed))
                    .despatch(config)
                    .openTelemetry(otel)
                    .start();
            for (Node other : nodes) {
                other.addAddresses(node.peerId(), node.listenAddresses());
                node.addAddresses(other.peerId(), other.listenAddresses());
            }
            nodes.add(node);
            loop.runPending();
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Node start(int n) { return start(n, DespatchConfig.defaults()); }

    /** Runs the loop until {@code condition} holds (real-time bound; virtual time does not move). */
    void await(BooleanSupplier condition) {
        try {
            loop.runUntil(condition, AWAIT_MS);
        } catch (TimeoutException e) {
            throw new AssertionError("condition not met within " + AWAIT_MS + " ms", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Runs the loop until {@code f} is done, then returns its value (or throws its failure). */
    <T> T await(CompletableFuture<T> f) {
        await(f::isDone);
        return f.join();
    }

    /** Runs the loop until {@code f} is done and returns its failure cause; fails if it succeeded. */
    Throwable failure(CompletableFuture<?> f) {
        await(f::isDone);
        try {
            Object v = f.join();
            throw new AssertionError("expected failure, got " + v);
        } catch (CompletionException e) {
            return e.getCause();
        }
    }

    /**
     * Opens a raw despatch stream from {@code from} to {@code to}: multistream-select of
     * {@link Despatcher#PROTOCOL_ID} on their connection, the stream's data going to {@code handler}.
     */
    Stream rawDespatchStream(Node from, Node to, StreamHandler handler) {
        return rawDespatchStream(await(from.connection(to.peerId())), handler);
    }

    /** As {@link #rawDespatchStream(Node, Node, StreamHandler)}, on connection {@code c}. */
    Stream rawDespatchStream(Connection c, StreamHandler handler) {
        CompletableFuture<Multistream.Negotiated> n = new CompletableFuture<>();
        loop.execute(() -> Multistream.select(c, List.of(Despatcher.PROTOCOL_ID), id -> handler).whenComplete((r, e) -> {
            if (e != null) n.completeExceptionally(e);
            else n.complete(r);
        }));
        return await(n).stream();
    }

    @Override public void close() {
        for (Node n : nodes) n.close();
        loop.runPending();
    }
}
