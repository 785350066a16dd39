package io.peersocket.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.protocol.content.Content;
import io.peersocket.protocol.content.ContentConfig;
import io.peersocket.protocol.content.IntervalStore;
import io.peersocket.protocol.content.LocalChunks;
import io.peersocket.protocol.content.Receipt;
import io.peersocket.protocol.kad.KadConfig;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The content protocols in the simulator: 200 nodes running Kademlia (with its connection manager), push sync,
 * pull sync and retrieval, links of 10–50 ms one way with 5 % datagram loss and about 0.2 % of the connections
 * broken every second (the content protocols use streams, which never lose data in the memory transport, so broken
 * connections — with whatever was in flight on them — are the loss they see). Checks that pull sync converges (every node holds every chunk of its neighbourhood), that
 * retrieval of random chunks from random nodes succeeds, that restarted nodes resume from their persisted
 * intervals without any chunk transferred twice, and measures sync wire bytes per payload byte.
 */
class ContentSimTest {
    static final int NODES = 200;
    static final int CHUNKS = 400;

    /** What a node runs: discovery plus the content protocols, with chunks and intervals that survive restarts. */
    record App(KadDiscovery discovery, Content content) implements AutoCloseable {
        @Override public void close() {
            content.close();
            discovery.close();
        }
    }

    @Test
    @Tag("slow")
    @Timeout(600)
    void twoHundredNodesConvergeRetrieveAndResumeWithLossyLinks() {
        long seed = 11;
        LocalChunks.Memory[] chunks = new LocalChunks.Memory[NODES];
        IntervalStore[] intervals = new IntervalStore[NODES];
        ContentConfig cc = ContentConfig.defaults().withHopTimeoutMs(1500);
        SimConfig config = SimConfig.of(NODES, seed)
                .withLinkModel(new SeededLinkModel(seed, 10, 40, 0, 0.05))
                .withNodeOptions(b -> b.kademlia(KadConfig.defaults()))
                .withSetup(n -> {
                    int i = n.index();
                    if (chunks[i] == null) {
                        chunks[i] = (LocalChunks.Memory) LocalChunks.memory(ChunkAddress.overlayOf(n.peerId()), n.node().loop());
                        intervals[i] = IntervalStore.memory();
                    }
                    return new App(new KadDiscovery(n), new Content(n.node(), n.hostKey(), chunks[i], intervals[i], cc));
                });
        try (Simulator sim = Simulator.start(config)) {
            SplittableRandom rnd = new SplittableRandom(seed);
            for (int i = 1; i < NODES; i++) {
                int node = i;
                sim.loop().schedule(() -> {
                    sim.introduce(node, 0);
                    sim.app(node, App.class).discovery().join(sim.simNode(0));
                }, 50L * i);
            }
            sim.runFor(30_000);
            // links break at random from now on: every second about 0.2 % of the connections
            long[] round = {0};
            Runnable[] breaker = new Runnable[1];
            breaker[0] = () -> {
                long r = ++round[0];
                sim.network().breakConnections((a, b) -> Math.floorMod((a.hashCode() * 31L + b.hashCode()) * 0x9E3779B97F4A7C15L + r * 0xC2B2AE3D27D4EB4FL, 500) == 0,
                        "link broken: simulated loss");
                sim.loop().schedule(breaker[0], 1000);
            };
            sim.loop().schedule(breaker[0], 1000);

            // share: each chunk pushed from a random node toward its neighbourhood
            List<Chunk> all = new ArrayList<>();
            List<CompletableFuture<Receipt>> receipts = new ArrayList<>();
            for (int k = 0; k < CHUNKS; k++) {
                byte[] data = new byte[4096];
                rnd.nextBytes(data);
                Chunk c = Chunk.of(data);
                all.add(c);
                int from = rnd.nextInt(NODES);
                receipts.add(sim.app(from, App.class).content().push(c));
                if (k % 40 == 39) sim.runFor(500);
            }
            sim.runFor(30_000);
            long receipted = receipts.stream().filter(f -> f.isDone() && !f.isCompletedExceptionally()).count();
            assertThat(receipted).as("pushes with a receipt").isEqualTo(CHUNKS);

            // convergence: every node holds every chunk of its neighbourhood (PO >= its depth)
            boolean converged = sim.runUntil(() -> missing(sim, all, chunks) == 0, 120_000);
            assertThat(converged).as("missing after sync: " + missing(sim, all, chunks) + "\n" + explain(sim, all, chunks)
                    + "\n" + summary(sim)).isTrue();

            // retrieval of random chunks from random nodes
            List<CompletableFuture<Chunk>> gets = new ArrayList<>();
            List<Chunk> wanted = new ArrayList<>();
            for (int k = 0; k < 200; k++) {
                Chunk c = all.get(rnd.nextInt(all.size()));
                wanted.add(c);
                gets.add(sim.app(rnd.nextInt(NODES), App.class).content().retrieve(c.address()));
            }
            sim.runUntil(() -> gets.stream().allMatch(CompletableFuture::isDone), 60_000);
            int ok = 0;
            for (int k = 0; k < gets.size(); k++) {
                CompletableFuture<Chunk> f = gets.get(k);
                if (f.isDone() && !f.isCompletedExceptionally() && f.join().equals(wanted.get(k))) ok++;
            }
            assertThat(ok).as("retrievals that succeeded\n" + summary(sim)).isEqualTo(gets.size());

            // restart: ten nodes go down, more content is shared meanwhile, they come back with their chunks and intervals
            List<Integer> down = new ArrayList<>();
            for (int i = 0; i < 10; i++) down.add(10 + i * 17);
            for (int i : down) sim.crash(i);
            for (int k = 0; k < 60; k++) {
                byte[] data = new byte[4096];
                rnd.nextBytes(data);
                Chunk c = Chunk.of(data);
                all.add(c);
                int from;
                do from = rnd.nextInt(NODES); while (down.contains(from));
                sim.app(from, App.class).content().push(c);
            }
            sim.runFor(10_000);
            long[] before = new long[NODES];
            for (int i : down) {
                before[i] = chunks[i].size();
                sim.restart(i);
                sim.introduce(i, 0);
                sim.app(i, App.class).discovery().join(sim.simNode(0));
            }
            assertThat(sim.runUntil(() -> missing(sim, all, chunks) == 0, 120_000)).as("missing after restart: " + missing(sim, all, chunks)).isTrue();
            sim.runFor(5_000);
            for (int i : down) {
                long delivered = sim.node(i).counters().get("content.sync.delivered")
                        + sim.node(i).counters().get("content.retrieval.delivered");
                long gained = chunks[i].size() - before[i];
                assertThat(delivered).as("node " + i + " received only chunks it lacked").isEqualTo(gained);
            }
            Map<String, Long> sum = sim.counters();
            assertThat(sum.getOrDefault("content.sync.duplicates", 0L)).as("chunks transferred twice").isZero();
            assertThat(sim.stats().foreignSubmissions()).isZero();
            long wire = sum.getOrDefault("content.sync.wire.out", 0L), payload = sum.getOrDefault("content.sync.payload_in", 0L);
            double ratio = (double) wire / payload;
            System.out.println(summary(sim));
            System.out.printf("ContentSimTest: %d nodes, %d chunks; sync wire %d B / payload %d B = %.4f; stats %s%n",
                    NODES, all.size(), wire, payload, ratio, sim.stats());
            // the target; measured 1.0496 with seed 11 (the run is deterministic; see docs/wire.md)
            assertThat(ratio).as("sync wire bytes per payload byte").isLessThanOrEqualTo(1.05);
        }
    }

    /** Chunks missing from the neighbourhoods of running nodes (node depth over its connected content peers). */
    static long missing(Simulator sim, List<Chunk> all, LocalChunks.Memory[] chunks) {
        long missing = 0;
        for (int i = 0; i < sim.size(); i++) {
            if (!sim.simNode(i).isAlive()) continue;
            Content c = sim.app(i, App.class).content();
            int depth = c.depth();
            byte[] overlay = c.overlay();
            for (Chunk ch : all) {
                if (ch.address().proximityOrder(overlay) >= depth && !chunks[i].contains(ch.address())) missing++;
            }
        }
        return missing;
    }

    static String explain(Simulator sim, List<Chunk> all, LocalChunks.Memory[] chunks) {
        StringBuilder sb = new StringBuilder();
        for (int i = 0; i < sim.size(); i++) {
            if (!sim.simNode(i).isAlive()) continue;
            Content c = sim.app(i, App.class).content();
            int depth = c.depth();
            for (Chunk ch : all) {
                int po = ch.address().proximityOrder(c.overlay());
                if (po < depth || chunks[i].contains(ch.address())) continue;
                sb.append("node ").append(i).append(" depth ").append(depth).append(" chunk po ").append(po).append(" holders:");
                for (int j = 0; j < sim.size(); j++) {
                    if (chunks[j] == null || !chunks[j].contains(ch.address())) continue;
                    var pj = sim.peerId(j);
                    sb.append(' ').append(j).append("(po ").append(io.peersocket.util.Proximity.order(c.overlay(), ChunkAddress.overlayOf(pj)))
                            .append(c.peers().contains(pj) ? ", peer" : "").append(c.subscriptions().containsKey(pj) ? ", subs " + c.subscriptions().get(pj).size() : "").append(')');
                }
                sb.append('\n');
                if (sb.length() < 20_000) {
                    for (int j = 0; j < sim.size(); j++) {
                        if (chunks[j] != null && chunks[j].contains(ch.address()) && c.peers().contains(sim.peerId(j))) {
                            sb.append("  sync from ").append(j).append(":\n").append(c.describeSync(sim.peerId(j)));
                            break;
                        }
                    }
                }
            }
        }
        return sb.toString();
    }

    static String summary(Simulator sim) {
        StringBuilder sb = new StringBuilder();
        sim.counters().forEach((k, v) -> {
            if (k.startsWith("content.")) sb.append(k).append('=').append(v).append(' ');
        });
        return sb.toString();
    }
}
