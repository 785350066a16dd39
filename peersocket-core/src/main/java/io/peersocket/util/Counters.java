package io.peersocket.util;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Named monotonic counters (messages, bytes, drops by reason). Thread-safe; cheap to increment. Names are
 * dotted, e.g. {@code despatch.drop.unknown_reply}.
 */
public final class Counters {
    private final ConcurrentHashMap<String, LongAdder> counters = new ConcurrentHashMap<>();

    public void increment(String name) { add(name, 1); }

    public void add(String name, long delta) { counters.computeIfAbsent(name, k -> new LongAdder()).add(delta); }

    public long get(String name) {
        LongAdder a = counters.get(name);
        return a == null ? 0 : a.sum();
    }

    /** A sorted snapshot of all counters. */
    public Map<String, Long> snapshot() {
        Map<String, Long> m = new TreeMap<>();
        counters.forEach((k, v) -> m.put(k, v.sum()));
        return m;
    }
}
