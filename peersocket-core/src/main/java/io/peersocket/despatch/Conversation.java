package io.peersocket.despatch;

import io.peersocket.identity.PeerId;
import java.util.concurrent.CompletableFuture;

/**
 * One conversation with a peer (seed 000): messages "in regards to" the message that opened it, handled by
 * its {@link ConversationHandler} one at a time. Ended by either side ({@link #end}), by an error, or by the
 * idle timeout. Methods may be called from any thread.
 */
public final class Conversation {
    private final Despatcher despatcher;
    private final PeerId peer;
    private final long id;
    private final boolean openedLocally;
    volatile boolean ended;
    /** Context every message of this conversation is sent in (the opening message's span); null when tracing is off. */
    volatile io.opentelemetry.context.Context traceContext;

    Conversation(Despatcher despatcher, PeerId peer, long id, boolean openedLocally) {
        this.despatcher = despatcher;
        this.peer = peer;
        this.id = id;
        this.openedLocally = openedLocally;
    }

    public PeerId peer() { return peer; }

    /** The id of the opening message (the in-regards-to value of every later message). */
    public long id() { return id; }

    public boolean isOpenedLocally() { return openedLocally; }

    public boolean isOpen() { return !ended; }

    /**
     * Sends a message in this conversation, reliably.
     *
     * @return completes when handed to the transport; fails with {@link IllegalStateException} if the
     *     conversation has ended, or with the transport's exception
     */
    public CompletableFuture<Void> send(int type, byte[] payload) {
        return despatcher.sendInConversation(this, type, payload, false);
    }

    /** Sends {@code payload} and ends the conversation on both sides. */
    public CompletableFuture<Void> sendAndEnd(int type, byte[] payload) {
        return despatcher.sendInConversation(this, type, payload, true);
    }

    /** Ends the conversation: the remote is told, and the local handler's {@code onEnd(LOCAL)} follows. */
    public void end() { despatcher.endConversation(this); }

    @Override public String toString() {
        return "Conversation[" + peer.shortString() + "#" + id + (openedLocally ? " (ours)" : " (theirs)") + "]";
    }
}
