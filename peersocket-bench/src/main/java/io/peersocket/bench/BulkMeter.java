package io.peersocket.bench;

/**
 * Counts bytes on the receiving side of a bulk transfer. Bytes in the first {@code warmupMs} do not count;
 * after that the meter is done once it counted {@link Settings#bulkBytes()} and at least
 * {@link Settings#durationMs()} passed, or {@link Settings#bulkCapMs()} passed. Confined to the receiving
 * thread until {@link #isDone()}; {@link #result} may then be read from any thread.
 */
public final class BulkMeter {
    private final Settings settings;
    private final long warmEnd;
    private long measureStart;
    private long cpuStart;
    private long measured;
    private volatile boolean done;
    private volatile BulkResult result;
    private final String name;

    /** Starts the warm-up clock now. */
    public BulkMeter(String name, Settings settings) {
        this.name = name;
        this.settings = settings;
        this.warmEnd = System.nanoTime() + settings.warmupMs() * 1_000_000L;
    }

    /**
     * Counts {@code n} received bytes.
     *
     * @return true the first time the measurement is complete
     */
    public boolean onBytes(int n) {
        if (done) return false;
        long now = System.nanoTime();
        if (measureStart == 0) {
            if (now - warmEnd < 0) return false;
            measureStart = now;
            cpuStart = Cpu.processNs();
            return false; // this read straddles the boundary; count from the next one
        }
        measured += n;
        long elapsedMs = (now - measureStart) / 1_000_000L;
        boolean enough = measured >= settings.bulkBytes() && elapsedMs >= settings.durationMs();
        boolean capped = !enough && elapsedMs >= settings.bulkCapMs();
        if (enough || capped) {
            result = new BulkResult(name, measured, (now - measureStart) / 1e9, capped,
                    Cpu.cores(cpuStart, Cpu.processNs(), measureStart, now));
            done = true;
            return true;
        }
        return false;
    }

    /** True once the measurement is complete; the sender should stop. */
    public boolean isDone() { return done; }

    public BulkResult result() { return result; }
}
