package io.peersocket.bench;

/**
 * Request/reply outcome.
 *
 * @param name what was measured
 * @param roundTrips completed round trips in the window
 * @param seconds window length, s
 * @param p50Us median latency, µs
 * @param p99Us 99th percentile latency, µs
 * @param cpuCores CPU the whole process (both ends) used during the window, in cores; NaN if unknown
 */
public record RrResult(String name, long roundTrips, double seconds, double p50Us, double p99Us, double cpuCores) {
    public double perSecond() { return roundTrips / seconds; }

    /** Process CPU time per round trip (both ends), µs. */
    public double cpuUsPerRoundTrip() { return cpuCores * 1e6 / perSecond(); }
}
