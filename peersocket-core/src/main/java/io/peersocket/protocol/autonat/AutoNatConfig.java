package io.peersocket.protocol.autonat;

/**
 * Settings of {@link AutoNat}. Durations are in ms of the node's event-loop clock. Defaults follow go-libp2p
 * where it has one (per-peer 3 and global 30 dial-back requests a minute, 15 s dial timeout, 15 min refresh)
 * and are stricter on flapping (3 agreeing peers to decide, 10 min least dwell).
 *
 * @param confidence agreeing dial-back results from distinct peers needed to decide PUBLIC or PRIVATE
 * @param minDwellMs least time a decided state is kept ({@link Reachability})
 * @param probePeers peers asked per probe round
 * @param retryIntervalMs time between probe rounds while UNKNOWN
 * @param refreshIntervalMs time between probe rounds once decided
 * @param requestTimeoutMs how long the client waits for a dial response
 * @param observedThreshold distinct peers that must report the same observed address to confirm it
 * @param observedTtlMs how long an observed-address report counts
 * @param serve whether to answer dial-back requests (server side)
 * @param dialTimeoutMs bound on one dial-back
 * @param maxDialsPerRequest most addresses dialled back for one request
 * @param perPeerRequests dial-back requests served per peer per {@code rateWindowMs}
 * @param globalRequests dial-back requests served in total per {@code rateWindowMs}
 * @param rateWindowMs the rate-limit window
 */
public record AutoNatConfig(
        int confidence,
        long minDwellMs,
        int probePeers,
        long retryIntervalMs,
        long refreshIntervalMs,
        long requestTimeoutMs,
        int observedThreshold,
        long observedTtlMs,
        boolean serve,
        long dialTimeoutMs,
        int maxDialsPerRequest,
        int perPeerRequests,
        int globalRequests,
        long rateWindowMs) {

    public AutoNatConfig {
        if (confidence < 1) throw new IllegalArgumentException("confidence must be ≥ 1: " + confidence);
        if (probePeers < 1) throw new IllegalArgumentException("probePeers must be ≥ 1: " + probePeers);
        if (observedThreshold < 1) throw new IllegalArgumentException("observedThreshold must be ≥ 1: " + observedThreshold);
        if (maxDialsPerRequest < 1 || maxDialsPerRequest > AutoNatCodec.MAX_ADDRESSES) {
            throw new IllegalArgumentException("maxDialsPerRequest must be 1.." + AutoNatCodec.MAX_ADDRESSES + ": " + maxDialsPerRequest);
        }
        if (minDwellMs < 0 || retryIntervalMs <= 0 || refreshIntervalMs <= 0 || requestTimeoutMs <= 0
                || observedTtlMs <= 0 || dialTimeoutMs <= 0 || rateWindowMs <= 0 || perPeerRequests < 0 || globalRequests < 0) {
            throw new IllegalArgumentException("AutoNAT durations must be > 0 and limits ≥ 0");
        }
    }

    public static AutoNatConfig defaults() {
        return new AutoNatConfig(3, 10 * 60_000L, 3, 30_000L, 15 * 60_000L, 30_000L, 3, 30 * 60_000L, true,
                15_000L, 4, 3, 30, 60_000L);
    }

    /** A copy with other probe timing (retry while unknown, refresh once decided). */
    public AutoNatConfig withProbeIntervals(long retryMs, long refreshMs) {
        return new AutoNatConfig(confidence, minDwellMs, probePeers, retryMs, refreshMs, requestTimeoutMs,
                observedThreshold, observedTtlMs, serve, dialTimeoutMs, maxDialsPerRequest, perPeerRequests,
                globalRequests, rateWindowMs);
    }

    /** A copy with other server rate limits. */
    public AutoNatConfig withRateLimits(int perPeer, int global, long windowMs) {
        return new AutoNatConfig(confidence, minDwellMs, probePeers, retryIntervalMs, refreshIntervalMs,
                requestTimeoutMs, observedThreshold, observedTtlMs, serve, dialTimeoutMs, maxDialsPerRequest, perPeer,
                global, windowMs);
    }

    /** A copy with another least dwell time. */
    public AutoNatConfig withMinDwell(long ms) {
        return new AutoNatConfig(confidence, ms, probePeers, retryIntervalMs, refreshIntervalMs, requestTimeoutMs,
                observedThreshold, observedTtlMs, serve, dialTimeoutMs, maxDialsPerRequest, perPeerRequests,
                globalRequests, rateWindowMs);
    }
}
