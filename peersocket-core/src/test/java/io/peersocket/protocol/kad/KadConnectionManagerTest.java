package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** The connection manager on a fake host with virtual time. */
class KadConnectionManagerTest {
    private final Random rnd = new Random(21);
    private final FakeHost host = new FakeHost(TestPeers.random(rnd));

    private PeerId in(int po) { return TestPeers.inBin(host.self, po, rnd); }

    private Kademlia kad(KadConfig.Builder b) {
        // the fake host cannot open streams: keep peers in the table when refresh lookups fail
        Kademlia k = new Kademlia(host, b.refreshIntervalMs(0).recordRepublishMs(0).providerRepublishMs(0)
                .failuresBeforeEviction(1_000).build());
        host.loop.runPending();
        return k;
    }

    private <T> T done(CompletableFuture<T> f) {
        host.loop.runPending();
        assertThat(f).isDone();
        return f.join();
    }

    @Test
    void failingPeersBackOffExponentiallyAndAreDroppedAfterTheRetries() {
        Kademlia kad = kad(KadConfig.builder().backoff(1_000, 8_000, 4).dialsPerTick(1).connectionManagerIntervalMs(100));
        PeerId bad = in(0);
        kad.table().addCandidate(bad, 0);
        KadConnectionManager cm = new KadConnectionManager(kad);
        cm.start();
        host.loop.advance(20_000);
        // failures 1, 2, 3 wait 1 s, 2 s, 4 s; the 4th gives up
        assertThat(host.dialTimes.get(bad)).containsExactly(0L, 1_000L, 3_000L, 7_000L);
        assertThat(kad.table().knows(bad)).isFalse();
        assertThat(host.counters.get("kad.connmgr.gave_up")).isEqualTo(1);
        assertThat(host.counters.get("kad.connmgr.dial_failed")).isEqualTo(4);
        assertThat(cm.backoffOf(bad).failures()).isEqualTo(4);
        cm.close();
    }

    @Test
    void dialsSuggestedPeersAndTheyJoinTheTableWhenIdentified() {
        Kademlia kad = kad(KadConfig.builder().dialsPerTick(3).neighbourhoodSize(2).minBinSize(1));
        PeerId a = in(0), b = in(1), c = in(2);
        host.reachable.addAll(List.of(a, b, c));
        for (PeerId p : List.of(a, b, c)) kad.table().addCandidate(p, 0);
        KadConnectionManager cm = new KadConnectionManager(kad);
        KadConnectionManager.TickReport r = done(cm.tick());
        assertThat(r.dialled()).containsOnlyKeys(a, b, c).containsValues(true);
        for (PeerId p : List.of(a, b, c)) {
            assertThat(kad.table().isMember(p)).isTrue();
            assertThat(kad.table().info(p).connected()).isTrue();
        }
        assertThat(kad.table().health(List.of(a, b, c)).healthy()).isTrue();
        // nothing left to dial
        assertThat(done(cm.tick()).dialled()).isEmpty();
        // a peer that connects but is not a kad server leaves the table
        PeerId plain = in(3);
        kad.table().addCandidate(plain, 1);
        host.connect(plain, false);
        assertThat(kad.table().knows(plain)).isFalse();
        // nor does a light node (Peersocket handshake), even if it lists the protocol
        PeerId light = in(3);
        host.handshakes.put(light, new io.peersocket.protocol.handshake.HandshakeInfo(1, 0, true));
        host.connect(light, true);
        assertThat(kad.table().knows(light)).isFalse();
        PeerId full = in(3);
        host.handshakes.put(full, new io.peersocket.protocol.handshake.HandshakeInfo(1, 0, false));
        host.connect(full, true);
        assertThat(kad.table().isMember(full)).isTrue();
    }

    @Test
    void trimsOverFullBinsBelowDepthButNotTheNeighbourhood() {
        Kademlia kad = kad(KadConfig.builder().neighbourhoodSize(2).minBinSize(1).maxConnectedPerBin(1));
        PeerId f1 = in(0), f2 = in(0), f3 = in(0), n1 = in(3), n2 = in(4), n3 = in(4);
        long t = 1;
        for (PeerId p : List.of(f1, f2, f3, n1, n2, n3)) {
            host.connect(p, true);
            kad.table().touch(p, t++);
        }
        assertThat(kad.table().depth()).isEqualTo(4); // n2, n3 at PO 4
        KadConnectionManager cm = new KadConnectionManager(kad);
        KadConnectionManager.TickReport r = done(cm.tick());
        // bin 0 keeps its most recently seen peer; bins 1..3 are below depth but hold at most 1
        assertThat(r.trimmed()).containsExactly(f1, f2);
        assertThat(host.closed).containsExactly(f1, f2);
        assertThat(kad.table().connectedCount(0)).isEqualTo(1);
        assertThat(kad.table().info(f1).connected()).isFalse();
        assertThat(kad.table().isMember(f1)).isTrue(); // still known, just not connected
        assertThat(kad.table().connectedCount(4)).isEqualTo(2); // the neighbourhood is untouched
        // the trimmed peers are not dialled again: bin 0 is saturated
        assertThat(done(cm.tick()).dialled()).isEmpty();
    }

    @Test
    void refreshesAnUnsaturatedBinWithNobodyToDialAtMostOncePerInterval() {
        Kademlia kad = new Kademlia(host, KadConfig.builder().neighbourhoodSize(2).minBinSize(1)
                .refreshIntervalMs(60_000).recordRepublishMs(0).providerRepublishMs(0).failuresBeforeEviction(1_000).build());
        host.loop.runPending();
        for (PeerId p : List.of(in(3), in(4))) host.connect(p, true);
        assertThat(kad.table().depth()).isEqualTo(3);
        KadConnectionManager cm = new KadConnectionManager(kad);
        assertThat(done(cm.tick()).refreshedBin()).isZero();
        assertThat(host.counters.get("kad.connmgr.refresh")).isEqualTo(1);
        assertThat(host.counters.get("kad.lookup.started")).isEqualTo(1);
        assertThat(done(cm.tick()).refreshedBin()).isEqualTo(-1);
        host.loop.advance(60_000);
        assertThat(done(cm.tick()).refreshedBin()).isZero();
    }
}
