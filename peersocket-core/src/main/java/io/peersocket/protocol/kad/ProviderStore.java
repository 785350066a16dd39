package io.peersocket.protocol.kad;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Provider records: for each key, the peers that said they provide it, each expiring {@code ttl} ms after its
 * last announcement. Bounded to {@code maxKeys} keys and {@code maxPerKey} providers per key (a new provider
 * for a full key replaces the one expiring soonest). Event loop only.
 */
final class ProviderStore {
    /** One provider of a key; addresses as announced (at most {@link KadCodec#MAX_ADDRESSES_PER_PEER}). */
    record Provider(PeerId peer, List<Multiaddr> addresses, long expiresMs) {}

    private final int maxKeys;
    private final int maxPerKey;
    private final Map<ByteKey, LinkedHashMap<PeerId, Provider>> byKey = new HashMap<>();

    ProviderStore(int maxKeys, int maxPerKey) {
        this.maxKeys = maxKeys;
        this.maxPerKey = maxPerKey;
    }

    /** Records {@code peer} as a provider of {@code key}; false if the store is full of other keys. */
    boolean add(byte[] key, PeerId peer, List<Multiaddr> addresses, long nowMs, long ttlMs) {
        ByteKey k = new ByteKey(key.clone());
        LinkedHashMap<PeerId, Provider> ps = byKey.get(k);
        if (ps == null) {
            if (byKey.size() >= maxKeys) {
                sweep(nowMs);
                if (byKey.size() >= maxKeys) return false;
            }
            ps = new LinkedHashMap<>();
            byKey.put(k, ps);
        }
        List<Multiaddr> addrs = addresses.size() > KadCodec.MAX_ADDRESSES_PER_PEER
                ? addresses.subList(0, KadCodec.MAX_ADDRESSES_PER_PEER) : addresses;
        ps.remove(peer);
        if (ps.size() >= maxPerKey) {
            Provider soonest = null;
            for (Provider p : ps.values()) if (soonest == null || p.expiresMs < soonest.expiresMs) soonest = p;
            ps.remove(soonest.peer);
        }
        ps.put(peer, new Provider(peer, List.copyOf(addrs), RecordStore.saturatedAdd(nowMs, ttlMs)));
        return true;
    }

    /** Live providers of {@code key}, most recently announced last, at most {@code limit}. */
    List<Provider> get(byte[] key, long nowMs, int limit) {
        LinkedHashMap<PeerId, Provider> ps = byKey.get(new ByteKey(key));
        if (ps == null) return List.of();
        List<Provider> out = new ArrayList<>();
        for (Iterator<Provider> it = ps.values().iterator(); it.hasNext(); ) {
            Provider p = it.next();
            if (p.expiresMs <= nowMs) it.remove();
            else if (out.size() < limit) out.add(p);
        }
        if (ps.isEmpty()) byKey.remove(new ByteKey(key));
        return out;
    }

    /** Drops expired providers (and keys left without any); returns how many providers. */
    int sweep(long nowMs) {
        int n = 0;
        for (Iterator<LinkedHashMap<PeerId, Provider>> it = byKey.values().iterator(); it.hasNext(); ) {
            LinkedHashMap<PeerId, Provider> ps = it.next();
            int before = ps.size();
            ps.values().removeIf(p -> p.expiresMs <= nowMs);
            n += before - ps.size();
            if (ps.isEmpty()) it.remove();
        }
        return n;
    }

    int keyCount() { return byKey.size(); }
}
