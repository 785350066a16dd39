package io.peersocket.protocol.autonat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.node.NodeBuilder;
import io.peersocket.transport.memory.LinkModel;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.util.ManualEventLoop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;
import java.util.function.UnaryOperator;

/**
 * Test support: nodes on one {@link MemoryNetwork} and one {@link ManualEventLoop}; peers in {@link #natted}
 * accept no unsolicited dials (the memory network's NAT hook), so AutoNAT dial-backs to them fail.
 */
final class AutoNatNet implements AutoCloseable {
    static final long AWAIT_MS = 10_000;

    final ManualEventLoop loop = new ManualEventLoop(1_000_000);
    final MemoryNetwork network = new MemoryNetwork(7);
    final Set<PeerId> natted = new HashSet<>();
    final List<Node> nodes = new ArrayList<>();

    AutoNatNet() {
        network.setLinkModel(new LinkModel() {
            @Override public MemoryNetwork.LinkConditions conditions(PeerId from, PeerId to) {
                return MemoryNetwork.LinkConditions.PERFECT;
            }

            @Override public boolean canDial(PeerId dialer, PeerId listener) { return !natted.contains(listener); }
        });
    }

    Node start(int n, UnaryOperator<NodeBuilder> extra) {
        byte[] seed = new byte[32];
        Arrays.fill(seed, (byte) n);
        try {
            Node node = extra.apply(Node.builder()
                    .eventLoop(loop)
                    .transport((cfg, h) -> network.transport(cfg, h))
                    .listen("/memory/0")
                    .hostKey(HostKey.fromSeed(seed))).start();
            nodes.add(node);
            loop.runPending();
            return node;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Runs the loop, advancing virtual time by {@code stepMs} whenever idle, until {@code condition} holds. */
    void awaitAdvancing(BooleanSupplier condition, long stepMs) {
        long end = System.currentTimeMillis() + AWAIT_MS;
        while (true) {
            loop.runPending();
            if (condition.getAsBoolean()) return;
            if (System.currentTimeMillis() > end) throw new AssertionError("condition not met within " + AWAIT_MS + " ms");
            loop.advance(stepMs);
        }
    }

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

    <T> T await(CompletableFuture<T> f) {
        await(f::isDone);
        return f.join();
    }

    /** {@code from} dials {@code to} and both finish identify. */
    void connect(Node from, Node to) {
        await(from.connect(to.addresses().get(0)));
        await(() -> from.identifyInfo(to.peerId()) != null && to.identifyInfo(from.peerId()) != null);
    }

    @Override public void close() {
        for (Node n : nodes) n.close();
        loop.runPending();
    }
}
