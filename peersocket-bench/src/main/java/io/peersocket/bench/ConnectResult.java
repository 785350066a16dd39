package io.peersocket.bench;

import java.util.Arrays;

/**
 * Connection set-up outcome.
 *
 * @param name what was measured
 * @param samplesNs each timed set-up, ns
 */
public record ConnectResult(String name, long[] samplesNs) {
    public double meanMs() { return Arrays.stream(samplesNs).average().orElse(Double.NaN) / 1e6; }

    public double p50Ms() { return percentileMs(0.50); }

    public double p99Ms() { return percentileMs(0.99); }

    private double percentileMs(double q) {
        long[] s = samplesNs.clone();
        Arrays.sort(s);
        return Recorder.percentileUs(s, q) / 1_000.0;
    }
}
