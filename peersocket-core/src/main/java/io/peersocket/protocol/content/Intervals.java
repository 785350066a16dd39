package io.peersocket.protocol.content;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * The ranges of bin indices a downstream has covered from one upstream bin (seed 001: "the peer needs to persist a
 * record of an arbitrary array of offset ranges covered"): disjoint, non-adjacent closed ranges
 * {@code [start, end]} of positive indices, merged on insertion. Not thread-safe.
 */
public final class Intervals {
    private final TreeMap<Long, Long> ranges = new TreeMap<>(); // start -> end

    /** Empty. */
    public Intervals() {}

    /** From {@code [start, end]} pairs as stored ({@link #toArray}); bad pairs are skipped. */
    public static Intervals of(long[] flat) {
        Intervals iv = new Intervals();
        for (int i = 0; i + 1 < flat.length; i += 2) if (flat[i] >= 1 && flat[i + 1] >= flat[i]) iv.add(flat[i], flat[i + 1]);
        return iv;
    }

    /** Marks {@code [start, end]} covered (merging with overlapping or adjacent ranges); no-op if {@code end < start}. */
    public void add(long start, long end) {
        if (end < start) return;
        Map.Entry<Long, Long> below = ranges.floorEntry(start);
        if (below != null && below.getValue() >= start - 1) {
            start = below.getKey();
            end = Math.max(end, below.getValue());
            ranges.remove(below.getKey());
        }
        while (true) {
            Map.Entry<Long, Long> next = ranges.ceilingEntry(start);
            if (next == null || next.getKey() > end + 1) break;
            end = Math.max(end, next.getValue());
            ranges.remove(next.getKey());
        }
        ranges.put(start, end);
    }

    /** True if {@code i} is covered. */
    public boolean covers(long i) {
        Map.Entry<Long, Long> e = ranges.floorEntry(i);
        return e != null && e.getValue() >= i;
    }

    /** The first uncovered range within {@code [from, to]}, as {@code {start, end}}, or null if all is covered. */
    public long[] firstGap(long from, long to) {
        long cur = from;
        while (cur <= to) {
            Map.Entry<Long, Long> e = ranges.floorEntry(cur);
            if (e != null && e.getValue() >= cur) {
                cur = e.getValue() + 1;
                continue;
            }
            Map.Entry<Long, Long> next = ranges.higherEntry(cur);
            long end = next == null ? to : Math.min(to, next.getKey() - 1);
            return new long[] {cur, end};
        }
        return null;
    }

    /** The end of the range covering 1, i.e. everything in {@code [1, n]} is covered; 0 if 1 is not covered. */
    public long contiguousEnd() {
        Map.Entry<Long, Long> e = ranges.firstEntry();
        return e != null && e.getKey() == 1 ? e.getValue() : 0;
    }

    /** Highest covered index, 0 if none. */
    public long last() { return ranges.isEmpty() ? 0 : ranges.lastEntry().getValue(); }

    /** Number of ranges. */
    public int size() { return ranges.size(); }

    /** {@code [start0, end0, start1, end1, …]} in order. */
    public long[] toArray() {
        long[] a = new long[ranges.size() * 2];
        int i = 0;
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            a[i++] = e.getKey();
            a[i++] = e.getValue();
        }
        return a;
    }

    /** The ranges as {@code {start, end}} pairs. */
    public List<long[]> list() {
        List<long[]> l = new ArrayList<>();
        for (Map.Entry<Long, Long> e : ranges.entrySet()) l.add(new long[] {e.getKey(), e.getValue()});
        return l;
    }

    @Override public String toString() {
        StringBuilder sb = new StringBuilder("[");
        for (Map.Entry<Long, Long> e : ranges.entrySet()) {
            if (sb.length() > 1) sb.append(", ");
            sb.append(e.getKey()).append('-').append(e.getValue());
        }
        return sb.append(']').toString();
    }
}
