package io.peersocket.sim;

import io.peersocket.identity.PeerId;
import io.peersocket.transport.memory.LinkModel;
import io.peersocket.transport.memory.MemoryNetwork.LinkConditions;
import java.util.SplittableRandom;

/**
 * A seeded latency and loss model: each pair of peers gets a fixed one-way latency of {@code baseMs} plus a
 * jitter drawn uniformly from {@code 0 … pairJitterMs}, derived from the seed and the pair alone (symmetric,
 * independent of event order, no per-pair state); each send may add up to {@code messageJitterMs} more, drawn
 * from a random source seeded with the seed, in send order (a connection still delivers in send order: a message
 * never overtakes an earlier one). Datagrams are lost at {@code lossRate}; streams never lose data. Every peer is
 * reachable.
 *
 * <p>Optionally each peer has an uplink of {@code uplinkBytesPerSecond} shared by all its connections: a stream
 * write of n bytes leaves the sender after its earlier writes have, taking n / rate seconds to serialize, then
 * travels the pair latency (a FIFO access link; the receiving side is not limited). Sub-millisecond serialization
 * is tracked in ns and the delay rounded down to whole ms per write, so the order and the average are kept.
 *
 * <p>With one simulation thread the same seed gives the same latencies. Not thread-safe when
 * {@code messageJitterMs > 0} (the simulator calls it from its one thread, under the network lock).
 */
public final class SeededLinkModel implements LinkModel {
    private final long seed;
    private final long baseMs;
    private final long pairJitterMs;
    private final long messageJitterMs;
    private final double lossRate;
    private final SplittableRandom messageJitter;
    private final long uplinkBytesPerSecond;
    private final java.util.Map<PeerId, Long> uplinkFreeAtNanos = new java.util.HashMap<>();

    /**
     * @param seed seeds the pair latencies and the per-message jitter
     * @param baseMs smallest one-way latency, ms (≥ 0)
     * @param pairJitterMs spread of the per-pair latency above {@code baseMs}, ms (≥ 0)
     * @param messageJitterMs spread of extra per-send delay, ms (≥ 0; 0 for a fixed latency per pair)
     * @param lossRate datagram loss, 0 … 1
     * @throws IllegalArgumentException for a negative latency or a loss rate outside 0 … 1
     */
    public SeededLinkModel(long seed, long baseMs, long pairJitterMs, long messageJitterMs, double lossRate) {
        this(seed, baseMs, pairJitterMs, messageJitterMs, lossRate, 0);
    }

    /**
     * As {@link #SeededLinkModel(long, long, long, long, double)} with each peer's uplink limited to
     * {@code uplinkBytesPerSecond} (0: unlimited).
     *
     * @throws IllegalArgumentException also for a negative rate
     */
    public SeededLinkModel(long seed, long baseMs, long pairJitterMs, long messageJitterMs, double lossRate,
                           long uplinkBytesPerSecond) {
        if (uplinkBytesPerSecond < 0) throw new IllegalArgumentException("uplink rate must be >= 0, got " + uplinkBytesPerSecond);
        this.uplinkBytesPerSecond = uplinkBytesPerSecond;
        if (baseMs < 0 || pairJitterMs < 0 || messageJitterMs < 0) {
            throw new IllegalArgumentException("latencies must be >= 0: base " + baseMs + ", pair jitter "
                    + pairJitterMs + ", message jitter " + messageJitterMs);
        }
        if (!(lossRate >= 0.0 && lossRate <= 1.0)) {
            throw new IllegalArgumentException("lossRate must be in [0, 1], got " + lossRate);
        }
        this.seed = seed;
        this.baseMs = baseMs;
        this.pairJitterMs = pairJitterMs;
        this.messageJitterMs = messageJitterMs;
        this.lossRate = lossRate;
        this.messageJitter = new SplittableRandom(mix(seed ^ 0x6A09E667F3BCC908L));
    }

    /** Per-pair latency {@code baseMs + U[0, pairJitterMs]}, no per-message jitter, no loss. */
    public SeededLinkModel(long seed, long baseMs, long pairJitterMs) { this(seed, baseMs, pairJitterMs, 0, 0.0); }

    @Override public LinkConditions conditions(PeerId from, PeerId to) {
        long latency = pairLatencyMs(from, to);
        if (messageJitterMs > 0) latency += messageJitter.nextLong(messageJitterMs + 1);
        return new LinkConditions(latency, lossRate);
    }

    @Override public LinkConditions conditions(PeerId from, PeerId to, int bytes, long nowNanos) {
        LinkConditions c = conditions(from, to);
        if (uplinkBytesPerSecond == 0 || bytes <= 0) return c;
        long start = Math.max(nowNanos, uplinkFreeAtNanos.getOrDefault(from, Long.MIN_VALUE));
        long done = start + Math.max(1, bytes * 1_000_000_000L / uplinkBytesPerSecond);
        uplinkFreeAtNanos.put(from, done);
        return new LinkConditions(c.latencyMs() + (done - nowNanos) / 1_000_000L, c.lossRate());
    }

    /** Each peer's uplink rate, bytes per second (0: unlimited). */
    public long uplinkBytesPerSecond() { return uplinkBytesPerSecond; }

    /** The fixed part of the one-way latency between {@code a} and {@code b} (symmetric), ms. */
    public long pairLatencyMs(PeerId a, PeerId b) {
        if (pairJitterMs == 0) return baseMs;
        int ha = a.hashCode(), hb = b.hashCode();
        long lo = Math.min(ha, hb), hi = Math.max(ha, hb);
        long h = mix(seed ^ mix(lo * 0x9E3779B97F4A7C15L + hi));
        return baseMs + Long.remainderUnsigned(h, pairJitterMs + 1);
    }

    public long seed() { return seed; }

    public long baseMs() { return baseMs; }

    public long pairJitterMs() { return pairJitterMs; }

    public long messageJitterMs() { return messageJitterMs; }

    public double lossRate() { return lossRate; }

    @Override public String toString() {
        return "SeededLinkModel[seed=" + seed + ", latency " + baseMs + "+U[0," + pairJitterMs + "] ms"
                + (messageJitterMs > 0 ? " +U[0," + messageJitterMs + "] ms per message" : "")
                + ", loss " + lossRate + (uplinkBytesPerSecond > 0 ? ", uplink " + uplinkBytesPerSecond + " B/s" : "") + "]";
    }

    /** SplitMix64's finaliser. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
