package io.peersocket.bench;

/**
 * Bulk transfer outcome.
 *
 * @param name what was measured
 * @param bytes bytes the receiver got after warm-up
 * @param seconds time the receiver took for them, s
 * @param capped true if the transfer was stopped by the time cap before reaching the target size
 * @param cpuCores CPU the whole process (both ends) used meanwhile, in cores; NaN if unknown
 */
public record BulkResult(String name, long bytes, double seconds, boolean capped, double cpuCores) {
    /** Process CPU time per MB moved (both ends), ms. */
    public double cpuMsPerMb() { return cpuCores * 1e3 / mbPerSecond(); }

    /** Throughput in MB/s (10^6 bytes per second). */
    public double mbPerSecond() { return bytes / seconds / 1e6; }
}
