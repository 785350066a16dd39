package io.peersocket.protocol.kad;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.kad.pb.DhtProto;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes kad-dht {@code Message}s (libp2p specs kad-dht/README.md, "RPC messages"; {@code dht.proto}).
 * On the wire each message is an unsigned-varint length and the protobuf bytes; this class handles the protobuf
 * part, framing is {@link io.peersocket.util.FrameDecoder}'s.
 *
 * <p>Bounds (checked before use): a message is at most {@value #MAX_MESSAGE_BYTES} bytes; keys (message and
 * record) at most {@value #MAX_KEY_BYTES} bytes; record values at most {@value #MAX_VALUE_BYTES} bytes. A peer
 * list keeps its first {@value #MAX_PEERS} peers with valid ids and each peer its first
 * {@value #MAX_ADDRESSES_PER_PEER} valid addresses; the rest are dropped and counted in the decoded message, not
 * rejected (a remote that answers with thousands of closer peers is cut down, not trusted).
 *
 * <p>Stateless and thread-safe.
 */
public final class KadCodec {
    /** Largest message accepted or sent, bytes. */
    public static final int MAX_MESSAGE_BYTES = 64 * 1024;
    /** Largest message or record key, bytes. */
    public static final int MAX_KEY_BYTES = 256;
    /** Largest record value, bytes (leaves room for the closer peers of a GET_VALUE answer). */
    public static final int MAX_VALUE_BYTES = 32 * 1024;
    /** Peers kept per closer-peers or provider-peers list. */
    public static final int MAX_PEERS = 20;
    /** Addresses kept per peer. */
    public static final int MAX_ADDRESSES_PER_PEER = 16;
    /** Longest {@code timeReceived} kept, characters (longer ones are dropped). */
    public static final int MAX_TIME_RECEIVED_CHARS = 64;

    private static final KadMessage.Type[] TYPES = KadMessage.Type.values();
    private static final KadPeer.ConnectionType[] CONNECTION_TYPES = KadPeer.ConnectionType.values();

    private KadCodec() {}

    /**
     * Decodes one message (without its length prefix).
     *
     * @throws KadProtocolException if the bytes are over {@value #MAX_MESSAGE_BYTES}, not a valid protobuf
     *     {@code Message}, of an unknown type, or a key or value is over its bound
     */
    public static KadMessage decode(byte[] bytes) {
        if (bytes.length > MAX_MESSAGE_BYTES) {
            throw new KadProtocolException("kad message of " + bytes.length + " bytes exceeds limit " + MAX_MESSAGE_BYTES);
        }
        DhtProto.Message pb;
        try {
            pb = DhtProto.Message.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new KadProtocolException("malformed kad message: " + e.getMessage());
        }
        int t = pb.getTypeValue();
        if (t < 0 || t >= TYPES.length) throw new KadProtocolException("kad message has unknown type " + t);
        if (pb.getKey().size() > MAX_KEY_BYTES) {
            throw new KadProtocolException("kad message key of " + pb.getKey().size() + " bytes exceeds limit " + MAX_KEY_BYTES);
        }
        KadRecord record = null;
        if (pb.hasRecord()) {
            DhtProto.Record r = pb.getRecord();
            if (r.getKey().size() > MAX_KEY_BYTES) {
                throw new KadProtocolException("kad record key of " + r.getKey().size() + " bytes exceeds limit " + MAX_KEY_BYTES);
            }
            if (r.getValue().size() > MAX_VALUE_BYTES) {
                throw new KadProtocolException("kad record value of " + r.getValue().size() + " bytes exceeds limit " + MAX_VALUE_BYTES);
            }
            String time = r.getTimeReceived();
            record = new KadRecord(r.getKey().toByteArray(), r.getValue().toByteArray(),
                    time.length() > MAX_TIME_RECEIVED_CHARS ? "" : time);
        }
        int[] dropped = new int[2]; // peers, addresses
        List<KadPeer> closer = peers(pb.getCloserPeersList(), dropped);
        List<KadPeer> providers = peers(pb.getProviderPeersList(), dropped);
        return new KadMessage(TYPES[t], pb.getKey().toByteArray(), record, closer, providers, dropped[0], dropped[1]);
    }

    private static List<KadPeer> peers(List<DhtProto.Message.Peer> list, int[] dropped) {
        List<KadPeer> out = new ArrayList<>(Math.min(list.size(), MAX_PEERS));
        for (DhtProto.Message.Peer p : list) {
            if (out.size() >= MAX_PEERS) {
                dropped[0]++;
                continue;
            }
            PeerId id;
            try {
                id = PeerId.fromBytes(p.getId().toByteArray());
            } catch (IllegalArgumentException e) {
                dropped[0]++;
                dropped[1] += p.getAddrsCount();
                continue;
            }
            List<Multiaddr> addrs = new ArrayList<>(Math.min(p.getAddrsCount(), MAX_ADDRESSES_PER_PEER));
            for (ByteString a : p.getAddrsList()) {
                if (addrs.size() >= MAX_ADDRESSES_PER_PEER) {
                    dropped[1]++;
                    continue;
                }
                try {
                    addrs.add(Multiaddr.fromBytes(a.toByteArray()));
                } catch (IllegalArgumentException e) {
                    dropped[1]++;
                }
            }
            int c = p.getConnectionValue();
            KadPeer.ConnectionType ct = c >= 0 && c < CONNECTION_TYPES.length
                    ? CONNECTION_TYPES[c] : KadPeer.ConnectionType.NOT_CONNECTED;
            out.add(new KadPeer(id, addrs, ct));
        }
        return out;
    }

    /**
     * Encodes {@code message}. Peer lists longer than {@value #MAX_PEERS} and address lists longer than
     * {@value #MAX_ADDRESSES_PER_PEER} are cut; if the result is still over {@value #MAX_MESSAGE_BYTES}, closer
     * peers and then provider peers are dropped from the end until it fits.
     *
     * @throws IllegalArgumentException if a key or value is over its bound, or the message cannot fit even
     *     without peers
     */
    public static byte[] encode(KadMessage message) {
        if (message.key().length > MAX_KEY_BYTES) {
            throw new IllegalArgumentException("kad key of " + message.key().length + " bytes exceeds limit " + MAX_KEY_BYTES);
        }
        DhtProto.Message.Builder b = DhtProto.Message.newBuilder()
                .setTypeValue(message.type().ordinal())
                .setKey(ByteString.copyFrom(message.key()));
        KadRecord r = message.record();
        if (r != null) {
            if (r.key().length > MAX_KEY_BYTES) {
                throw new IllegalArgumentException("kad record key of " + r.key().length + " bytes exceeds limit " + MAX_KEY_BYTES);
            }
            if (r.value().length > MAX_VALUE_BYTES) {
                throw new IllegalArgumentException("kad record value of " + r.value().length + " bytes exceeds limit " + MAX_VALUE_BYTES);
            }
            b.setRecord(DhtProto.Record.newBuilder().setKey(ByteString.copyFrom(r.key()))
                    .setValue(ByteString.copyFrom(r.value())).setTimeReceived(r.timeReceived()));
        }
        List<KadPeer> closer = message.closerPeers();
        List<KadPeer> providers = message.providerPeers();
        for (int i = 0; i < closer.size() && i < MAX_PEERS; i++) b.addCloserPeers(peer(closer.get(i)));
        for (int i = 0; i < providers.size() && i < MAX_PEERS; i++) b.addProviderPeers(peer(providers.get(i)));
        byte[] out = b.build().toByteArray();
        while (out.length > MAX_MESSAGE_BYTES) {
            if (b.getCloserPeersCount() > 0) b.removeCloserPeers(b.getCloserPeersCount() - 1);
            else if (b.getProviderPeersCount() > 0) b.removeProviderPeers(b.getProviderPeersCount() - 1);
            else throw new IllegalArgumentException("kad message of " + out.length + " bytes exceeds limit " + MAX_MESSAGE_BYTES);
            out = b.build().toByteArray();
        }
        return out;
    }

    private static DhtProto.Message.Peer peer(KadPeer p) {
        DhtProto.Message.Peer.Builder pb = DhtProto.Message.Peer.newBuilder()
                .setId(ByteString.copyFrom(p.id().toBytes()))
                .setConnectionValue(p.connection().ordinal());
        List<Multiaddr> addrs = p.addresses();
        for (int i = 0; i < addrs.size() && i < MAX_ADDRESSES_PER_PEER; i++) pb.addAddrs(ByteString.copyFrom(addrs.get(i).toBytes()));
        return pb.build();
    }
}
