package io.peersocket.bench;

import java.util.Arrays;

/**
 * Collects the latency of request/reply round trips in a measurement window that starts after a warm-up.
 * Only round trips that start after the warm-up and end before the window closes count. Thread-safe.
 */
public final class Recorder {
    private final long measureStart;
    private final long measureEnd;
    private long[] samples = new long[1 << 16];
    private int count;
    private long cpuStart = -1;
    private long cpuStartAt;
    private long cpuEnd = -1;
    private long cpuEndAt;

    /** Starts the clock now: warm-up for {@code warmupMs}, then count for {@code durationMs}. */
    public Recorder(long warmupMs, long durationMs) {
        long now = System.nanoTime();
        this.measureStart = now + warmupMs * 1_000_000L;
        this.measureEnd = measureStart + durationMs * 1_000_000L;
    }

    /**
     * Records one round trip.
     *
     * @param startNs {@link System#nanoTime()} when the request was sent
     * @param endNs {@link System#nanoTime()} when the reply arrived
     * @return false once the window has closed: the caller stops sending
     */
    public synchronized boolean record(long startNs, long endNs) {
        if (endNs - measureEnd >= 0) {
            if (cpuEnd < 0 && cpuStart >= 0) {
                cpuEnd = Cpu.processNs();
                cpuEndAt = System.nanoTime();
            }
            return false;
        }
        if (cpuStart < 0 && endNs - measureStart >= 0) {
            cpuStart = Cpu.processNs();
            cpuStartAt = System.nanoTime();
        }
        if (startNs - measureStart >= 0) {
            if (count == samples.length) samples = Arrays.copyOf(samples, count * 2);
            samples[count++] = endNs - startNs;
        }
        return true;
    }

    /** True once the window has closed. */
    public boolean isOver() { return System.nanoTime() - measureEnd >= 0; }

    /** Time until the window closes plus {@code graceMs}, for bounding waits, ms. */
    public long remainingMs(long graceMs) {
        return Math.max(0, (measureEnd - System.nanoTime()) / 1_000_000L) + graceMs;
    }

    /** The result so far (call after the window closed). */
    public synchronized RrResult result(String name) {
        long[] s = Arrays.copyOf(samples, count);
        Arrays.sort(s);
        double seconds = (measureEnd - measureStart) / 1e9;
        return new RrResult(name, count, seconds, percentileUs(s, 0.50), percentileUs(s, 0.99),
                Cpu.cores(cpuStart, cpuEnd, cpuStartAt, cpuEndAt));
    }

    static double percentileUs(long[] sorted, double q) {
        if (sorted.length == 0) return Double.NaN;
        int i = (int) Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
        return sorted[i] / 1_000.0;
    }
}
