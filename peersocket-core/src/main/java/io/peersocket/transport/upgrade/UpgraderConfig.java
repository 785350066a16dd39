package io.peersocket.transport.upgrade;

/**
 * Limits of {@link NoiseYamuxUpgrader} and its {@link YamuxConnection}s.
 *
 * @param maxStreams concurrent streams per connection in each direction; inbound ones beyond it are reset,
 *     outbound ones fail with {@code LIMIT} (default 256)
 * @param handshakeTimeoutMs the whole upgrade (multistream, Noise, multistream) must finish within this, else
 *     the future fails with {@code TIMEOUT} and the pipe is reset (default 10 000 ms)
 * @param writeHighWaterBytes bytes a stream may hold queued beyond the peer's window before
 *     {@link io.peersocket.transport.Stream#isWritable()} turns false (default 256 KiB)
 * @param maxDataFrameBytes largest Data frame payload this side sends, bytes (default 32 KiB; ≤ 256 KiB)
 */
public record UpgraderConfig(int maxStreams, long handshakeTimeoutMs, int writeHighWaterBytes, int maxDataFrameBytes) {

    /** The Yamux initial (and, here, constant) per-stream receive window, bytes (yamux spec). */
    public static final int INITIAL_WINDOW = 256 * 1024;

    public UpgraderConfig {
        if (maxStreams < 1) throw new IllegalArgumentException("maxStreams must be >= 1");
        if (handshakeTimeoutMs < 1) throw new IllegalArgumentException("handshakeTimeoutMs must be >= 1");
        if (writeHighWaterBytes < 1) throw new IllegalArgumentException("writeHighWaterBytes must be >= 1");
        if (maxDataFrameBytes < 1 || maxDataFrameBytes > INITIAL_WINDOW) {
            throw new IllegalArgumentException("maxDataFrameBytes must be in [1, " + INITIAL_WINDOW + "]");
        }
    }

    public static UpgraderConfig defaults() { return new UpgraderConfig(256, 10_000, 256 * 1024, 32 * 1024); }

    public UpgraderConfig withMaxStreams(int n) { return new UpgraderConfig(n, handshakeTimeoutMs, writeHighWaterBytes, maxDataFrameBytes); }

    public UpgraderConfig withHandshakeTimeoutMs(long ms) { return new UpgraderConfig(maxStreams, ms, writeHighWaterBytes, maxDataFrameBytes); }
}
