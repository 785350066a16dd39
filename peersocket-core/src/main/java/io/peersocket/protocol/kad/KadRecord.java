package io.peersocket.protocol.kad;

import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * A DHT record ({@code Record}): a value for a key. Arrays are not copied; treat them as immutable.
 *
 * @param timeReceived RFC 3339 time the receiver got it (set by the receiver), or empty
 */
public record KadRecord(byte[] key, byte[] value, String timeReceived) {
    public KadRecord {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(value, "value");
        Objects.requireNonNull(timeReceived, "timeReceived");
    }

    @Override public boolean equals(Object o) {
        return o instanceof KadRecord r && Arrays.equals(key, r.key) && Arrays.equals(value, r.value)
                && timeReceived.equals(r.timeReceived);
    }

    @Override public int hashCode() { return 31 * (31 * Arrays.hashCode(key) + Arrays.hashCode(value)) + timeReceived.hashCode(); }

    @Override public String toString() {
        return "KadRecord(key=" + KadMessage.printable(key) + ", value=" + value.length + " bytes"
                + (timeReceived.isEmpty() ? "" : ", received " + timeReceived) + ")";
    }

    static String hex(byte[] b) { return HexFormat.of().formatHex(b); }
}
