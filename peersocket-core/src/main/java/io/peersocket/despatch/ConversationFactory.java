package io.peersocket.despatch;

/**
 * Creates the state machine for a conversation a remote opens with a registered message type. Runs on the
 * event loop: keep it quick and non-blocking. Return null to refuse (the remote's conversation ends with an
 * error).
 */
@FunctionalInterface
public interface ConversationFactory {
    ConversationHandler create(Message opening);
}
