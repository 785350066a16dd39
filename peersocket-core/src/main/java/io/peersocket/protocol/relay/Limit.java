package io.peersocket.protocol.relay;

/**
 * The limits a relay applies to each relayed connection (circuit-v2.md "Limit"); 0 means no limit.
 *
 * @param durationSeconds longest life of a circuit, in seconds (uint32 on the wire)
 * @param dataBytes most bytes relayed in each direction
 */
public record Limit(long durationSeconds, long dataBytes) {
    /** No limit at all (a relay that omits the field). */
    public static final Limit NONE = new Limit(0, 0);

    public Limit {
        if (durationSeconds < 0 || durationSeconds > 0xFFFF_FFFFL) {
            throw new IllegalArgumentException("limit duration must be a uint32 of seconds: " + durationSeconds);
        }
        if (dataBytes < 0) throw new IllegalArgumentException("limit data must be >= 0: " + dataBytes);
    }

    /** True if neither duration nor data is limited. */
    public boolean isNone() { return durationSeconds == 0 && dataBytes == 0; }
}
