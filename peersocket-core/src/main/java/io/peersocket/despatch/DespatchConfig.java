package io.peersocket.despatch;

import java.util.concurrent.Executor;

/**
 * Despatch limits and timeouts, and where user handlers run.
 *
 * @param maxMessageBytes largest payload accepted or sent, bytes (default 4 MiB)
 * @param requestTimeoutMs default time to wait for a reply (default 10 000 ms)
 * @param conversationIdleTimeoutMs a conversation with no message either way for this long ends with
 *     TIMEOUT (default 60 000 ms)
 * @param maxConversations open conversations per node; beyond this new ones are refused (default 10 000)
 * @param maxPendingRequests outstanding requests per node; beyond this {@code request} fails (default 100 000)
 * @param handlerExecutor where stateless handlers and conversation handlers run; null (the default) for a new
 *     virtual thread per task, so a blocking handler never stalls the node. The simulator passes the node's
 *     event loop instead, so handlers run as loop tasks in a deterministic order; handlers must then never
 *     block (no {@code request(...).get()}).
 */
public record DespatchConfig(int maxMessageBytes, long requestTimeoutMs, long conversationIdleTimeoutMs,
                             int maxConversations, int maxPendingRequests, Executor handlerExecutor) {
    public DespatchConfig {
        if (maxMessageBytes < 1024) throw new IllegalArgumentException("maxMessageBytes must be >= 1024");
        if (requestTimeoutMs < 1) throw new IllegalArgumentException("requestTimeoutMs must be >= 1");
        if (conversationIdleTimeoutMs < 1) throw new IllegalArgumentException("conversationIdleTimeoutMs must be >= 1");
        if (maxConversations < 1 || maxPendingRequests < 1) throw new IllegalArgumentException("limits must be >= 1");
    }

    /** The limits, with handlers on virtual threads. */
    public DespatchConfig(int maxMessageBytes, long requestTimeoutMs, long conversationIdleTimeoutMs,
                          int maxConversations, int maxPendingRequests) {
        this(maxMessageBytes, requestTimeoutMs, conversationIdleTimeoutMs, maxConversations, maxPendingRequests, null);
    }

    public static DespatchConfig defaults() { return new DespatchConfig(4 << 20, 10_000, 60_000, 10_000, 100_000); }

    public DespatchConfig withRequestTimeoutMs(long ms) {
        return new DespatchConfig(maxMessageBytes, ms, conversationIdleTimeoutMs, maxConversations, maxPendingRequests,
                handlerExecutor);
    }

    public DespatchConfig withConversationIdleTimeoutMs(long ms) {
        return new DespatchConfig(maxMessageBytes, requestTimeoutMs, ms, maxConversations, maxPendingRequests,
                handlerExecutor);
    }

    public DespatchConfig withMaxMessageBytes(int n) {
        return new DespatchConfig(n, requestTimeoutMs, conversationIdleTimeoutMs, maxConversations, maxPendingRequests,
                handlerExecutor);
    }

    /**
     * Runs handlers on {@code executor} (must run tasks one at a time in submission order for deterministic
     * simulation, e.g. the node's event loop); null for virtual threads.
     */
    public DespatchConfig withHandlerExecutor(Executor executor) {
        return new DespatchConfig(maxMessageBytes, requestTimeoutMs, conversationIdleTimeoutMs, maxConversations,
                maxPendingRequests, executor);
    }
}
