package io.peersocket.protocol.snapshot;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.HostKey;

/**
 * Jazzer targets for the snapshot decoders. Regression mode (seeds in {@code SnapshotCodecFuzzTestInputs/<method>/})
 * runs with the normal tests; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Properties: bad input fails only with {@link MalformedSnapshotException}; accepted values re-encode to exactly
 * the input (state values) or to frames that decode to the same thing within the bounds (marker, report).
 */
class SnapshotCodecFuzzTest {
    private static final SnapshotConfig LIMITS = SnapshotConfig.defaults().withMaxReportBytes(64 * 1024).withMaxMessagesPerChannel(100);
    private static final PeerId SENDER = HostKey.fromSeed(new byte[32]).peerId();

    @FuzzTest
    void stateValues(byte[] data) {
        Object v;
        try {
            v = StateValues.decode(data);
        } catch (MalformedSnapshotException expected) {
            return;
        }
        assertThat(StateValues.encode(v)).isEqualTo(data);
    }

    @FuzzTest
    void marker(byte[] data) {
        SnapshotCodec.Marker m;
        try {
            m = SnapshotCodec.decodeMarker(data, 600_000);
        } catch (MalformedSnapshotException expected) {
            return;
        }
        assertThat(m.timeoutMs()).isBetween(1L, 600_000L);
        assertThat(m.startedAtMs()).isNotNegative();
        assertThat(SnapshotCodec.decodeMarker(SnapshotCodec.encodeMarker(m), 600_000)).isEqualTo(m);
    }

    @FuzzTest
    void report(byte[] data) {
        SnapshotCodec.Report r;
        try {
            r = SnapshotCodec.decodeReport(data, SENDER, LIMITS);
        } catch (MalformedSnapshotException expected) {
            return;
        }
        NodeSnapshot n = r.node();
        assertThat(n.peer()).isEqualTo(SENDER);
        assertThat(n.channels()).hasSizeLessThanOrEqualTo(LIMITS.maxChannels());
        for (ChannelState c : n.channels()) {
            assertThat(c.messages()).hasSizeLessThanOrEqualTo(LIMITS.maxMessagesPerChannel());
            assertThat(c.complete()).isEqualTo(c.problem() == null);
            assertThat(c.dropped()).isNotNegative();
        }
        SnapshotCodec.Report again = SnapshotCodec.decodeReport(SnapshotCodec.encodeReport(r.id(), n), SENDER, LIMITS);
        assertThat(again.id()).isEqualTo(r.id());
        assertThat(again.node().channels()).isEqualTo(n.channels());
        assertThat(again.node().markersSentTo()).isEqualTo(n.markersSentTo());
        assertThat(again.node().problems()).isEqualTo(n.problems());
        assertThat(StateValues.encode(again.node().state())).isEqualTo(StateValues.encode(n.state()));
    }
}
