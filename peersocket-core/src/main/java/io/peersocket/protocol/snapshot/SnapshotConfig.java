package io.peersocket.protocol.snapshot;

/**
 * Snapshot limits and timeouts.
 *
 * @param defaultTimeoutMs how long an initiator waits for every report, ms (default 10 000)
 * @param maxTimeoutMs largest timeout accepted from a marker or a caller, ms (default 600 000)
 * @param maxReportBytes largest encoded report sent or accepted, bytes (default 1 MiB; at most the despatch
 *     message limit)
 * @param maxMessagesPerChannel messages recorded per channel; more are counted as dropped and make the channel
 *     incomplete (default 10 000)
 * @param maxChannels channels per node in a report (default 4 096)
 * @param resetMarginMs a channel that reset up to this long before the snapshot started (initiator's clock) is
 *     reported incomplete, covering clock skew between nodes, ms (default 5 000)
 */
public record SnapshotConfig(long defaultTimeoutMs, long maxTimeoutMs, int maxReportBytes, int maxMessagesPerChannel,
                             int maxChannels, long resetMarginMs) {
    public SnapshotConfig {
        if (defaultTimeoutMs < 1 || maxTimeoutMs < defaultTimeoutMs) {
            throw new IllegalArgumentException("need 1 <= defaultTimeoutMs <= maxTimeoutMs");
        }
        if (maxReportBytes < 1024) throw new IllegalArgumentException("maxReportBytes must be >= 1024");
        if (maxMessagesPerChannel < 1 || maxChannels < 1) throw new IllegalArgumentException("limits must be >= 1");
        if (resetMarginMs < 0) throw new IllegalArgumentException("resetMarginMs must be >= 0");
    }

    public static SnapshotConfig defaults() { return new SnapshotConfig(10_000, 600_000, 1 << 20, 10_000, 4096, 5_000); }

    public SnapshotConfig withMaxReportBytes(int bytes) {
        return new SnapshotConfig(defaultTimeoutMs, maxTimeoutMs, bytes, maxMessagesPerChannel, maxChannels, resetMarginMs);
    }

    public SnapshotConfig withMaxMessagesPerChannel(int n) {
        return new SnapshotConfig(defaultTimeoutMs, maxTimeoutMs, maxReportBytes, n, maxChannels, resetMarginMs);
    }
}
