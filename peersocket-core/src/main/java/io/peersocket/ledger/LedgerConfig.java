package io.peersocket.ledger;

/**
 * Ledger settings.
 *
 * @param chain chain name, 1..32 characters {@code a-z 0-9 . _ -}; nodes only talk ledger with nodes of the same chain
 * @param minPeers the connector leaves CONNECTING once this many ledger peers are connected (seed 003: 3)
 * @param finality deepest reorg accepted, blocks: a better chain whose fork point is more than this many blocks
 *     below our tip is rejected and its sender scored down (≥ 1)
 * @param produceMs produce a block this often, ms, when in normal mode; 0 = never produce
 * @param cycleMs connector state-machine step interval, ms (≥ 10)
 * @param sampleMs in SAMPLING, ask one random peer for its info this often, ms (≥ 10)
 * @param heartbeatMs publish a heartbeat (our height and tip) this often, ms; 0 = none
 * @param maxClockSkewMs a block stamped more than this far in our future is invalid, ms
 * @param banMs how long a peer scored to the ban threshold is ignored, ms
 * @param requestTimeoutMs timeout of each ledger RPC, ms
 */
public record LedgerConfig(String chain, int minPeers, int finality, long produceMs, long cycleMs, long sampleMs,
                           long heartbeatMs, long maxClockSkewMs, long banMs, long requestTimeoutMs) {
    /** Longest chain name, bytes. */
    public static final int MAX_CHAIN_BYTES = 32;

    public LedgerConfig {
        checkChain(chain);
        if (minPeers < 0 || minPeers > 64) throw new IllegalArgumentException("minPeers must be 0..64");
        if (finality < 1) throw new IllegalArgumentException("finality must be >= 1");
        if (produceMs < 0 || cycleMs < 10 || sampleMs < 10 || heartbeatMs < 0 || maxClockSkewMs < 0 || banMs < 0 || requestTimeoutMs < 1) {
            throw new IllegalArgumentException("bad ledger timing settings");
        }
    }

    /** Defaults for {@code chain}: 3 peers, finality 100, no production, 1 s cycle, 2 s sampling, 5 s heartbeat. */
    public static LedgerConfig defaults(String chain) {
        return new LedgerConfig(chain, 3, 100, 0, 1000, 2000, 5000, 60_000, 60_000, 5000);
    }

    public LedgerConfig withMinPeers(int n) { return new LedgerConfig(chain, n, finality, produceMs, cycleMs, sampleMs, heartbeatMs, maxClockSkewMs, banMs, requestTimeoutMs); }

    public LedgerConfig withFinality(int f) { return new LedgerConfig(chain, minPeers, f, produceMs, cycleMs, sampleMs, heartbeatMs, maxClockSkewMs, banMs, requestTimeoutMs); }

    public LedgerConfig withProduceMs(long ms) { return new LedgerConfig(chain, minPeers, finality, ms, cycleMs, sampleMs, heartbeatMs, maxClockSkewMs, banMs, requestTimeoutMs); }

    public LedgerConfig withCycleMs(long ms) { return new LedgerConfig(chain, minPeers, finality, produceMs, ms, sampleMs, heartbeatMs, maxClockSkewMs, banMs, requestTimeoutMs); }

    public LedgerConfig withSampleMs(long ms) { return new LedgerConfig(chain, minPeers, finality, produceMs, cycleMs, ms, heartbeatMs, maxClockSkewMs, banMs, requestTimeoutMs); }

    public LedgerConfig withHeartbeatMs(long ms) { return new LedgerConfig(chain, minPeers, finality, produceMs, cycleMs, sampleMs, ms, maxClockSkewMs, banMs, requestTimeoutMs); }

    public LedgerConfig withBanMs(long ms) { return new LedgerConfig(chain, minPeers, finality, produceMs, cycleMs, sampleMs, heartbeatMs, maxClockSkewMs, ms, requestTimeoutMs); }

    static boolean validChain(String chain) {
        return chain != null && !chain.isEmpty() && chain.length() <= MAX_CHAIN_BYTES && chain.matches("[a-z0-9._-]+");
    }

    static void checkChain(String chain) {
        if (!validChain(chain)) throw new IllegalArgumentException("chain must be 1.." + MAX_CHAIN_BYTES + " characters a-z 0-9 . _ -, got " + chain);
    }
}
