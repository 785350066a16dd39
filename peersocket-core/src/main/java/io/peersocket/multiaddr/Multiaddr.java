package io.peersocket.multiaddr;

import io.peersocket.identity.PeerId;
import io.peersocket.util.Varint;
import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A multiaddr: a sequence of (protocol, value) components, e.g. {@code /ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooW…}.
 * Text and binary forms; the protocols are those of {@link Protocol} (ip4, ip6, ip6zone, ipcidr, dns, dns4, dns6,
 * dnsaddr, tcp, udp, quic, quic-v1, webtransport, certhash, tls, sni, noise, ws, wss, http, https, webrtc,
 * webrtc-direct, p2p, p2p-circuit, memory).
 *
 * <p>Binary form: for each component, its protocol code as an unsigned varint, then its value: fixed-size values
 * as is (ip4 4 bytes, ip6 16 bytes, ports 2 bytes big-endian), length-prefixed values as a varint byte count and
 * the bytes. A whole multiaddr is at most {@link #MAX_BYTES} bytes; length-prefixed values at most
 * {@link Protocol#maxValueBytes()} (256 bytes, 64 for p2p, 255 for DNS names).
 *
 * <p>Text form: {@code /name/value/name/…}. {@link #toString()} is canonical (RFC 5952 IPv6, base58btc peer ids,
 * base64url certhashes), so two multiaddrs are equal exactly when their binary forms are, and
 * {@code parse(a.toString())} and {@code fromBytes(a.toBytes())} both equal {@code a}. The empty multiaddr
 * (text {@code /}, zero bytes) is allowed.
 *
 * <p>Parsing never does DNS lookups; only {@link #toQuicSocketAddress()} resolves names.
 *
 * <p>Immutable, thread-safe, equals/hashCode by binary form. Source: multiformats multiaddr spec and its
 * protocols.csv.
 */
public final class Multiaddr {
    /** Upper bound in bytes on the binary form. */
    public static final int MAX_BYTES = 1024;

    /** Upper bound in characters on text accepted by {@link #parse}. */
    public static final int MAX_TEXT_CHARS = 8192;

    private static final Multiaddr EMPTY = new Multiaddr(List.of(), new byte[0]);

    private final List<Component> components;
    private final byte[] bytes;
    private String text; // lazily computed; benign race (String is immutable)

    private Multiaddr(List<Component> components, byte[] bytes) {
        this.components = components;
        this.bytes = bytes;
    }

    /** Builds from validated components; checks the size bound. */
    private static Multiaddr of(List<Component> comps) {
        if (comps.isEmpty()) return EMPTY;
        int size = 0;
        for (Component c : comps) size += c.encodedSize();
        if (size > MAX_BYTES) {
            throw new MultiaddrException("multiaddr of " + size + " bytes exceeds " + MAX_BYTES + " bytes");
        }
        byte[] out = new byte[size];
        int off = 0;
        for (Component c : comps) off = c.writeTo(out, off);
        return new Multiaddr(List.copyOf(comps), out);
    }

    // ------------------------------------------------------------------------------------------------ parsing

    /**
     * Parses text form: {@code /} followed by {@code name} or {@code name/value} components separated by
     * {@code /}; one trailing {@code /} is tolerated; {@code /ipfs/} is read as {@code /p2p/}.
     *
     * @throws MultiaddrException naming the bad component and the input, e.g.
     *     {@code bad ip4 address "300.1.1.1" in /ip4/300.1.1.1/udp/1}, {@code unknown protocol "foo" in /foo},
     *     {@code missing value for udp in /ip4/1.2.3.4/udp}, {@code udp port 70000 out of range (0-65535) in …}
     * @throws NullPointerException if {@code text} is null
     */
    public static Multiaddr parse(String text) {
        Objects.requireNonNull(text, "text");
        if (text.length() > MAX_TEXT_CHARS) {
            throw new MultiaddrException("multiaddr text of " + text.length() + " chars exceeds " + MAX_TEXT_CHARS);
        }
        if (text.isEmpty() || text.charAt(0) != '/') {
            throw new MultiaddrException("multiaddr must start with \"/\": " + ValueCodec.quote(text));
        }
        String body = text.length() > 1 && text.endsWith("/") ? text.substring(0, text.length() - 1) : text;
        if (body.equals("/")) return EMPTY;
        String[] parts = body.substring(1).split("/", -1);
        List<Component> comps = new ArrayList<>();
        int size = 0;
        for (int i = 0; i < parts.length; ) {
            String name = parts[i++];
            if (name.isEmpty()) throw new MultiaddrException("empty protocol name in " + echo(text));
            Protocol p = Protocol.forName(name);
            if (p == null) {
                throw new MultiaddrException("unknown protocol " + ValueCodec.quote(name) + " in " + echo(text));
            }
            Component c;
            if (!p.hasValue()) {
                c = new Component(p, new byte[0], null);
            } else {
                if (i >= parts.length || parts[i].isEmpty()) {
                    throw new MultiaddrException("missing value for " + p + " in " + echo(text));
                }
                String value = parts[i++];
                try {
                    byte[] raw = ValueCodec.fromText(p, value);
                    c = new Component(p, raw, ValueCodec.toText(p, raw));
                } catch (ValueCodec.BadValue e) {
                    throw new MultiaddrException(e.getMessage() + " in " + echo(text));
                }
            }
            size += c.encodedSize();
            if (size > MAX_BYTES) {
                throw new MultiaddrException("multiaddr exceeds " + MAX_BYTES + " bytes in binary form: " + echo(text));
            }
            comps.add(c);
        }
        return of(comps);
    }

    /**
     * Decodes binary form.
     *
     * @throws MultiaddrException naming the bad component and its byte offset: over {@link #MAX_BYTES}, unknown
     *     protocol code, truncated or malformed varint, truncated value, length-prefixed value over its bound, or
     *     a value that is not valid for its protocol
     * @throws NullPointerException if {@code bytes} is null
     */
    public static Multiaddr fromBytes(byte[] bytes) {
        Objects.requireNonNull(bytes, "bytes");
        if (bytes.length > MAX_BYTES) {
            throw new MultiaddrException("multiaddr of " + bytes.length + " bytes exceeds " + MAX_BYTES + " bytes");
        }
        if (bytes.length == 0) return EMPTY;
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        List<Component> comps = new ArrayList<>();
        while (buf.hasRemaining()) {
            int at = buf.position();
            long code = readVarint(buf, "protocol code", at);
            Protocol p = Protocol.forCode(code);
            if (p == null) throw new MultiaddrException("unknown protocol code " + code + " at byte " + at);
            int len;
            if (p.isLengthPrefixed()) {
                int lenAt = buf.position();
                long l = readVarint(buf, p + " value length", lenAt);
                if (l > p.maxValueBytes()) {
                    throw new MultiaddrException(p + " value length " + l + " exceeds " + p.maxValueBytes()
                            + " bytes at byte " + lenAt);
                }
                len = (int) l;
            } else {
                len = p.sizeBits() / 8;
            }
            int valueAt = buf.position();
            if (buf.remaining() < len) {
                throw new MultiaddrException("truncated " + p + " value at byte " + valueAt + ": needs " + len
                        + " bytes, " + buf.remaining() + " left");
            }
            byte[] raw = new byte[len];
            buf.get(raw);
            String value;
            try {
                value = ValueCodec.toText(p, raw);
            } catch (ValueCodec.BadValue e) {
                throw new MultiaddrException(e.getMessage() + " at byte " + valueAt);
            }
            comps.add(new Component(p, raw, value));
        }
        return new Multiaddr(List.copyOf(comps), bytes.clone());
    }

    private static long readVarint(ByteBuffer buf, String what, int at) {
        long v;
        try {
            v = Varint.read(buf);
        } catch (IllegalArgumentException e) {
            throw new MultiaddrException("bad " + what + " varint at byte " + at + ": " + e.getMessage());
        }
        if (v < 0) throw new MultiaddrException("truncated " + what + " varint at byte " + at);
        return v;
    }

    /** The input echoed into an error message: non-printable characters escaped, cut to 200 characters. */
    private static String echo(String text) {
        return ValueCodec.sanitize(text, 200);
    }

    /**
     * {@code /ip4/A/udp/P/quic-v1} or {@code /ip6/A/udp/P/quic-v1} for a socket address (with a leading
     * {@code /ip6zone/Z} for a scoped IPv6 address), or {@code /dns/H/udp/P/quic-v1} for an unresolved one.
     * Never does a DNS lookup.
     *
     * @throws MultiaddrException if the address is unresolved and its host is not a valid DNS name
     */
    public static Multiaddr quic(InetSocketAddress address) {
        Objects.requireNonNull(address, "address");
        List<Component> comps = new ArrayList<>(4);
        InetAddress ip = address.getAddress();
        if (address.isUnresolved() || ip == null) {
            String host = address.getHostString();
            String why = ValueCodec.dnsNameProblem(host);
            if (why != null) {
                throw new MultiaddrException("bad dns name " + ValueCodec.quote(host) + " (" + why + ")");
            }
            comps.add(component(Protocol.DNS, host.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
        } else if (ip instanceof Inet4Address) {
            comps.add(component(Protocol.IP4, ip.getAddress()));
        } else {
            Inet6Address ip6 = (Inet6Address) ip;
            String zone = ip6.getScopedInterface() != null ? ip6.getScopedInterface().getName()
                    : ip6.getScopeId() != 0 ? Integer.toString(ip6.getScopeId()) : null;
            if (zone != null) {
                comps.add(component(Protocol.IP6ZONE, zone.getBytes(java.nio.charset.StandardCharsets.US_ASCII)));
            }
            comps.add(component(Protocol.IP6, ip6.getAddress()));
        }
        int port = address.getPort();
        comps.add(component(Protocol.UDP, new byte[] {(byte) (port >>> 8), (byte) port}));
        comps.add(component(Protocol.QUIC_V1, new byte[0]));
        return of(comps);
    }

    /** A validated component from a binary value. */
    private static Component component(Protocol p, byte[] raw) {
        try {
            return new Component(p, raw, ValueCodec.toText(p, raw));
        } catch (ValueCodec.BadValue e) {
            throw new MultiaddrException(e.getMessage());
        }
    }

    // ------------------------------------------------------------------------------------------------ accessors

    /** The binary form (a copy). */
    public byte[] toBytes() { return bytes.clone(); }

    /** Size of the binary form in bytes. */
    public int byteLength() { return bytes.length; }

    /** The components in order (immutable). */
    public List<Component> components() { return components; }

    /** Whether this is the empty multiaddr ({@code /}). */
    public boolean isEmpty() { return components.isEmpty(); }

    /** Whether some component has {@code protocol}. */
    public boolean has(Protocol protocol) {
        for (Component c : components) if (c.protocol() == protocol) return true;
        return false;
    }

    /**
     * The value of the first component of {@code protocol}, as canonical text, or null if there is none or the
     * protocol has no value (use {@link #has} to tell those apart).
     */
    public String valueOf(Protocol protocol) {
        for (Component c : components) if (c.protocol() == protocol) return c.value();
        return null;
    }

    /**
     * The peer id of the last {@code /p2p/} component, or null. (For a relay address without a trailing
     * target, {@code …/p2p/RELAY/p2p-circuit}, that is the relay's id.)
     */
    public PeerId peerId() {
        for (int i = components.size() - 1; i >= 0; i--) {
            Component c = components.get(i);
            if (c.protocol() == Protocol.P2P) return PeerId.fromBytes(c.rawValue);
        }
        return null;
    }

    /**
     * This address with {@code /p2p/id} appended (replacing a trailing /p2p/ component).
     *
     * @throws MultiaddrException if the result would exceed {@link #MAX_BYTES}
     */
    public Multiaddr withPeerId(PeerId id) {
        Objects.requireNonNull(id, "id");
        List<Component> comps = new ArrayList<>(withoutPeerId().components);
        comps.add(component(Protocol.P2P, id.toBytes()));
        return of(comps);
    }

    /** This address without a trailing {@code /p2p/} component (this address if there is none). */
    public Multiaddr withoutPeerId() {
        int n = components.size();
        if (n == 0 || components.get(n - 1).protocol() != Protocol.P2P) return this;
        return of(components.subList(0, n - 1));
    }

    /**
     * Concatenation: this address followed by {@code other}.
     *
     * @throws MultiaddrException if the result would exceed {@link #MAX_BYTES}
     */
    public Multiaddr encapsulate(Multiaddr other) {
        Objects.requireNonNull(other, "other");
        if (other.isEmpty()) return this;
        if (isEmpty()) return other;
        List<Component> comps = new ArrayList<>(components);
        comps.addAll(other.components);
        return of(comps);
    }

    /**
     * This address cut before the last component of {@code protocol}, e.g. {@code decapsulate(P2P_CIRCUIT)} of
     * {@code /ip4/…/p2p/R/p2p-circuit/p2p/T} is {@code /ip4/…/p2p/R}. Returns this address if it has no such
     * component, and the empty multiaddr if the first component is the last of {@code protocol}.
     */
    public Multiaddr decapsulate(Protocol protocol) {
        Objects.requireNonNull(protocol, "protocol");
        for (int i = components.size() - 1; i >= 0; i--) {
            if (components.get(i).protocol() == protocol) return of(components.subList(0, i));
        }
        return this;
    }

    // ------------------------------------------------------------------------------------------------ QUIC

    /**
     * Whether this is a dialable QUIC v1 address: {@code /ip4|ip6|dns|dns4|dns6/HOST/udp/PORT/quic-v1}, an
     * {@code /ip6zone/Z} before {@code /ip6/} allowed, optionally followed by {@code /p2p/ID} and nothing else.
     * ({@code /dnsaddr/} needs a TXT lookup first and does not count.)
     */
    public boolean isQuic() {
        int i = 0;
        int n = components.size();
        if (n > 0 && components.get(0).protocol() == Protocol.IP6ZONE) {
            if (n < 2 || components.get(1).protocol() != Protocol.IP6) return false;
            i = 1;
        }
        if (n - i != 3 && n - i != 4) return false;
        Protocol host = components.get(i).protocol();
        if (host != Protocol.IP4 && host != Protocol.IP6 && host != Protocol.DNS && host != Protocol.DNS4
                && host != Protocol.DNS6) {
            return false;
        }
        return components.get(i + 1).protocol() == Protocol.UDP
                && components.get(i + 2).protocol() == Protocol.QUIC_V1
                && (n - i == 3 || components.get(i + 3).protocol() == Protocol.P2P);
    }

    /**
     * The UDP socket address of a {@code /ip4|ip6|dns|dns4|dns6/…/udp/P/quic-v1…} address (see {@link #isQuic}).
     * DNS names are resolved here (blocking, system resolver): {@code dns4} to the first IPv4 address,
     * {@code dns6} to the first IPv6 address, {@code dns} to the first address of any family.
     *
     * @throws MultiaddrException if this is not such an address, DNS resolution fails, or an ip6zone names no
     *     interface on this host
     */
    public InetSocketAddress toQuicSocketAddress() {
        if (!isQuic()) throw new MultiaddrException("not a QUIC address: " + this);
        int i = components.get(0).protocol() == Protocol.IP6ZONE ? 1 : 0;
        Component host = components.get(i);
        int port = Integer.parseInt(components.get(i + 1).value());
        try {
            InetAddress addr = switch (host.protocol()) {
                case IP4 -> InetAddress.getByAddress(host.rawValue);
                case IP6 -> i == 1 ? scoped(components.get(0).value(), host.rawValue) : InetAddress.getByAddress(host.rawValue);
                default -> resolve(host.protocol(), host.value());
            };
            return new InetSocketAddress(addr, port);
        } catch (UnknownHostException e) {
            throw new MultiaddrException("cannot resolve " + host + " in " + this + ": " + e.getMessage(), e);
        }
    }

    private static InetAddress scoped(String zone, byte[] ip6) throws UnknownHostException {
        if (zone.chars().allMatch(ch -> ch >= '0' && ch <= '9') && zone.length() <= 9) {
            return Inet6Address.getByAddress(null, ip6, Integer.parseInt(zone));
        }
        NetworkInterface nif;
        try {
            nif = NetworkInterface.getByName(zone);
        } catch (SocketException e) {
            nif = null;
        }
        if (nif == null) throw new MultiaddrException("ip6zone \"" + zone + "\" names no network interface");
        return Inet6Address.getByAddress(null, ip6, nif);
    }

    private static InetAddress resolve(Protocol p, String name) throws UnknownHostException {
        for (InetAddress a : InetAddress.getAllByName(name)) {
            if (p == Protocol.DNS || (p == Protocol.DNS4 && a instanceof Inet4Address)
                    || (p == Protocol.DNS6 && a instanceof Inet6Address)) {
                return a;
            }
        }
        throw new UnknownHostException("no " + (p == Protocol.DNS4 ? "IPv4" : "IPv6") + " address for " + name);
    }

    /**
     * Whether the first component names this host: ip4 in 127.0.0.0/8, ip6 {@code ::1} (or IPv4-mapped
     * loopback), or a dns/dns4/dns6 name {@code localhost} or ending in {@code .localhost}. No DNS lookup.
     */
    public boolean isLoopback() {
        if (components.isEmpty()) return false;
        int i = components.get(0).protocol() == Protocol.IP6ZONE && components.size() > 1 ? 1 : 0;
        Component c = components.get(i);
        byte[] b = c.rawValue;
        return switch (c.protocol()) {
            case IP4 -> b[0] == 127;
            case IP6 -> {
                boolean zeros = true;
                for (int k = 0; k < 10; k++) zeros &= b[k] == 0;
                boolean mapped = zeros && b[10] == (byte) 0xFF && b[11] == (byte) 0xFF;
                boolean one = zeros && b[10] == 0 && b[11] == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0
                        && b[15] == 1;
                yield one || (mapped && b[12] == 127);
            }
            case DNS, DNS4, DNS6 -> {
                String name = c.value().toLowerCase(java.util.Locale.ROOT);
                if (name.endsWith(".")) name = name.substring(0, name.length() - 1);
                yield name.equals("localhost") || name.endsWith(".localhost");
            }
            default -> false;
        };
    }

    // ------------------------------------------------------------------------------------------------ Object

    @Override
    public boolean equals(Object o) {
        return o instanceof Multiaddr m && Arrays.equals(bytes, m.bytes);
    }

    @Override
    public int hashCode() { return Arrays.hashCode(bytes); }

    /** The canonical text form; {@code /} for the empty multiaddr. */
    @Override
    public String toString() {
        String t = text;
        if (t == null) {
            if (components.isEmpty()) {
                t = "/";
            } else {
                StringBuilder sb = new StringBuilder();
                for (Component c : components) c.appendTo(sb);
                t = sb.toString();
            }
            text = t;
        }
        return t;
    }

    /**
     * One component. {@code value} (canonical text) is null for protocols without a value, whose
     * {@code rawValue} is empty. {@code rawValue} is the binary value without its length prefix; the accessor
     * returns a copy. Equality compares protocol and raw value. Components taken from a {@link Multiaddr} are
     * validated and {@code value} is canonical; the constructor itself does not validate.
     */
    public record Component(Protocol protocol, byte[] rawValue, String value) {
        public Component {
            Objects.requireNonNull(protocol, "protocol");
            rawValue = rawValue == null ? new byte[0] : rawValue.clone();
        }

        /** The raw value (a copy). */
        @Override
        public byte[] rawValue() { return rawValue.clone(); }

        int encodedSize() {
            int n = Varint.size(protocol.code()) + rawValue.length;
            if (protocol.isLengthPrefixed()) n += Varint.size(rawValue.length);
            return n;
        }

        int writeTo(byte[] out, int off) {
            off = Varint.write(protocol.code(), out, off);
            if (protocol.isLengthPrefixed()) off = Varint.write(rawValue.length, out, off);
            System.arraycopy(rawValue, 0, out, off, rawValue.length);
            return off + rawValue.length;
        }

        void appendTo(StringBuilder sb) {
            sb.append('/').append(protocol.textName());
            if (value != null) sb.append('/').append(value);
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Component c && protocol == c.protocol && Arrays.equals(rawValue, c.rawValue);
        }

        @Override
        public int hashCode() { return 31 * protocol.code() + Arrays.hashCode(rawValue); }

        /** Text form of this component alone, e.g. {@code /udp/4001}. */
        @Override
        public String toString() {
            StringBuilder sb = new StringBuilder();
            appendTo(sb);
            return sb.toString();
        }
    }
}
