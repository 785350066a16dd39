package io.peersocket.protocol.pubsub;

/** A {@link TopicValidator}'s verdict (libp2p pubsub validation: accept, reject, ignore). */
public enum ValidationResult {
    /** Deliver to local handlers and forward. */
    ACCEPT,
    /** Invalid: drop, do not forward, and penalise the peer that sent it (P4 invalid messages). */
    REJECT,
    /** Drop without forwarding and without penalty (e.g. stale or not interesting). */
    IGNORE
}
