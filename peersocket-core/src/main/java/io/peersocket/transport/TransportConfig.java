package io.peersocket.transport;

import io.peersocket.identity.HostKey;
import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Settings shared by transports. Defaults suit a desktop node; all limits are enforced by the transport.
 *
 * @param hostKey the node identity used to authenticate (TLS certificate extension)
 * @param eventExecutor where all upcalls and future completions run (the node's event thread); must run
 *     tasks one at a time in submission order
 * @param maxConnections open connections (inbound + outbound) beyond which new ones are refused (default 512)
 * @param maxStreamsPerConnection concurrent bidirectional streams the remote may open (default 256)
 * @param idleTimeoutMs a connection with no traffic for this long is closed (default 30 000 ms; keep-alives
 *     are sent at a third of it)
 * @param handshakeTimeoutMs dial fails with TIMEOUT after this long (default 10 000 ms)
 * @param datagrams whether to offer QUIC DATAGRAM frames (default true)
 * @param socketBufferBytes UDP socket send and receive buffer size (default 4 MiB; the OS may cap it)
 */
public record TransportConfig(
        HostKey hostKey,
        Executor eventExecutor,
        int maxConnections,
        int maxStreamsPerConnection,
        long idleTimeoutMs,
        long handshakeTimeoutMs,
        boolean datagrams,
        int socketBufferBytes) {

    public TransportConfig {
        Objects.requireNonNull(hostKey, "hostKey");
        Objects.requireNonNull(eventExecutor, "eventExecutor");
        if (maxConnections < 1) throw new IllegalArgumentException("maxConnections must be >= 1");
        if (maxStreamsPerConnection < 1) throw new IllegalArgumentException("maxStreamsPerConnection must be >= 1");
        if (idleTimeoutMs < 100) throw new IllegalArgumentException("idleTimeoutMs must be >= 100");
        if (handshakeTimeoutMs < 100) throw new IllegalArgumentException("handshakeTimeoutMs must be >= 100");
        if (socketBufferBytes < 65536) throw new IllegalArgumentException("socketBufferBytes must be >= 65536");
    }

    /** Defaults for {@code hostKey} delivering upcalls on {@code eventExecutor}. */
    public static TransportConfig defaults(HostKey hostKey, Executor eventExecutor) {
        return new TransportConfig(hostKey, eventExecutor, 512, 256, 30_000, 10_000, true, 4 << 20);
    }

    public TransportConfig withIdleTimeoutMs(long ms) {
        return new TransportConfig(hostKey, eventExecutor, maxConnections, maxStreamsPerConnection, ms,
                handshakeTimeoutMs, datagrams, socketBufferBytes);
    }

    public TransportConfig withHandshakeTimeoutMs(long ms) {
        return new TransportConfig(hostKey, eventExecutor, maxConnections, maxStreamsPerConnection, idleTimeoutMs,
                ms, datagrams, socketBufferBytes);
    }

    public TransportConfig withMaxConnections(int n) {
        return new TransportConfig(hostKey, eventExecutor, n, maxStreamsPerConnection, idleTimeoutMs,
                handshakeTimeoutMs, datagrams, socketBufferBytes);
    }

    public TransportConfig withMaxStreamsPerConnection(int n) {
        return new TransportConfig(hostKey, eventExecutor, maxConnections, n, idleTimeoutMs,
                handshakeTimeoutMs, datagrams, socketBufferBytes);
    }
}
