/**
 * Connection upgrade over raw byte pipes (libp2p connections spec): Noise security and Yamux multiplexing, as
 * used for relayed (Circuit Relay v2) connections. No Netty here.
 */
package io.peersocket.transport.upgrade;
