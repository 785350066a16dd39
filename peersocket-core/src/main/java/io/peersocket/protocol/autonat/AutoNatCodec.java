package io.peersocket.protocol.autonat;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.autonat.pb.AutoNatProto;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes AutoNAT v1 {@code Message} protobufs (the payload of one varint-length-prefixed frame).
 * Every size from the wire is bounded: message {@value #MAX_MESSAGE_BYTES} bytes, {@value #MAX_ADDRESSES}
 * addresses, status text {@value #MAX_STATUS_TEXT} chars (longer text is cut).
 */
public final class AutoNatCodec {
    /** Largest message accepted, in bytes (go-libp2p uses 4 KiB as well). */
    public static final int MAX_MESSAGE_BYTES = 4096;
    /** Most addresses in one dial request. */
    public static final int MAX_ADDRESSES = 32;
    /** Status text is cut to this many chars. */
    public static final int MAX_STATUS_TEXT = 256;

    private AutoNatCodec() {}

    public static byte[] encode(AutoNatMessage message) {
        AutoNatProto.Message.Builder b = AutoNatProto.Message.newBuilder();
        switch (message) {
            case AutoNatMessage.Dial d -> {
                AutoNatProto.Message.PeerInfo.Builder p = AutoNatProto.Message.PeerInfo.newBuilder();
                if (d.peer() != null) p.setId(ByteString.copyFrom(d.peer().toBytes()));
                for (Multiaddr a : d.addresses()) p.addAddrs(ByteString.copyFrom(a.toBytes()));
                b.setType(AutoNatProto.Message.MessageType.DIAL)
                        .setDial(AutoNatProto.Message.Dial.newBuilder().setPeer(p));
            }
            case AutoNatMessage.DialResponse r -> {
                AutoNatProto.Message.DialResponse.Builder rb = AutoNatProto.Message.DialResponse.newBuilder()
                        .setStatus(AutoNatProto.Message.ResponseStatus.forNumber(r.status().code()));
                if (!r.text().isEmpty()) rb.setStatusText(cut(r.text()));
                if (r.address() != null) rb.setAddr(ByteString.copyFrom(r.address().toBytes()));
                b.setType(AutoNatProto.Message.MessageType.DIAL_RESPONSE).setDialResponse(rb);
            }
        }
        return b.build().toByteArray();
    }

    /**
     * Decodes one message.
     *
     * @throws AutoNatProtocolException if it is over {@value #MAX_MESSAGE_BYTES} bytes, not a valid protobuf, has
     *     no or an unknown type, lacks its body, lists more than {@value #MAX_ADDRESSES} addresses, carries a
     *     bad peer id or an unknown status
     */
    public static AutoNatMessage decode(byte[] bytes) {
        if (bytes.length > MAX_MESSAGE_BYTES) {
            throw new AutoNatProtocolException("autonat message is " + bytes.length + " bytes, limit " + MAX_MESSAGE_BYTES);
        }
        AutoNatProto.Message pb;
        try {
            pb = AutoNatProto.Message.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new AutoNatProtocolException("malformed autonat message: " + e.getMessage());
        }
        if (!pb.hasType()) throw new AutoNatProtocolException("autonat message has no type");
        return switch (pb.getType()) {
            case DIAL -> decodeDial(pb);
            case DIAL_RESPONSE -> decodeResponse(pb);
        };
    }

    private static AutoNatMessage.Dial decodeDial(AutoNatProto.Message pb) {
        if (!pb.hasDial() || !pb.getDial().hasPeer()) throw new AutoNatProtocolException("autonat DIAL has no peer info");
        AutoNatProto.Message.PeerInfo p = pb.getDial().getPeer();
        if (p.getAddrsCount() > MAX_ADDRESSES) {
            throw new AutoNatProtocolException("autonat DIAL lists " + p.getAddrsCount() + " addresses, limit " + MAX_ADDRESSES);
        }
        PeerId peer = null;
        if (p.hasId()) {
            try {
                peer = PeerId.fromBytes(p.getId().toByteArray());
            } catch (IllegalArgumentException e) {
                throw new AutoNatProtocolException("autonat DIAL peer id: " + e.getMessage());
            }
        }
        List<Multiaddr> addrs = new ArrayList<>();
        int skipped = 0;
        for (ByteString a : p.getAddrsList()) {
            try {
                addrs.add(Multiaddr.fromBytes(a.toByteArray()));
            } catch (IllegalArgumentException e) {
                skipped++;
            }
        }
        return new AutoNatMessage.Dial(peer, addrs, skipped);
    }

    private static AutoNatMessage.DialResponse decodeResponse(AutoNatProto.Message pb) {
        if (!pb.hasDialResponse()) throw new AutoNatProtocolException("autonat DIAL_RESPONSE has no body");
        AutoNatProto.Message.DialResponse r = pb.getDialResponse();
        if (!r.hasStatus()) throw new AutoNatProtocolException("autonat DIAL_RESPONSE has no status");
        AutoNatMessage.Status status = switch (r.getStatus()) {
            case OK -> AutoNatMessage.Status.OK;
            case E_DIAL_ERROR -> AutoNatMessage.Status.E_DIAL_ERROR;
            case E_DIAL_REFUSED -> AutoNatMessage.Status.E_DIAL_REFUSED;
            case E_BAD_REQUEST -> AutoNatMessage.Status.E_BAD_REQUEST;
            case E_INTERNAL_ERROR -> AutoNatMessage.Status.E_INTERNAL_ERROR;
        };
        Multiaddr addr = null;
        if (r.hasAddr()) {
            try {
                addr = Multiaddr.fromBytes(r.getAddr().toByteArray());
            } catch (IllegalArgumentException e) {
                throw new AutoNatProtocolException("autonat DIAL_RESPONSE address: " + e.getMessage());
            }
        }
        return new AutoNatMessage.DialResponse(status, cut(r.getStatusText()), addr);
    }

    private static String cut(String s) { return s.length() <= MAX_STATUS_TEXT ? s : s.substring(0, MAX_STATUS_TEXT); }
}
