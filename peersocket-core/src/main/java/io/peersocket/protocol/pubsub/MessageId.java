package io.peersocket.protocol.pubsub;

import java.util.Arrays;
import java.util.HexFormat;

/** A pubsub message id (see {@link MessageIdFunction}): immutable bytes with value equality. Thread-safe. */
public final class MessageId {
    private final byte[] bytes;
    private final int hash;

    /** Wraps a copy of {@code bytes}. */
    public static MessageId of(byte[] bytes) { return new MessageId(bytes.clone()); }

    MessageId(byte[] owned) {
        this.bytes = owned;
        this.hash = Arrays.hashCode(owned);
    }

    /** A copy of the id bytes. */
    public byte[] toBytes() { return bytes.clone(); }

    byte[] raw() { return bytes; }

    public int length() { return bytes.length; }

    @Override public boolean equals(Object o) { return o instanceof MessageId m && Arrays.equals(m.bytes, bytes); }

    @Override public int hashCode() { return hash; }

    /** Lower-case hex. */
    @Override public String toString() { return HexFormat.of().formatHex(bytes); }
}
