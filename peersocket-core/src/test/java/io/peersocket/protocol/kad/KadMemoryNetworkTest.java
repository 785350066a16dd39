package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.util.ManualEventLoop;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * Kademlia on many nodes over the in-memory transport with virtual time: one {@link ManualEventLoop} shared by
 * all nodes, 10 ms links. Checks discovery from a single bootstrap peer at a larger scale than the QUIC tests,
 * and that a run is deterministic (same seed, same hops and virtual durations).
 */
class KadMemoryNetworkTest {
    private static final int NODES = 60;
    private static final long LINK_MS = 10;

    /** What one run observed. */
    record Run(List<Integer> hops, List<Long> durations, int healthy) {}

    private static final class Sim implements AutoCloseable {
        final ManualEventLoop loop = new ManualEventLoop(1_000_000);
        final MemoryNetwork network = new MemoryNetwork(7);
        final List<Node> nodes = new ArrayList<>();
        final List<Kademlia> kads = new ArrayList<>();

        Sim(int count, KadConfig config) throws IOException {
            network.setDefaultLink(new MemoryNetwork.LinkConditions(LINK_MS, 0));
            for (int i = 0; i < count; i++) {
                byte[] seed = new byte[32];
                Arrays.fill(seed, (byte) (i + 1));
                seed[0] = (byte) (i >> 8);
                Node n = Node.builder().eventLoop(loop).transport((cfg, h) -> network.transport(cfg, h))
                        .listen("/memory/0").hostKey(HostKey.fromSeed(seed)).start();
                nodes.add(n);
                kads.add(new Kademlia(n, config));
            }
            loop.runPending();
        }

        /** Advances virtual time in small steps until {@code f} is done (at most 120 virtual seconds). */
        <T> T await(CompletableFuture<T> f) {
            long limit = loop.nowMs() + 120_000;
            while (!f.isDone()) {
                if (loop.nowMs() > limit) throw new AssertionError("not done within 120 s of virtual time");
                loop.advance(1);
            }
            return f.join();
        }

        @Override public void close() {
            for (Kademlia k : kads) k.close();
            for (Node n : nodes) n.close();
            loop.runPending();
        }
    }

    private static Run run() throws Exception {
        KadConfig config = KadConfig.builder().seed(42).build();
        try (Sim sim = new Sim(NODES, config)) {
            Node first = sim.nodes.get(0);
            for (int i = 1; i < NODES; i++) {
                sim.await(sim.nodes.get(i).connect(first.listenAddresses().get(0).withPeerId(first.peerId())));
            }
            sim.loop.advance(1_000); // identify everywhere
            for (int i = 1; i < NODES; i++) sim.await(sim.kads.get(i).bootstrap());
            List<Integer> hops = new ArrayList<>();
            List<Long> durations = new ArrayList<>();
            Random rnd = new Random(3);
            for (int i = 0; i < 100; i++) {
                Kademlia from = sim.kads.get(rnd.nextInt(NODES));
                Kademlia to = sim.kads.get(rnd.nextInt(NODES));
                Kademlia.FindPeerResult r = sim.await(from.findPeer(to.self()));
                assertThat(r.peer().id()).isEqualTo(to.self());
                assertThat(r.peer().addresses()).isNotEmpty();
                hops.add(r.stats().hops());
                durations.add(r.stats().durationMs());
            }
            // run every connection manager a few rounds, then judge all tables against the whole network
            List<KadConnectionManager> cms = sim.kads.stream().map(KadConnectionManager::new).toList();
            for (int round = 0; round < 5; round++) for (KadConnectionManager cm : cms) sim.await(cm.tick());
            List<PeerId> all = sim.kads.stream().map(Kademlia::self).toList();
            int healthy = 0;
            for (Kademlia k : sim.kads) if (k.table().health(all).healthy()) healthy++;
            return new Run(hops, durations, healthy);
        }
    }

    @Test
    void everyLookupSucceedsAndTheRunIsDeterministic() throws Exception {
        Run a = run();
        assertThat(a.hops()).hasSize(100).allSatisfy(h -> assertThat(h).isBetween(0, 4)).contains(1);
        // 0 hops: already connected, answered at once; otherwise at least one request round trip of 2 × 10 ms
        for (int i = 0; i < a.hops().size(); i++) {
            if (a.hops().get(i) == 0) assertThat(a.durations().get(i)).isZero();
            else assertThat(a.durations().get(i)).isGreaterThanOrEqualTo(2 * LINK_MS * a.hops().get(i));
        }
        assertThat(a.healthy()).isEqualTo(NODES);
        Run b = run();
        assertThat(b).isEqualTo(a);
    }
}
