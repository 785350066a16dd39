package io.peersocket.protocol.kad;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.Objects;

/**
 * A decoded kad-dht {@code Message}, bounded by {@link KadCodec}. The key array is not copied; treat it as
 * immutable.
 *
 * @param key the message key (empty for PING)
 * @param record the record, or null
 * @param droppedPeers peers the decoder left out: over {@link KadCodec#MAX_PEERS} per list or with an invalid id
 * @param droppedAddresses addresses the decoder left out: unparseable or over
 *     {@link KadCodec#MAX_ADDRESSES_PER_PEER} per peer
 */
public record KadMessage(Type type, byte[] key, KadRecord record, List<KadPeer> closerPeers,
                         List<KadPeer> providerPeers, int droppedPeers, int droppedAddresses) {

    /** {@code Message.MessageType}; ordinals are the wire values. */
    public enum Type { PUT_VALUE, GET_VALUE, ADD_PROVIDER, GET_PROVIDERS, FIND_NODE, PING }

    public KadMessage {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(key, "key");
        closerPeers = List.copyOf(closerPeers);
        providerPeers = List.copyOf(providerPeers);
    }

    /** A request or response with only a type and key. */
    public static KadMessage of(Type type, byte[] key) {
        return new KadMessage(type, key, null, List.of(), List.of(), 0, 0);
    }

    public KadMessage withRecord(KadRecord r) {
        return new KadMessage(type, key, r, closerPeers, providerPeers, droppedPeers, droppedAddresses);
    }

    public KadMessage withCloserPeers(List<KadPeer> peers) {
        return new KadMessage(type, key, record, peers, providerPeers, droppedPeers, droppedAddresses);
    }

    public KadMessage withProviderPeers(List<KadPeer> peers) {
        return new KadMessage(type, key, record, closerPeers, peers, droppedPeers, droppedAddresses);
    }

    @Override public boolean equals(Object o) {
        return o instanceof KadMessage m && type == m.type && Arrays.equals(key, m.key)
                && Objects.equals(record, m.record) && closerPeers.equals(m.closerPeers)
                && providerPeers.equals(m.providerPeers) && droppedPeers == m.droppedPeers
                && droppedAddresses == m.droppedAddresses;
    }

    @Override public int hashCode() {
        return Objects.hash(type, Arrays.hashCode(key), record, closerPeers, providerPeers, droppedPeers, droppedAddresses);
    }

    @Override public String toString() {
        return "KadMessage(" + type + " key=" + printable(key) + (record == null ? "" : " " + record)
                + " closer=" + closerPeers.size() + " providers=" + providerPeers.size() + ")";
    }

    /** A key as text if it is printable ASCII (like {@code /ns/name}), else hex; at most 80 characters. */
    static String printable(byte[] key) {
        boolean text = key.length > 0;
        for (byte b : key) if (b < 0x20 || b > 0x7e) text = false;
        String s = text ? new String(key, StandardCharsets.US_ASCII) : HexFormat.of().formatHex(key);
        return s.length() > 80 ? s.substring(0, 77) + "..." : s;
    }
}
