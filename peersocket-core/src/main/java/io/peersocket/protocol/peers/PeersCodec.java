package io.peersocket.protocol.peers;

import com.google.protobuf.ByteString;
import com.google.protobuf.CodedOutputStream;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.peers.pb.PeersProto;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Encodes and decodes {@code /peersocket/peers/1.0.0} messages ({@code peers.proto}) to and from checked values.
 * Decoding bounds everything from the wire before use. Stateless; any thread.
 */
final class PeersCodec {
    /** Longest StartOver reason accepted, chars. */
    static final int MAX_REASON_CHARS = 256;

    private PeersCodec() {}

    sealed interface Msg permits Delta, Ack, StartOver {}

    /** Entries of the sender's log with {@code after < seq <= upTo}, in increasing seq order. */
    record Delta(long logId, long after, long upTo, List<PeerEntry> entries) implements Msg {}

    record Ack(long logId, long upTo) implements Msg {}

    record StartOver(long logId, String reason) implements Msg {}

    // ---- encoding ----------------------------------------------------------------------------------------------

    static PeersProto.Entry toProto(PeerEntry e) {
        PeersProto.Entry.Builder b = PeersProto.Entry.newBuilder().setSeq(e.seq())
                .setPeerId(ByteString.copyFrom(e.peer().toBytes())).setLastSeenMs(e.lastSeenMs());
        for (Multiaddr a : e.addresses()) b.addAddrs(ByteString.copyFrom(a.toBytes()));
        return b.build();
    }

    /** Bytes {@code entry} adds to a Delta (field tag, length and body). */
    static int sizeInDelta(PeersProto.Entry entry) {
        int n = entry.getSerializedSize();
        return 1 + CodedOutputStream.computeUInt32SizeNoTag(n) + n;
    }

    /** Bytes of a Delta and its wrapper without entries, an upper bound. */
    static final int DELTA_OVERHEAD = 2 + 5 + (1 + 8) + 2 * (1 + 10);

    static byte[] encodeDelta(long logId, long after, long upTo, List<PeersProto.Entry> entries) {
        PeersProto.Delta d = PeersProto.Delta.newBuilder().setLogId(logId).setAfter(after).setUpTo(upTo)
                .addAllEntries(entries).build();
        return PeersProto.PeersMessage.newBuilder().setDelta(d).build().toByteArray();
    }

    static byte[] encode(Msg m) {
        PeersProto.PeersMessage.Builder b = PeersProto.PeersMessage.newBuilder();
        switch (m) {
            case Delta d -> {
                return encodeDelta(d.logId(), d.after(), d.upTo(), d.entries().stream().map(PeersCodec::toProto).toList());
            }
            case Ack a -> b.setAck(PeersProto.Ack.newBuilder().setLogId(a.logId()).setUpTo(a.upTo()));
            case StartOver s -> b.setStartOver(PeersProto.StartOver.newBuilder().setLogId(s.logId())
                    .setReason(s.reason().length() > MAX_REASON_CHARS ? s.reason().substring(0, MAX_REASON_CHARS) : s.reason()));
        }
        return b.build().toByteArray();
    }

    // ---- decoding ----------------------------------------------------------------------------------------------

    /**
     * Decodes one message (without its length prefix).
     *
     * @throws PeerExchangeException if it is over {@link PeerExchangeConfig#maxMessageBytes()}, not a valid
     *     {@code PeersMessage}, empty, or a delta breaks a rule: {@code after <= upTo}; at most
     *     {@link PeerExchangeConfig#maxEntriesPerMessage()} entries with strictly increasing seq in
     *     {@code (after, upTo]}, each peer once; a valid peer id; at most
     *     {@link PeerExchangeConfig#maxAddressesPerPeer()} valid multiaddrs of at most
     *     {@value PeerExchangeConfig#MAX_ADDRESS_BYTES} bytes, none ending in another peer's {@code /p2p/}
     */
    static Msg decode(byte[] message, PeerExchangeConfig limits) {
        if (message.length > limits.maxMessageBytes()) {
            throw new PeerExchangeException("message of " + message.length + " bytes exceeds limit " + limits.maxMessageBytes());
        }
        PeersProto.PeersMessage pb;
        try {
            pb = PeersProto.PeersMessage.parseFrom(message);
        } catch (InvalidProtocolBufferException e) {
            throw new PeerExchangeException("malformed peers message: " + e.getMessage());
        }
        return switch (pb.getBodyCase()) {
            case DELTA -> decodeDelta(pb.getDelta(), limits);
            case ACK -> {
                long upTo = pb.getAck().getUpTo();
                if (upTo < 0) throw new PeerExchangeException("ack up_to " + Long.toUnsignedString(upTo) + " out of range");
                yield new Ack(pb.getAck().getLogId(), upTo);
            }
            case START_OVER -> {
                String reason = pb.getStartOver().getReason();
                if (reason.length() > MAX_REASON_CHARS) {
                    throw new PeerExchangeException("start-over reason of " + reason.length() + " chars exceeds limit "
                            + MAX_REASON_CHARS);
                }
                yield new StartOver(pb.getStartOver().getLogId(), reason);
            }
            case BODY_NOT_SET -> throw new PeerExchangeException("peers message has no body");
        };
    }

    private static Delta decodeDelta(PeersProto.Delta d, PeerExchangeConfig limits) {
        long after = d.getAfter(), upTo = d.getUpTo();
        if (after < 0 || upTo < 0) throw new PeerExchangeException("delta after/up_to out of range");
        if (upTo < after) throw new PeerExchangeException("delta up_to " + upTo + " is before after " + after);
        if (d.getEntriesCount() > limits.maxEntriesPerMessage()) {
            throw new PeerExchangeException("delta has " + d.getEntriesCount() + " entries, limit "
                    + limits.maxEntriesPerMessage());
        }
        List<PeerEntry> entries = new ArrayList<>(d.getEntriesCount());
        Set<PeerId> peers = new HashSet<>();
        long prev = after;
        for (int i = 0; i < d.getEntriesCount(); i++) {
            PeersProto.Entry e = d.getEntries(i);
            String where = "delta entry " + i;
            long seq = e.getSeq();
            if (seq <= prev || seq > upTo) {
                throw new PeerExchangeException(where + ": seq " + Long.toUnsignedString(seq) + " not in order within ("
                        + prev + ", " + upTo + "]");
            }
            prev = seq;
            PeerId peer;
            try {
                peer = PeerId.fromBytes(e.getPeerId().toByteArray());
            } catch (IllegalArgumentException ex) {
                throw new PeerExchangeException(where + ": bad peer id: " + ex.getMessage());
            }
            if (!peers.add(peer)) throw new PeerExchangeException(where + ": peer " + peer + " appears twice");
            if (e.getAddrsCount() > limits.maxAddressesPerPeer()) {
                throw new PeerExchangeException(where + ": " + e.getAddrsCount() + " addresses, limit "
                        + limits.maxAddressesPerPeer());
            }
            LinkedHashSet<Multiaddr> addrs = new LinkedHashSet<>();
            for (int j = 0; j < e.getAddrsCount(); j++) {
                ByteString raw = e.getAddrs(j);
                if (raw.size() > PeerExchangeConfig.MAX_ADDRESS_BYTES) {
                    throw new PeerExchangeException(where + ": address " + j + " of " + raw.size() + " bytes exceeds limit "
                            + PeerExchangeConfig.MAX_ADDRESS_BYTES);
                }
                Multiaddr a;
                try {
                    a = Multiaddr.fromBytes(raw.toByteArray());
                } catch (IllegalArgumentException ex) {
                    throw new PeerExchangeException(where + ": bad address " + j + ": " + ex.getMessage());
                }
                Multiaddr bare = a.withoutPeerId();
                if (bare != a && !peer.equals(a.peerId())) { // a trailing /p2p/ must be the entry's own peer
                    throw new PeerExchangeException(where + ": address " + j + " ends in another peer " + a.peerId());
                }
                if (bare.isEmpty()) throw new PeerExchangeException(where + ": address " + j + " is empty");
                addrs.add(bare);
            }
            long seen = e.getLastSeenMs();
            if (seen < 0) throw new PeerExchangeException(where + ": last_seen_ms out of range");
            entries.add(new PeerEntry(seq, peer, List.copyOf(addrs), seen));
        }
        return new Delta(d.getLogId(), after, upTo, List.copyOf(entries));
    }
}
