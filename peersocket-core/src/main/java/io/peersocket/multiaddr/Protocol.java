package io.peersocket.multiaddr;

import java.util.HashMap;
import java.util.Map;

/**
 * The multiaddr protocols this library understands, each with its multicodec code, its text name and the size of
 * its value.
 *
 * <p>A value is either fixed-size ({@link #sizeBits()} &gt; 0, e.g. 32 bits for ip4), absent ({@code 0}, e.g.
 * quic-v1) or length-prefixed ({@link #LENGTH_PREFIXED}: an unsigned varint byte count, then the bytes, e.g. dns).
 * Length-prefixed values are bounded by {@link #maxValueBytes()}.
 *
 * <p>Source: multiformats multiaddr spec and its {@code protocols.csv}; libp2p multicodec table.
 */
public enum Protocol {
    IP4(4, "ip4", 32, ValueKind.IP4),
    TCP(6, "tcp", 16, ValueKind.PORT),
    UDP(273, "udp", 16, ValueKind.PORT),
    IP6(41, "ip6", 128, ValueKind.IP6),
    IP6ZONE(42, "ip6zone", Protocol.LENGTH_PREFIXED, ValueKind.ZONE),
    IPCIDR(43, "ipcidr", 8, ValueKind.BYTE),
    DNS(53, "dns", Protocol.LENGTH_PREFIXED, ValueKind.DNS_NAME),
    DNS4(54, "dns4", Protocol.LENGTH_PREFIXED, ValueKind.DNS_NAME),
    DNS6(55, "dns6", Protocol.LENGTH_PREFIXED, ValueKind.DNS_NAME),
    DNSADDR(56, "dnsaddr", Protocol.LENGTH_PREFIXED, ValueKind.DNS_NAME),
    WEBRTC_DIRECT(280, "webrtc-direct", 0, ValueKind.NONE),
    WEBRTC(281, "webrtc", 0, ValueKind.NONE),
    P2P_CIRCUIT(290, "p2p-circuit", 0, ValueKind.NONE),
    P2P(421, "p2p", Protocol.LENGTH_PREFIXED, ValueKind.PEER_ID),
    HTTPS(443, "https", 0, ValueKind.NONE),
    TLS(448, "tls", 0, ValueKind.NONE),
    SNI(449, "sni", Protocol.LENGTH_PREFIXED, ValueKind.DNS_NAME),
    NOISE(454, "noise", 0, ValueKind.NONE),
    QUIC(460, "quic", 0, ValueKind.NONE),
    QUIC_V1(461, "quic-v1", 0, ValueKind.NONE),
    WEBTRANSPORT(465, "webtransport", 0, ValueKind.NONE),
    CERTHASH(466, "certhash", Protocol.LENGTH_PREFIXED, ValueKind.MULTIBASE_MULTIHASH),
    WS(477, "ws", 0, ValueKind.NONE),
    WSS(478, "wss", 0, ValueKind.NONE),
    HTTP(480, "http", 0, ValueKind.NONE),
    /** In-process transport ("port" as decimal u64, 8 bytes big-endian; multicodec 0x0309, draft). */
    MEMORY(777, "memory", 64, ValueKind.U64);

    /** {@link #sizeBits()} of a protocol whose value is a varint byte count followed by that many bytes. */
    public static final int LENGTH_PREFIXED = -1;

    /** Upper bound in bytes on any length-prefixed value. */
    public static final int MAX_VALUE_BYTES = 256;

    /** Upper bound in bytes on a {@code /p2p/} value (a peer id multihash). */
    public static final int MAX_PEER_ID_BYTES = 64;

    /** Upper bound in bytes on a DNS name value (RFC 1035 §2.3.4: 255 octets). */
    public static final int MAX_DNS_NAME_BYTES = 255;

    private static final Map<Long, Protocol> BY_CODE = new HashMap<>();
    private static final Map<String, Protocol> BY_NAME = new HashMap<>();

    static {
        for (Protocol p : values()) {
            BY_CODE.put((long) p.code, p);
            BY_NAME.put(p.textName, p);
        }
        BY_NAME.put("ipfs", P2P); // deprecated alias of p2p, same code 421
    }

    /** How a value is written as text; package-private detail of the codec. */
    enum ValueKind { NONE, IP4, IP6, PORT, BYTE, U64, ZONE, DNS_NAME, PEER_ID, MULTIBASE_MULTIHASH }

    private final int code;
    private final String textName;
    private final int sizeBits;
    private final ValueKind kind;

    Protocol(int code, String textName, int sizeBits, ValueKind kind) {
        this.code = code;
        this.textName = textName;
        this.sizeBits = sizeBits;
        this.kind = kind;
    }

    /** The multicodec code, written as an unsigned varint in the binary form. */
    public int code() { return code; }

    /** The name used in the text form, e.g. {@code "quic-v1"}. */
    public String textName() { return textName; }

    /** Value size in bits if fixed, {@code 0} if the protocol has no value, or {@link #LENGTH_PREFIXED}. */
    public int sizeBits() { return sizeBits; }

    /** Whether components of this protocol carry a value. */
    public boolean hasValue() { return sizeBits != 0; }

    /** Whether the value is a varint length followed by that many bytes. */
    public boolean isLengthPrefixed() { return sizeBits == LENGTH_PREFIXED; }

    /**
     * The largest value this protocol accepts, in bytes: the fixed size, 0, or the bound on a length-prefixed
     * value ({@link #MAX_PEER_ID_BYTES} for p2p, {@link #MAX_DNS_NAME_BYTES} for DNS names, else
     * {@link #MAX_VALUE_BYTES}).
     */
    public int maxValueBytes() {
        if (sizeBits >= 0) return sizeBits / 8;
        return switch (kind) {
            case PEER_ID -> MAX_PEER_ID_BYTES;
            case DNS_NAME -> MAX_DNS_NAME_BYTES;
            default -> MAX_VALUE_BYTES;
        };
    }

    ValueKind kind() { return kind; }

    /** The protocol with multicodec {@code code}, or null if this library does not know it. */
    public static Protocol forCode(long code) {
        return BY_CODE.get(code);
    }

    /** The protocol with text name {@code name} (also the alias {@code ipfs} for p2p), or null if unknown. */
    public static Protocol forName(String name) {
        return BY_NAME.get(name);
    }

    /** The text name. */
    @Override public String toString() { return textName; }
}
