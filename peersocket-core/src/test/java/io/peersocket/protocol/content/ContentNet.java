package io.peersocket.protocol.content;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.util.ManualEventLoop;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.function.BooleanSupplier;

/** Nodes with the content protocols over one memory network and one manual loop (virtual time), for tests. */
final class ContentNet implements AutoCloseable {
    final ManualEventLoop loop = new ManualEventLoop(1_000_000);
    final MemoryNetwork network = new MemoryNetwork(7);
    final List<Peer> peers = new ArrayList<>();
    ContentConfig config;

    /** One node slot; {@link #restart} keeps its key, chunks and intervals. */
    final class Peer {
        final int index;
        final HostKey key;
        final LocalChunks.Memory chunks;
        final IntervalStore intervals = IntervalStore.memory();
        Node node;
        Content content;

        Peer(int index, HostKey key) {
            this.index = index;
            this.key = key;
            this.chunks = (LocalChunks.Memory) LocalChunks.memory(io.peersocket.content.ChunkAddress.overlayOf(key.peerId()), loop);
        }

        PeerId id() { return key.peerId(); }

        void start() {
            try {
                node = Node.builder().eventLoop(loop).transport(network::transport).listen("/memory/" + (index + 1))
                        .hostKey(key).redialOnStart(0).start();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            content = new Content(node, key, chunks, intervals, config);
            loop.runPending();
        }

        void stop() {
            content.close();
            node.close();
            loop.runPending();
        }

        void restart() {
            stop();
            start();
        }
    }

    ContentNet(int n, ContentConfig config, long linkMs) {
        this.config = config;
        network.setDefaultLink(new MemoryNetwork.LinkConditions(linkMs, 0));
        for (int i = 0; i < n; i++) add();
    }

    Peer add() {
        byte[] seed = new byte[32];
        ByteBuffer.wrap(seed).putInt(peers.size() + 1).putInt(0x5eed);
        Peer p = new Peer(peers.size(), HostKey.fromSeed(seed));
        peers.add(p);
        p.start();
        return p;
    }

    Peer get(int i) { return peers.get(i); }

    void connect(int a, int b) {
        Peer pa = peers.get(a), pb = peers.get(b);
        await(pa.node.connect(MemoryNetwork.address(b + 1).withPeerId(pb.id())), 10_000);
    }

    void connectAll() {
        for (int i = 0; i < peers.size(); i++) for (int j = i + 1; j < peers.size(); j++) connect(i, j);
        loop.advance(500);
    }

    <T> T await(CompletableFuture<T> f, long virtualMs) {
        long end = loop.nowMs() + virtualMs;
        while (!f.isDone() && loop.nowMs() < end) loop.advance(5);
        if (!f.isDone()) throw new AssertionError("not done within " + virtualMs + " virtual ms");
        return f.join();
    }

    boolean runUntil(BooleanSupplier cond, long virtualMs) {
        long end = loop.nowMs() + virtualMs;
        while (!cond.getAsBoolean()) {
            if (loop.nowMs() >= end) return false;
            loop.advance(10);
        }
        return true;
    }

    long counter(String name) {
        long s = 0;
        for (Peer p : peers) s += p.node.counters().get(name);
        return s;
    }

    static List<Chunk> randomChunks(int n, long seed) {
        Random r = new Random(seed);
        List<Chunk> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            byte[] b = new byte[4096];
            r.nextBytes(b);
            out.add(Chunk.of(b));
        }
        return out;
    }

    /** A chunk whose address has PO ≥ {@code po} to {@code overlay}. */
    static Chunk chunkNear(byte[] overlay, int po, long seed) {
        Random r = new Random(seed);
        byte[] b = new byte[256];
        while (true) {
            r.nextBytes(b);
            Chunk c = Chunk.of(b);
            if (c.address().proximityOrder(overlay) >= po) return c;
        }
    }

    static ChunkAddress addr(Chunk c) { return c.address(); }

    @Override public void close() {
        for (Peer p : peers) {
            try {
                p.stop();
            } catch (RuntimeException ignored) {
                // best effort
            }
        }
    }
}
