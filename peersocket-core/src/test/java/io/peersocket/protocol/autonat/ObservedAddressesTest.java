package io.peersocket.protocol.autonat;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.util.Counters;
import org.junit.jupiter.api.Test;

class ObservedAddressesTest {
    private static final Multiaddr EXT = Multiaddr.parse("/ip4/203.0.113.7/udp/40001/quic-v1");
    private static final Multiaddr OTHER = Multiaddr.parse("/ip4/198.51.100.9/udp/5000/quic-v1");
    private final Counters counters = new Counters();
    private final ObservedAddresses table = new ObservedAddresses(3, 60_000, counters);

    private static PeerId peer() { return HostKey.generate().peerId(); }

    @Test
    void confirmedByThreeDistinctPeersOnly() {
        PeerId p = peer();
        for (int i = 0; i < 5; i++) table.record(p, EXT, i); // one peer repeating itself has one vote
        assertThat(table.confirmed(10)).isEmpty();
        table.record(peer(), EXT, 10);
        assertThat(table.confirmed(10)).isEmpty();
        table.record(peer(), EXT.withPeerId(p), 11);
        assertThat(table.confirmed(11)).containsExactly(EXT);
        // A peer changing its report moves its vote.
        table.record(p, OTHER, 12);
        assertThat(table.confirmed(12)).isEmpty();
        assertThat(table.counts(12)).containsEntry(EXT, 2).containsEntry(OTHER, 1);
    }

    @Test
    void votesExpire() {
        for (int i = 0; i < 3; i++) table.record(peer(), EXT, 0);
        assertThat(table.confirmed(60_000)).containsExactly(EXT);
        assertThat(table.confirmed(60_001)).isEmpty();
    }

    @Test
    void garbageIsRejectedAndCounted() {
        PeerId p = peer();
        assertThat(table.record(p, null, 0)).isFalse();
        assertThat(table.record(p, Multiaddr.parse("/ip4/0.0.0.0/udp/1/quic-v1"), 0)).isFalse();
        assertThat(table.record(p, Multiaddr.parse("/ip4/224.0.0.1/udp/1/quic-v1"), 0)).isFalse();
        assertThat(table.record(p, Multiaddr.parse("/ip4/203.0.113.7/udp/0/quic-v1"), 0)).isFalse();
        assertThat(table.record(p, Multiaddr.parse("/ip4/203.0.113.7/tcp/4001"), 0)).isFalse();
        assertThat(table.record(p, Multiaddr.parse("/dns4/example.com/udp/1/quic-v1"), 0)).isFalse();
        assertThat(counters.get("autonat.observed.rejected.missing")).isEqualTo(1);
        assertThat(counters.get("autonat.observed.rejected.ip")).isEqualTo(2);
        assertThat(counters.get("autonat.observed.rejected.port")).isEqualTo(1);
        assertThat(counters.get("autonat.observed.rejected.shape")).isEqualTo(2);
        assertThat(table.counts(0)).isEmpty();
    }

    @Test
    void voterTableIsBounded() {
        for (int i = 0; i < ObservedAddresses.MAX_VOTERS + 50; i++) {
            table.record(peer(), Multiaddr.parse("/ip4/203.0.113." + (i % 200 + 1) + "/udp/1000/quic-v1"), 0);
        }
        assertThat(table.counts(0).values().stream().mapToInt(Integer::intValue).sum()).isEqualTo(ObservedAddresses.MAX_VOTERS);
    }
}
