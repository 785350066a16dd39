package io.peersocket.protocol.pubsub;

import io.peersocket.identity.PeerId;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/** Per-peer score counters and the score function of {@link PeerScoreParams}. Event loop only. */
final class PeerScore {
    private static final class TopicStats {
        boolean inMesh;
        long graftMs;
        boolean meshActive;
        double firstDeliveries;
        double meshDeliveries;
        double meshFailure;
        double invalid;
    }

    private static final class Stats {
        boolean connected = true;
        long expireMs;
        double behaviour;
        final Map<String, TopicStats> topics = new HashMap<>(4);

        TopicStats topic(String t) { return topics.computeIfAbsent(t, k -> new TopicStats()); }
    }

    private final PeerScoreParams p;
    private final Map<PeerId, Stats> stats = new HashMap<>();
    private long lastDecayMs = Long.MIN_VALUE;

    PeerScore(PeerScoreParams params) { this.p = params; }

    PeerScoreParams params() { return p; }

    void addPeer(PeerId peer) {
        Stats s = stats.computeIfAbsent(peer, k -> new Stats());
        s.connected = true;
    }

    /** The peer disconnected: its counters stay (so a bad score survives a reconnect) for retainScoreMs. */
    void removePeer(PeerId peer, long nowMs) {
        Stats s = stats.get(peer);
        if (s == null) return;
        // A peer with a non-negative score has nothing worth remembering.
        if (score(peer, nowMs) >= 0) {
            stats.remove(peer);
            return;
        }
        for (Map.Entry<String, TopicStats> e : s.topics.entrySet()) leaveMesh(e.getValue());
        s.connected = false;
        s.expireMs = nowMs + p.retainScoreMs();
    }

    double score(PeerId peer, long nowMs) {
        Stats s = stats.get(peer);
        if (s == null) return 0;
        double total = 0;
        for (TopicStats t : s.topics.values()) {
            double ts = 0;
            if (t.inMesh) {
                double quanta = (double) Math.max(0, nowMs - t.graftMs) / p.timeInMeshQuantumMs();
                ts += p.timeInMeshWeight() * Math.min(quanta, p.timeInMeshCap());
            }
            ts += p.firstDeliveriesWeight() * t.firstDeliveries;
            if (t.inMesh && t.meshActive && t.meshDeliveries < p.meshDeliveriesThreshold()) {
                double deficit = p.meshDeliveriesThreshold() - t.meshDeliveries;
                ts += p.meshDeliveriesWeight() * deficit * deficit;
            }
            ts += p.meshFailureWeight() * t.meshFailure;
            ts += p.invalidWeight() * t.invalid * t.invalid;
            total += p.topicWeight() * ts;
        }
        if (s.behaviour > p.behaviourThreshold()) {
            double excess = s.behaviour - p.behaviourThreshold();
            total += p.behaviourWeight() * excess * excess;
        }
        return total;
    }

    void graft(PeerId peer, String topic, long nowMs) {
        TopicStats t = stats.computeIfAbsent(peer, k -> new Stats()).topic(topic);
        t.inMesh = true;
        t.graftMs = nowMs;
        t.meshActive = false;
    }

    void prune(PeerId peer, String topic) {
        Stats s = stats.get(peer);
        if (s == null) return;
        TopicStats t = s.topics.get(topic);
        if (t != null) leaveMesh(t);
    }

    private void leaveMesh(TopicStats t) {
        if (t.inMesh && t.meshActive && t.meshDeliveries < p.meshDeliveriesThreshold()) {
            double deficit = p.meshDeliveriesThreshold() - t.meshDeliveries;
            t.meshFailure += deficit * deficit; // P3b
        }
        t.inMesh = false;
        t.meshActive = false;
    }

    /** {@code peer} delivered a valid message first. */
    void firstDelivery(PeerId peer, String topic) {
        TopicStats t = stats.computeIfAbsent(peer, k -> new Stats()).topic(topic);
        t.firstDeliveries = Math.min(p.firstDeliveriesCap(), t.firstDeliveries + 1);
        if (t.inMesh) t.meshDeliveries = Math.min(p.meshDeliveriesCap(), t.meshDeliveries + 1);
    }

    /** {@code peer} delivered a message already seen at {@code firstSeenMs}: counts for P3 if near the first. */
    void duplicate(PeerId peer, String topic, long firstSeenMs, long nowMs) {
        Stats s = stats.get(peer);
        if (s == null || firstSeenMs < 0) return;
        TopicStats t = s.topics.get(topic);
        if (t != null && t.inMesh && nowMs - firstSeenMs <= p.meshDeliveriesWindowMs()) {
            t.meshDeliveries = Math.min(p.meshDeliveriesCap(), t.meshDeliveries + 1);
        }
    }

    /** {@code peer} sent an invalid message of {@code topic} (bad signature, rejected by a validator): P4. */
    void invalid(PeerId peer, String topic) {
        stats.computeIfAbsent(peer, k -> new Stats()).topic(topic).invalid += 1;
    }

    /** P7: GRAFT during backoff, broken IWANT promise, malformed RPC. */
    void penalty(PeerId peer, double count) {
        stats.computeIfAbsent(peer, k -> new Stats()).behaviour += count;
    }

    /** Decays counters once per decay interval, activates P3 after the activation time, forgets expired peers. */
    void refresh(long nowMs) {
        if (lastDecayMs == Long.MIN_VALUE) lastDecayMs = nowMs;
        boolean decay = nowMs - lastDecayMs >= p.decayIntervalMs();
        if (decay) lastDecayMs = nowMs;
        Iterator<Map.Entry<PeerId, Stats>> it = stats.entrySet().iterator();
        while (it.hasNext()) {
            Stats s = it.next().getValue();
            if (!s.connected && nowMs >= s.expireMs) {
                it.remove();
                continue;
            }
            for (TopicStats t : s.topics.values()) {
                if (t.inMesh && !t.meshActive && nowMs - t.graftMs >= p.meshDeliveriesActivationMs()) t.meshActive = true;
                if (!decay) continue;
                t.firstDeliveries = decayed(t.firstDeliveries, p.firstDeliveriesDecay());
                t.meshDeliveries = decayed(t.meshDeliveries, p.meshDeliveriesDecay());
                t.meshFailure = decayed(t.meshFailure, p.meshFailureDecay());
                t.invalid = decayed(t.invalid, p.invalidDecay());
            }
            if (decay) s.behaviour = decayed(s.behaviour, p.behaviourDecay());
        }
    }

    private double decayed(double v, double factor) {
        double d = v * factor;
        return d < p.decayToZero() ? 0 : d;
    }

    /** Peers with counters (connected or retained). */
    int size() { return stats.size(); }
}
