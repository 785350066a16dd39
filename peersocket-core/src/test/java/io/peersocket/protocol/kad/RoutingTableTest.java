package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class RoutingTableTest {
    private final Random rnd = new Random(7);
    private final PeerId self = TestPeers.random(rnd);

    /** k = 3, 2 replacements, 4 candidates, neighbourhood 4, saturation 2. */
    private RoutingTable table() { return new RoutingTable(self, 3, 2, 4, 4, 2); }

    private PeerId in(int po) { return TestPeers.inBin(self, po, rnd); }

    @Test
    void peersGoToTheBinOfTheirProximityOrder() {
        RoutingTable t = table();
        PeerId a = in(0), b = in(3), c = in(3);
        assertThat(t.addPeer(a, true, 1)).isEqualTo(RoutingTable.AddResult.ADDED);
        assertThat(t.addPeer(b, false, 2)).isEqualTo(RoutingTable.AddResult.ADDED);
        assertThat(t.addPeer(c, true, 3)).isEqualTo(RoutingTable.AddResult.ADDED);
        assertThat(t.addPeer(self, true, 4)).isEqualTo(RoutingTable.AddResult.IGNORED);
        assertThat(t.proximity(b)).isEqualTo(3);
        assertThat(t.bin(0)).extracting(RoutingTable.PeerInfo::peer).containsExactly(a);
        assertThat(t.bin(3)).extracting(RoutingTable.PeerInfo::peer).containsExactly(b, c);
        assertThat(t.memberCount(3)).isEqualTo(2);
        assertThat(t.connectedCount(3)).isEqualTo(1);
        assertThat(t.size()).isEqualTo(3);
        assertThat(t.members()).containsExactly(a, b, c);
        assertThat(t.info(b).tier()).isEqualTo(RoutingTable.Tier.MEMBER);
        assertThat(t.info(b).lastSeenMs()).isEqualTo(2);
    }

    @Test
    void fullBucketSendsNewcomersToTheReplacementCacheAndPromotesOnRemoval() {
        RoutingTable t = table();
        PeerId m1 = in(1), m2 = in(1), m3 = in(1), r1 = in(1), r2 = in(1), r3 = in(1);
        t.addPeer(m1, true, 1);
        t.addPeer(m2, true, 2);
        t.addPeer(m3, true, 3);
        assertThat(t.isBucketFull(1)).isTrue();
        assertThat(t.leastRecentlySeen(1)).isEqualTo(m1);
        assertThat(t.addPeer(r1, true, 4)).isEqualTo(RoutingTable.AddResult.CACHED);
        assertThat(t.addPeer(r2, false, 5)).isEqualTo(RoutingTable.AddResult.CACHED);
        // cache holds 2: the oldest unconnected replacement (r2) makes room for r3
        assertThat(t.addPeer(r3, false, 6)).isEqualTo(RoutingTable.AddResult.CACHED);
        assertThat(t.knows(r2)).isFalse();
        assertThat(t.info(r1).tier()).isEqualTo(RoutingTable.Tier.REPLACEMENT);
        assertThat(t.connectedCount(1)).isEqualTo(4); // m1..m3 and r1

        // seeing a member again makes it most recently seen
        assertThat(t.addPeer(m1, true, 7)).isEqualTo(RoutingTable.AddResult.UPDATED);
        assertThat(t.leastRecentlySeen(1)).isEqualTo(m2);
        t.touch(m2, 8);
        assertThat(t.leastRecentlySeen(1)).isEqualTo(m3);

        // removing a member promotes the connected replacement (r1) over the more recent unconnected one (r3)
        assertThat(t.remove(m3)).isTrue();
        assertThat(t.info(r1).tier()).isEqualTo(RoutingTable.Tier.MEMBER);
        assertThat(t.info(r3).tier()).isEqualTo(RoutingTable.Tier.REPLACEMENT);
        assertThat(t.size()).isEqualTo(3);
        assertThat(t.remove(m3)).isFalse();
    }

    @Test
    void failuresEvictAfterTheThreshold() {
        RoutingTable t = table();
        PeerId p = in(2);
        t.addPeer(p, true, 1);
        assertThat(t.recordFailure(p, 2)).isFalse();
        t.addPeer(p, true, 2); // success resets the count
        assertThat(t.recordFailure(p, 2)).isFalse();
        assertThat(t.recordFailure(p, 2)).isTrue();
        assertThat(t.knows(p)).isFalse();
    }

    @Test
    void candidatesAreBoundedAndVerifiedByAddPeer() {
        RoutingTable t = table();
        List<PeerId> cands = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            PeerId c = in(0);
            cands.add(c);
            assertThat(t.addCandidate(c, i)).isTrue();
        }
        assertThat(t.addCandidate(cands.get(5), 9)).isFalse();
        assertThat(t.bin(0)).hasSize(4); // cache of 4: the two oldest went
        assertThat(t.knows(cands.get(0))).isFalse();
        assertThat(t.size()).isZero();
        assertThat(t.closest(KadKey.of(cands.get(3)), 5)).isEmpty(); // candidates are not answered to others
        t.setConnected(cands.get(3), true);
        assertThat(t.connectedCount(0)).isZero(); // unverified connections do not count
        assertThat(t.addPeer(cands.get(3), true, 10)).isEqualTo(RoutingTable.AddResult.ADDED);
        assertThat(t.connectedCount(0)).isEqualTo(1);
        assertThat(t.addCandidate(cands.get(3), 11)).isFalse(); // known members stay members
        assertThat(t.info(cands.get(3)).tier()).isEqualTo(RoutingTable.Tier.MEMBER);
    }

    @Test
    void depthIsTheDeepestPoWithEnoughConnectedPeersAtOrBelowIt() {
        RoutingTable t = table();
        assertThat(t.depth()).isZero();
        // connected peers at POs 0, 0, 1, 2, 3, 5
        for (int po : new int[] {0, 0, 1, 2, 3, 5}) t.addPeer(in(po), true, 1);
        // peers with PO >= d: d=5 -> 1, d=3 -> 2, d=2 -> 3, d=1 -> 4
        assertThat(t.depth()).isEqualTo(1);
        RoutingTable two = new RoutingTable(self, 3, 2, 4, 2, 2);
        for (int po : new int[] {0, 0, 1, 2, 3, 5}) two.addPeer(in(po), true, 1);
        assertThat(two.depth()).isEqualTo(3);
        // unconnected peers do not count
        PeerId deep = in(6);
        t.addPeer(deep, false, 2);
        assertThat(t.depth()).isEqualTo(1);
        t.setConnected(deep, true);
        assertThat(t.depth()).isEqualTo(2); // now 6,5,3,2 are at PO >= 2
        // fewer connected peers than the neighbourhood size: depth 0
        RoutingTable few = table();
        for (int po : new int[] {4, 5, 6}) few.addPeer(in(po), true, 1);
        assertThat(few.depth()).isZero();
        // the static form over a reference set agrees
        List<KadKey> keys = new ArrayList<>();
        for (int po : new int[] {0, 0, 1, 2, 3, 5}) keys.add(KadKey.of(in(po)));
        assertThat(RoutingTable.depth(KadKey.of(self), keys, 4)).isEqualTo(1);
        assertThat(RoutingTable.depth(KadKey.of(self), keys, 2)).isEqualTo(3);
        assertThat(RoutingTable.depth(KadKey.of(self), keys, 7)).isZero();
    }

    @Test
    void saturationIsTheShallowestBinBelowDepthWithTooFewConnectedPeers() {
        RoutingTable t = new RoutingTable(self, 3, 2, 4, 2, 2);
        for (int po : new int[] {0, 0, 1, 3, 4, 6, 7}) t.addPeer(in(po), true, 1);
        assertThat(t.depth()).isEqualTo(6);
        assertThat(t.saturation()).isEqualTo(1); // bin 0 has 2, bin 1 has 1
        t.addPeer(in(1), true, 2);
        assertThat(t.saturation()).isEqualTo(2); // bin 2 is empty
    }

    @Test
    void suggestPeerFillsTheShallowestUnsaturatedBinFirst() {
        RoutingTable t = new RoutingTable(self, 3, 2, 4, 2, 2);
        PeerId b0a = in(0), b0b = in(0), b1 = in(1), deepA = in(5), deepB = in(6);
        t.addPeer(b0a, true, 1);
        t.addPeer(deepA, true, 1);
        t.addPeer(deepB, true, 1);
        assertThat(t.depth()).isEqualTo(5);
        // bin 0 has one connected peer, a known unconnected one is proposed
        t.addCandidate(b0b, 2);
        t.addCandidate(b1, 2);
        RoutingTable.Suggestion s = t.suggestPeer(p -> true);
        assertThat(s.peer()).isEqualTo(b0b);
        assertThat(s.po()).isZero();
        // if it cannot be dialled (backing off), bin 0 is wanted and bin 1's peer comes next
        s = t.suggestPeer(p -> !p.equals(b0b));
        assertThat(s.peer()).isEqualTo(b1);
        assertThat(s.po()).isEqualTo(1);
        assertThat(s.wantedBin()).isZero();
        // unconnected members are preferred over candidates in the same bin
        PeerId b0member = in(0);
        t.addPeer(b0member, false, 3);
        assertThat(t.suggestPeer(p -> true).peer()).isEqualTo(b0member);
        // once bins below depth are saturated, unconnected neighbours are proposed
        t.setConnected(b0member, true);
        PeerId b1m = in(1), b2m = in(2), b2n = in(2), b3m = in(3), b3n = in(3), b4m = in(4), b4n = in(4);
        for (PeerId p : List.of(b1m, b2m, b2n, b3m, b3n, b4m, b4n)) t.addPeer(p, true, 4);
        t.addPeer(b1, true, 4);
        assertThat(t.saturation()).isEqualTo(t.depth());
        PeerId neighbour = in(7);
        t.addPeer(neighbour, false, 5);
        s = t.suggestPeer(p -> true);
        assertThat(s.peer()).isEqualTo(neighbour);
        assertThat(s.po()).isGreaterThanOrEqualTo(t.depth());
        // connecting the neighbour deepens depth to 6, leaving bin 5 (one peer) unsaturated with nobody to dial
        t.setConnected(neighbour, true);
        t.remove(b0b);
        assertThat(t.depth()).isEqualTo(6);
        s = t.suggestPeer(p -> true);
        assertThat(s.peer()).isNull();
        assertThat(s.wantedBin()).isEqualTo(5);
    }

    @Test
    void suggestPeerWantsEmptyBinsBelowDepth() {
        RoutingTable t = new RoutingTable(self, 3, 2, 4, 2, 1);
        for (int po : new int[] {0, 3, 4}) t.addPeer(in(po), true, 1);
        assertThat(t.depth()).isEqualTo(3);
        RoutingTable.Suggestion s = t.suggestPeer(p -> true);
        assertThat(s.peer()).isNull();
        assertThat(s.wantedBin()).isEqualTo(1);
    }

    @Test
    void healthAgainstAReferenceNetwork() {
        RoutingTable t = new RoutingTable(self, 20, 5, 5, 3, 1);
        List<PeerId> network = new ArrayList<>();
        PeerId far1 = in(0), far2 = in(0), mid = in(1), n1 = in(4), n2 = in(5), n3 = in(8);
        network.addAll(List.of(self, far1, far2, mid, n1, n2, n3));
        // expected depth over the network: PO >= 4 holds 3 peers
        t.addPeer(far1, true, 1);
        t.addPeer(n1, true, 1);
        t.addPeer(n2, false, 1);
        RoutingTable.Health h = t.health(network);
        assertThat(h.expectedDepth()).isEqualTo(4);
        assertThat(h.nearestNeighbours()).containsExactly(n3, n2, n1); // closest first
        assertThat(h.unknownNeighbours()).containsExactly(n3);
        assertThat(h.unconnectedNeighbours()).containsExactlyInAnyOrder(n2, n3);
        assertThat(h.emptyBins()).containsExactly(1); // bin 0 has far1; bins 2, 3 have nobody in the network
        assertThat(h.knowsNearestNeighbours()).isFalse();
        assertThat(h.healthy()).isFalse();

        t.addCandidate(n3, 2);
        h = t.health(network);
        assertThat(h.knowsNearestNeighbours()).isTrue();
        assertThat(h.unconnectedNeighbours()).containsExactlyInAnyOrder(n2, n3); // a candidate is not connected

        t.addPeer(n3, true, 3);
        t.setConnected(n2, true);
        t.addPeer(mid, true, 3);
        h = t.health(network);
        assertThat(h.connectedToNearestNeighbours()).isTrue();
        assertThat(h.emptyBins()).isEmpty();
        assertThat(h.healthy()).isTrue();
        assertThat(h.depth()).isEqualTo(t.depth());

        // the no-argument form judges against what the table knows
        PeerId stranger = in(9);
        t.addCandidate(stranger, 4);
        assertThat(t.health().unconnectedNeighbours()).containsExactly(stranger);
        assertThat(t.toString()).contains("depth=").contains("members=");
    }

    @Test
    void closestMatchesABruteForceSort() {
        RoutingTable t = new RoutingTable(self, 4, 0, 0, 4, 2);
        for (int i = 0; i < 300; i++) t.addPeer(TestPeers.random(rnd), true, i);
        for (int po = 1; po <= 8; po++) for (int i = 0; i < 4; i++) t.addPeer(in(po), true, 1000);
        List<PeerId> all = t.members();
        assertThat(all).hasSizeGreaterThan(30);
        List<KadKey> targets = new ArrayList<>();
        targets.add(KadKey.of(self));
        targets.add(KadKey.of(all.get(0)));
        for (int i = 0; i < 50; i++) targets.add(KadKey.ofKey(new byte[] {(byte) i}));
        for (KadKey target : targets) {
            for (int n : new int[] {1, 3, 20, 1000}) {
                List<PeerId> expected = all.stream()
                        .sorted(Comparator.comparing(p -> KadKey.of(p), target::compareDistance))
                        .limit(n).toList();
                assertThat(t.closest(target, n)).as("target %s n %d", target.shortString(), n).isEqualTo(expected);
            }
        }
    }
}
