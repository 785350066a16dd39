package io.peersocket.protocol.relay;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.relay.pb.RelayProto;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes Circuit Relay v2 {@code HopMessage} and {@code StopMessage} protobufs (the payload of one
 * unsigned-varint length-prefixed frame; circuit-v2.md "Protobuf"). Bounds: message {@value #MAX_MESSAGE_BYTES}
 * bytes, {@value #MAX_ADDRESSES} addresses per list, voucher {@value #MAX_VOUCHER_BYTES} bytes. Addresses this
 * library cannot parse are skipped (a relay may list transports we do not know). Stateless.
 */
public final class RelayCodec {
    /** Largest hop or stop message accepted, in bytes (go-libp2p and js-libp2p use 4 KiB). */
    public static final int MAX_MESSAGE_BYTES = 4096;
    /** Most addresses in a {@code Peer} or {@code Reservation}. */
    public static final int MAX_ADDRESSES = 32;
    /** Largest voucher envelope, in bytes. */
    public static final int MAX_VOUCHER_BYTES = 1024;

    private RelayCodec() {}

    public static byte[] encode(HopMessage m) {
        RelayProto.HopMessage.Builder b = RelayProto.HopMessage.newBuilder()
                .setType(RelayProto.HopMessage.Type.forNumber(m.type().ordinal()));
        if (m.peer() != null) b.setPeer(peer(m.peer(), m.peerAddresses()));
        if (m.reservation() != null) {
            HopMessage.Reservation r = m.reservation();
            RelayProto.Reservation.Builder rb = RelayProto.Reservation.newBuilder();
            if (r.expireSeconds() != 0) rb.setExpire(r.expireSeconds());
            for (Multiaddr a : r.addresses()) rb.addAddrs(ByteString.copyFrom(a.toBytes()));
            if (r.voucher() != null) rb.setVoucher(ByteString.copyFrom(r.voucher()));
            b.setReservation(rb);
        }
        if (m.limit() != null) b.setLimit(limit(m.limit()));
        if (m.status() != null) b.setStatus(RelayProto.Status.forNumber(m.status().code()));
        return b.build().toByteArray();
    }

    public static byte[] encode(StopMessage m) {
        RelayProto.StopMessage.Builder b = RelayProto.StopMessage.newBuilder()
                .setType(RelayProto.StopMessage.Type.forNumber(m.type().ordinal()));
        if (m.peer() != null) b.setPeer(peer(m.peer(), List.of()));
        if (m.limit() != null) b.setLimit(limit(m.limit()));
        if (m.status() != null) b.setStatus(RelayProto.Status.forNumber(m.status().code()));
        return b.build().toByteArray();
    }

    /**
     * Decodes a hop message.
     *
     * @throws RelayProtocolException if over {@value #MAX_MESSAGE_BYTES} bytes, not a valid protobuf, missing
     *     its type, a CONNECT without a valid target peer id, a STATUS without a known status, or a list over
     *     {@value #MAX_ADDRESSES}
     */
    public static HopMessage decodeHop(byte[] bytes) {
        checkSize(bytes, "hop");
        RelayProto.HopMessage pb;
        try {
            pb = RelayProto.HopMessage.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new RelayProtocolException("malformed hop message: " + e.getMessage());
        }
        HopMessage.Type type = HopMessage.Type.values()[pb.getType().getNumber()];
        PeerId peer = null;
        List<Multiaddr> peerAddrs = List.of();
        if (pb.hasPeer()) {
            peer = peerId(pb.getPeer().getId(), "hop peer id");
            peerAddrs = addresses(pb.getPeer().getAddrsList(), "hop peer addrs");
        }
        if (type == HopMessage.Type.CONNECT && peer == null) throw new RelayProtocolException("hop CONNECT without a peer");
        HopMessage.Reservation reservation = null;
        if (pb.hasReservation()) {
            RelayProto.Reservation r = pb.getReservation();
            if (r.getVoucher().size() > MAX_VOUCHER_BYTES) {
                throw new RelayProtocolException("reservation voucher is " + r.getVoucher().size() + " bytes, limit " + MAX_VOUCHER_BYTES);
            }
            long expire = r.getExpire() < 0 ? Long.MAX_VALUE : r.getExpire();
            reservation = new HopMessage.Reservation(expire, addresses(r.getAddrsList(), "reservation addrs"),
                    r.hasVoucher() ? r.getVoucher().toByteArray() : null);
        }
        Limit limit = pb.hasLimit() ? limit(pb.getLimit()) : null;
        RelayStatus status = null;
        if (type == HopMessage.Type.STATUS) {
            if (!pb.hasStatus()) throw new RelayProtocolException("hop STATUS without a known status");
            status = RelayStatus.forCode(pb.getStatus().getNumber());
        }
        return new HopMessage(type, peer, peerAddrs, reservation, limit, status);
    }

    /**
     * Decodes a stop message.
     *
     * @throws RelayProtocolException if over {@value #MAX_MESSAGE_BYTES} bytes, not a valid protobuf, missing
     *     its type, a CONNECT without a valid initiator peer id, or a STATUS without a known status
     */
    public static StopMessage decodeStop(byte[] bytes) {
        checkSize(bytes, "stop");
        RelayProto.StopMessage pb;
        try {
            pb = RelayProto.StopMessage.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new RelayProtocolException("malformed stop message: " + e.getMessage());
        }
        StopMessage.Type type = StopMessage.Type.values()[pb.getType().getNumber()];
        PeerId peer = null;
        if (pb.hasPeer()) {
            peer = peerId(pb.getPeer().getId(), "stop peer id");
            if (pb.getPeer().getAddrsCount() > MAX_ADDRESSES) {
                throw new RelayProtocolException("stop peer lists " + pb.getPeer().getAddrsCount() + " addresses, limit " + MAX_ADDRESSES);
            }
        }
        if (type == StopMessage.Type.CONNECT && peer == null) throw new RelayProtocolException("stop CONNECT without a peer");
        Limit limit = pb.hasLimit() ? limit(pb.getLimit()) : null;
        RelayStatus status = null;
        if (type == StopMessage.Type.STATUS) {
            if (!pb.hasStatus()) throw new RelayProtocolException("stop STATUS without a known status");
            status = RelayStatus.forCode(pb.getStatus().getNumber());
        }
        return new StopMessage(type, peer, limit, status);
    }

    private static void checkSize(byte[] bytes, String what) {
        if (bytes.length > MAX_MESSAGE_BYTES) {
            throw new RelayProtocolException(what + " message is " + bytes.length + " bytes, limit " + MAX_MESSAGE_BYTES);
        }
    }

    private static RelayProto.Peer peer(PeerId id, List<Multiaddr> addrs) {
        RelayProto.Peer.Builder p = RelayProto.Peer.newBuilder().setId(ByteString.copyFrom(id.toBytes()));
        for (Multiaddr a : addrs) p.addAddrs(ByteString.copyFrom(a.toBytes()));
        return p.build();
    }

    private static RelayProto.Limit limit(Limit l) {
        RelayProto.Limit.Builder b = RelayProto.Limit.newBuilder();
        if (l.durationSeconds() != 0) b.setDuration((int) l.durationSeconds());
        if (l.dataBytes() != 0) b.setData(l.dataBytes());
        return b.build();
    }

    private static Limit limit(RelayProto.Limit pb) {
        long data = pb.getData() < 0 ? Long.MAX_VALUE : pb.getData(); // uint64 beyond 2^63-1: as good as none
        return new Limit(Integer.toUnsignedLong(pb.getDuration()), data);
    }

    private static PeerId peerId(ByteString id, String what) {
        try {
            return PeerId.fromBytes(id.toByteArray());
        } catch (IllegalArgumentException e) {
            throw new RelayProtocolException(what + ": " + e.getMessage());
        }
    }

    private static List<Multiaddr> addresses(List<ByteString> raw, String what) {
        if (raw.size() > MAX_ADDRESSES) {
            throw new RelayProtocolException(what + ": " + raw.size() + " addresses, limit " + MAX_ADDRESSES);
        }
        List<Multiaddr> out = new ArrayList<>(raw.size());
        for (ByteString b : raw) {
            try {
                out.add(Multiaddr.fromBytes(b.toByteArray()));
            } catch (IllegalArgumentException e) {
                // a transport this library does not know: skip
            }
        }
        return out;
    }
}
