package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.content.Chunk;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Pull sync between a handful of fully connected nodes (depth 0: everyone syncs every bin of everyone). */
class PullSyncTest {

    @Test
    void historicalThenLiveSyncConvergesWithEachChunkTransferredOnce() {
        try (ContentNet net = new ContentNet(4, ContentConfig.defaults(), 10)) {
            List<Chunk> old = ContentNet.randomChunks(300, 1);
            for (Chunk c : old) net.get(0).chunks.put(c, true);
            net.connectAll();
            assertThat(net.runUntil(() -> net.peers.stream().allMatch(p -> p.chunks.size() == 300), 120_000))
                    .as("historical sync converged; delivered " + net.counter("content.sync.delivered")).isTrue();
            List<Chunk> fresh = ContentNet.randomChunks(50, 2);
            for (Chunk c : fresh) net.get(1).chunks.put(c, true);
            assertThat(net.runUntil(() -> net.peers.stream().allMatch(p -> p.chunks.size() == 350), 60_000)).isTrue();
            net.loop.advance(5_000);
            assertThat(net.counter("content.sync.duplicates")).isZero();
            // 3 downstreams got 350 chunks each, each exactly once
            assertThat(net.counter("content.sync.delivered")).isEqualTo(3 * 350);
            assertThat(net.counter("content.sync.fallback")).isZero();
            long wire = net.counter("content.sync.wire.out"), payload = net.counter("content.sync.payload_in");
            System.out.printf("sync wire/payload = %d / %d = %.4f%n", wire, payload, (double) wire / payload);
        }
    }

    @Test
    void aRestartedDownstreamResumesFromItsPersistedIntervals() {
        try (ContentNet net = new ContentNet(2, ContentConfig.defaults(), 10)) {
            for (Chunk c : ContentNet.randomChunks(200, 3)) net.get(0).chunks.put(c, true);
            net.connectAll();
            assertThat(net.runUntil(() -> net.get(1).chunks.size() == 200, 60_000)).isTrue();
            net.loop.advance(2_000);
            long delivered = net.get(1).node.counters().get("content.sync.delivered");
            assertThat(delivered).isEqualTo(200);
            net.get(1).restart(); // same key, chunks and intervals
            for (Chunk c : ContentNet.randomChunks(20, 4)) net.get(0).chunks.put(c, true);
            net.connect(1, 0);
            assertThat(net.runUntil(() -> net.get(1).chunks.size() == 220, 60_000))
                    .as(net.get(1).node.counters().snapshot() + "\n" + net.get(0).node.counters().snapshot() + "\n" + net.get(1).content.subscriptions()).isTrue();
            net.loop.advance(2_000);
            // only the 20 new ones crossed, and the 200 old ones were not even offered again
            assertThat(net.get(1).node.counters().get("content.sync.delivered")).isEqualTo(20);
            assertThat(net.get(1).node.counters().get("content.sync.offered")).isEqualTo(20);
            assertThat(net.counter("content.sync.duplicates")).isZero();
        }
    }

    @Test
    void underABandwidthLimitLiveChunksOvertakeTheHistoricalBacklogAtAConstantRate() {
        // 41 kB/s per peer: one 4 kB instalment per 100 ms
        ContentConfig cc = ContentConfig.defaults().withBandwidth(new BandwidthScheduler.Limits(0, 41_040, 4_200, 1 << 20));
        try (ContentNet net = new ContentNet(2, cc, 10)) {
            List<Chunk> backlog = ContentNet.randomChunks(100, 5);
            for (Chunk c : backlog) net.get(0).chunks.put(c, true);
            net.connectAll();
            net.loop.advance(1_000); // about 10 historical instalments in
            long start = net.loop.nowMs();
            Chunk live = ContentNet.randomChunks(1, 6).get(0);
            net.get(0).chunks.put(live, true);
            assertThat(net.runUntil(() -> net.get(1).chunks.contains(live.address()), 10_000)).isTrue();
            long liveMs = net.loop.nowMs() - start;
            int historicalSoFar = net.get(1).chunks.size() - 1;
            assertThat(historicalSoFar).as("live arrived while the backlog was still syncing").isLessThan(40);
            assertThat(liveMs).as("live chunk latency").isLessThan(1_000);
            assertThat(net.runUntil(() -> net.get(1).chunks.size() == 101, 60_000)).isTrue();
            long total = net.loop.nowMs() - start + 1_000;
            // 101 × 4.1 kB at 41 kB/s is about 10 s: the rate held (no burst beyond the bucket)
            assertThat(total).isBetween(9_000L, 13_000L);
            assertThat(net.counter("content.sync.duplicates")).isZero();
        }
    }
}
