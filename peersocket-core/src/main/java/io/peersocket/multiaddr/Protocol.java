package io.peersocket.multiaddr;

/** Multiaddr protocols with their codes (multiformats protocols.csv). TODO(multiaddr helper): complete. */
public enum Protocol {
    IP4, IP6, DNS, DNS4, DNS6, DNSADDR, TCP, UDP, QUIC, QUIC_V1, P2P, P2P_CIRCUIT
}
