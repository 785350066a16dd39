package io.peersocket.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import org.junit.jupiter.api.Test;

/** The seeded link model's optional per-peer uplink: writes queue behind the sender's earlier writes. */
class SeededLinkModelTest {
    private static final long MS = 1_000_000L;

    @Test
    void writesWaitForTheSendersUplinkOnly() {
        PeerId a = HostKey.generate().peerId(), b = HostKey.generate().peerId(), c = HostKey.generate().peerId();
        SeededLinkModel m = new SeededLinkModel(3, 10, 40, 0, 0.0, 1_000_000); // 1 MB/s = 8 Mbit/s
        long ab = m.pairLatencyMs(a, b), ac = m.pairLatencyMs(a, c), ba = m.pairLatencyMs(b, a);
        // 125 kB take 125 ms to leave a; the second write waits for the first
        assertThat(m.conditions(a, b, 125_000, 0).latencyMs()).isEqualTo(ab + 125);
        assertThat(m.conditions(a, c, 125_000, 0).latencyMs()).isEqualTo(ac + 250);
        // b's uplink is its own
        assertThat(m.conditions(b, a, 125_000, 0).latencyMs()).isEqualTo(ba + 125);
        // 100 ms later a's queue has 150 ms left; after it drained, a write waits for itself only
        assertThat(m.conditions(a, b, 1_000, 100 * MS).latencyMs()).isEqualTo(ab + 151);
        assertThat(m.conditions(a, b, 1_000, 1_000 * MS).latencyMs()).isEqualTo(ab + 1);
        // sub-ms writes are tracked in ns: ten 100-byte writes (0.1 ms each) add up to 1 ms
        long last = 0;
        for (int i = 0; i < 10; i++) last = m.conditions(a, b, 100, 2_000 * MS).latencyMs();
        assertThat(last).isEqualTo(ab + 1);
        // without a rate, and for the two-argument form, only the pair latency counts
        SeededLinkModel free = new SeededLinkModel(3, 10, 40);
        assertThat(free.conditions(a, b, 1 << 20, 0).latencyMs()).isEqualTo(free.pairLatencyMs(a, b));
        assertThat(m.conditions(a, b).latencyMs()).isEqualTo(ab);
        assertThatThrownBy(() -> new SeededLinkModel(3, 10, 40, 0, 0.0, -1)).isInstanceOf(IllegalArgumentException.class);
    }
}
