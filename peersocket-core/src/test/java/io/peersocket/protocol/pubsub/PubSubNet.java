package io.peersocket.protocol.pubsub;

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
import java.util.function.BooleanSupplier;

/**
 * Test support: nodes on one {@link MemoryNetwork} (5 ms links) sharing one {@link ManualEventLoop} in virtual
 * time; pubsub handlers run inline on the loop.
 */
final class PubSubNet implements AutoCloseable {
    static final long LINK_MS = 5;

    final ManualEventLoop loop = new ManualEventLoop(1_000_000);
    final MemoryNetwork network = new MemoryNetwork(3);
    final List<Node> nodes = new ArrayList<>();

    PubSubNet() { network.setDefaultLink(new MemoryNetwork.LinkConditions(LINK_MS, 0)); }

    /** Starts a node with pubsub {@code config} (null: no pubsub) and a key derived from its index. */
    Node start(GossipSubConfig config) {
        int n = nodes.size();
        byte[] seed = new byte[32];
        Arrays.fill(seed, (byte) (n + 1));
        seed[0] = (byte) (n >> 8);
        try {
            var b = Node.builder().eventLoop(loop).transport((cfg, h) -> network.transport(cfg, h))
                    .listen("/memory/0").hostKey(HostKey.fromSeed(seed));
            if (config != null) b.pubsub(config.withHandlerExecutor(Runnable::run));
            Node node = b.start();
            nodes.add(node);
            loop.runPending();
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    Node node(int i) { return nodes.get(i); }

    GossipSub ps(int i) { return nodes.get(i).pubsub(); }

    /** Node {@code i} dials node {@code j}. */
    void connect(int i, int j) {
        Node to = nodes.get(j);
        await(nodes.get(i).connect(to.listenAddresses().get(0).withPeerId(to.peerId())));
    }

    /** Advances virtual time by {@code ms}. */
    void advance(long ms) { loop.advance(ms); }

    /** Advances virtual time in 1 ms steps until {@code f} is done (at most 60 virtual seconds). */
    <T> T await(CompletableFuture<T> f) {
        until(f::isDone, 60_000);
        return f.join();
    }

    /** Advances virtual time in 1 ms steps until {@code c} holds; fails after {@code maxMs} virtual ms. */
    void until(BooleanSupplier c, long maxMs) {
        long limit = loop.nowMs() + maxMs;
        while (!c.getAsBoolean()) {
            if (loop.nowMs() > limit) throw new AssertionError("condition not met within " + maxMs + " virtual ms");
            loop.advance(1);
        }
    }

    /** Opens a raw {@code /meshsub/1.1.0} stream from node {@code from} to node {@code to}; data goes to {@code h}. */
    Stream rawStream(int from, int to, StreamHandler h) {
        Connection c = await(nodes.get(from).connection(nodes.get(to).peerId()));
        CompletableFuture<Multistream.Negotiated> n = new CompletableFuture<>();
        loop.execute(() -> Multistream.select(c, List.of(GossipSub.PROTOCOL_V11), id -> h).whenComplete((r, e) -> {
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
