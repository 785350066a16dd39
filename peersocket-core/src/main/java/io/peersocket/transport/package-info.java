/**
 * The sockets layer (seed 000 "Peer Socket"): moves opaque byte blocks between two authenticated nodes.
 * Reliable blocks travel on streams, small unreliable ones in datagrams. This package's interfaces carry no
 * Netty types; the QUIC implementation in {@code io.peersocket.transport.quic} is the only code in Peersocket
 * that imports Netty.
 *
 * <p>Threading: every upcall ({@link io.peersocket.transport.TransportHandler},
 * {@link io.peersocket.transport.StreamHandler}) and every returned future's completion runs on the event
 * executor given in {@link io.peersocket.transport.TransportConfig}, one at a time and in arrival order, so
 * upper layers that own that executor need no locks. Methods may be called from any thread.
 */
package io.peersocket.transport;
