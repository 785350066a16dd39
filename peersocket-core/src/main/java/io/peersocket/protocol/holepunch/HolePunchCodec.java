package io.peersocket.protocol.holepunch;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.protocol.holepunch.pb.HolePunchProto;
import java.util.ArrayList;
import java.util.List;

/**
 * Encodes and decodes the hole-punch protobufs (the payload of one varint-length-prefixed frame): libp2p DCUtR
 * {@code HolePunch} (libp2p specs relay/DCUtR.md) and Peersocket's {@code Introduce}. Every size from the wire is
 * bounded before use: message {@value #MAX_MESSAGE_BYTES} bytes (the spec's SHOULD), {@value #MAX_ADDRESSES}
 * addresses, delay {@value #MAX_DELAY_MS} ms, text {@value #MAX_TEXT_CHARS} chars. Addresses that do not parse
 * as multiaddrs are skipped (the spec's peers may send transports we do not know); too many is an error.
 */
public final class HolePunchCodec {
    /** Largest message accepted, bytes (DCUtR: "SHOULD refuse ... larger than 4 KiB"). */
    public static final int MAX_MESSAGE_BYTES = 4096;
    /** Most addresses in one message. */
    public static final int MAX_ADDRESSES = 16;
    /** Largest start delay an introduction may ask for, ms. */
    public static final int MAX_DELAY_MS = 10_000;
    /** Status text is cut to this many chars when encoding and rejected above it when decoding. */
    public static final int MAX_TEXT_CHARS = 256;

    private HolePunchCodec() {}

    // ---- DCUtR ----------------------------------------------------------------------------------------

    /** DCUtR message type. */
    public enum DcutrType { CONNECT, SYNC }

    /** One DCUtR {@code HolePunch} message: type and observed addresses (empty for SYNC). */
    public record Dcutr(DcutrType type, List<Multiaddr> addresses) {
        public Dcutr {
            addresses = List.copyOf(addresses);
        }
    }

    public static byte[] encode(Dcutr m) {
        HolePunchProto.HolePunch.Builder b = HolePunchProto.HolePunch.newBuilder()
                .setType(m.type() == DcutrType.CONNECT ? HolePunchProto.HolePunch.Type.CONNECT
                        : HolePunchProto.HolePunch.Type.SYNC);
        for (Multiaddr a : cap(m.addresses())) b.addObsAddrs(ByteString.copyFrom(a.toBytes()));
        return b.build().toByteArray();
    }

    /**
     * Decodes one DCUtR message.
     *
     * @throws HolePunchException if over {@value #MAX_MESSAGE_BYTES} bytes, not a protobuf, without or with an
     *     unknown type, or with more than {@value #MAX_ADDRESSES} addresses
     */
    public static Dcutr decodeDcutr(byte[] bytes) {
        checkSize(bytes);
        HolePunchProto.HolePunch pb;
        try {
            pb = HolePunchProto.HolePunch.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new HolePunchException("dcutr message is not a valid HolePunch protobuf: " + e.getMessage(), e);
        }
        if (!pb.hasType()) throw new HolePunchException("dcutr message has no known type");
        DcutrType type = switch (pb.getType()) {
            case CONNECT -> DcutrType.CONNECT;
            case SYNC -> DcutrType.SYNC;
        };
        return new Dcutr(type, addresses(pb.getObsAddrsList(), "ObsAddrs"));
    }

    // ---- introduction ---------------------------------------------------------------------------------

    /** Introduction message kind (see holepunch.proto). */
    public enum IntroKind { REQUEST, INTRODUCE, READY, RESPONSE }

    /** Introduction status. */
    public enum IntroStatus { OK, E_NOT_CONNECTED, E_RATE_LIMITED, E_REFUSED, E_BAD_REQUEST, E_TIMEOUT }

    /**
     * One introduction message.
     *
     * @param peer REQUEST: the target; INTRODUCE: the requester; RESPONSE: the target; READY: null
     * @param addresses INTRODUCE: the requester's addresses; RESPONSE: the target's; else empty
     * @param delayMs when to start punching (INTRODUCE) or dialling (RESPONSE), ms after receipt
     */
    public record Introduce(IntroKind kind, PeerId peer, List<Multiaddr> addresses, int delayMs, IntroStatus status,
            String text) {
        public Introduce {
            addresses = List.copyOf(addresses);
            if (delayMs < 0 || delayMs > MAX_DELAY_MS) throw new IllegalArgumentException("delayMs out of range: " + delayMs);
            if (status == null) status = IntroStatus.OK;
            if (text == null) text = "";
        }

        public static Introduce request(PeerId target) {
            return new Introduce(IntroKind.REQUEST, target, List.of(), 0, IntroStatus.OK, "");
        }

        public static Introduce error(IntroKind kind, IntroStatus status, String text) {
            return new Introduce(kind, null, List.of(), 0, status, text);
        }
    }

    public static byte[] encode(Introduce m) {
        HolePunchProto.Introduce.Builder b = HolePunchProto.Introduce.newBuilder()
                .setType(HolePunchProto.Introduce.Type.forNumber(m.kind().ordinal()));
        if (m.peer() != null) b.setPeer(ByteString.copyFrom(m.peer().toBytes()));
        for (Multiaddr a : cap(m.addresses())) b.addAddrs(ByteString.copyFrom(a.toBytes()));
        if (m.delayMs() != 0) b.setDelayMs(m.delayMs());
        if (m.status() != IntroStatus.OK) b.setStatus(statusPb(m.status()));
        if (!m.text().isEmpty()) b.setText(m.text().length() > MAX_TEXT_CHARS ? m.text().substring(0, MAX_TEXT_CHARS) : m.text());
        return b.build().toByteArray();
    }

    /**
     * Decodes one introduction message.
     *
     * @throws HolePunchException if over {@value #MAX_MESSAGE_BYTES} bytes, not a protobuf, without a type, with
     *     a bad peer id, more than {@value #MAX_ADDRESSES} addresses, a delay over {@value #MAX_DELAY_MS} ms, an
     *     unknown status or text over {@value #MAX_TEXT_CHARS} chars
     */
    public static Introduce decodeIntroduce(byte[] bytes) {
        checkSize(bytes);
        HolePunchProto.Introduce pb;
        try {
            pb = HolePunchProto.Introduce.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new HolePunchException("introduce message is not a valid protobuf: " + e.getMessage(), e);
        }
        if (!pb.hasType()) throw new HolePunchException("introduce message has no known type");
        IntroKind kind = IntroKind.values()[pb.getType().getNumber()];
        PeerId peer = null;
        if (pb.hasPeer()) {
            try {
                peer = PeerId.fromBytes(pb.getPeer().toByteArray());
            } catch (RuntimeException e) {
                throw new HolePunchException("introduce message has a bad peer id: " + e.getMessage(), e);
            }
        }
        long delay = Integer.toUnsignedLong(pb.getDelayMs());
        if (delay > MAX_DELAY_MS) throw new HolePunchException("introduce delay_ms " + delay + " exceeds " + MAX_DELAY_MS);
        IntroStatus status = switch (pb.getStatus()) {
            case OK -> IntroStatus.OK;
            case E_NOT_CONNECTED -> IntroStatus.E_NOT_CONNECTED;
            case E_RATE_LIMITED -> IntroStatus.E_RATE_LIMITED;
            case E_REFUSED -> IntroStatus.E_REFUSED;
            case E_BAD_REQUEST -> IntroStatus.E_BAD_REQUEST;
            case E_TIMEOUT -> IntroStatus.E_TIMEOUT;
        };
        if (pb.getText().length() > MAX_TEXT_CHARS) {
            throw new HolePunchException("introduce text of " + pb.getText().length() + " chars exceeds " + MAX_TEXT_CHARS);
        }
        return new Introduce(kind, peer, addresses(pb.getAddrsList(), "addrs"), (int) delay, status, pb.getText());
    }

    // ---- shared ---------------------------------------------------------------------------------------

    private static void checkSize(byte[] bytes) {
        if (bytes.length > MAX_MESSAGE_BYTES) {
            throw new HolePunchException("hole-punch message is " + bytes.length + " bytes, limit " + MAX_MESSAGE_BYTES);
        }
    }

    private static List<Multiaddr> addresses(List<ByteString> raw, String field) {
        if (raw.size() > MAX_ADDRESSES) {
            throw new HolePunchException(field + " lists " + raw.size() + " addresses, limit " + MAX_ADDRESSES);
        }
        List<Multiaddr> out = new ArrayList<>(raw.size());
        for (ByteString b : raw) {
            try {
                out.add(Multiaddr.fromBytes(b.toByteArray()));
            } catch (RuntimeException e) {
                // unknown transport or garbage: skipped, the rest stays usable
            }
        }
        return out;
    }

    private static List<Multiaddr> cap(List<Multiaddr> a) {
        return a.size() > MAX_ADDRESSES ? a.subList(0, MAX_ADDRESSES) : a;
    }

    private static HolePunchProto.Introduce.Status statusPb(IntroStatus s) {
        return switch (s) {
            case OK -> HolePunchProto.Introduce.Status.OK;
            case E_NOT_CONNECTED -> HolePunchProto.Introduce.Status.E_NOT_CONNECTED;
            case E_RATE_LIMITED -> HolePunchProto.Introduce.Status.E_RATE_LIMITED;
            case E_REFUSED -> HolePunchProto.Introduce.Status.E_REFUSED;
            case E_BAD_REQUEST -> HolePunchProto.Introduce.Status.E_BAD_REQUEST;
            case E_TIMEOUT -> HolePunchProto.Introduce.Status.E_TIMEOUT;
        };
    }
}
