package io.peersocket.protocol.content;

/**
 * Settings of the content protocols. Times are ms on the node's event-loop clock.
 *
 * @param bandwidth global and per-peer byte-rate limits and queue bounds ({@link BandwidthScheduler})
 * @param neighbourhoodSize connected peers that define depth (seed 001 MinProxBinSize; as Kademlia's, default 4)
 * @param maxHops hop budget of a retrieval or push the node starts (≤ {@link ContentCodec#MAX_HOPS})
 * @param hopTimeoutMs per-hop time budget: a request with {@code h} hops left waits {@code (h + 1) × hopTimeoutMs}
 * @param maxAttempts peers tried per retrieval or push before it fails
 * @param syncIntervalMs how often pull sync re-checks its subscriptions against depth and peers
 * @param syncOwnBin also subscribe to the own bin of upstreams outside the neighbourhood (seed 001's bin rule);
 *     false: only neighbours (bins ≥ depth), the rest arrives by push sync
 * @param nackAfterMs a batch with no instalment for this long (beyond the promised time) is NACKed
 * @param maxNackRounds NACKs per batch before its missing chunks are fetched elsewhere
 * @param retryBackoffMs wait before re-asking for a range whose batch failed
 * @param pullSync whether this node pulls (downstream side; a light node or a test may turn it off — it still
 *     serves as an upstream)
 */
public record ContentConfig(BandwidthScheduler.Limits bandwidth, int neighbourhoodSize, int maxHops, long hopTimeoutMs,
                            int maxAttempts, long syncIntervalMs, boolean syncOwnBin, long nackAfterMs, int maxNackRounds,
                            long retryBackoffMs, boolean pullSync) {
    public ContentConfig {
        if (neighbourhoodSize < 1) throw new IllegalArgumentException("neighbourhoodSize must be >= 1");
        if (maxHops < 1 || maxHops > ContentCodec.MAX_HOPS) throw new IllegalArgumentException("maxHops must be in 1.." + ContentCodec.MAX_HOPS);
        if (hopTimeoutMs < 1 || maxAttempts < 1 || syncIntervalMs < 1 || nackAfterMs < 1 || maxNackRounds < 0 || retryBackoffMs < 1) {
            throw new IllegalArgumentException("times, attempts must be positive: " + this);
        }
    }

    /** Unlimited bandwidth, neighbourhood 4, 8 hops, 1 s per hop, 3 attempts, 1 s sync interval, neighbours only. */
    public static ContentConfig defaults() {
        return new ContentConfig(BandwidthScheduler.Limits.unlimited(), 4, 8, 1000, 3, 1000, false, 2000, 3, 5000, true);
    }

    public ContentConfig withBandwidth(BandwidthScheduler.Limits b) {
        return new ContentConfig(b, neighbourhoodSize, maxHops, hopTimeoutMs, maxAttempts, syncIntervalMs, syncOwnBin, nackAfterMs, maxNackRounds, retryBackoffMs, pullSync);
    }

    public ContentConfig withPullSync(boolean on) {
        return new ContentConfig(bandwidth, neighbourhoodSize, maxHops, hopTimeoutMs, maxAttempts, syncIntervalMs, syncOwnBin, nackAfterMs, maxNackRounds, retryBackoffMs, on);
    }

    public ContentConfig withSyncOwnBin(boolean v) {
        return new ContentConfig(bandwidth, neighbourhoodSize, maxHops, hopTimeoutMs, maxAttempts, syncIntervalMs, v, nackAfterMs, maxNackRounds, retryBackoffMs, pullSync);
    }

    public ContentConfig withNack(long afterMs, int rounds) {
        return new ContentConfig(bandwidth, neighbourhoodSize, maxHops, hopTimeoutMs, maxAttempts, syncIntervalMs, syncOwnBin, afterMs, rounds, retryBackoffMs, pullSync);
    }

    public ContentConfig withHopTimeoutMs(long ms) {
        return new ContentConfig(bandwidth, neighbourhoodSize, maxHops, ms, maxAttempts, syncIntervalMs, syncOwnBin, nackAfterMs, maxNackRounds, retryBackoffMs, pullSync);
    }

    public ContentConfig withNeighbourhoodSize(int n) {
        return new ContentConfig(bandwidth, n, maxHops, hopTimeoutMs, maxAttempts, syncIntervalMs, syncOwnBin, nackAfterMs, maxNackRounds, retryBackoffMs, pullSync);
    }
}
