package io.peersocket.despatch;

/**
 * Despatch limits and timeouts.
 *
 * @param maxMessageBytes largest payload accepted or sent, bytes (default 4 MiB)
 * @param requestTimeoutMs default time to wait for a reply (default 10 000 ms)
 * @param conversationIdleTimeoutMs a conversation with no message either way for this long ends with
 *     TIMEOUT (default 60 000 ms)
 * @param maxConversations open conversations per node; beyond this new ones are refused (default 10 000)
 * @param maxPendingRequests outstanding requests per node; beyond this {@code request} fails (default 100 000)
 */
public record DespatchConfig(int maxMessageBytes, long requestTimeoutMs, long conversationIdleTimeoutMs,
                             int maxConversations, int maxPendingRequests) {
    public DespatchConfig {
        if (maxMessageBytes < 1024) throw new IllegalArgumentException("maxMessageBytes must be >= 1024");
        if (requestTimeoutMs < 1) throw new IllegalArgumentException("requestTimeoutMs must be >= 1");
        if (conversationIdleTimeoutMs < 1) throw new IllegalArgumentException("conversationIdleTimeoutMs must be >= 1");
        if (maxConversations < 1 || maxPendingRequests < 1) throw new IllegalArgumentException("limits must be >= 1");
    }

    public static DespatchConfig defaults() { return new DespatchConfig(4 << 20, 10_000, 60_000, 10_000, 100_000); }

    public DespatchConfig withRequestTimeoutMs(long ms) {
        return new DespatchConfig(maxMessageBytes, ms, conversationIdleTimeoutMs, maxConversations, maxPendingRequests);
    }

    public DespatchConfig withConversationIdleTimeoutMs(long ms) {
        return new DespatchConfig(maxMessageBytes, requestTimeoutMs, ms, maxConversations, maxPendingRequests);
    }

    public DespatchConfig withMaxMessageBytes(int n) {
        return new DespatchConfig(n, requestTimeoutMs, conversationIdleTimeoutMs, maxConversations, maxPendingRequests);
    }
}
