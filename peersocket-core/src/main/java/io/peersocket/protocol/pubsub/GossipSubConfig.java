package io.peersocket.protocol.pubsub;

import java.util.Objects;
import java.util.concurrent.Executor;

/**
 * Settings of {@link GossipSub}; immutable. Start from {@link #defaults()} and change fields with the
 * {@code with…} methods. Times are in ms, sizes in bytes. Defaults follow the gossipsub v1.0/v1.1/v1.2 specs
 * (libp2p specs pubsub/gossipsub) and go-libp2p-pubsub, except {@code dLo} = 5 (the spec says 4).
 *
 * @param d target mesh degree (D)
 * @param dLo fewer mesh peers than this at a heartbeat: graft up to {@code d}
 * @param dHi more mesh peers than this at a heartbeat: prune down to {@code d}
 * @param dLazy least number of non-mesh peers that get IHAVE gossip per topic per heartbeat
 * @param dScore mesh peers kept by score when pruning (the rest are kept at random)
 * @param dOut least number of outbound-connection peers kept in a mesh (v1.1; must be &lt; {@code dLo} and ≤ d/2)
 * @param gossipFactor share of non-mesh topic peers that get gossip when more than {@code dLazy} (v1.1 adaptive gossip)
 * @param heartbeatMs heartbeat period
 * @param heartbeatInitialDelayMs delay of the first heartbeat after start
 * @param fanoutTtlMs a fanout topic (published to without being subscribed) is forgotten after this long without publishing
 * @param historyLength message cache windows kept (mcache_len); messages are served to IWANT this many heartbeats
 * @param historyGossip message cache windows whose ids are gossiped (mcache_gossip)
 * @param seenTtlMs a message id is remembered (duplicates and replays dropped) this long
 * @param maxSeenIds message ids remembered at most (oldest forgotten first)
 * @param pruneBackoffMs backoff sent with a PRUNE and applied when receiving one without backoff (v1.1)
 * @param unsubscribeBackoffMs backoff sent with the PRUNEs of leaving a topic
 * @param floodPublish v1.1 flood publishing: an own message goes to every topic peer with score ≥ publish threshold
 * @param prunePeers peers offered in a PRUNE (peer exchange, v1.1); 0 disables PX
 * @param maxFrameBytes largest RPC frame accepted or sent (libp2p default 1 MiB); a larger inbound frame resets the stream
 * @param maxIHaveLength message ids asked for by IWANT per peer per heartbeat, and ids sent in one IHAVE (5000)
 * @param maxIHaveMessages IHAVE messages accepted per peer per heartbeat; more are ignored and counted (10)
 * @param gossipRetransmission times one message is sent to one peer in answer to IWANT (3)
 * @param iwantFollowupMs a peer that announced a message by IHAVE must deliver it this long after our IWANT (v1.1 promises)
 * @param maxTopicsPerPeer topics a remote peer may be subscribed to as we track it; further subscriptions are ignored
 * @param maxTopicBytes longest topic name accepted (UTF-8 bytes)
 * @param maxMessagesPerRpc messages accepted in one RPC; the rest are dropped and counted
 * @param maxControlPerRpc control entries (IHAVE + IWANT + GRAFT + PRUNE + IDONTWANT) accepted in one RPC
 * @param maxPendingBytesPerPeer bytes queued for a peer whose stream is not open yet (more are dropped and
 *     counted); once it is open, forwarded messages are dropped while the stream is not writable
 * @param idontwantThresholdBytes v1.2: on first receipt of a message whose protobuf encoding has at least this many
 *     bytes, send IDONTWANT with its id to the mesh peers that speak {@code /meshsub/1.2.0} (default 1024, as
 *     go-libp2p-pubsub's {@code IDontWantMessageThreshold}); {@link Integer#MAX_VALUE} sends none
 * @param maxIDontWantMessages v1.2 {@code max_idontwant_messages}: IDONTWANT ids accepted per peer per heartbeat;
 *     more are ignored and counted (default 1000, as go-libp2p-pubsub); each id is remembered for
 *     {@link GossipSub#IDONTWANT_TTL_HEARTBEATS} heartbeats
 * @param signing {@link SignaturePolicy}: sign and require signatures (default), or neither
 * @param messageId how message ids are computed (default from ‖ seqno); every node of a network must use the same
 * @param score peer scoring parameters and thresholds
 * @param handlerExecutor runs subscription handlers; null: a new virtual thread per message
 */
public record GossipSubConfig(int d, int dLo, int dHi, int dLazy, int dScore, int dOut, double gossipFactor,
                              long heartbeatMs, long heartbeatInitialDelayMs, long fanoutTtlMs, int historyLength,
                              int historyGossip, long seenTtlMs, int maxSeenIds, long pruneBackoffMs,
                              long unsubscribeBackoffMs, boolean floodPublish, int prunePeers, int maxFrameBytes,
                              int maxIHaveLength, int maxIHaveMessages, int gossipRetransmission, long iwantFollowupMs,
                              int maxTopicsPerPeer, int maxTopicBytes, int maxMessagesPerRpc, int maxControlPerRpc,
                              int maxPendingBytesPerPeer, int idontwantThresholdBytes, int maxIDontWantMessages,
                              SignaturePolicy signing, MessageIdFunction messageId,
                              PeerScoreParams score, Executor handlerExecutor) {

    /** Whether messages are signed ({@code StrictSign} in libp2p terms) or carry no author ({@code StrictNoSign}). */
    public enum SignaturePolicy {
        /** Own messages carry from, seqno, signature and key; inbound messages must have a valid signature. */
        STRICT_SIGN,
        /** Own messages carry none of from, seqno, signature, key; inbound messages with any of them are rejected. */
        STRICT_NO_SIGN
    }

    public GossipSubConfig {
        if (d < 1 || dLo < 1 || dLo > d || dHi < d) {
            throw new IllegalArgumentException("need 1 <= dLo <= d <= dHi, got dLo " + dLo + ", d " + d + ", dHi " + dHi);
        }
        if (dOut < 0 || dOut >= dLo || dOut > d / 2) throw new IllegalArgumentException("need 0 <= dOut < dLo and dOut <= d/2, got " + dOut);
        if (dScore < 0 || dScore > d) throw new IllegalArgumentException("need 0 <= dScore <= d, got " + dScore);
        if (dLazy < 0) throw new IllegalArgumentException("dLazy must be >= 0");
        if (heartbeatMs < 1) throw new IllegalArgumentException("heartbeatMs must be >= 1");
        if (historyGossip < 1 || historyLength < historyGossip) {
            throw new IllegalArgumentException("need 1 <= historyGossip <= historyLength");
        }
        if (idontwantThresholdBytes < 0) throw new IllegalArgumentException("idontwantThresholdBytes must be >= 0");
        if (maxIDontWantMessages < 0) throw new IllegalArgumentException("maxIDontWantMessages must be >= 0");
        if (maxFrameBytes < 1024) throw new IllegalArgumentException("maxFrameBytes must be >= 1024");
        if (seenTtlMs < 1 || maxSeenIds < 1) throw new IllegalArgumentException("seen cache needs a positive TTL and size");
        Objects.requireNonNull(signing, "signing");
        Objects.requireNonNull(messageId, "messageId");
        Objects.requireNonNull(score, "score");
    }

    /** Spec defaults: D 6 (5…12), lazy 6, heartbeat 1 s, history 5/3, seen TTL 2 min, flood publish, strict signing. */
    public static GossipSubConfig defaults() {
        return new GossipSubConfig(6, 5, 12, 6, 4, 2, 0.25, 1_000, 100, 60_000, 5, 3, 120_000, 200_000, 60_000, 10_000,
                true, 16, 1 << 20, 5_000, 10, 3, 3_000, 1_000, 1_024, 1_000, 5_000, 4 << 20, 1_024, 1_000,
                SignaturePolicy.STRICT_SIGN, MessageIdFunction.FROM_AND_SEQNO, PeerScoreParams.defaults(), null);
    }

    /** Mesh degrees D, D_lo, D_hi (and D_score, D_out adjusted to stay valid). */
    public GossipSubConfig withDegrees(int newD, int newLo, int newHi) {
        int out = Math.min(dOut, Math.min(newLo - 1, newD / 2));
        return new GossipSubConfig(newD, newLo, newHi, dLazy, Math.min(dScore, newD), Math.max(0, out), gossipFactor,
                heartbeatMs, heartbeatInitialDelayMs, fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds,
                pruneBackoffMs, unsubscribeBackoffMs, floodPublish, prunePeers, maxFrameBytes, maxIHaveLength,
                maxIHaveMessages, gossipRetransmission, iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes,
                maxMessagesPerRpc, maxControlPerRpc, maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, handlerExecutor);
    }

    public GossipSubConfig withDLazy(int lazy) {
        return new GossipSubConfig(d, dLo, dHi, lazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, handlerExecutor);
    }

    public GossipSubConfig withHeartbeatMs(long ms) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, ms, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, handlerExecutor);
    }

    public GossipSubConfig withFloodPublish(boolean on) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                on, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, handlerExecutor);
    }

    public GossipSubConfig withMaxFrameBytes(int bytes) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, bytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, handlerExecutor);
    }

    public GossipSubConfig withSigning(SignaturePolicy policy) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, policy, messageId, score, handlerExecutor);
    }

    public GossipSubConfig withMessageId(MessageIdFunction fn) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, fn, score, handlerExecutor);
    }

    public GossipSubConfig withScore(PeerScoreParams params) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, params, handlerExecutor);
    }

    public GossipSubConfig withPrunePeers(int n) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, n, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, handlerExecutor);
    }

    /** Runs subscription handlers on {@code executor} (e.g. {@code Runnable::run} or the event loop in simulation). */
    public GossipSubConfig withHandlerExecutor(Executor executor) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, idontwantThresholdBytes, maxIDontWantMessages, signing, messageId, score, executor);
    }

    /**
     * gossipsub v1.2 IDONTWANT: the message size (protobuf bytes) from which IDONTWANT is sent
     * ({@link Integer#MAX_VALUE}: never), and the IDONTWANT ids accepted per peer per heartbeat (0: ignore all).
     */
    public GossipSubConfig withIDontWant(int thresholdBytes, int maxPerHeartbeat) {
        return new GossipSubConfig(d, dLo, dHi, dLazy, dScore, dOut, gossipFactor, heartbeatMs, heartbeatInitialDelayMs,
                fanoutTtlMs, historyLength, historyGossip, seenTtlMs, maxSeenIds, pruneBackoffMs, unsubscribeBackoffMs,
                floodPublish, prunePeers, maxFrameBytes, maxIHaveLength, maxIHaveMessages, gossipRetransmission,
                iwantFollowupMs, maxTopicsPerPeer, maxTopicBytes, maxMessagesPerRpc, maxControlPerRpc,
                maxPendingBytesPerPeer, thresholdBytes, maxPerHeartbeat, signing, messageId, score, handlerExecutor);
    }
}
