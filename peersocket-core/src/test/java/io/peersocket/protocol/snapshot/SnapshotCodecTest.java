package io.peersocket.protocol.snapshot;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The state value encoding and the marker and report frames: round trips, exact bytes, bounds. */
class SnapshotCodecTest {
    static final PeerId A = HostKey.fromSeed(new byte[32]).peerId();
    static final PeerId B = HostKey.fromSeed(new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19,
            20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32}).peerId();

    @Test
    void valuesRoundTripAndHaveTheDocumentedBytes() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("a", 1);
        m.put("b", List.of(true, false, -1L, 2.5, "é"));
        m.put("c", new byte[] {9});
        m.put("d", null);
        byte[] enc = StateValues.encode(m);
        assertThat(enc).startsWith(8, 4, 1, 'a', 3, 2); // map of 4, key "a", integer zigzag(1) = 2
        Object back = StateValues.decode(enc);
        assertThat(StateValues.encode(back)).isEqualTo(enc);
        @SuppressWarnings("unchecked")
        Map<String, Object> bm = (Map<String, Object>) back;
        assertThat(bm.get("a")).isEqualTo(1L);
        @SuppressWarnings("unchecked")
        List<Object> list = (List<Object>) bm.get("b");
        assertThat(list).containsExactly(true, false, -1L, 2.5, "é");
        assertThat((byte[]) bm.get("c")).containsExactly(9);
        assertThat(bm).containsKey("d");
        assertThat(StateValues.decode(StateValues.encode(StateValues.MIN_INTEGER))).isEqualTo(StateValues.MIN_INTEGER);
        assertThat(StateValues.decode(StateValues.encode(StateValues.MAX_INTEGER))).isEqualTo(StateValues.MAX_INTEGER);
    }

    @Test
    void badValuesAreRejectedNamingThePart() {
        assertThatThrownBy(() -> StateValues.decode(new byte[] {9})).isInstanceOf(MalformedSnapshotException.class).hasMessageContaining("tag 9");
        assertThatThrownBy(() -> StateValues.decode(new byte[] {5, 5, 'a'})).isInstanceOf(MalformedSnapshotException.class).hasMessageContaining("string length");
        assertThatThrownBy(() -> StateValues.decode(new byte[] {8, 2, 1, 'k', 0, 1, 'k', 0})).hasMessageContaining("duplicate map key");
        assertThatThrownBy(() -> StateValues.decode(new byte[] {5, 1, (byte) 0xFF})).hasMessageContaining("UTF-8");
        assertThatThrownBy(() -> StateValues.decode(new byte[] {0, 0})).hasMessageContaining("trailing");
        assertThatThrownBy(() -> StateValues.decode(new byte[] {7, (byte) 0x80, 0})).isInstanceOf(MalformedSnapshotException.class);
        byte[] deep = new byte[40];
        for (int i = 0; i < 39; i++) deep[i] = (i % 2 == 0) ? (byte) 7 : (byte) 1;
        assertThatThrownBy(() -> StateValues.decode(deep)).hasMessageContaining("nested");
        assertThatThrownBy(() -> StateValues.encode(Long.MAX_VALUE)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> StateValues.encode(new Object())).hasMessageContaining("unsupported");
        assertThatThrownBy(() -> StateValues.encode(Map.of(1, 2))).hasMessageContaining("key must be a string");
    }

    @Test
    void markerRoundTripsAndIsBounded() {
        SnapshotCodec.Marker m = new SnapshotCodec.Marker(-42L, A, 1_700_000_000_000L, 5_000,
                List.of(io.peersocket.multiaddr.Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1")));
        byte[] b = SnapshotCodec.encodeMarker(m);
        assertThat(b.length).isLessThan(SnapshotCodec.MAX_MARKER_BYTES);
        assertThat(SnapshotCodec.decodeMarker(b, 10_000)).isEqualTo(m);
        assertThatThrownBy(() -> SnapshotCodec.decodeMarker(b, 1_000)).isInstanceOf(MalformedSnapshotException.class)
                .hasMessageContaining("timeoutMs");
        assertThatThrownBy(() -> SnapshotCodec.decodeMarker(new byte[3000], 10_000)).hasMessageContaining("exceeds");
        Map<String, Object> badAddr = new LinkedHashMap<>();
        badAddr.put("v", 1);
        badAddr.put("id", new byte[8]);
        badAddr.put("initiator", A.toBytes());
        badAddr.put("startedAtMs", 1);
        badAddr.put("timeoutMs", 1);
        badAddr.put("addrs", List.of(new byte[] {(byte) 0xFF, 0x7F}));
        assertThatThrownBy(() -> SnapshotCodec.decodeMarker(StateValues.encode(badAddr), 10_000))
                .isInstanceOf(MalformedSnapshotException.class).hasMessageContaining("marker address");
        badAddr.remove("addrs");
        assertThat(SnapshotCodec.decodeMarker(StateValues.encode(badAddr), 10_000).initiatorAddresses()).isEmpty();
        Map<String, Object> bad = new LinkedHashMap<>();
        bad.put("v", 2);
        assertThatThrownBy(() -> SnapshotCodec.decodeMarker(StateValues.encode(bad), 10_000)).hasMessageContaining("version");
    }

    @Test
    void reportRoundTripsAndIsBounded() {
        List<ChannelMessage> msgs = List.of(new ChannelMessage(7, 1, new byte[] {1, 2}), new ChannelMessage(7, 2, new byte[0]));
        NodeSnapshot n = new NodeSnapshot(B, false, Map.of("tokens", Map.of("balance", 5L)),
                List.of(new ChannelState(A, B, true, null, 0, msgs), new ChannelState(B, B, false, "channel reset", 3, List.of())),
                List.of(A), List.of("a problem"));
        byte[] b = SnapshotCodec.encodeReport(99, n);
        SnapshotCodec.Report r = SnapshotCodec.decodeReport(b, B, SnapshotConfig.defaults());
        assertThat(r.id()).isEqualTo(99);
        assertThat(r.node().channels()).isEqualTo(n.channels());
        assertThat(r.node().state()).isEqualTo(Map.of("tokens", Map.of("balance", 5L)));
        assertThat(r.node().markersSentTo()).containsExactly(A);
        assertThat(r.node().complete()).isFalse();
        assertThatThrownBy(() -> SnapshotCodec.decodeReport(b, B, SnapshotConfig.defaults().withMaxMessagesPerChannel(1)))
                .isInstanceOf(MalformedSnapshotException.class).hasMessageContaining("channel messages");
        byte[] big = new byte[2048];
        assertThatThrownBy(() -> SnapshotCodec.decodeReport(big, B, SnapshotConfig.defaults().withMaxReportBytes(1024)))
                .hasMessageContaining("exceeds");
        List<Object> many = new ArrayList<>();
        for (int i = 0; i < 5000; i++) many.add(A.toBytes());
        Map<String, Object> tooMany = new LinkedHashMap<>();
        tooMany.put("v", 1);
        tooMany.put("id", new byte[8]);
        tooMany.put("busy", false);
        tooMany.put("state", Map.of());
        tooMany.put("to", many);
        assertThatThrownBy(() -> SnapshotCodec.decodeReport(StateValues.encode(tooMany), B, SnapshotConfig.defaults()))
                .hasMessageContaining("report to");
    }
}
