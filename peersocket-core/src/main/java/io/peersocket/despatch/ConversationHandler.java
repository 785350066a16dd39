package io.peersocket.despatch;

/**
 * The state machine of one conversation (seed 000): receives the conversation's messages one at a time, in
 * order, on a virtual thread (it may block; no two calls overlap). If {@link #onMessage} throws, the
 * conversation ends with {@link EndReason#ERROR} and the remote is told.
 */
public interface ConversationHandler {

    void onMessage(Conversation conversation, Message message) throws Exception;

    /** Called once when the conversation ends, after every delivered message. {@code detail} may be null. */
    default void onEnd(Conversation conversation, EndReason reason, String detail) {}

    enum EndReason {
        /** This side called {@link Conversation#end()}. */
        LOCAL,
        /** The remote ended it. */
        REMOTE,
        /** No message for the idle timeout. */
        TIMEOUT,
        /** A handler failed, the remote reported an error, or the conversation was refused. */
        ERROR,
        /** The node is shutting down. */
        SHUTDOWN
    }
}
