package io.peersocket.protocol.peers;

/**
 * Limits and timing of {@link PeerExchange}.
 *
 * @param maxListSize most peers in our connection log (the oldest are dropped), {@code >= 1}
 * @param maxAddressesPerPeer most addresses kept and accepted per peer, 1 to 64
 * @param maxEntriesPerMessage most entries in one delta message, {@code >= 1}
 * @param maxMessageBytes largest message sent or accepted, bytes, {@code >= 4096} and room for one entry with
 *     {@code maxAddressesPerPeer} addresses of {@value #MAX_ADDRESS_BYTES} bytes
 * @param maxKnownPeers most peers learned from others that are kept (the least recently seen are dropped)
 * @param maxCounterparties most counterparties whose cursors (and whose logs' positions) are kept (the least
 *     recently updated are dropped; a dropped counterparty is later sent our whole log again)
 * @param exchangeIntervalMs how often connected counterparties that are behind are sent deltas, ms, {@code > 0}
 * @param replyTimeoutMs how long to wait for a counterparty's answer to a delta, ms, {@code > 0}
 */
public record PeerExchangeConfig(int maxListSize, int maxAddressesPerPeer, int maxEntriesPerMessage,
                                 int maxMessageBytes, int maxKnownPeers, int maxCounterparties,
                                 long exchangeIntervalMs, long replyTimeoutMs) {
    /** Longest address accepted, bytes of its binary form. */
    public static final int MAX_ADDRESS_BYTES = 256;

    public PeerExchangeConfig {
        positive("maxListSize", maxListSize);
        if (maxAddressesPerPeer < 1 || maxAddressesPerPeer > 64) {
            throw new IllegalArgumentException("maxAddressesPerPeer must be in [1, 64], got " + maxAddressesPerPeer);
        }
        positive("maxEntriesPerMessage", maxEntriesPerMessage);
        int oneEntry = maxAddressesPerPeer * (MAX_ADDRESS_BYTES + 3) + 256;
        if (maxMessageBytes < Math.max(4096, oneEntry)) {
            throw new IllegalArgumentException("maxMessageBytes must be >= " + Math.max(4096, oneEntry)
                    + " (room for one entry with " + maxAddressesPerPeer + " addresses), got " + maxMessageBytes);
        }
        positive("maxKnownPeers", maxKnownPeers);
        positive("maxCounterparties", maxCounterparties);
        positive("exchangeIntervalMs", exchangeIntervalMs);
        positive("replyTimeoutMs", replyTimeoutMs);
    }

    /** 1000 peers, 8 addresses each, 100 entries / 64 KiB per message, 10,000 known peers and counterparties,
     *  exchange every 30 s, 10 s reply timeout. */
    public static PeerExchangeConfig defaults() {
        return new PeerExchangeConfig(1000, 8, 100, 64 * 1024, 10_000, 10_000, 30_000, 10_000);
    }

    public PeerExchangeConfig withMaxListSize(int n) {
        return new PeerExchangeConfig(n, maxAddressesPerPeer, maxEntriesPerMessage, maxMessageBytes, maxKnownPeers,
                maxCounterparties, exchangeIntervalMs, replyTimeoutMs);
    }

    public PeerExchangeConfig withMaxEntriesPerMessage(int n) {
        return new PeerExchangeConfig(maxListSize, maxAddressesPerPeer, n, maxMessageBytes, maxKnownPeers,
                maxCounterparties, exchangeIntervalMs, replyTimeoutMs);
    }

    public PeerExchangeConfig withMaxKnownPeers(int n) {
        return new PeerExchangeConfig(maxListSize, maxAddressesPerPeer, maxEntriesPerMessage, maxMessageBytes, n,
                maxCounterparties, exchangeIntervalMs, replyTimeoutMs);
    }

    public PeerExchangeConfig withExchangeIntervalMs(long ms) {
        return new PeerExchangeConfig(maxListSize, maxAddressesPerPeer, maxEntriesPerMessage, maxMessageBytes,
                maxKnownPeers, maxCounterparties, ms, replyTimeoutMs);
    }

    public PeerExchangeConfig withReplyTimeoutMs(long ms) {
        return new PeerExchangeConfig(maxListSize, maxAddressesPerPeer, maxEntriesPerMessage, maxMessageBytes,
                maxKnownPeers, maxCounterparties, exchangeIntervalMs, ms);
    }

    private static void positive(String what, long v) {
        if (v <= 0) throw new IllegalArgumentException(what + " must be > 0, got " + v);
    }
}
