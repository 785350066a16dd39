package io.peersocket.protocol.peers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.peers.pb.PeersProto;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The peer exchange codec: round trips, and every bound and rule with a clear error. */
class PeersCodecTest {
    private static final PeerExchangeConfig LIMITS = PeerExchangeConfig.defaults();
    private static final PeerId P1 = HostKey.generate().peerId(), P2 = HostKey.generate().peerId();
    private static final Multiaddr A1 = Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1");
    private static final Multiaddr A2 = Multiaddr.parse("/ip6/::1/udp/4002/quic-v1");

    private static PeersProto.Entry.Builder entry(long seq, PeerId p, Multiaddr... addrs) {
        PeersProto.Entry.Builder b = PeersProto.Entry.newBuilder().setSeq(seq).setPeerId(ByteString.copyFrom(p.toBytes()))
                .setLastSeenMs(1000);
        for (Multiaddr a : addrs) b.addAddrs(ByteString.copyFrom(a.toBytes()));
        return b;
    }

    private static byte[] delta(long after, long upTo, PeersProto.Entry.Builder... entries) {
        PeersProto.Delta.Builder d = PeersProto.Delta.newBuilder().setLogId(9).setAfter(after).setUpTo(upTo);
        for (PeersProto.Entry.Builder e : entries) d.addEntries(e);
        return PeersProto.PeersMessage.newBuilder().setDelta(d).build().toByteArray();
    }

    private static void rejects(byte[] message, String part) {
        assertThatThrownBy(() -> PeersCodec.decode(message, LIMITS))
                .isInstanceOf(PeerExchangeException.class).hasMessageContaining(part);
    }

    @Test
    void roundTrips() {
        PeersCodec.Delta d = new PeersCodec.Delta(-5, 3, 10, List.of(new PeerEntry(4, P1, List.of(A1, A2), 1234),
                new PeerEntry(10, P2, List.of(), 0)));
        assertThat(PeersCodec.decode(PeersCodec.encode(d), LIMITS)).isEqualTo(d);
        PeersCodec.Ack a = new PeersCodec.Ack(7, 99);
        assertThat(PeersCodec.decode(PeersCodec.encode(a), LIMITS)).isEqualTo(a);
        PeersCodec.StartOver s = new PeersCodec.StartOver(7, "lost my data");
        assertThat(PeersCodec.decode(PeersCodec.encode(s), LIMITS)).isEqualTo(s);
        // The reason is cut to the limit on encode.
        PeersCodec.StartOver longReason = new PeersCodec.StartOver(7, "x".repeat(1000));
        assertThat(((PeersCodec.StartOver) PeersCodec.decode(PeersCodec.encode(longReason), LIMITS)).reason())
                .hasSize(PeersCodec.MAX_REASON_CHARS);
    }

    @Test
    void trailingOwnPeerIdIsStrippedAndDuplicatesDropped() {
        PeersCodec.Delta d = (PeersCodec.Delta) PeersCodec.decode(delta(0, 1, entry(1, P1, A1.withPeerId(P1), A1)), LIMITS);
        assertThat(d.entries().get(0).addresses()).containsExactly(A1);
    }

    @Test
    void rejectsBadMessagesNamingTheBadPart() {
        rejects(new byte[LIMITS.maxMessageBytes() + 1], "exceeds limit");
        rejects(new byte[] {(byte) 0xFF, 0x01}, "malformed peers message");
        rejects(new byte[0], "no body");
        rejects(delta(5, 4), "up_to 4 is before after 5");
        rejects(delta(-1, -1), "out of range");
        rejects(delta(0, 5, entry(3, P1), entry(2, P2)), "entry 1: seq 2 not in order");
        rejects(delta(0, 2, entry(3, P1)), "entry 0: seq 3 not in order within (0, 2]");
        rejects(delta(2, 5, entry(2, P1)), "entry 0: seq 2");
        rejects(delta(0, 5, entry(1, P1), entry(2, P1)), "appears twice");
        rejects(delta(0, 1, entry(1, P1).setPeerId(ByteString.copyFrom(new byte[] {0x12, 0x05, 1}))), "entry 0: bad peer id");
        rejects(delta(0, 1, entry(1, P1, Collections.nCopies(9, A1).toArray(Multiaddr[]::new))), "9 addresses, limit 8");
        rejects(delta(0, 1, entry(1, P1).addAddrs(ByteString.copyFrom(new byte[300]))), "300 bytes exceeds limit 256");
        rejects(delta(0, 1, entry(1, P1).addAddrs(ByteString.copyFrom(new byte[] {4, 1, 2}))), "bad address 0");
        rejects(delta(0, 1, entry(1, P1, A1.withPeerId(P2))), "ends in another peer");
        rejects(delta(0, 1, entry(1, P1).setLastSeenMs(-1)), "last_seen_ms out of range");
        PeersProto.Delta.Builder many = PeersProto.Delta.newBuilder().setUpTo(1000);
        for (int i = 1; i <= LIMITS.maxEntriesPerMessage() + 1; i++) many.addEntries(entry(i, HostKey.generate().peerId()));
        rejects(PeersProto.PeersMessage.newBuilder().setDelta(many).build().toByteArray(), "101 entries, limit 100");
        rejects(PeersProto.PeersMessage.newBuilder().setAck(PeersProto.Ack.newBuilder().setUpTo(-1)).build().toByteArray(),
                "ack up_to");
        rejects(PeersProto.PeersMessage.newBuilder().setStartOver(PeersProto.StartOver.newBuilder()
                .setReason("y".repeat(300))).build().toByteArray(), "reason of 300 chars");
    }

    @Test
    void configRejectsNonsense() {
        assertThatThrownBy(() -> PeerExchangeConfig.defaults().withMaxListSize(0))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxListSize");
        assertThatThrownBy(() -> new PeerExchangeConfig(1, 65, 1, 4096, 1, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxAddressesPerPeer");
        assertThatThrownBy(() -> new PeerExchangeConfig(1, 8, 1, 100, 1, 1, 1, 1))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxMessageBytes");
    }
}
