package io.peersocket.protocol.pubsub;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;

/** Message ids seen recently, with the time first seen; TTL and size bounded. Event loop only. */
final class SeenCache {
    private final long ttlMs;
    private final int max;
    private final LinkedHashMap<MessageId, Long> seen = new LinkedHashMap<>();

    SeenCache(long ttlMs, int max) {
        this.ttlMs = ttlMs;
        this.max = max;
    }

    /** Adds {@code id} first seen at {@code nowMs}; returns false if it was already there. */
    boolean add(MessageId id, long nowMs) {
        if (seen.putIfAbsent(id, nowMs) != null) return false;
        if (seen.size() > max) {
            Iterator<MessageId> it = seen.keySet().iterator();
            it.next();
            it.remove();
        }
        return true;
    }

    boolean contains(MessageId id) { return seen.containsKey(id); }

    /** When {@code id} was first seen, or -1. */
    long firstSeen(MessageId id) {
        Long t = seen.get(id);
        return t == null ? -1 : t;
    }

    /** Forgets ids older than the TTL. */
    void expire(long nowMs) {
        Iterator<Map.Entry<MessageId, Long>> it = seen.entrySet().iterator();
        while (it.hasNext()) {
            if (it.next().getValue() + ttlMs > nowMs) break;
            it.remove();
        }
    }

    int size() { return seen.size(); }
}
