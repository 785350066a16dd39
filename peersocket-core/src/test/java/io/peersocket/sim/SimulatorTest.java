package io.peersocket.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.despatch.Message;
import io.peersocket.identity.PeerId;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.memory.MemoryNetwork.LinkConditions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** The simulator over real nodes: determinism, link latencies, crash/restart, partitions, threads. */
@Timeout(60)
class SimulatorTest {

    static SimConfig echoConfig(int nodes, long seed) {
        return SimConfig.of(nodes, seed).withSetup(RequestReplyScenario::installEcho);
    }

    static RequestReplyScenario.Result scenario(int nodes, long seed) {
        try (Simulator sim = Simulator.start(echoConfig(nodes, seed))) {
            return RequestReplyScenario.run(sim, 3, 2_000, seed + 1);
        }
    }

    @Test
    void sameSeedSameRunDifferentSeedDifferentRun() {
        RequestReplyScenario.Result a = scenario(120, 7);
        RequestReplyScenario.Result b = scenario(120, 7);
        RequestReplyScenario.Result c = scenario(120, 8);

        assertThat(a.succeeded()).isEqualTo(360);
        assertThat(a.stats().foreignSubmissions()).isZero();
        assertThat(a.stats().failedTasks()).isZero();
        // identical course: same sends in the same order at the same times, same task count, same outcomes
        assertThat(b.digest()).isEqualTo(a.digest());
        assertThat(b.stats().tasksRun()).isEqualTo(a.stats().tasksRun());
        assertThat(b.stats().virtualMs()).isEqualTo(a.stats().virtualMs());
        assertThat(b.stats().sends()).isEqualTo(a.stats().sends());
        assertThat(b.outcomes()).isEqualTo(a.outcomes());
        // another seed: other identities, latencies and targets
        assertThat(c.digest()).isNotEqualTo(a.digest());
        assertThat(c.outcomes()).isNotEqualTo(a.outcomes());
    }

    @Test
    @Timeout(300)
    void thousandNodesRunDeterministicallyWithoutThreadsOrFailures() {
        RequestReplyScenario.Result a = scenario(1000, 21);
        RequestReplyScenario.Result b = scenario(1000, 21);
        assertThat(a.succeeded()).isEqualTo(3000);
        assertThat(a.stats().nodes()).isEqualTo(1000);
        assertThat(a.stats().connections()).isGreaterThan(2500);
        assertThat(a.stats().foreignSubmissions()).isZero();
        assertThat(a.stats().failedTasks()).isZero();
        assertThat(b.digest()).isEqualTo(a.digest());
        assertThat(b.stats().tasksRun()).isEqualTo(a.stats().tasksRun());
        assertThat(b.outcomes()).isEqualTo(a.outcomes());
    }

    @Test
    void identitiesAndAddressesFollowFromSeedAndIndex() {
        try (Simulator sim = Simulator.start(SimConfig.of(5, 99))) {
            Set<PeerId> ids = new HashSet<>();
            for (int i = 0; i < 5; i++) {
                assertThat(sim.peerId(i)).isEqualTo(Simulator.keyFor(99, i).peerId());
                assertThat(sim.node(i).peerId()).isEqualTo(sim.peerId(i));
                assertThat(sim.address(i).toString()).isEqualTo("/memory/" + (i + 1) + "/p2p/" + sim.peerId(i));
                assertThat(sim.node(i).listenAddresses()).containsExactly(sim.simNode(i).listenAddress());
                assertThat(sim.indexOf(sim.peerId(i))).isEqualTo(i);
                ids.add(sim.peerId(i));
            }
            assertThat(ids).hasSize(5);
            assertThat(Simulator.keyFor(100, 0).peerId()).isNotEqualTo(sim.peerId(0));
        }
    }

    @Test
    void requestTakesExactlyTheLinkRoundTripsInVirtualTime() {
        SeededLinkModel model = new SeededLinkModel(5, 10, 40);
        try (Simulator sim = Simulator.start(echoConfig(10, 5).withLinkModel(model))) {
            long oneWay = model.pairLatencyMs(sim.peerId(2), sim.peerId(7));
            assertThat(oneWay).isBetween(10L, 50L);
            sim.introduce(2, 7);
            // first request: dial (one round trip), then multistream + request and reply
            long t0 = sim.nowMs();
            sim.await(sim.node(2).despatcher().request(sim.peerId(7), RequestReplyScenario.REQUEST, new byte[] {1}), 60_000);
            long first = sim.nowMs() - t0;
            assertThat(first).isGreaterThan(2 * oneWay);
            // on the open link a request is exactly one round trip of virtual time
            for (int i = 0; i < 3; i++) {
                long t1 = sim.nowMs();
                Message m = sim.await(sim.node(2).despatcher().request(sim.peerId(7), RequestReplyScenario.REQUEST,
                        new byte[] {(byte) i}), 60_000);
                assertThat(m.payload()).containsExactly((byte) i);
                assertThat(sim.nowMs() - t1).isEqualTo(2 * oneWay);
            }
            // ping agrees
            assertThat(sim.await(sim.node(2).ping(sim.peerId(7)), 60_000).toMillis()).isEqualTo(2 * oneWay);
        }
    }

    @Test
    void idleTimeCostsNothingAndTimersFireAtTheirDueTime() {
        try (Simulator sim = Simulator.start(SimConfig.of(3, 1))) {
            List<Long> fired = new ArrayList<>();
            long start = sim.nowMs();
            sim.loop().schedule(() -> fired.add(sim.nowMs() - start), 3_600_000);
            sim.loop().schedule(() -> fired.add(sim.nowMs() - start), 5);
            sim.runFor(24 * 3_600_000L);
            assertThat(fired).containsExactly(5L, 3_600_000L);
            assertThat(sim.elapsedMs()).isEqualTo(24 * 3_600_000L);
            assertThat(sim.runUntil(() -> false, 1000)).isFalse();
            assertThat(sim.elapsedMs()).isEqualTo(24 * 3_600_000L + 1000);
        }
    }

    @Test
    void crashedNodeIsUnreachableAndRestartsWithTheSameIdentity() {
        try (Simulator sim = Simulator.start(echoConfig(4, 3))) {
            sim.introduce(0, 1);
            sim.await(sim.node(0).despatcher().request(sim.peerId(1), RequestReplyScenario.REQUEST, new byte[] {1}), 60_000);
            assertThat(sim.node(0).isConnected(sim.peerId(1))).isTrue();

            sim.crash(1);
            assertThat(sim.simNode(1).isAlive()).isFalse();
            assertThat(sim.node(0).isConnected(sim.peerId(1))).isFalse(); // its connection broke at once
            assertThat(sim.reachable(0, 1)).isFalse();
            // a new dial gets no answer: TIMEOUT at the handshake timeout (10 s), as over UDP
            long t0 = sim.nowMs();
            CompletableFuture<Message> f = sim.node(0).despatcher().request(sim.peerId(1), RequestReplyScenario.REQUEST,
                    new byte[] {2}, 60_000);
            assertThatThrownBy(() -> sim.await(f, 60_000)).isInstanceOf(CompletionException.class)
                    .hasCauseInstanceOf(TransportException.class).hasMessageContaining("no answer");
            assertThat(sim.nowMs() - t0).isEqualTo(10_000);

            sim.restart(1);
            assertThat(sim.simNode(1).starts()).isEqualTo(2);
            assertThat(sim.node(1).peerId()).isEqualTo(sim.peerId(1));
            assertThat(sim.node(1).listenAddresses()).containsExactly(sim.simNode(1).listenAddress());
            Message m = sim.await(sim.node(0).despatcher().request(sim.peerId(1), RequestReplyScenario.REQUEST,
                    new byte[] {3}), 60_000);
            assertThat(m.payload()).containsExactly((byte) 3);
            assertThatThrownBy(() -> sim.restart(1)).isInstanceOf(IllegalStateException.class);
        }
    }

    @Test
    void partitionCutsLinksAcrossOnlyUntilHealed() {
        try (Simulator sim = Simulator.start(echoConfig(4, 4))) {
            for (int i = 0; i < 4; i++) for (int j = 0; j < 4; j++) if (i != j) sim.introduce(i, j);
            sim.await(sim.node(0).despatcher().request(sim.peerId(2), RequestReplyScenario.REQUEST, new byte[] {1}), 60_000);

            sim.partition(List.of(0, 1), List.of(2, 3));
            assertThat(sim.node(0).isConnected(sim.peerId(2))).isFalse();
            assertThat(sim.node(2).isConnected(sim.peerId(0))).isFalse();
            assertThat(sim.reachable(0, 2)).isFalse();
            assertThat(sim.reachable(2, 0)).isFalse();
            assertThat(sim.reachable(0, 1)).isTrue();
            // within a side: fine; across: the dial times out
            sim.await(sim.node(0).despatcher().request(sim.peerId(1), RequestReplyScenario.REQUEST, new byte[] {2}), 60_000);
            sim.await(sim.node(3).despatcher().request(sim.peerId(2), RequestReplyScenario.REQUEST, new byte[] {3}), 60_000);
            CompletableFuture<Message> across = sim.node(1).despatcher().request(sim.peerId(3), RequestReplyScenario.REQUEST, new byte[] {4}, 60_000);
            assertThatThrownBy(() -> sim.await(across, 60_000)).hasCauseInstanceOf(TransportException.class)
                    .hasMessageContaining("no answer");

            sim.heal();
            assertThat(sim.reachable(1, 3)).isTrue();
            sim.await(sim.node(1).despatcher().request(sim.peerId(3), RequestReplyScenario.REQUEST, new byte[] {5}), 60_000);
            assertThatThrownBy(() -> sim.partition(List.of(0, 1), List.of(1, 2))).isInstanceOf(IllegalArgumentException.class);
        }
    }

    @Test
    void datagramLossFollowsTheModelAndIsSeeded() {
        long[] lost = new long[2];
        for (int run = 0; run < 2; run++) {
            try (Simulator sim = Simulator.start(SimConfig.of(2, 11).withLinkModel(new SeededLinkModel(11, 5, 0, 0, 0.3)))) {
                List<Integer> got = new ArrayList<>();
                sim.node(1).despatcher().register(9, m -> got.add(m.payload()[0] & 0xff));
                sim.introduce(0, 1);
                sim.await(sim.node(0).connection(sim.peerId(1)), 60_000);
                // open the despatch link with one reliable message first, so unreliable ones go as datagrams
                sim.node(0).despatcher().send(sim.peerId(1), 9, new byte[] {(byte) 255});
                sim.runFor(1_000);
                for (int i = 0; i < 200; i++) sim.node(0).despatcher().sendUnreliable(sim.peerId(1), 9, new byte[] {(byte) i});
                sim.runFor(1_000);
                lost[run] = sim.stats().datagramsLost();
                assertThat(sim.stats().datagramsSent()).isEqualTo(200);
                assertThat(got.size() - 1 + lost[run]).isEqualTo(200);
            }
        }
        assertThat(lost[0]).isBetween(35L, 85L).isEqualTo(lost[1]);
    }

    @Test
    void perMessageJitterKeepsStreamOrder() {
        try (Simulator sim = Simulator.start(SimConfig.of(2, 12).withLinkModel(new SeededLinkModel(12, 5, 10, 50, 0)))) {
            List<Integer> got = new ArrayList<>();
            sim.node(1).despatcher().register(9, m -> got.add((int) m.payload()[0]));
            sim.introduce(0, 1);
            for (int i = 0; i < 100; i++) sim.node(0).despatcher().send(sim.peerId(1), 9, new byte[] {(byte) i});
            sim.runFor(10_000);
            assertThat(got).containsExactlyElementsOf(IntStream.range(0, 100).boxed().toList());
        }
    }

    @Test
    void usedOnlyFromItsThread() throws Exception {
        try (Simulator sim = Simulator.start(SimConfig.of(2, 1))) {
            CompletableFuture<Throwable> t = new CompletableFuture<>();
            Thread other = new Thread(() -> {
                try {
                    sim.runFor(1);
                    t.complete(null);
                } catch (Throwable e) {
                    t.complete(e);
                }
            });
            other.start();
            assertThat(t.get(5, java.util.concurrent.TimeUnit.SECONDS)).isInstanceOf(IllegalStateException.class);
            // work submitted from another thread is counted as a determinism leak
            Thread submitter = new Thread(() -> sim.loop().execute(() -> {}));
            submitter.start();
            submitter.join(5_000);
            assertThat(sim.stats().foreignSubmissions()).isEqualTo(1);
        }
    }

    @Test
    void awaitFailsAfterTheVirtualTimeout() {
        try (Simulator sim = Simulator.start(SimConfig.of(2, 1))) {
            long t0 = sim.nowMs();
            assertThatThrownBy(() -> sim.await(new CompletableFuture<>(), 5_000))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("5000 virtual ms");
            assertThat(sim.nowMs() - t0).isEqualTo(5_000);
        }
    }

    @Test
    void explicitLinkConditionsOverrideTheModel() {
        try (Simulator sim = Simulator.start(echoConfig(2, 2))) {
            sim.network().setLink(sim.peerId(0), sim.peerId(1), new LinkConditions(123, 0));
            sim.introduce(0, 1);
            sim.await(sim.node(0).connection(sim.peerId(1)), 60_000);
            assertThat(sim.await(sim.node(0).ping(sim.peerId(1)), 60_000).toMillis()).isEqualTo(246);
        }
    }
}
