package io.peersocket.protocol.kad;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Records this node stores for the DHT, in memory, each expiring {@code ttl} ms after it was put. At most
 * {@code maxRecords} keys; a put of a new key into a full store is refused. Event loop only.
 */
final class RecordStore {
    /** A stored record; times in event-loop ms. */
    record Stored(byte[] key, byte[] value, long receivedMs, long expiresMs) {}

    private final int maxRecords;
    private final Map<ByteKey, Stored> records = new HashMap<>();

    RecordStore(int maxRecords) { this.maxRecords = maxRecords; }

    /** The live record for {@code key}, or null (an expired one is dropped). */
    Stored get(byte[] key, long nowMs) {
        ByteKey k = new ByteKey(key);
        Stored s = records.get(k);
        if (s != null && s.expiresMs <= nowMs) {
            records.remove(k);
            return null;
        }
        return s;
    }

    /** Stores (or replaces) the record; false if the store is full and {@code key} is new. */
    boolean put(byte[] key, byte[] value, long nowMs, long ttlMs) {
        ByteKey k = new ByteKey(key.clone());
        if (!records.containsKey(k) && records.size() >= maxRecords) {
            sweep(nowMs);
            if (records.size() >= maxRecords) return false;
        }
        records.put(k, new Stored(k.bytes(), value.clone(), nowMs, saturatedAdd(nowMs, ttlMs)));
        return true;
    }

    /** Drops expired records; returns how many. */
    int sweep(long nowMs) {
        int n = 0;
        for (Iterator<Stored> it = records.values().iterator(); it.hasNext(); ) {
            if (it.next().expiresMs <= nowMs) {
                it.remove();
                n++;
            }
        }
        return n;
    }

    int size() { return records.size(); }

    static long saturatedAdd(long a, long b) {
        long r = a + b;
        return ((a ^ r) & (b ^ r)) < 0 ? Long.MAX_VALUE : r;
    }
}
