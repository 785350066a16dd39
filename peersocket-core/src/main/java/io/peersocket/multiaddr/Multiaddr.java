package io.peersocket.multiaddr;

import io.peersocket.identity.PeerId;
import java.util.List;

/**
 * A multiaddr: a sequence of (protocol, value) components, e.g. {@code /ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooW…}.
 * Text and binary forms; protocols ip4, ip6, dns, dns4, dns6, dnsaddr, tcp, udp, quic, quic-v1, p2p, p2p-circuit
 * (more may be added).
 *
 * <p>Immutable, thread-safe, equals/hashCode by binary form. Source: multiformats multiaddr spec and its
 * protocols.csv. TODO(multiaddr helper): implement (stub signatures are the contract).
 */
public final class Multiaddr {
    private Multiaddr() {}

    /** Parses text form. @throws MultiaddrException naming the bad component */
    public static Multiaddr parse(String text) { throw new UnsupportedOperationException(); }

    /** Decodes binary form. @throws MultiaddrException naming the bad component; bounded (≤ 1024 bytes) */
    public static Multiaddr fromBytes(byte[] bytes) { throw new UnsupportedOperationException(); }

    /** {@code /ip4/A/udp/P/quic-v1} or {@code /ip6/A/udp/P/quic-v1} for a socket address. */
    public static Multiaddr quic(java.net.InetSocketAddress address) { throw new UnsupportedOperationException(); }

    public byte[] toBytes() { throw new UnsupportedOperationException(); }

    public List<Component> components() { throw new UnsupportedOperationException(); }

    /** The value of the first component of {@code protocol}, as text, or null. */
    public String valueOf(Protocol protocol) { throw new UnsupportedOperationException(); }

    /** The peer id of the last {@code /p2p/} component, or null. */
    public PeerId peerId() { throw new UnsupportedOperationException(); }

    /** This address with {@code /p2p/id} appended (replacing a trailing /p2p/ component). */
    public Multiaddr withPeerId(PeerId id) { throw new UnsupportedOperationException(); }

    /** This address without a trailing {@code /p2p/} component. */
    public Multiaddr withoutPeerId() { throw new UnsupportedOperationException(); }

    /** Concatenation. */
    public Multiaddr encapsulate(Multiaddr other) { throw new UnsupportedOperationException(); }

    /**
     * The UDP socket address of a {@code /ip4|ip6|dns4|dns6/…/udp/P/quic-v1…} address (DNS is resolved).
     * @throws MultiaddrException if this is not such an address or DNS resolution fails
     */
    public java.net.InetSocketAddress toQuicSocketAddress() { throw new UnsupportedOperationException(); }

    public boolean isQuic() { throw new UnsupportedOperationException(); }

    /** One component. {@code value} is null for protocols without a value. */
    public record Component(Protocol protocol, byte[] rawValue, String value) {}
}
