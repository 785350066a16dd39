package io.peersocket.protocol.holepunch;

import java.util.List;

/**
 * Settings of hole punching (introduction and DCUtR).
 *
 * @param attempts tries per {@code connectDirect} / DCUtR upgrade (DCUtR: 3), 1..10
 * @param backoffMs wait before the second try, doubled for each later one, ms (0.5 s → 0.5, 1, 2 s)
 * @param dialTimeoutMs how long one try's direct dial may take, ms
 * @param requestTimeoutMs how long an introduction exchange (or one DCUtR message) may take, ms
 * @param punchBurstsMs when the punching side sends bursts, ms after the start; the spread covers lost bursts and
 *     a late dialer
 * @param packetsPerBurst datagrams per address per burst, 1..16
 * @param perPeerPerWindow introductions (served, or received as a target) per peer per window
 * @param globalPerWindow introductions in all per window
 * @param windowMs rate-limit window, ms
 */
public record HolePunchConfig(int attempts, long backoffMs, long dialTimeoutMs, long requestTimeoutMs,
        List<Long> punchBurstsMs, int packetsPerBurst, int perPeerPerWindow, int globalPerWindow, long windowMs) {

    public HolePunchConfig {
        if (attempts < 1 || attempts > 10) throw new IllegalArgumentException("attempts must be 1..10, got " + attempts);
        if (backoffMs < 0 || backoffMs > 60_000) throw new IllegalArgumentException("backoffMs must be 0..60000");
        if (dialTimeoutMs < 100) throw new IllegalArgumentException("dialTimeoutMs must be >= 100");
        if (requestTimeoutMs < 100) throw new IllegalArgumentException("requestTimeoutMs must be >= 100");
        punchBurstsMs = List.copyOf(punchBurstsMs);
        if (punchBurstsMs.isEmpty() || punchBurstsMs.size() > 32) throw new IllegalArgumentException("1..32 punch bursts");
        for (long d : punchBurstsMs) if (d < 0 || d > 30_000) throw new IllegalArgumentException("punch burst at " + d + " ms");
        if (packetsPerBurst < 1 || packetsPerBurst > 16) throw new IllegalArgumentException("packetsPerBurst must be 1..16");
        if (perPeerPerWindow < 1 || globalPerWindow < perPeerPerWindow) throw new IllegalArgumentException("bad rate limits");
        if (windowMs < 1) throw new IllegalArgumentException("windowMs must be >= 1");
    }

    /** 3 attempts, 0.5 s backoff, 5 s dial, 5 s request, bursts over 2 s, 2 packets each, 60/600 per 10 s. */
    public static HolePunchConfig defaults() {
        return new HolePunchConfig(3, 500, 5_000, 5_000, List.of(0L, 50L, 150L, 300L, 600L, 1_000L, 1_500L, 2_000L),
                2, 60, 600, 10_000);
    }

    public HolePunchConfig withAttempts(int n) {
        return new HolePunchConfig(n, backoffMs, dialTimeoutMs, requestTimeoutMs, punchBurstsMs, packetsPerBurst,
                perPeerPerWindow, globalPerWindow, windowMs);
    }

    public HolePunchConfig withDialTimeoutMs(long ms) {
        return new HolePunchConfig(attempts, backoffMs, ms, requestTimeoutMs, punchBurstsMs, packetsPerBurst,
                perPeerPerWindow, globalPerWindow, windowMs);
    }

    public HolePunchConfig withRateLimits(int perPeer, int global, long window) {
        return new HolePunchConfig(attempts, backoffMs, dialTimeoutMs, requestTimeoutMs, punchBurstsMs, packetsPerBurst,
                perPeer, global, window);
    }
}
