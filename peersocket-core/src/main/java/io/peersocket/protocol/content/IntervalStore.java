package io.peersocket.protocol.content;

import io.peersocket.identity.PeerId;
import io.peersocket.store.Store;
import io.peersocket.util.Varint;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;

/**
 * Where a downstream keeps the {@link Intervals} it has covered per upstream peer and bin, so pull sync resumes
 * after a disconnect or restart exactly where it left off (seed 001 "syncing should be resilient to cut
 * connections … historical syncing state should survive restart").
 *
 * <p>{@link #sqlite} keeps them in the node's store, table {@code sync_intervals} (schema migration
 * "pull sync intervals"): one row per {@code (peer_id, bin)} whose {@code ranges} blob is the varints
 * {@code start0, end0 - start0, start1 - end0, end1 - start1, …}. {@link #memory} keeps them in a map (ephemeral
 * nodes; a simulation may keep one across a node's restarts).
 *
 * <p>Futures may complete on any thread. {@link #save} calls of one store are applied in call order.
 */
public interface IntervalStore {
    /** Largest number of ranges kept per (peer, bin); more are merged by dropping the smallest gaps' detail. */
    int MAX_RANGES = 4096;

    /** The covered intervals of {@code upstream}'s {@code bin} (empty if none). */
    CompletableFuture<Intervals> load(PeerId upstream, int bin);

    /** Replaces the covered intervals of {@code upstream}'s {@code bin}. */
    CompletableFuture<Void> save(PeerId upstream, int bin, Intervals intervals);

    /** Every stored (upstream, bin) and its intervals, ordered by upstream then bin (for status and tools). */
    CompletableFuture<java.util.List<Entry>> all();

    /** One (upstream, bin)'s covered intervals. */
    record Entry(PeerId upstream, int bin, Intervals intervals) {}

    /** An in-memory store (thread-safe). */
    static IntervalStore memory() {
        return new IntervalStore() {
            private final Map<String, long[]> map = new HashMap<>();
            private final Map<String, Entry> keys = new java.util.TreeMap<>();

            @Override public synchronized CompletableFuture<Intervals> load(PeerId upstream, int bin) {
                long[] a = map.get(upstream + "/" + bin);
                return CompletableFuture.completedFuture(a == null ? new Intervals() : Intervals.of(a));
            }

            @Override public synchronized CompletableFuture<Void> save(PeerId upstream, int bin, Intervals intervals) {
                map.put(upstream + "/" + bin, intervals.toArray());
                keys.put(upstream + "/" + String.format("%03d", bin), new Entry(upstream, bin, null));
                return CompletableFuture.completedFuture(null);
            }

            @Override public synchronized CompletableFuture<java.util.List<Entry>> all() {
                return CompletableFuture.completedFuture(keys.values().stream()
                        .map(e -> new Entry(e.upstream(), e.bin(), Intervals.of(map.get(e.upstream() + "/" + e.bin()))))
                        .toList());
            }
        };
    }

    /** Intervals in {@code store}'s {@code sync_intervals} table. */
    static IntervalStore sqlite(Store store) {
        return new IntervalStore() {
            @Override public CompletableFuture<Intervals> load(PeerId upstream, int bin) {
                String peer = upstream.toString();
                return store.read("sync.intervals.load", db -> {
                    PreparedStatement ps = db.prepare("SELECT ranges FROM sync_intervals WHERE peer_id = ? AND bin = ?");
                    ps.setString(1, peer);
                    ps.setInt(2, bin);
                    try (ResultSet rs = ps.executeQuery()) {
                        return rs.next() ? decode(rs.getBytes(1)) : new Intervals();
                    }
                });
            }

            @Override public CompletableFuture<Void> save(PeerId upstream, int bin, Intervals intervals) {
                String peer = upstream.toString();
                byte[] blob = encode(intervals);
                return store.write("sync.intervals.save", db -> {
                    db.update("INSERT INTO sync_intervals (peer_id, bin, ranges, updated) VALUES (?, ?, ?, strftime('%s','now')) "
                            + "ON CONFLICT (peer_id, bin) DO UPDATE SET ranges = excluded.ranges, updated = excluded.updated",
                            peer, bin, blob);
                    return null;
                });
            }

            @Override public CompletableFuture<java.util.List<Entry>> all() {
                return store.read("sync.intervals.all", db -> {
                    java.util.List<Entry> out = new java.util.ArrayList<>();
                    try (ResultSet rs = db.prepare("SELECT peer_id, bin, ranges FROM sync_intervals ORDER BY peer_id, bin")
                            .executeQuery()) {
                        while (rs.next()) out.add(new Entry(PeerId.parse(rs.getString(1)), rs.getInt(2), decode(rs.getBytes(3))));
                    }
                    return out;
                });
            }
        };
    }

    /** The blob form of {@code iv} (see the class doc). */
    static byte[] encode(Intervals iv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long prev = 0;
        long[] a = iv.toArray();
        for (int i = 0; i < a.length && i < 2 * MAX_RANGES; i++) {
            out.writeBytes(Varint.encode(a[i] - prev));
            prev = a[i];
        }
        return out.toByteArray();
    }

    /** Decodes a blob; stops at the first malformed or non-increasing value (a damaged row loses its tail only). */
    static Intervals decode(byte[] blob) {
        ByteBuffer in = ByteBuffer.wrap(blob);
        Intervals iv = new Intervals();
        long prev = 0;
        int n = 0;
        try {
            while (in.hasRemaining() && n < MAX_RANGES) {
                long d1 = Varint.read(in);
                if (d1 < 0) break;
                long d2 = Varint.read(in);
                if (d2 < 0) break;
                long s = prev + d1, e = s + d2;
                if (s < 1 || e < s || s < prev) break;
                iv.add(s, e);
                prev = e;
                n++;
            }
        } catch (IllegalArgumentException ignored) {
            // keep what decoded
        }
        return iv;
    }
}
