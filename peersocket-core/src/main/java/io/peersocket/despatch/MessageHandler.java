package io.peersocket.despatch;

/**
 * Stateless handler for one message type. Runs on a virtual thread, so it may block. If it throws while
 * handling a request, the requester receives an error reply carrying the exception's message.
 */
@FunctionalInterface
public interface MessageHandler {
    void handle(Message message) throws Exception;
}
