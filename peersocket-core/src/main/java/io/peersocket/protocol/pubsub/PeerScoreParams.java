package io.peersocket.protocol.pubsub;

/**
 * Peer scoring of gossipsub v1.1 (libp2p specs pubsub/gossipsub/gossipsub-v1.1.md "Peer Scoring"), the parts this
 * router implements, with one set of topic parameters for every topic. Counters decay every
 * {@code decayIntervalMs} by their decay factor and drop to 0 below {@code decayToZero}.
 *
 * <p>Score = {@code topicWeight} × Σ over topics (P1 + P2 + P3 + P3b + P4) + P7, where
 * P1 = {@code timeInMeshWeight} × min(time in mesh / quantum, cap); P2 = {@code firstDeliveriesWeight} ×
 * min(first deliveries, cap); P3 = {@code meshDeliveriesWeight} × (threshold − mesh deliveries)² when below the
 * threshold after the activation time in the mesh (the weight is negative); P3b = {@code meshFailureWeight} ×
 * deficit² kept when a peer is pruned with a deficit; P4 = {@code invalidWeight} × invalid messages²;
 * P7 = {@code behaviourWeight} × (penalties − threshold)² over the threshold (GRAFT during backoff, broken
 * IWANT promises). P5 (application) and P6 (IP colocation) are not implemented.
 *
 * <p>P3/P3b are off by default (weight 0): a mesh-delivery threshold only makes sense with a known message rate
 * per topic. Thresholds: below {@code gossipThreshold} no gossip is exchanged with the peer, below
 * {@code publishThreshold} own messages are not flood-published to it, below {@code graylistThreshold} its RPCs are
 * dropped unread; PX is accepted only from peers at or above {@code acceptPxThreshold}.
 */
public record PeerScoreParams(double topicWeight,
                              double timeInMeshWeight, long timeInMeshQuantumMs, double timeInMeshCap,
                              double firstDeliveriesWeight, double firstDeliveriesDecay, double firstDeliveriesCap,
                              double meshDeliveriesWeight, double meshDeliveriesDecay, double meshDeliveriesThreshold,
                              double meshDeliveriesCap, long meshDeliveriesActivationMs, long meshDeliveriesWindowMs,
                              double meshFailureWeight, double meshFailureDecay,
                              double invalidWeight, double invalidDecay,
                              double behaviourWeight, double behaviourThreshold, double behaviourDecay,
                              long decayIntervalMs, double decayToZero, long retainScoreMs,
                              double gossipThreshold, double publishThreshold, double graylistThreshold,
                              double acceptPxThreshold, double opportunisticGraftThreshold) {

    public PeerScoreParams {
        if (timeInMeshWeight < 0 || firstDeliveriesWeight < 0) throw new IllegalArgumentException("P1 and P2 weights must be >= 0");
        if (meshDeliveriesWeight > 0 || meshFailureWeight > 0 || invalidWeight > 0 || behaviourWeight > 0) {
            throw new IllegalArgumentException("P3, P3b, P4 and P7 weights must be <= 0");
        }
        if (!(gossipThreshold <= 0 && publishThreshold <= gossipThreshold && graylistThreshold <= publishThreshold)) {
            throw new IllegalArgumentException("need graylistThreshold <= publishThreshold <= gossipThreshold <= 0");
        }
        if (decayIntervalMs < 1 || timeInMeshQuantumMs < 1) throw new IllegalArgumentException("intervals must be >= 1 ms");
    }

    /**
     * P1 0.01/s up to 1 h, P2 1 per first delivery (decay 0.5, cap 100), P3/P3b off, P4 −10 × invalid² (decay 0.9),
     * P7 −10 × penalties² (decay 0.9), decay every second; thresholds gossip −10, publish −50, graylist −80,
     * accept PX 0, opportunistic graft 1.
     */
    public static PeerScoreParams defaults() {
        return new PeerScoreParams(1.0,
                0.01, 1_000, 3_600,
                1.0, 0.5, 100,
                0.0, 0.5, 1, 100, 5_000, 10,
                0.0, 0.5,
                -10.0, 0.9,
                -10.0, 0.0, 0.9,
                1_000, 0.01, 60_000,
                -10, -50, -80, 0, 1);
    }

    /** These parameters with P3 (mesh message deliveries) and P3b on, at {@code weight} (≤ 0) and {@code threshold}. */
    public PeerScoreParams withMeshDeliveries(double weight, double threshold, long activationMs) {
        return new PeerScoreParams(topicWeight, timeInMeshWeight, timeInMeshQuantumMs, timeInMeshCap,
                firstDeliveriesWeight, firstDeliveriesDecay, firstDeliveriesCap, weight, meshDeliveriesDecay, threshold,
                Math.max(meshDeliveriesCap, threshold), activationMs, meshDeliveriesWindowMs, weight, meshFailureDecay,
                invalidWeight, invalidDecay, behaviourWeight, behaviourThreshold, behaviourDecay, decayIntervalMs,
                decayToZero, retainScoreMs, gossipThreshold, publishThreshold, graylistThreshold, acceptPxThreshold,
                opportunisticGraftThreshold);
    }

    /** These parameters with other thresholds. */
    public PeerScoreParams withThresholds(double gossip, double publish, double graylist, double acceptPx) {
        return new PeerScoreParams(topicWeight, timeInMeshWeight, timeInMeshQuantumMs, timeInMeshCap,
                firstDeliveriesWeight, firstDeliveriesDecay, firstDeliveriesCap, meshDeliveriesWeight, meshDeliveriesDecay,
                meshDeliveriesThreshold, meshDeliveriesCap, meshDeliveriesActivationMs, meshDeliveriesWindowMs,
                meshFailureWeight, meshFailureDecay, invalidWeight, invalidDecay, behaviourWeight, behaviourThreshold,
                behaviourDecay, decayIntervalMs, decayToZero, retainScoreMs, gossip, publish, graylist, acceptPx,
                opportunisticGraftThreshold);
    }
}
