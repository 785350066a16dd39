package io.peersocket.protocol.kad;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.kad.pb.DhtProto;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class KadCodecTest {
    private final Random rnd = new Random(3);
    private final Multiaddr addr = Multiaddr.parse("/ip4/127.0.0.1/udp/4001/quic-v1");

    @Test
    void wireBytesFollowTheSpecFieldNumbers() {
        byte[] findNode = KadCodec.encode(KadMessage.of(KadMessage.Type.FIND_NODE, "abc".getBytes(StandardCharsets.US_ASCII)));
        assertThat(HexFormat.of().formatHex(findNode)).isEqualTo("0804" + "1203616263");
        KadMessage decoded = KadCodec.decode(HexFormat.of().parseHex("08041203616263"));
        assertThat(decoded.type()).isEqualTo(KadMessage.Type.FIND_NODE);
        assertThat(new String(decoded.key(), StandardCharsets.US_ASCII)).isEqualTo("abc");

        PeerId p = TestPeers.random(rnd);
        byte[] id = p.toBytes();
        byte[] a = addr.toBytes();
        // closerPeers (field 8) = Peer{id=1, addrs=2, connection=3}
        String peer = "0a" + hex(id.length) + HexFormat.of().formatHex(id) + "12" + hex(a.length) + HexFormat.of().formatHex(a) + "1801";
        String msg = "0804" + "42" + hex(peer.length() / 2) + peer;
        KadMessage m = KadCodec.decode(HexFormat.of().parseHex(msg));
        assertThat(m.closerPeers()).containsExactly(new KadPeer(p, List.of(addr), KadPeer.ConnectionType.CONNECTED));
        assertThat(HexFormat.of().formatHex(KadCodec.encode(m))).isEqualTo(msg);
    }

    private static String hex(int b) { return String.format("%02x", b); }

    @Test
    void roundTripsEveryType() {
        PeerId p = TestPeers.random(rnd);
        KadPeer kp = new KadPeer(p, List.of(addr), KadPeer.ConnectionType.CAN_CONNECT);
        for (KadMessage.Type t : KadMessage.Type.values()) {
            KadMessage m = KadMessage.of(t, "/test/key".getBytes(StandardCharsets.UTF_8))
                    .withRecord(new KadRecord("/test/key".getBytes(StandardCharsets.UTF_8), new byte[] {1, 2, 3}, "2024-01-01T00:00:00Z"))
                    .withCloserPeers(List.of(kp))
                    .withProviderPeers(List.of(kp, new KadPeer(TestPeers.random(rnd), List.of(), KadPeer.ConnectionType.NOT_CONNECTED)));
            assertThat(KadCodec.decode(KadCodec.encode(m))).isEqualTo(m);
        }
        KadMessage ping = KadMessage.of(KadMessage.Type.PING, new byte[0]);
        assertThat(KadCodec.decode(KadCodec.encode(ping))).isEqualTo(ping);
        assertThat(ping.toString()).contains("PING");
    }

    @Test
    void rejectsOversizedMalformedAndUnknownMessages() {
        assertThatThrownBy(() -> KadCodec.decode(new byte[KadCodec.MAX_MESSAGE_BYTES + 1]))
                .isInstanceOf(KadProtocolException.class).hasMessageContaining("exceeds limit");
        assertThatThrownBy(() -> KadCodec.decode(new byte[] {(byte) 0xff, (byte) 0xff}))
                .isInstanceOf(KadProtocolException.class).hasMessageContaining("malformed");
        assertThatThrownBy(() -> KadCodec.decode(new byte[] {0x08, 0x09}))
                .isInstanceOf(KadProtocolException.class).hasMessageContaining("unknown type 9");
        byte[] longKey = DhtProto.Message.newBuilder().setKey(ByteString.copyFrom(new byte[257])).build().toByteArray();
        assertThatThrownBy(() -> KadCodec.decode(longKey)).isInstanceOf(KadProtocolException.class)
                .hasMessageContaining("key of 257 bytes");
        byte[] longValue = DhtProto.Message.newBuilder().setRecord(DhtProto.Record.newBuilder()
                .setValue(ByteString.copyFrom(new byte[KadCodec.MAX_VALUE_BYTES + 1]))).build().toByteArray();
        assertThatThrownBy(() -> KadCodec.decode(longValue)).isInstanceOf(KadProtocolException.class)
                .hasMessageContaining("value of");
        assertThatThrownBy(() -> KadCodec.encode(KadMessage.of(KadMessage.Type.GET_VALUE, new byte[300])))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void cutsPeerListsAndAddressListsAndCountsWhatItDrops() {
        DhtProto.Message.Builder b = DhtProto.Message.newBuilder().setType(DhtProto.Message.MessageType.FIND_NODE);
        // an invalid id first, then a peer with 20 addresses (2 of them garbage), then 1,000 more peers
        b.addCloserPeers(DhtProto.Message.Peer.newBuilder().setId(ByteString.copyFrom(new byte[] {1, 2, 3})).addAddrs(ByteString.copyFrom(addr.toBytes())));
        DhtProto.Message.Peer.Builder many = DhtProto.Message.Peer.newBuilder().setId(ByteString.copyFrom(TestPeers.random(rnd).toBytes()));
        many.addAddrs(ByteString.copyFrom(new byte[] {(byte) 0xff, 1}));
        for (int i = 0; i < 18; i++) many.addAddrs(ByteString.copyFrom(Multiaddr.parse("/ip4/10.0.0.1/udp/" + (1000 + i) + "/quic-v1").toBytes()));
        many.addAddrs(ByteString.copyFrom(new byte[] {0}));
        b.addCloserPeers(many);
        for (int i = 0; i < 1000; i++) b.addCloserPeers(DhtProto.Message.Peer.newBuilder().setId(ByteString.copyFrom(TestPeers.random(rnd).toBytes())));
        byte[] bytes = b.build().toByteArray();
        assertThat(bytes.length).isLessThanOrEqualTo(KadCodec.MAX_MESSAGE_BYTES);
        KadMessage m = KadCodec.decode(bytes);
        assertThat(m.closerPeers()).hasSize(KadCodec.MAX_PEERS);
        assertThat(m.droppedPeers()).isEqualTo(1 + 1001 - KadCodec.MAX_PEERS);
        assertThat(m.closerPeers().get(0).addresses()).hasSize(KadCodec.MAX_ADDRESSES_PER_PEER);
        // the garbage address, 3 after the list was full (2 valid, 1 garbage), and the invalid peer's address
        assertThat(m.droppedAddresses()).isEqualTo(1 + 3 + 1);
    }

    @Test
    void encodeDropsPeersUntilTheMessageFits() {
        List<Multiaddr> addrs = new ArrayList<>();
        for (int i = 0; i < 16; i++) addrs.add(Multiaddr.parse("/dns4/" + ("x".repeat(60) + ".").repeat(3) + i + ".example/udp/1/quic-v1"));
        List<KadPeer> peers = new ArrayList<>();
        for (int i = 0; i < 20; i++) peers.add(new KadPeer(TestPeers.random(rnd), addrs, KadPeer.ConnectionType.NOT_CONNECTED));
        byte[] out = KadCodec.encode(KadMessage.of(KadMessage.Type.FIND_NODE, new byte[] {1}).withCloserPeers(peers));
        assertThat(out.length).isLessThanOrEqualTo(KadCodec.MAX_MESSAGE_BYTES);
        KadMessage back = KadCodec.decode(out);
        assertThat(back.closerPeers()).isNotEmpty().hasSizeLessThan(20);
        assertThat(back.closerPeers()).isEqualTo(peers.subList(0, back.closerPeers().size()));
    }
}
