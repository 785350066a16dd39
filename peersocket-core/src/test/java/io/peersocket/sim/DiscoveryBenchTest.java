package io.peersocket.sim;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.kad.Kademlia;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The discovery benchmark as a test: real Kademlia (with its connection manager), handshake, identify and peer
 * exchange on every node, all joining through node 0 in virtual time.
 */
class DiscoveryBenchTest {

    static DiscoveryBench.Settings small(int nodes, int lookups) {
        // join within 20 s, settle 30 s, lookups within 20 s; links 10–50 ms one way
        return new DiscoveryBench.Settings(nodes, lookups, 5, 10, 40, 0.0, 20_000, 30_000, 20_000);
    }

    static DiscoveryBench.Result run(DiscoveryBench.Settings s) {
        return DiscoveryBench.run(s, DiscoveryBench.kademlia(), false);
    }

    static void assertHealthyRun(DiscoveryBench.Result r) {
        DiscoveryBench.Settings s = r.settings();
        assertThat(r.joined()).as(r.report()).isEqualTo(s.nodes() - 1);
        assertThat(r.successRate()).as(r.report()).isGreaterThanOrEqualTo(0.999);
        assertThat(r.hops().keySet()).as(r.report()).allSatisfy(h -> assertThat(h).isBetween(0, 6));
        assertThat(r.lookupMs()).hasSize(r.found());
        assertThat(r.oneRequestMs()).isNotEmpty();
        // the benchmark target: lookup p50 within 4 one-request p50s (virtual time)
        assertThat(r.p50Ratio()).as(r.report()).isLessThanOrEqualTo(4.0);
        assertThat(r.tableSizes()[0]).as("smallest routing table").isGreaterThanOrEqualTo(KadConfig.defaults().k());
        assertThat(r.stats().foreignSubmissions()).isZero();
        assertThat(r.stats().failedTasks()).isZero();
    }

    @Test
    @Timeout(300)
    void hundredNodesFindEachOtherAndTheRunIsDeterministic() {
        DiscoveryBench.Result a = run(small(100, 300));
        assertHealthyRun(a);
        DiscoveryBench.Result b = run(small(100, 300));
        assertThat(b.digest()).isEqualTo(a.digest());
        assertThat(b.stats().tasksRun()).isEqualTo(a.stats().tasksRun());
        assertThat(b.lookupMs()).containsExactly(a.lookupMs());
        assertThat(b.hops()).isEqualTo(a.hops());
        assertThat(b.tableSizes()).containsExactly(a.tableSizes());
    }

    @Test
    @Timeout(300)
    void lookupsOfLiveNodesSurviveACrashedTenth() {
        DiscoveryBench.Settings s = small(60, 0);
        SimConfig config = KadDiscovery.configure(SimConfig.of(s.nodes(), s.seed())
                .withLinkModel(new SeededLinkModel(s.seed(), s.baseMs(), s.jitterMs())), KadConfig.defaults());
        try (Simulator sim = Simulator.start(config)) {
            for (int i = 1; i < s.nodes(); i++) {
                int node = i;
                sim.loop().schedule(() -> {
                    sim.introduce(node, 0);
                    sim.app(node, Discovery.class).join(sim.simNode(0));
                }, 100L * i);
            }
            sim.runFor(40_000);
            for (int i = 54; i < 60; i++) sim.crash(i);
            int found = 0, tried = 0;
            java.util.SplittableRandom random = new java.util.SplittableRandom(9);
            for (int k = 0; k < 60; k++) {
                int from = random.nextInt(54), to = random.nextInt(54);
                if (from == to) continue;
                tried++;
                Kademlia.FindPeerResult r = null;
                try {
                    r = sim.await(sim.app(from, KadDiscovery.class).kademlia().findPeer(sim.peerId(to)), 120_000);
                } catch (RuntimeException e) {
                    // counted as not found
                }
                if (r != null && r.peer().id().equals(sim.peerId(to))) found++;
            }
            assertThat(found).as("found of " + tried).isGreaterThanOrEqualTo(tried * 99 / 100);
            // the crashed node comes back under the same identity and can be found again
            sim.restart(57);
            sim.introduce(57, 0);
            sim.await(sim.app(57, Discovery.class).join(sim.simNode(0)), 120_000);
            sim.runFor(10_000);
            assertThat(sim.await(sim.app(3, KadDiscovery.class).kademlia().findPeer(sim.peerId(57)), 120_000).peer().id())
                    .isEqualTo(sim.peerId(57));
            assertThat(sim.stats().foreignSubmissions()).isZero();
        }
    }

    @Test
    @Tag("slow")
    @Timeout(1800)
    void thousandNodesWithoutChurn() {
        DiscoveryBench.Result r = run(new DiscoveryBench.Settings(1000, 2000, 1, 10, 40, 0.0, 60_000, 30_000, 60_000));
        assertHealthyRun(r);
        System.out.println(r.report());
    }
}
