package io.peersocket.protocol.kad;

import java.util.Objects;

/**
 * Settings of {@link Kademlia}, its {@link RoutingTable} and {@link KadConnectionManager}. Immutable; build
 * with {@link #builder()} or start from {@link #defaults()}. All durations are in milliseconds of the node's
 * event-loop clock.
 *
 * <p>Defaults follow the libp2p kad-dht spec and go-libp2p-kad-dht: k = 20, α = 3, records kept 36 h,
 * provider records 48 h and republished every 22 h, 10 s per request; and seed 001 for the table's
 * neighbourhood size (4) and bin saturation (2 connected peers).
 */
public final class KadConfig {
    /** Whether the node answers queries (server) or only asks (client). */
    public enum Mode {
        /** Serves {@code /ipfs/kad/1.0.0}: others add us to their tables and query us. */
        SERVER,
        /** Does not register the protocol; can query but is never in others' tables. */
        CLIENT
    }

    private final int k;
    private final int alpha;
    private final Mode mode;
    private final long recordTtlMs;
    private final long providerTtlMs;
    private final long recordRepublishMs;
    private final long providerRepublishMs;
    private final long requestTimeoutMs;
    private final long lookupTimeoutMs;
    private final double inboundRequestsPerSecond;
    private final int inboundBurst;
    private final long refreshIntervalMs;
    private final long cleanupIntervalMs;
    private final int neighbourhoodSize;
    private final int minBinSize;
    private final int replacementCacheSize;
    private final int candidateCacheSize;
    private final int failuresBeforeEviction;
    private final int maxRecords;
    private final int maxProviderKeys;
    private final int maxProvidersPerKey;
    private final long connectionManagerIntervalMs;
    private final int dialsPerTick;
    private final long backoffBaseMs;
    private final long backoffMaxMs;
    private final int maxDialRetries;
    private final int maxConnectedPerBin;
    private final long seed;

    private KadConfig(Builder b) {
        this.k = b.k;
        this.alpha = b.alpha;
        this.mode = b.mode;
        this.recordTtlMs = b.recordTtlMs;
        this.providerTtlMs = b.providerTtlMs;
        this.recordRepublishMs = b.recordRepublishMs;
        this.providerRepublishMs = b.providerRepublishMs;
        this.requestTimeoutMs = b.requestTimeoutMs;
        this.lookupTimeoutMs = b.lookupTimeoutMs;
        this.inboundRequestsPerSecond = b.inboundRequestsPerSecond;
        this.inboundBurst = b.inboundBurst;
        this.refreshIntervalMs = b.refreshIntervalMs;
        this.cleanupIntervalMs = b.cleanupIntervalMs;
        this.neighbourhoodSize = b.neighbourhoodSize;
        this.minBinSize = b.minBinSize;
        this.replacementCacheSize = b.replacementCacheSize < 0 ? b.k : b.replacementCacheSize;
        this.candidateCacheSize = b.candidateCacheSize < 0 ? 2 * b.k : b.candidateCacheSize;
        this.failuresBeforeEviction = b.failuresBeforeEviction;
        this.maxRecords = b.maxRecords;
        this.maxProviderKeys = b.maxProviderKeys;
        this.maxProvidersPerKey = b.maxProvidersPerKey;
        this.connectionManagerIntervalMs = b.connectionManagerIntervalMs;
        this.dialsPerTick = b.dialsPerTick;
        this.backoffBaseMs = b.backoffBaseMs;
        this.backoffMaxMs = b.backoffMaxMs;
        this.maxDialRetries = b.maxDialRetries;
        this.maxConnectedPerBin = b.maxConnectedPerBin < 0 ? b.k : b.maxConnectedPerBin;
        this.seed = b.seed;
    }

    /** The defaults (see the class comment). */
    public static KadConfig defaults() { return builder().build(); }

    public static Builder builder() { return new Builder(); }

    /** A builder starting from this config's values. */
    public Builder toBuilder() {
        Builder b = new Builder();
        b.k = k;
        b.alpha = alpha;
        b.mode = mode;
        b.recordTtlMs = recordTtlMs;
        b.providerTtlMs = providerTtlMs;
        b.recordRepublishMs = recordRepublishMs;
        b.providerRepublishMs = providerRepublishMs;
        b.requestTimeoutMs = requestTimeoutMs;
        b.lookupTimeoutMs = lookupTimeoutMs;
        b.inboundRequestsPerSecond = inboundRequestsPerSecond;
        b.inboundBurst = inboundBurst;
        b.refreshIntervalMs = refreshIntervalMs;
        b.cleanupIntervalMs = cleanupIntervalMs;
        b.neighbourhoodSize = neighbourhoodSize;
        b.minBinSize = minBinSize;
        b.replacementCacheSize = replacementCacheSize;
        b.candidateCacheSize = candidateCacheSize;
        b.failuresBeforeEviction = failuresBeforeEviction;
        b.maxRecords = maxRecords;
        b.maxProviderKeys = maxProviderKeys;
        b.maxProvidersPerKey = maxProvidersPerKey;
        b.connectionManagerIntervalMs = connectionManagerIntervalMs;
        b.dialsPerTick = dialsPerTick;
        b.backoffBaseMs = backoffBaseMs;
        b.backoffMaxMs = backoffMaxMs;
        b.maxDialRetries = maxDialRetries;
        b.maxConnectedPerBin = maxConnectedPerBin;
        b.seed = seed;
        return b;
    }

    /** Bucket size and replication parameter k (default 20). */
    public int k() { return k; }

    /** Parallel requests per lookup, α (default 3). */
    public int alpha() { return alpha; }

    /** Server or client mode (default server). */
    public Mode mode() { return mode; }

    /** How long a stored record lives after it was put (default 36 h). */
    public long recordTtlMs() { return recordTtlMs; }

    /** How long a provider record lives after it was added (default 48 h). */
    public long providerTtlMs() { return providerTtlMs; }

    /** How often records this node put are put again (default 1 h; 0 = never). */
    public long recordRepublishMs() { return recordRepublishMs; }

    /** How often keys this node provides are announced again (default 22 h; 0 = never). */
    public long providerRepublishMs() { return providerRepublishMs; }

    /** Time for one request to be answered, including dialling (default 10 s). */
    public long requestTimeoutMs() { return requestTimeoutMs; }

    /** Time for a whole lookup; it then ends with what it has (default 60 s). */
    public long lookupTimeoutMs() { return lookupTimeoutMs; }

    /** Sustained inbound requests per second allowed per remote peer (default 20). */
    public double inboundRequestsPerSecond() { return inboundRequestsPerSecond; }

    /** Inbound requests a remote peer may send in a burst (default 100). */
    public int inboundBurst() { return inboundBurst; }

    /** How often the table is refreshed with a self-lookup (default 5 min; 0 = never). */
    public long refreshIntervalMs() { return refreshIntervalMs; }

    /** How often expired records and providers are swept (default 60 s). */
    public long cleanupIntervalMs() { return cleanupIntervalMs; }

    /** Connected peers the neighbourhood must hold to define depth (seed 001 MinProxBinSize; default 4). */
    public int neighbourhoodSize() { return neighbourhoodSize; }

    /** Connected peers that saturate a bin below depth (seed 001 MinBinSize; default 2). */
    public int minBinSize() { return minBinSize; }

    /** Replacement-cache entries per bin (default k). */
    public int replacementCacheSize() { return replacementCacheSize; }

    /** Unverified candidate peers remembered per bin (default 2k). */
    public int candidateCacheSize() { return candidateCacheSize; }

    /** Consecutive failed queries after which a peer leaves the table (default 1). */
    public int failuresBeforeEviction() { return failuresBeforeEviction; }

    /** Records stored for others at most (default 10 000). */
    public int maxRecords() { return maxRecords; }

    /** Keys with provider records at most (default 10 000). */
    public int maxProviderKeys() { return maxProviderKeys; }

    /** Providers kept per key at most (default 64). */
    public int maxProvidersPerKey() { return maxProvidersPerKey; }

    /** Period of {@link KadConnectionManager}'s tick (default 10 s). */
    public long connectionManagerIntervalMs() { return connectionManagerIntervalMs; }

    /** Dials the connection manager starts per tick at most (default 3). */
    public int dialsPerTick() { return dialsPerTick; }

    /** First retry delay after a failed dial; doubles per failure (default 1 s). */
    public long backoffBaseMs() { return backoffBaseMs; }

    /** Longest retry delay (default 5 min). */
    public long backoffMaxMs() { return backoffMaxMs; }

    /** Failed dials after which the connection manager forgets a peer (default 5). */
    public int maxDialRetries() { return maxDialRetries; }

    /** Connected peers kept in a bin below depth before the connection manager trims it (default k). */
    public int maxConnectedPerBin() { return maxConnectedPerBin; }

    /** Seed for random choices (refresh keys), mixed with the node's key; same seed, same run (default 0). */
    public long seed() { return seed; }

    @Override public String toString() {
        return "KadConfig(k=" + k + ", alpha=" + alpha + ", mode=" + mode + ", recordTtlMs=" + recordTtlMs
                + ", providerTtlMs=" + providerTtlMs + ", requestTimeoutMs=" + requestTimeoutMs
                + ", neighbourhoodSize=" + neighbourhoodSize + ", minBinSize=" + minBinSize + ")";
    }

    /** Builds a {@link KadConfig}; setters check their argument and throw {@link IllegalArgumentException}. */
    public static final class Builder {
        private int k = 20;
        private int alpha = 3;
        private Mode mode = Mode.SERVER;
        private long recordTtlMs = 36 * 3600_000L;
        private long providerTtlMs = 48 * 3600_000L;
        private long recordRepublishMs = 3600_000L;
        private long providerRepublishMs = 22 * 3600_000L;
        private long requestTimeoutMs = 10_000;
        private long lookupTimeoutMs = 60_000;
        private double inboundRequestsPerSecond = 20;
        private int inboundBurst = 100;
        private long refreshIntervalMs = 5 * 60_000L;
        private long cleanupIntervalMs = 60_000;
        private int neighbourhoodSize = 4;
        private int minBinSize = 2;
        private int replacementCacheSize = -1;
        private int candidateCacheSize = -1;
        private int failuresBeforeEviction = 1;
        private int maxRecords = 10_000;
        private int maxProviderKeys = 10_000;
        private int maxProvidersPerKey = 64;
        private long connectionManagerIntervalMs = 10_000;
        private int dialsPerTick = 3;
        private long backoffBaseMs = 1_000;
        private long backoffMaxMs = 5 * 60_000L;
        private int maxDialRetries = 5;
        private int maxConnectedPerBin = -1;
        private long seed;

        private Builder() {}

        public Builder k(int v) { k = atLeast(v, 1, "k"); return this; }

        public Builder alpha(int v) { alpha = atLeast(v, 1, "alpha"); return this; }

        public Builder mode(Mode v) { mode = Objects.requireNonNull(v); return this; }

        public Builder recordTtlMs(long v) { recordTtlMs = atLeast(v, 1, "recordTtlMs"); return this; }

        public Builder providerTtlMs(long v) { providerTtlMs = atLeast(v, 1, "providerTtlMs"); return this; }

        public Builder recordRepublishMs(long v) { recordRepublishMs = atLeast(v, 0, "recordRepublishMs"); return this; }

        public Builder providerRepublishMs(long v) { providerRepublishMs = atLeast(v, 0, "providerRepublishMs"); return this; }

        public Builder requestTimeoutMs(long v) { requestTimeoutMs = atLeast(v, 1, "requestTimeoutMs"); return this; }

        public Builder lookupTimeoutMs(long v) { lookupTimeoutMs = atLeast(v, 1, "lookupTimeoutMs"); return this; }

        public Builder inboundRateLimit(double perSecond, int burst) {
            if (!(perSecond > 0)) throw new IllegalArgumentException("inbound rate must be > 0, got " + perSecond);
            inboundRequestsPerSecond = perSecond;
            inboundBurst = atLeast(burst, 1, "inbound burst");
            return this;
        }

        public Builder refreshIntervalMs(long v) { refreshIntervalMs = atLeast(v, 0, "refreshIntervalMs"); return this; }

        public Builder cleanupIntervalMs(long v) { cleanupIntervalMs = atLeast(v, 1, "cleanupIntervalMs"); return this; }

        public Builder neighbourhoodSize(int v) { neighbourhoodSize = atLeast(v, 1, "neighbourhoodSize"); return this; }

        public Builder minBinSize(int v) { minBinSize = atLeast(v, 1, "minBinSize"); return this; }

        public Builder replacementCacheSize(int v) { replacementCacheSize = atLeast(v, 0, "replacementCacheSize"); return this; }

        public Builder candidateCacheSize(int v) { candidateCacheSize = atLeast(v, 0, "candidateCacheSize"); return this; }

        public Builder failuresBeforeEviction(int v) { failuresBeforeEviction = atLeast(v, 1, "failuresBeforeEviction"); return this; }

        public Builder maxRecords(int v) { maxRecords = atLeast(v, 0, "maxRecords"); return this; }

        public Builder maxProviderKeys(int v) { maxProviderKeys = atLeast(v, 0, "maxProviderKeys"); return this; }

        public Builder maxProvidersPerKey(int v) { maxProvidersPerKey = atLeast(v, 1, "maxProvidersPerKey"); return this; }

        public Builder connectionManagerIntervalMs(long v) { connectionManagerIntervalMs = atLeast(v, 1, "connectionManagerIntervalMs"); return this; }

        public Builder dialsPerTick(int v) { dialsPerTick = atLeast(v, 1, "dialsPerTick"); return this; }

        public Builder backoff(long baseMs, long maxMs, int maxRetries) {
            backoffBaseMs = atLeast(baseMs, 1, "backoff base");
            backoffMaxMs = atLeast(maxMs, baseMs, "backoff max");
            maxDialRetries = atLeast(maxRetries, 1, "max dial retries");
            return this;
        }

        public Builder maxConnectedPerBin(int v) { maxConnectedPerBin = atLeast(v, 1, "maxConnectedPerBin"); return this; }

        public Builder seed(long v) { seed = v; return this; }

        public KadConfig build() { return new KadConfig(this); }

        private static int atLeast(int v, int min, String what) {
            if (v < min) throw new IllegalArgumentException(what + " must be >= " + min + ", got " + v);
            return v;
        }

        private static long atLeast(long v, long min, String what) {
            if (v < min) throw new IllegalArgumentException(what + " must be >= " + min + ", got " + v);
            return v;
        }
    }
}
