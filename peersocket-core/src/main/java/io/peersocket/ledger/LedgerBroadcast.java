package io.peersocket.ledger;

import io.peersocket.identity.PeerId;

/**
 * What the ledger needs from a broadcast layer: publish bytes on a topic, and hear a topic's messages with a verdict
 * that decides forwarding (libp2p pubsub validation semantics). Implementations: {@link FloodBroadcast} (despatch
 * flooding with a seen-set); a GossipSub adapter can map {@link Verdict} to its validator results.
 *
 * <p>Threading: handlers run on the node's event loop and must not block.
 */
public interface LedgerBroadcast {
    /** A handler's verdict on a message. */
    enum Verdict {
        /** New and valid: deliver and forward to other peers. */
        ACCEPT,
        /** Invalid: do not forward; the sender misbehaved. */
        REJECT,
        /** Valid but not new or not interesting: do not forward, no penalty. */
        IGNORE
    }

    /** Handles one message of a topic; {@code from} is the peer that forwarded it to us. */
    @FunctionalInterface
    interface Handler {
        Verdict onMessage(PeerId from, byte[] data);
    }

    /** Publishes {@code data} (at most {@link FloodBroadcast#MAX_DATA_BYTES}) on {@code topic}. Any thread. */
    void publish(String topic, byte[] data);

    /** Sets the handler of {@code topic} (one per topic). */
    void subscribe(String topic, Handler handler);
}
