package io.peersocket.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.despatch.Despatcher;
import io.peersocket.identity.HostKey;
import io.peersocket.sim.SimConfig;
import io.peersocket.sim.Simulator;
import io.peersocket.store.Store;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.IntFunction;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The ledger in the deterministic simulator: partition and heal converge by the fork-choice rule with rebuilds on the
 * losing side; a late node catches up from zero; lying height claims, invalid blocks and forks below the finality
 * bound are rejected, counted and scored while nodes keep serving; a store failure mid-rebuild leaves the chain as
 * it was.
 */
@Timeout(120)
class LedgerSimTest {
    static final String CHAIN = "sim";

    static LedgerConfig config(long produceMs) {
        return LedgerConfig.defaults(CHAIN).withMinPeers(1).withCycleMs(100).withSampleMs(500).withHeartbeatMs(1000)
                .withFinality(50).withProduceMs(produceMs).withBanMs(2000);
    }

    /** {@code n} nodes, each running a ledger with {@code configs.apply(i)}, fully meshed. */
    static Simulator start(int n, long seed, IntFunction<LedgerConfig> configs, IntFunction<LedgerStore> stores) {
        Simulator sim = Simulator.start(SimConfig.of(n, seed).withSetup(sn -> {
            try {
                return Ledger.start(sn.node(), sn.node().despatcher(), sn.hostKey(), configs.apply(sn.index()),
                        stores.apply(sn.index()), null);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }));
        List<CompletableFuture<?>> dials = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                sim.introduce(i, j);
                sim.introduce(j, i);
                dials.add(sim.node(i).connection(sim.peerId(j)));
            }
        }
        sim.await(CompletableFuture.allOf(dials.toArray(CompletableFuture[]::new)), 30_000);
        return sim;
    }

    /** As {@link #start} but every node runs GossipSub and the ledger broadcasts over it. */
    static Simulator startGossip(int n, long seed, IntFunction<LedgerConfig> configs) {
        Simulator sim = Simulator.start(SimConfig.of(n, seed)
                .withNodeOptions(b -> b.pubsub(io.peersocket.protocol.pubsub.GossipSubConfig.defaults().withHandlerExecutor(Runnable::run)))
                .withSetup(sn -> {
                    try {
                        return Ledger.start(sn.node(), sn.node().despatcher(), sn.hostKey(), configs.apply(sn.index()), null,
                                new GossipLedgerBroadcast(sn.node().pubsub(), sn.node().counters()));
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }));
        List<CompletableFuture<?>> dials = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            for (int j = i + 1; j < n; j++) {
                sim.introduce(i, j);
                sim.introduce(j, i);
                dials.add(sim.node(i).connection(sim.peerId(j)));
            }
        }
        sim.await(CompletableFuture.allOf(dials.toArray(CompletableFuture[]::new)), 30_000);
        return sim;
    }

    @Test
    void overGossipSubPartitionHealConvergesAndTxsPropagate() {
        int n = 6;
        try (Simulator sim = startGossip(n, 31, i -> config(i == 0 ? 700 : i == 3 ? 900 : 0))) {
            assertThat(sim.runUntil(() -> height(sim, 0) >= 5 && sameTip(sim, range(0, n)), 30_000)).as(() -> dump(sim)).isTrue();
            Ledger l5 = ledger(sim, 5);
            HostKey k5 = sim.simNode(5).hostKey();
            Tx proof = Tx.proof(CHAIN, k5, LedgerCodecTest.filled(3), 1);
            sim.await(l5.submit(proof), 1000);
            assertThat(sim.runUntil(() -> ledger(sim, 0).chainNow().hasTx(proof.id()), 20_000)).as(() -> dump(sim)).isTrue();
            sim.partition(List.of(0, 1, 2), List.of(3, 4, 5));
            sim.runFor(10_000);
            for (int i : new int[] {0, 3}) sim.await(ledger(sim, i).produceEvery(0), 1000);
            sim.runFor(2_000);
            assertThat(tip(sim, 0)).isNotEqualTo(tip(sim, 3));
            sim.heal();
            assertThat(sim.runUntil(() -> sameTip(sim, range(0, n)), 60_000)).as(() -> dump(sim)).isTrue();
            long rebuilt = 0;
            for (int i = 0; i < n; i++) rebuilt += ledger(sim, i).rebuildsNow().isEmpty() ? 0 : 1;
            assertThat(rebuilt).isEqualTo(3);
            // blocks arrived by GossipSub (the flood fallback, which counts duplicates, was not used)
            assertThat(sim.counters().get("ledger.block.received")).isPositive();
            assertThat(sim.counters()).doesNotContainKeys("ledger.bcast.publish_failed", "ledger.bcast.duplicate");
        }
    }

    static Ledger ledger(Simulator sim, int i) { return sim.app(i, Ledger.class); }

    static long height(Simulator sim, int i) { return ledger(sim, i).chainNow().height(); }

    static String tip(Simulator sim, int i) { return Bytes.hex(ledger(sim, i).chainNow().tipHash()); }

    static boolean sameTip(Simulator sim, int... nodes) {
        String t = tip(sim, nodes[0]);
        for (int i : nodes) if (!tip(sim, i).equals(t)) return false;
        return true;
    }

    static String dump(Simulator sim) {
        StringBuilder sb = new StringBuilder().append(sim.counters());
        for (int i = 0; i < sim.size(); i++) if (sim.simNode(i).isAlive()) sb.append("\n").append(i).append(": ").append(sim.await(ledger(sim, i).status(), 1000));
        return sb.toString();
    }

    static int[] range(int from, int to) {
        int[] r = new int[to - from];
        for (int i = from; i < to; i++) r[i - from] = i;
        return r;
    }

    @Test
    void partitionThenHealConvergesOnTheBestChainWithRebuilds() {
        int n = 6;
        try (Simulator sim = start(n, 7, i -> config(i == 0 || i == 3 ? 1000 : 0).withProduceMs(i == 0 ? 1000 : i == 3 ? 1300 : 0), i -> null)) {
            assertThat(sim.runUntil(() -> height(sim, 0) >= 5 && sameTip(sim, range(0, n)), 30_000)).as("grows together").as(() -> dump(sim)).isTrue();
            sim.partition(List.of(0, 1, 2), List.of(3, 4, 5));
            long cut = height(sim, 0);
            sim.runFor(15_000);
            assertThat(sameTip(sim, 0, 1, 2)).isTrue();
            assertThat(sameTip(sim, 3, 4, 5)).isTrue();
            assertThat(tip(sim, 0)).as("the halves forked").isNotEqualTo(tip(sim, 3));
            assertThat(height(sim, 0)).isGreaterThan(cut + 5);
            assertThat(height(sim, 3)).isGreaterThan(cut + 5);
            // production stops so the end state is exact
            for (int i : new int[] {0, 3}) sim.await(ledger(sim, i).produceEvery(0), 1000);
            long h0 = height(sim, 0), h3 = height(sim, 3);
            String winner = ChainState.compare(h0, ledger(sim, 0).chainNow().tipHash(), h3, ledger(sim, 3).chainNow().tipHash()) > 0
                    ? tip(sim, 0) : tip(sim, 3);
            int loser = winner.equals(tip(sim, 0)) ? 3 : 0;
            sim.heal();
            assertThat(sim.runUntil(() -> sameTip(sim, range(0, n)), 60_000)).as("converged after heal").as(() -> dump(sim)).isTrue();
            assertThat(tip(sim, 1)).as("fork choice: greater height, then lowest tip hash").isEqualTo(winner);
            assertThat(height(sim, 1)).isEqualTo(Math.max(h0, h3));
            for (int i : new int[] {loser, loser + 1, loser + 2}) {
                List<Ledger.Rebuild> rs = ledger(sim, i).rebuildsNow();
                assertThat(rs).as("node %d rebuilt", i).isNotEmpty();
                assertThat(rs.get(rs.size() - 1).forkHeight()).isGreaterThanOrEqualTo(cut - 2).isLessThanOrEqualTo(cut + 2);
            }
            assertThat(sim.counters()).doesNotContainKeys("ledger.bad.block_invalid", "ledger.bad.height_lie");
            // every node heard every other node's RPC endpoint announcement; duplicates were not forwarded again
            for (int i = 0; i < n; i++) assertThat(sim.await(ledger(sim, i).status(), 1000).get("rpcEndpoints")).isEqualTo(n - 1);
        }
    }

    /** Same seed, same run: the same chain and the same message schedule. */
    @Test
    void sameSeedSameChain() {
        String[] tips = new String[2];
        long[] digests = new long[2];
        for (int run = 0; run < 2; run++) {
            try (Simulator sim = start(4, 42, i -> config(i == 0 ? 500 : i == 2 ? 700 : 0), i -> null)) {
                sim.runFor(5_000);
                sim.partition(List.of(0, 1), List.of(2, 3));
                sim.runFor(5_000);
                sim.heal();
                sim.runFor(10_000);
                tips[run] = tip(sim, 3) + "@" + height(sim, 3);
                digests[run] = sim.traceDigest();
            }
        }
        assertThat(tips[1]).isEqualTo(tips[0]);
        assertThat(digests[1]).isEqualTo(digests[0]);
    }

    @Test
    void partitionHealConvergesForManySeeds() {
        for (long seed = 20; seed < 26; seed++) {
            try (Simulator sim = start(5, seed, i -> config(i == 1 ? 600 : i == 4 ? 800 : 0), i -> null)) {
                assertThat(sim.runUntil(() -> height(sim, 0) >= 3 && sameTip(sim, range(0, 5)), 30_000)).as(() -> dump(sim)).isTrue();
                sim.partition(List.of(0, 1), List.of(2, 3, 4));
                sim.runFor(8_000 + seed * 100);
                sim.await(ledger(sim, 1).produceEvery(0), 1000);
                sim.await(ledger(sim, 4).produceEvery(0), 1000);
                sim.runFor(2_000);
                sim.heal();
                long seedF = seed;
                assertThat(sim.runUntil(() -> sameTip(sim, range(0, 5)), 60_000)).as(() -> "seed " + seedF + " " + dump(sim)).isTrue();
                long rebuilt = 0;
                for (int i = 0; i < 5; i++) rebuilt += ledger(sim, i).rebuildsNow().isEmpty() ? 0 : 1;
                assertThat(rebuilt).as("the losing side rebuilt").isGreaterThanOrEqualTo(2);
            }
        }
    }

    @Test
    void lateNodeCatchesUpFromZeroAndTxsLand() throws Exception {
        try (Simulator sim = start(4, 11, i -> config(i == 0 ? 200 : 0), i -> null)) {
            sim.crash(3);
            Ledger l1 = ledger(sim, 1);
            HostKey k1 = sim.simNode(1).hostKey();
            Tx asset = Tx.asset(CHAIN, k1, "gold", new byte[] {1}, 1);
            assertThat(sim.runUntil(() -> l1.peersNow().size() == 2, 10_000)).isTrue();
            sim.await(l1.submit(asset), 1000);
            Tx issue = Tx.issue(CHAIN, k1, asset.id(), k1.publicKey().raw(), 2);
            boolean ok = sim.runUntil(() -> l1.chainNow().hasTx(asset.id()), 10_000);
            assertThat(ok).isTrue();
            sim.await(l1.submit(issue), 1000);
            Tx transfer = Tx.transfer(CHAIN, k1, issue.id(), issue.id(), sim.simNode(2).hostKey().publicKey().raw());
            assertThat(sim.runUntil(() -> l1.chainNow().hasTx(issue.id()), 10_000)).as(() -> dump(sim)).isTrue();
            sim.await(l1.submit(transfer), 1000);
            sim.runFor(40_000); // ~200 blocks, over 10 BLOCKS batches
            assertThat(height(sim, 0)).isGreaterThan(150);
            sim.restart(3);
            sim.introduce(3, 0);
            sim.await(sim.node(3).connection(sim.peerId(0)), 10_000);
            assertThat(sim.runUntil(() -> height(sim, 3) >= height(sim, 0) - 1 && height(sim, 3) > 150, 30_000)).as("caught up").as(() -> dump(sim)).isTrue();
            sim.await(ledger(sim, 0).produceEvery(0), 1000);
            assertThat(sim.runUntil(() -> sameTip(sim, 0, 1, 2, 3), 10_000)).as(() -> dump(sim)).isTrue();
            ChainState c3 = ledger(sim, 3).chainNow();
            assertThat(c3.tokens().get(Bytes.hex(issue.id())).owner()).as("transfer applied").isEqualTo(sim.simNode(2).hostKey().publicKey().raw());
            assertThat(ledger(sim, 3).rebuildsNow()).as("catching up is not a rebuild").isEmpty();
            // a double spend is refused at submit
            Tx again = Tx.transfer(CHAIN, k1, issue.id(), issue.id(), k1.publicKey().raw());
            CompletableFuture<byte[]> f = ledger(sim, 1).submit(again);
            sim.runUntil(f::isDone, 1000);
            assertThat(f).isCompletedExceptionally();
        }
    }

    /** A peer that registers properly, then lies: claims a huge height but has no such chain. */
    @Test
    void lyingHeightClaimIsScoredAndTheNodeKeepsServing() throws Exception {
        try (Simulator sim = start(3, 5, i -> config(0), i -> null)) {
            // node 2 is replaced by a liar: same node, its ledger handlers overridden
            Despatcher d = sim.node(2).despatcher();
            d.register(Ledger.INFO, m -> m.reply(Ledger.INFO + 1, new LedgerWire.Info(Ledger.VERSION, CHAIN, true, 1_000_000, LedgerCodecTest.filled(0)).encode()));
            d.register(Ledger.HASHES, m -> m.reply(Ledger.HASHES + 1, LedgerWire.encodeHashes(List.of())));
            sim.await(ledger(sim, 1).produceEvery(300), 1000);
            assertThat(sim.runUntil(() -> sim.counters().getOrDefault("ledger.bad.height_lie", 0L) > 0, 20_000)).as(() -> dump(sim)).isTrue();
            // the honest pair keeps growing together and answers RPC
            long h = height(sim, 0);
            assertThat(sim.runUntil(() -> height(sim, 0) > h + 5 && sameTip(sim, 0, 1), 20_000)).as(() -> dump(sim)).isTrue();
            var info = sim.await(sim.node(1).despatcher().request(sim.peerId(0), Ledger.INFO, new byte[0]), 5000);
            assertThat(LedgerWire.Info.decode(info.payload()).height()).isGreaterThan(h);
            assertThat(ledger(sim, 0).peersNow()).doesNotContain(sim.peerId(2));
        }
    }

    /** A peer that claims a better chain and serves a block with a wrong prev hash, then one with a wrong height. */
    @Test
    void invalidBlocksFromAPeerAreRejectedCountedAndScored() throws Exception {
        try (Simulator sim = start(3, 9, i -> config(0), i -> null)) {
            sim.runFor(2_000);
            HostKey evil = sim.simNode(1).hostKey();
            Block wrongPrev = Block.produce(CHAIN, 1, LedgerCodecTest.filled(5), sim.nowMs(), evil, List.of());
            Block wrongHeight = Block.produce(CHAIN, 3, Block.genesisHash(CHAIN), sim.nowMs(), evil, List.of());
            Despatcher d = sim.node(1).despatcher();
            int[] served = {0};
            d.register(Ledger.INFO, m -> m.reply(Ledger.INFO + 1, new LedgerWire.Info(Ledger.VERSION, CHAIN, true, 1, wrongPrev.hash()).encode()));
            d.register(Ledger.BLOCKS, m -> m.reply(Ledger.BLOCKS + 1, LedgerWire.encodeBlocks(List.of(served[0]++ == 0 ? wrongPrev : wrongHeight))));
            ledger(sim, 0).produceEvery(0);
            // node 0 samples node 1, sees a "better" chain, fetches and rejects
            assertThat(sim.runUntil(() -> sim.node(0).counters().get("ledger.bad.block_invalid") >= 2, 30_000)).as(() -> dump(sim)).isTrue();
            assertThat(height(sim, 0)).isZero();
            assertThat(sim.node(0).counters().get("ledger.peer.banned")).isEqualTo(1);
            assertThat(ledger(sim, 0).peersNow()).containsExactly(sim.peerId(2));
            // still serving, but not the banned peer
            CompletableFuture<?> refused = sim.node(1).despatcher().request(sim.peerId(0), Ledger.HASH, LedgerWire.height(0));
            sim.runUntil(refused::isDone, 5000);
            assertThat(refused).isCompletedExceptionally();
            var hash = sim.await(sim.node(2).despatcher().request(sim.peerId(0), Ledger.HASH, LedgerWire.height(0)), 5000);
            assertThat(hash.payload()).isEqualTo(Block.genesisHash(CHAIN));
        }
    }

    @Test
    void forkBelowTheFinalityBoundIsRejected() {
        try (Simulator sim = start(4, 13, i -> config(i == 0 ? 300 : i == 2 ? 500 : 0).withFinality(3), i -> null)) {
            assertThat(sim.runUntil(() -> height(sim, 0) >= 3 && sameTip(sim, 0, 1, 2, 3), 20_000)).as(() -> dump(sim)).isTrue();
            sim.partition(List.of(0, 1), List.of(2, 3));
            sim.runFor(5_000);
            for (int i : new int[] {0, 2}) sim.await(ledger(sim, i).produceEvery(0), 1000);
            sim.runFor(1_000);
            String t0 = tip(sim, 0), t2 = tip(sim, 2);
            assertThat(height(sim, 0)).isGreaterThan(height(sim, 2));
            assertThat(tip(sim, 1)).isEqualTo(t0);
            assertThat(tip(sim, 3)).isEqualTo(t2);
            sim.heal();
            assertThat(sim.runUntil(() -> sim.counters().getOrDefault("ledger.reject.finality", 0L) >= 2, 30_000)).as(() -> dump(sim)).isTrue();
            sim.runFor(5_000);
            assertThat(tip(sim, 2)).as("no reorg deeper than the finality bound").isEqualTo(t2);
            assertThat(tip(sim, 3)).isEqualTo(t2);
            assertThat(tip(sim, 0)).isEqualTo(t0);
            assertThat(sim.counters()).containsKey("ledger.bad.fork_below_finality");
            assertThat(ledger(sim, 2).rebuildsNow()).isEmpty();
        }
    }

    @Test
    void storeFailureMidRebuildLeavesTheChainUnchanged(@TempDir Path dir) throws Exception {
        try (Store store = Store.open(dir)) {
            LedgerStore ls = LedgerStore.open(store, CHAIN).get();
            try (Simulator sim = start(4, 17, i -> config(i == 0 ? 400 : i == 2 ? 700 : 0), i -> i == 3 ? ls : null)) {
                assertThat(sim.runUntil(() -> height(sim, 3) >= 3 && sameTip(sim, 0, 1, 2, 3), 20_000)).as(() -> dump(sim)).isTrue();
                sim.partition(List.of(0, 1), List.of(2, 3));
                sim.runFor(4_000);
                for (int i : new int[] {0, 2}) sim.await(ledger(sim, i).produceEvery(0), 1000);
                // node 0 produced faster: node 1 must roll back
                assertThat(height(sim, 0)).isGreaterThan(height(sim, 3));
                sim.runFor(500);
                store.flush().get();
                String before = tip(sim, 3);
                long beforeHeight = height(sim, 3);
                List<byte[]> storedBefore = ls.loadBlocks().get();
                assertThat(storedBefore).hasSize((int) beforeHeight);
                ls.failAtStatement = 5; // after the deletes and a few inserts
                sim.heal();
                assertThat(sim.runUntil(() -> sim.counters().getOrDefault("ledger.rebuild.failed", 0L) > 0, 30_000)).as(() -> dump(sim)).isTrue();
                assertThat(tip(sim, 3)).as("in memory unchanged").isEqualTo(before);
                List<byte[]> storedAfter = ls.loadBlocks().get();
                assertThat(storedAfter).hasSize(storedBefore.size());
                for (int i = 0; i < storedBefore.size(); i++) assertThat(storedAfter.get(i)).isEqualTo(storedBefore.get(i));
                ls.failAtStatement = -1;
                assertThat(sim.runUntil(() -> sameTip(sim, 0, 1, 2, 3), 30_000)).as(() -> dump(sim)).isTrue();
                store.flush().get();
                ChainState reloaded = new ChainState(CHAIN);
                for (byte[] b : ls.loadBlocks().get()) reloaded.append(Block.decode(b), Long.MAX_VALUE / 2, 0);
                assertThat(Bytes.hex(reloaded.tipHash())).isEqualTo(tip(sim, 0));
                assertThat(ls.count("ledger_blocks").get()).isEqualTo(height(sim, 0));
                assertThat(ledger(sim, 3).rebuildsNow()).hasSize(1);
            }
        }
    }
}
