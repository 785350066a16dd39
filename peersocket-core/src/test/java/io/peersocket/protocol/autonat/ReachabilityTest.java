package io.peersocket.protocol.autonat;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import org.junit.jupiter.api.Test;

class ReachabilityTest {
    private final PeerId a = HostKey.generate().peerId();
    private final PeerId b = HostKey.generate().peerId();
    private final PeerId c = HostKey.generate().peerId();
    private final PeerId d = HostKey.generate().peerId();

    @Test
    void needsThreeDistinctAgreeingPeers() {
        Reachability r = new Reachability(3, 600_000);
        assertThat(r.record(a, true, 0)).isNull();
        assertThat(r.record(a, true, 1)).isNull(); // the same peer again counts once
        assertThat(r.record(b, true, 2)).isNull();
        assertThat(r.state()).isEqualTo(Reachability.State.UNKNOWN);
        assertThat(r.record(c, true, 3)).isEqualTo(Reachability.State.PUBLIC);
    }

    @Test
    void alternatingAnswersNeverFlip() {
        Reachability r = new Reachability(3, 0);
        r.record(a, false, 0);
        r.record(b, false, 0);
        r.record(c, false, 0);
        assertThat(r.state()).isEqualTo(Reachability.State.PRIVATE);
        PeerId[] peers = {a, b, c, d};
        for (int i = 0; i < 100; i++) {
            assertThat(r.record(peers[i % 4], i % 2 == 0, 1_000L * i)).isNull();
            assertThat(r.state()).isEqualTo(Reachability.State.PRIVATE);
        }
    }

    @Test
    void decidedStateHoldsForTheDwellTime() {
        Reachability r = new Reachability(3, 600_000);
        r.record(a, true, 0);
        r.record(b, true, 0);
        r.record(c, true, 0);
        assertThat(r.state()).isEqualTo(Reachability.State.PUBLIC);
        assertThat(r.record(a, false, 10)).isNull();
        assertThat(r.record(b, false, 20)).isNull();
        assertThat(r.record(c, false, 30)).isNull(); // a full contrary streak, but within the dwell
        assertThat(r.state()).isEqualTo(Reachability.State.PUBLIC);
        assertThat(r.record(d, false, 600_000)).isEqualTo(Reachability.State.PRIVATE);
        // An interrupted streak starts over.
        Reachability s = new Reachability(3, 0);
        s.record(a, true, 0);
        s.record(b, true, 0);
        s.record(c, false, 0);
        s.record(d, true, 0);
        assertThat(s.state()).isEqualTo(Reachability.State.UNKNOWN);
        assertThat(s.streak()).isEqualTo(1);
    }
}
