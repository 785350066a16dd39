package io.peersocket.bench;

/**
 * Request/reply outcome.
 *
 * @param name what was measured
 * @param roundTrips completed round trips in the window
 * @param seconds window length, s
 * @param p50Us median latency, µs
 * @param p99Us 99th percentile latency, µs
 */
public record RrResult(String name, long roundTrips, double seconds, double p50Us, double p99Us) {
    public double perSecond() { return roundTrips / seconds; }
}
