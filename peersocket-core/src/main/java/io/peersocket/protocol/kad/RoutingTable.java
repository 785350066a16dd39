package io.peersocket.protocol.kad;

import io.peersocket.identity.PeerId;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;

/**
 * The Kademlia routing table in seed 001's (Swarm hive) terms: peers are kept in <em>bins</em> by their
 * proximity order (PO) to our own {@link KadKey}, 257 bins for PO 0..256.
 *
 * <p>Each bin has three tiers:
 * <ul>
 *   <li><b>members</b> — the k-bucket: at most {@code bucketSize} peers known to serve {@code /ipfs/kad/1.0.0},
 *       ordered least recently seen first. These answer {@link #closest} and so are what we tell others.
 *   <li><b>replacements</b> — the replacement cache: verified peers that arrived while the bucket was full,
 *       most recently seen last; the best one is promoted when a member is removed (least-recently-seen
 *       eviction: the owner checks {@link #leastRecentlySeen} and removes it if it no longer answers).
 *   <li><b>candidates</b> — peers we only heard of (closer peers in lookup responses), not yet verified;
 *       what {@link #suggestPeer} proposes to dial.
 * </ul>
 * Each entry also knows whether we are currently connected to it.
 *
 * <p><b>Depth</b> (neighbourhood depth) is computed over <em>connected</em> members and replacements: the
 * deepest PO {@code d} such that at least {@code neighbourhoodSize} connected peers have PO ≥ {@code d}; 0 if
 * fewer than {@code neighbourhoodSize} peers are connected. The peers at PO ≥ depth are the
 * <em>neighbourhood</em> (nearest neighbours). A bin below depth is <b>saturated</b> when it has at least
 * {@code minBinSize} connected peers; {@link #saturation()} is the shallowest unsaturated bin (or depth).
 *
 * <p>Not thread-safe: used on the node's event loop only.
 */
public final class RoutingTable {
    /** Number of bins: PO 0..256. */
    public static final int BINS = KadKey.BITS + 1;

    /** Where a known peer sits in its bin. */
    public enum Tier { MEMBER, REPLACEMENT, CANDIDATE }

    /** Outcome of {@link #addPeer}. */
    public enum AddResult {
        /** The peer became a bucket member. */
        ADDED,
        /** The peer was a member already; now most recently seen. */
        UPDATED,
        /** The bucket is full; the peer went to the replacement cache. */
        CACHED,
        /** The peer is ourselves; nothing changed. */
        IGNORED
    }

    /** A snapshot of one known peer. */
    public record PeerInfo(PeerId peer, KadKey key, int po, Tier tier, boolean connected, long lastSeenMs) {}

    /**
     * What {@link #suggestPeer} proposes.
     *
     * @param peer the peer to dial next, or null if there is none
     * @param po the bin of {@code peer}, or -1
     * @param wantedBin the shallowest bin below depth that is unsaturated but has no dialable peer (worth a
     *     lookup to discover some), or -1
     */
    public record Suggestion(PeerId peer, int po, int wantedBin) {}

    /**
     * Health of the table (seed 001 {@code Health}).
     *
     * @param depth our current depth (over connected peers)
     * @param expectedDepth the depth computed over the reference set of peers
     * @param saturation {@link RoutingTable#saturation()}
     * @param nearestNeighbours the reference set's peers at PO ≥ {@code expectedDepth}
     * @param unknownNeighbours nearest neighbours we do not know at all
     * @param unconnectedNeighbours nearest neighbours we are not connected to (includes unknown ones)
     * @param emptyBins bins below {@code expectedDepth} where the reference set has peers but we are connected
     *     to none
     */
    public record Health(int depth, int expectedDepth, int saturation, List<PeerId> nearestNeighbours,
                         List<PeerId> unknownNeighbours, List<PeerId> unconnectedNeighbours, List<Integer> emptyBins) {
        /** True if we know every nearest neighbour. */
        public boolean knowsNearestNeighbours() { return unknownNeighbours.isEmpty(); }

        /** True if we are connected to every nearest neighbour. */
        public boolean connectedToNearestNeighbours() { return unconnectedNeighbours.isEmpty(); }

        /** Knows and is connected to all nearest neighbours and has a connected peer in every non-empty bin. */
        public boolean healthy() { return unknownNeighbours.isEmpty() && unconnectedNeighbours.isEmpty() && emptyBins.isEmpty(); }
    }

    private static final class Entry {
        final PeerId peer;
        final KadKey key;
        final int po;
        Tier tier;
        boolean connected;
        long lastSeenMs;
        int failures;

        Entry(PeerId peer, KadKey key, int po) {
            this.peer = peer;
            this.key = key;
            this.po = po;
        }

        PeerInfo info() { return new PeerInfo(peer, key, po, tier, connected, lastSeenMs); }
    }

    private static final class Bin {
        final List<Entry> members = new ArrayList<>();      // least recently seen first
        final List<Entry> replacements = new ArrayList<>(); // most recently seen last
        final List<Entry> candidates = new ArrayList<>();   // most recently heard of last
        int connected;                                       // connected members + replacements

        List<Entry> list(Tier t) {
            return switch (t) {
                case MEMBER -> members;
                case REPLACEMENT -> replacements;
                case CANDIDATE -> candidates;
            };
        }
    }

    private final PeerId self;
    private final KadKey selfKey;
    private final int bucketSize;
    private final int replacementCacheSize;
    private final int candidateCacheSize;
    private final int neighbourhoodSize;
    private final int minBinSize;
    private final Bin[] bins = new Bin[BINS];
    private final Map<PeerId, Entry> entries = new HashMap<>();
    private int members;

    /**
     * @param self our PeerId (never added)
     * @param bucketSize members per bin, k (≥ 1)
     * @param replacementCacheSize replacements per bin (≥ 0)
     * @param candidateCacheSize unverified candidates per bin (≥ 0)
     * @param neighbourhoodSize peers the neighbourhood must hold for {@link #depth()} (≥ 1)
     * @param minBinSize connected peers that saturate a bin below depth (≥ 1)
     * @throws IllegalArgumentException if a size is out of range
     */
    public RoutingTable(PeerId self, int bucketSize, int replacementCacheSize, int candidateCacheSize,
                        int neighbourhoodSize, int minBinSize) {
        if (bucketSize < 1) throw new IllegalArgumentException("bucketSize must be >= 1");
        if (replacementCacheSize < 0 || candidateCacheSize < 0) throw new IllegalArgumentException("cache sizes must be >= 0");
        if (neighbourhoodSize < 1) throw new IllegalArgumentException("neighbourhoodSize must be >= 1");
        if (minBinSize < 1) throw new IllegalArgumentException("minBinSize must be >= 1");
        this.self = self;
        this.selfKey = KadKey.of(self);
        this.bucketSize = bucketSize;
        this.replacementCacheSize = replacementCacheSize;
        this.candidateCacheSize = candidateCacheSize;
        this.neighbourhoodSize = neighbourhoodSize;
        this.minBinSize = minBinSize;
        for (int i = 0; i < BINS; i++) bins[i] = new Bin();
    }

    /** A table with {@link KadConfig}'s sizes. */
    public RoutingTable(PeerId self, KadConfig config) {
        this(self, config.k(), config.replacementCacheSize(), config.candidateCacheSize(),
                config.neighbourhoodSize(), config.minBinSize());
    }

    public PeerId self() { return self; }

    public KadKey selfKey() { return selfKey; }

    /** The bin (PO to our key) of {@code peer}. */
    public int proximity(PeerId peer) { return selfKey.proximity(KadKey.of(peer)); }

    // ---- updates ------------------------------------------------------------------------------------

    /**
     * Records that {@code peer} was seen serving Kademlia (identified with the protocol, or answered a query):
     * it becomes (or stays) a member and most recently seen, or goes to the replacement cache if its bucket
     * is full. Resets its failure count.
     */
    public AddResult addPeer(PeerId peer, boolean connected, long nowMs) {
        if (peer.equals(self)) return AddResult.IGNORED;
        Entry e = entries.get(peer);
        if (e == null) {
            KadKey key = KadKey.of(peer);
            e = new Entry(peer, key, selfKey.proximity(key));
            entries.put(peer, e);
        } else {
            detach(e);
        }
        Bin bin = bins[e.po];
        boolean wasMember = e.tier == Tier.MEMBER;
        e.lastSeenMs = nowMs;
        e.failures = 0;
        e.connected = connected;
        if (wasMember || bin.members.size() < bucketSize) {
            attach(e, Tier.MEMBER);
            return wasMember ? AddResult.UPDATED : AddResult.ADDED;
        }
        attach(e, Tier.REPLACEMENT);
        trimReplacements(bin);
        return AddResult.CACHED;
    }

    /**
     * Records a peer we heard of but have not verified (e.g. a closer peer in a lookup response). Known peers
     * are left as they are.
     *
     * @return true if the peer was new and is now a candidate
     */
    public boolean addCandidate(PeerId peer, long nowMs) {
        if (peer.equals(self) || candidateCacheSize == 0) return false;
        Entry e = entries.get(peer);
        if (e != null) {
            if (e.tier == Tier.CANDIDATE) { // heard of again: most recent
                detach(e);
                e.lastSeenMs = nowMs;
                attach(e, Tier.CANDIDATE);
            }
            return false;
        }
        KadKey key = KadKey.of(peer);
        e = new Entry(peer, key, selfKey.proximity(key));
        e.lastSeenMs = nowMs;
        entries.put(peer, e);
        Bin bin = bins[e.po];
        attach(e, Tier.CANDIDATE);
        if (bin.candidates.size() > candidateCacheSize) forget(bin.candidates.get(0));
        return true;
    }

    /** Updates whether we are connected to {@code peer} (no-op if unknown). */
    public void setConnected(PeerId peer, boolean connected) {
        Entry e = entries.get(peer);
        if (e == null || e.connected == connected) return;
        if (e.tier == Tier.CANDIDATE) { // a candidate's connection counts once it is verified
            e.connected = connected;
            return;
        }
        bins[e.po].connected += connected ? 1 : -1;
        e.connected = connected;
    }

    /** Marks a member or replacement as seen now (most recently seen) and clears its failures. */
    public void touch(PeerId peer, long nowMs) {
        Entry e = entries.get(peer);
        if (e == null || e.tier == Tier.CANDIDATE) return;
        detach(e);
        e.lastSeenMs = nowMs;
        e.failures = 0;
        attach(e, e.tier);
    }

    /**
     * Counts a failed query or dial to {@code peer}; after {@code threshold} consecutive failures the peer is
     * removed (see {@link #remove}).
     *
     * @return true if the peer was removed
     */
    public boolean recordFailure(PeerId peer, int threshold) {
        Entry e = entries.get(peer);
        if (e == null) return false;
        if (++e.failures >= threshold) {
            remove(peer);
            return true;
        }
        return false;
    }

    /**
     * Forgets {@code peer}. If it was a member, the best replacement (connected first, then most recently
     * seen) takes its place.
     *
     * @return true if the peer was known
     */
    public boolean remove(PeerId peer) {
        Entry e = entries.get(peer);
        if (e == null) return false;
        Tier tier = e.tier;
        forget(e);
        if (tier == Tier.MEMBER) promoteReplacement(bins[e.po]);
        return true;
    }

    private void promoteReplacement(Bin bin) {
        if (bin.replacements.isEmpty() || bin.members.size() >= bucketSize) return;
        Entry best = null;
        for (Entry r : bin.replacements) { // later entries are more recent
            if (best == null || (r.connected && !best.connected) || r.connected == best.connected) best = r;
        }
        detach(best);
        attach(best, Tier.MEMBER);
        // a promoted replacement is not "seen" now; keep it least recently seen ahead of newer members
        bin.members.remove(best);
        int i = 0;
        while (i < bin.members.size() && bin.members.get(i).lastSeenMs <= best.lastSeenMs) i++;
        bin.members.add(i, best);
    }

    private void trimReplacements(Bin bin) {
        while (bin.replacements.size() > replacementCacheSize) {
            Entry victim = null;
            for (Entry r : bin.replacements) { // oldest unconnected first, else oldest
                if (!r.connected) {
                    victim = r;
                    break;
                }
            }
            forget(victim != null ? victim : bin.replacements.get(0));
        }
    }

    private void attach(Entry e, Tier tier) {
        Bin bin = bins[e.po];
        e.tier = tier;
        bin.list(tier).add(e);
        if (tier == Tier.MEMBER) members++;
        if (tier != Tier.CANDIDATE && e.connected) bin.connected++;
    }

    private void detach(Entry e) {
        Bin bin = bins[e.po];
        bin.list(e.tier).remove(e);
        if (e.tier == Tier.MEMBER) members--;
        if (e.tier != Tier.CANDIDATE && e.connected) bin.connected--;
    }

    private void forget(Entry e) {
        detach(e);
        entries.remove(e.peer);
    }

    // ---- queries ------------------------------------------------------------------------------------

    /** True if {@code peer} is known in any tier. */
    public boolean knows(PeerId peer) { return entries.containsKey(peer); }

    /** True if {@code peer} is a bucket member. */
    public boolean isMember(PeerId peer) {
        Entry e = entries.get(peer);
        return e != null && e.tier == Tier.MEMBER;
    }

    /** The snapshot of {@code peer}, or null if unknown. */
    public PeerInfo info(PeerId peer) {
        Entry e = entries.get(peer);
        return e == null ? null : e.info();
    }

    /** Number of bucket members (the table's size in libp2p terms). */
    public int size() { return members; }

    /** Number of known peers in all tiers. */
    public int knownCount() { return entries.size(); }

    /** All bucket members, shallowest bin first, least recently seen first within a bin. */
    public List<PeerId> members() {
        List<PeerId> out = new ArrayList<>(members);
        for (Bin b : bins) for (Entry e : b.members) out.add(e.peer);
        return out;
    }

    /** Every known peer in bin {@code po}: members, then replacements, then candidates. */
    public List<PeerInfo> bin(int po) {
        Bin b = bins[po];
        List<PeerInfo> out = new ArrayList<>();
        for (Entry e : b.members) out.add(e.info());
        for (Entry e : b.replacements) out.add(e.info());
        for (Entry e : b.candidates) out.add(e.info());
        return out;
    }

    /** Connected members and replacements in bin {@code po}. */
    public int connectedCount(int po) { return bins[po].connected; }

    /** Bucket members in bin {@code po}. */
    public int memberCount(int po) { return bins[po].members.size(); }

    /** The least recently seen member of bin {@code po}, or null if the bin has no members. */
    public PeerId leastRecentlySeen(int po) {
        List<Entry> m = bins[po].members;
        return m.isEmpty() ? null : m.get(0).peer;
    }

    /** True if bin {@code po} has {@code bucketSize} members. */
    public boolean isBucketFull(int po) { return bins[po].members.size() >= bucketSize; }

    /** The {@code n} members closest to {@code key} by XOR distance, closest first. */
    public List<PeerId> closest(KadKey key, int n) {
        if (n <= 0 || members == 0) return List.of();
        // With kpo = PO(self, key): a peer in bin kpo has PO > kpo to the key; a peer in a deeper bin has PO
        // exactly kpo to the key; a peer in a shallower bin p has PO p to the key. So whole bins are ordered
        // kpo, (all deeper), kpo-1, kpo-2, ... and only the last bin taken needs the sort to cut it.
        int kpo = Math.min(selfKey.proximity(key), BINS - 1);
        List<Entry> pool = new ArrayList<>(bins[kpo].members);
        if (pool.size() < n) for (int p = kpo + 1; p < BINS; p++) pool.addAll(bins[p].members);
        for (int p = kpo - 1; p >= 0 && pool.size() < n; p--) pool.addAll(bins[p].members);
        pool.sort((a, b) -> key.compareDistance(a.key, b.key));
        List<PeerId> out = new ArrayList<>(Math.min(n, pool.size()));
        for (int i = 0; i < pool.size() && i < n; i++) out.add(pool.get(i).peer);
        return out;
    }

    // ---- seed 001: depth, saturation, suggestPeer, health ------------------------------------------

    /**
     * Neighbourhood depth: the deepest PO {@code d} such that at least {@code neighbourhoodSize} connected
     * peers have PO ≥ {@code d}; 0 if fewer are connected.
     */
    public int depth() {
        int[] perBin = new int[BINS];
        for (int d = 0; d < BINS; d++) perBin[d] = bins[d].connected;
        return io.peersocket.util.Proximity.depth(perBin, neighbourhoodSize);
    }

    /**
     * The same depth definition over an arbitrary set of peer keys relative to {@code base}: the deepest PO
     * {@code d} such that at least {@code neighbourhoodSize} of {@code peers} have PO ≥ {@code d} to
     * {@code base}; 0 if there are fewer.
     */
    public static int depth(KadKey base, Collection<KadKey> peers, int neighbourhoodSize) {
        int[] perBin = new int[BINS];
        for (KadKey k : peers) if (!k.equals(base)) perBin[base.proximity(k)]++;
        return io.peersocket.util.Proximity.depth(perBin, neighbourhoodSize);
    }

    /** The shallowest bin below depth with fewer than {@code minBinSize} connected peers; depth if none. */
    public int saturation() {
        int depth = depth();
        for (int po = 0; po < depth; po++) if (bins[po].connected < minBinSize) return po;
        return depth;
    }

    /**
     * Whom to dial next (seed 001 {@code SuggestPeer}): a known, unconnected peer accepted by {@code dialable}
     * from the shallowest unsaturated bin below depth; if all such bins are saturated (or have nobody
     * dialable), an unconnected neighbour (PO ≥ depth), shallowest first. Within a bin, members are preferred,
     * then replacements, then candidates, each most recently seen first.
     */
    public Suggestion suggestPeer(Predicate<PeerId> dialable) {
        int depth = depth();
        int wanted = -1;
        for (int po = 0; po < depth; po++) {
            if (bins[po].connected >= minBinSize) continue;
            PeerId p = unconnectedIn(bins[po], dialable);
            if (p != null) return new Suggestion(p, po, wanted);
            if (wanted < 0) wanted = po;
        }
        for (int po = depth; po < BINS; po++) {
            PeerId p = unconnectedIn(bins[po], dialable);
            if (p != null) return new Suggestion(p, po, wanted);
        }
        return new Suggestion(null, -1, wanted);
    }

    private static PeerId unconnectedIn(Bin bin, Predicate<PeerId> dialable) {
        for (int i = bin.members.size() - 1; i >= 0; i--) {
            Entry e = bin.members.get(i);
            if (!e.connected && dialable.test(e.peer)) return e.peer;
        }
        for (int i = bin.replacements.size() - 1; i >= 0; i--) {
            Entry e = bin.replacements.get(i);
            if (!e.connected && dialable.test(e.peer)) return e.peer;
        }
        for (int i = bin.candidates.size() - 1; i >= 0; i--) {
            Entry e = bin.candidates.get(i);
            if (!e.connected && dialable.test(e.peer)) return e.peer;
        }
        return null;
    }

    /**
     * Health against {@code network}, a reference set of peers (e.g. every node of a testbed): the nearest
     * neighbours are the peers of {@code network} at PO ≥ the depth computed over {@code network}.
     */
    public Health health(Collection<PeerId> network) {
        List<PeerId> others = network.stream().filter(p -> !p.equals(self)).distinct().toList();
        List<KadKey> keys = others.stream().map(KadKey::of).toList();
        int expected = depth(selfKey, keys, neighbourhoodSize);
        List<PeerId> nn = new ArrayList<>();
        List<PeerId> unknown = new ArrayList<>();
        List<PeerId> unconnected = new ArrayList<>();
        boolean[] populated = new boolean[BINS];
        for (int i = 0; i < others.size(); i++) {
            int po = selfKey.proximity(keys.get(i));
            populated[po] = true;
            if (po < expected) continue;
            PeerId p = others.get(i);
            nn.add(p);
            Entry e = entries.get(p);
            if (e == null) unknown.add(p);
            if (e == null || !e.connected || e.tier == Tier.CANDIDATE) unconnected.add(p);
        }
        List<Integer> empty = new ArrayList<>();
        for (int po = 0; po < expected; po++) if (populated[po] && bins[po].connected == 0) empty.add(po);
        Comparator<PeerId> byDistance = (a, b) -> selfKey.compareDistance(KadKey.of(a), KadKey.of(b));
        nn.sort(byDistance);
        return new Health(depth(), expected, saturation(), List.copyOf(nn), List.copyOf(unknown),
                List.copyOf(unconnected), List.copyOf(empty));
    }

    /** Health against the peers this table knows (so every neighbour is known by definition). */
    public Health health() { return health(new ArrayList<>(entries.keySet())); }

    /** A text view of the non-empty bins (like Swarm's kademlia {@code String()}), for logs and the CLI. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder();
        int depth = depth();
        sb.append("kad ").append(selfKey.shortString()).append(" members=").append(members)
                .append(" known=").append(entries.size()).append(" depth=").append(depth)
                .append(" saturation=").append(saturation()).append('\n');
        for (int po = 0; po < BINS; po++) {
            Bin b = bins[po];
            int n = b.members.size() + b.replacements.size() + b.candidates.size();
            if (n == 0) continue;
            sb.append(po == depth ? "====" : "    ").append(String.format("%03d", po))
                    .append(" members=").append(b.members.size()).append(" connected=").append(b.connected)
                    .append(" repl=").append(b.replacements.size()).append(" cand=").append(b.candidates.size())
                    .append(" |");
            int shown = 0;
            for (int i = b.members.size() - 1; i >= 0 && shown < 4; i--, shown++) {
                Entry e = b.members.get(i);
                sb.append(' ').append(e.connected ? '*' : ' ').append(e.key.shortString());
            }
            sb.append('\n');
        }
        return sb.toString();
    }
}
