package io.peersocket.protocol.relay;

/**
 * Settings of the relay service ({@link RelayService}, hop side of Circuit Relay v2). Defaults follow
 * go-libp2p / js-libp2p: {@link #defaults()}.
 *
 * @param reservationTtlMs how long a reservation lasts before the client must refresh it (default 1 h)
 * @param maxReservations most live reservations in total (default 128)
 * @param maxReservationsPerIp most live reservations whose connections come from one IP address (default 8)
 * @param maxReserveRequestsPerPeer most RESERVE requests one peer may make per {@code requestWindowMs}
 *     (refreshes included; default 8); more are answered RESOURCE_LIMIT_EXCEEDED
 * @param requestWindowMs the window of {@code maxReserveRequestsPerPeer} (default 60 000 ms)
 * @param limitDurationMs longest life of a circuit (default 120 000 ms; 0 = unlimited); announced in whole
 *     seconds, rounded up
 * @param limitDataBytes most bytes relayed per direction of a circuit (default 128 KiB; 0 = unlimited); the
 *     circuit is closed when either direction reaches it
 * @param maxCircuits most circuits open at once (default 16)
 * @param maxCircuitsPerPeer most circuits one peer may be part of at once, as initiator or target (default 4)
 * @param connectTimeoutMs how long the relay waits for the target's stop STATUS (default 10 000 ms)
 * @param messageTimeoutMs how long a hop stream may take to send its request (default 10 000 ms)
 * @param maxBufferedBytes bytes a circuit may queue per direction while the receiving stream is not writable
 *     (reading from the sender is paused meanwhile, but up to about 1 MiB already read still arrives); beyond it the
 *     circuit is reset (default 4 MiB)
 */
public record RelayConfig(
        long reservationTtlMs,
        int maxReservations,
        int maxReservationsPerIp,
        int maxReserveRequestsPerPeer,
        long requestWindowMs,
        long limitDurationMs,
        long limitDataBytes,
        int maxCircuits,
        int maxCircuitsPerPeer,
        long connectTimeoutMs,
        long messageTimeoutMs,
        int maxBufferedBytes) {

    public RelayConfig {
        if (reservationTtlMs < 1000) throw new IllegalArgumentException("reservationTtlMs must be >= 1000");
        if (maxReservations < 0) throw new IllegalArgumentException("maxReservations must be >= 0");
        if (maxReservationsPerIp < 1) throw new IllegalArgumentException("maxReservationsPerIp must be >= 1");
        if (maxReserveRequestsPerPeer < 1) throw new IllegalArgumentException("maxReserveRequestsPerPeer must be >= 1");
        if (requestWindowMs < 1) throw new IllegalArgumentException("requestWindowMs must be >= 1");
        if (limitDurationMs < 0 || limitDurationMs / 1000 > 0xFFFF_FFFFL) throw new IllegalArgumentException("limitDurationMs out of range");
        if (limitDataBytes < 0) throw new IllegalArgumentException("limitDataBytes must be >= 0");
        if (maxCircuits < 0) throw new IllegalArgumentException("maxCircuits must be >= 0");
        if (maxCircuitsPerPeer < 1) throw new IllegalArgumentException("maxCircuitsPerPeer must be >= 1");
        if (connectTimeoutMs < 1) throw new IllegalArgumentException("connectTimeoutMs must be >= 1");
        if (messageTimeoutMs < 1) throw new IllegalArgumentException("messageTimeoutMs must be >= 1");
        if (maxBufferedBytes < 65536) throw new IllegalArgumentException("maxBufferedBytes must be >= 65536");
    }

    public static RelayConfig defaults() {
        return new RelayConfig(3_600_000, 128, 8, 8, 60_000, 120_000, 128 * 1024, 16, 4, 10_000, 10_000, 4 << 20);
    }

    /** The limit announced to clients. */
    public Limit limit() { return new Limit((limitDurationMs + 999) / 1000, limitDataBytes); }

    public RelayConfig withReservationTtlMs(long ms) {
        return new RelayConfig(ms, maxReservations, maxReservationsPerIp, maxReserveRequestsPerPeer, requestWindowMs,
                limitDurationMs, limitDataBytes, maxCircuits, maxCircuitsPerPeer, connectTimeoutMs, messageTimeoutMs, maxBufferedBytes);
    }

    public RelayConfig withMaxReservations(int n, int perIp) {
        return new RelayConfig(reservationTtlMs, n, perIp, maxReserveRequestsPerPeer, requestWindowMs,
                limitDurationMs, limitDataBytes, maxCircuits, maxCircuitsPerPeer, connectTimeoutMs, messageTimeoutMs, maxBufferedBytes);
    }

    public RelayConfig withReserveRate(int requests, long windowMs) {
        return new RelayConfig(reservationTtlMs, maxReservations, maxReservationsPerIp, requests, windowMs,
                limitDurationMs, limitDataBytes, maxCircuits, maxCircuitsPerPeer, connectTimeoutMs, messageTimeoutMs, maxBufferedBytes);
    }

    /** Circuit limits: duration in ms and data in bytes per direction (0 = unlimited). */
    public RelayConfig withLimit(long durationMs, long dataBytes) {
        return new RelayConfig(reservationTtlMs, maxReservations, maxReservationsPerIp, maxReserveRequestsPerPeer, requestWindowMs,
                durationMs, dataBytes, maxCircuits, maxCircuitsPerPeer, connectTimeoutMs, messageTimeoutMs, maxBufferedBytes);
    }

    public RelayConfig withMaxCircuits(int total, int perPeer) {
        return new RelayConfig(reservationTtlMs, maxReservations, maxReservationsPerIp, maxReserveRequestsPerPeer, requestWindowMs,
                limitDurationMs, limitDataBytes, total, perPeer, connectTimeoutMs, messageTimeoutMs, maxBufferedBytes);
    }

    public RelayConfig withTimeouts(long connectMs, long messageMs) {
        return new RelayConfig(reservationTtlMs, maxReservations, maxReservationsPerIp, maxReserveRequestsPerPeer, requestWindowMs,
                limitDurationMs, limitDataBytes, maxCircuits, maxCircuitsPerPeer, connectMs, messageMs, maxBufferedBytes);
    }
}
