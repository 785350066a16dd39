/**
 * Raw baselines the Peersocket stack is compared with: plain TCP ({@code java.net.Socket}) and plain Netty QUIC
 * (BoringSSL via quiche). This is benchmark code, not part of Peersocket, so it imports Netty directly (the
 * project rule that only {@code io.peersocket.transport.quic} may import Netty covers the library, not this
 * package). The QUIC baseline uses the same transport parameters as our transport (windows, congestion
 * control, no Retry, socket buffers, epoll when available) so the difference is our own code.
 */
package io.peersocket.bench.baseline;
