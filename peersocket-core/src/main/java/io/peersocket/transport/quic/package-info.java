/**
 * The QUIC transport ({@link io.peersocket.transport.quic.QuicTransport}): libp2p {@code /quic-v1} on Netty's QUIC
 * codec (native quiche and BoringSSL). The only package in Peersocket that imports Netty; no Netty type appears in
 * its public API.
 *
 * <p>Structure: one UDP socket per listen address; its pipeline is
 * {@code PacketRouter → server codec → client gate → client codec}. The router sends each datagram to the client codec
 * if its destination connection id is one this node issued as a client, else to the server codec, so one port both
 * accepts and dials. {@code QuicConnection} and {@code QuicStream} adapt Netty channels to the
 * {@link io.peersocket.transport} interfaces and move every upcall from the event loop to the configured event
 * executor.
 */
package io.peersocket.transport.quic;
