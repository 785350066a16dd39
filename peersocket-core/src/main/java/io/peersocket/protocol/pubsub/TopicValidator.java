package io.peersocket.protocol.pubsub;

/**
 * Decides whether a message of a topic is delivered and forwarded ({@link GossipSub#addValidator}). Runs on the
 * node's event loop before the message is forwarded, once per message id: it must be fast and must not block.
 * An exception counts as {@link ValidationResult#IGNORE}.
 */
@FunctionalInterface
public interface TopicValidator {
    ValidationResult validate(PubSubMessage message);
}
