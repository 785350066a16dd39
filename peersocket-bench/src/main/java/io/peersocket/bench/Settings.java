package io.peersocket.bench;

/**
 * What one benchmark run does.
 *
 * @param warmupMs time each request/reply and bulk measurement runs before it starts counting, ms
 * @param durationMs time each request/reply measurement counts for, and the least time a bulk transfer
 *     counts for, ms
 * @param payloadBytes request and reply size, bytes (64)
 * @param depth outstanding requests in the concurrent request/reply variant (16)
 * @param bulkBytes bytes the receiver must get (after warm-up) before a bulk measurement may end
 * @param chunkBytes size of each bulk write, bytes (64 KiB)
 * @param writeWindow bulk writes in flight at once (futures not yet completed)
 * @param connects timed connection set-ups per stack
 * @param connectWarmup untimed connection set-ups before those
 * @param repeat runs of each request/reply and bulk measurement, each on fresh connections; the median is
 *     reported with the range
 */
public record Settings(long warmupMs, long durationMs, int payloadBytes, int depth, long bulkBytes, int chunkBytes,
                       int writeWindow, int connects, int connectWarmup, int repeat) {

    /** Full run: 3 s warm-up, 10 s per measurement, 3 runs each, 256 MiB bulk, 50 connects. */
    public static Settings full() {
        return new Settings(3_000, 10_000, 64, 16, 256L << 20, 64 << 10, 16, 50, 10, 3);
    }

    /** Quick run: 0.5 s warm-up, 2 s per measurement, 1 run each, 32 MiB bulk, 20 connects. */
    public static Settings quick() {
        return new Settings(500, 2_000, 64, 16, 32L << 20, 64 << 10, 16, 20, 5, 1);
    }

    public Settings withDurationMs(long ms) {
        return new Settings(warmupMs, ms, payloadBytes, depth, bulkBytes, chunkBytes, writeWindow, connects,
                connectWarmup, repeat);
    }

    public Settings withWarmupMs(long ms) {
        return new Settings(ms, durationMs, payloadBytes, depth, bulkBytes, chunkBytes, writeWindow, connects,
                connectWarmup, repeat);
    }

    public Settings withBulkBytes(long bytes) {
        return new Settings(warmupMs, durationMs, payloadBytes, depth, bytes, chunkBytes, writeWindow, connects,
                connectWarmup, repeat);
    }

    public Settings withConnects(int n) {
        return new Settings(warmupMs, durationMs, payloadBytes, depth, bulkBytes, chunkBytes, writeWindow, n,
                connectWarmup, repeat);
    }

    public Settings withRepeat(int n) {
        return new Settings(warmupMs, durationMs, payloadBytes, depth, bulkBytes, chunkBytes, writeWindow, connects,
                connectWarmup, n);
    }

    /** A bulk transfer that has not reached {@link #bulkBytes} after this long stops anyway, ms. */
    public long bulkCapMs() { return Math.max(4 * durationMs, 30_000); }
}
