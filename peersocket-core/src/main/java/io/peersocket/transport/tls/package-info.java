/**
 * The libp2p TLS handshake certificate (libp2p specs {@code tls/tls.md}): generation of a self-signed certificate
 * carrying the host key in extension 1.3.6.1.4.1.53594.1.1, and its verification, independent of any TLS stack
 * (BouncyCastle and JCA only).
 */
package io.peersocket.transport.tls;
