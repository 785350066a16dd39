package io.peersocket.protocol.content;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.util.Counters;
import io.peersocket.util.ManualEventLoop;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class BandwidthSchedulerTest {
    static final PeerId A = HostKey.fromSeed(new byte[32]).peerId();
    static final PeerId B = HostKey.fromSeed(filled(1)).peerId();
    static final PeerId C = HostKey.fromSeed(filled(2)).peerId();

    static byte[] filled(int b) {
        byte[] s = new byte[32];
        java.util.Arrays.fill(s, (byte) b);
        return s;
    }

    @Test
    void perPeerRateIsConstantAndClassesGoInPriorityOrder() {
        ManualEventLoop loop = new ManualEventLoop(0);
        // 10 kB/s per peer, 1 kB burst: one 1 kB message per 100 ms
        BandwidthScheduler s = new BandwidthScheduler(loop, new BandwidthScheduler.Limits(0, 10_000, 1000, 1 << 20), new Counters());
        List<String> sent = new ArrayList<>();
        List<Long> times = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            int n = i;
            s.submit(A, BandwidthScheduler.Priority.HISTORICAL, 1000, false, () -> { sent.add("h" + n); times.add(loop.nowMs()); });
        }
        s.submit(A, BandwidthScheduler.Priority.LIVE, 1000, false, () -> { sent.add("live"); times.add(loop.nowMs()); });
        s.submit(A, BandwidthScheduler.Priority.RETRIEVAL, 1000, false, () -> { sent.add("ret"); times.add(loop.nowMs()); });
        s.submit(A, BandwidthScheduler.Priority.CONTROL, 50, false, () -> sent.add("ctl"));
        loop.advance(2_000);
        // h0 went at once (burst); then control at once; then retrieval, live, the other historical ones
        assertThat(sent).containsExactly("h0", "ctl", "ret", "live", "h1", "h2", "h3", "h4");
        assertThat(times.get(0)).isEqualTo(0);
        for (int i = 2; i < times.size(); i++) assertThat(times.get(i) - times.get(i - 1)).isBetween(90L, 110L);
    }

    @Test
    void peersTakeTurnsUnderTheGlobalLimit() {
        ManualEventLoop loop = new ManualEventLoop(0);
        BandwidthScheduler s = new BandwidthScheduler(loop, new BandwidthScheduler.Limits(10_000, 0, 1000, 1 << 20), new Counters());
        List<String> sent = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            s.submit(A, BandwidthScheduler.Priority.HISTORICAL, 1000, false, () -> sent.add("A"));
        }
        for (int i = 0; i < 4; i++) {
            s.submit(B, BandwidthScheduler.Priority.HISTORICAL, 1000, false, () -> sent.add("B"));
            s.submit(C, BandwidthScheduler.Priority.HISTORICAL, 1000, false, () -> sent.add("C"));
        }
        loop.advance(400);
        assertThat(sent).hasSize(5); // 1 burst + 4 × 100 ms
        loop.advance(1000);
        assertThat(sent).containsExactly("A", "A", "B", "C", "A", "B", "C", "A", "B", "C", "B", "C");
    }

    @Test
    void fullQueuesShedSyncButNotRetrieval() {
        ManualEventLoop loop = new ManualEventLoop(0);
        Counters c = new Counters();
        BandwidthScheduler s = new BandwidthScheduler(loop, new BandwidthScheduler.Limits(0, 1000, 100, 2500), c);
        int accepted = 0;
        for (int i = 0; i < 5; i++) if (s.submit(A, BandwidthScheduler.Priority.HISTORICAL, 1000, false, () -> {})) accepted++;
        assertThat(accepted).isEqualTo(3); // 1 sent at once, 2 queued, 2 shed
        assertThat(c.get("content.sched.shed")).isEqualTo(2);
        assertThat(s.submit(A, BandwidthScheduler.Priority.RETRIEVAL, 1000, false, () -> {})).isTrue();
        assertThat(s.estimateDelayMs(A, BandwidthScheduler.Priority.RETRIEVAL, 1000)).isEqualTo(2000);
    }
}
