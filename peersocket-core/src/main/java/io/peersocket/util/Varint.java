package io.peersocket.util;

import java.nio.ByteBuffer;

/**
 * Unsigned LEB128 varints as used by multiformats (multiaddr, multihash, multistream-select) and
 * protobuf. Values are limited to 63 bits (9 encoded bytes), the multiformats maximum.
 *
 * <p>Thread-safe (stateless). Source: multiformats unsigned-varint spec.
 */
public final class Varint {
    /** Maximum encoded length in bytes of a varint accepted by {@link #read}. */
    public static final int MAX_BYTES = 9;

    private Varint() {}

    /** Number of bytes {@code value} (non-negative) takes when encoded. */
    public static int size(long value) {
        if (value < 0) throw new IllegalArgumentException("negative varint: " + value);
        int n = 1;
        while ((value >>>= 7) != 0) n++;
        return n;
    }

    /** Encodes {@code value} (non-negative) into a new array. */
    public static byte[] encode(long value) {
        byte[] out = new byte[size(value)];
        write(value, out, 0);
        return out;
    }

    /**
     * Writes {@code value} at {@code offset}; returns the offset after it.
     *
     * @throws IllegalArgumentException if value is negative
     * @throws ArrayIndexOutOfBoundsException if {@code out} is too short
     */
    public static int write(long value, byte[] out, int offset) {
        if (value < 0) throw new IllegalArgumentException("negative varint: " + value);
        while ((value & ~0x7FL) != 0) {
            out[offset++] = (byte) ((value & 0x7F) | 0x80);
            value >>>= 7;
        }
        out[offset++] = (byte) value;
        return offset;
    }

    /** Writes {@code value} (non-negative) to {@code buf}. */
    public static void write(long value, ByteBuffer buf) {
        if (value < 0) throw new IllegalArgumentException("negative varint: " + value);
        while ((value & ~0x7FL) != 0) {
            buf.put((byte) ((value & 0x7F) | 0x80));
            value >>>= 7;
        }
        buf.put((byte) value);
    }

    /**
     * Reads a varint from {@code buf}, advancing its position.
     *
     * @return the value, or -1 if {@code buf} ends before the varint does (position unchanged)
     * @throws IllegalArgumentException if the varint is longer than {@link #MAX_BYTES} or not minimally
     *     encoded
     */
    public static long read(ByteBuffer buf) {
        int start = buf.position();
        long value = 0;
        for (int i = 0; i < MAX_BYTES; i++) {
            if (!buf.hasRemaining()) {
                buf.position(start);
                return -1;
            }
            int b = buf.get() & 0xFF;
            value |= (long) (b & 0x7F) << (7 * i);
            if ((b & 0x80) == 0) {
                if (b == 0 && i > 0) throw new IllegalArgumentException("varint not minimally encoded");
                return value;
            }
        }
        throw new IllegalArgumentException("varint longer than " + MAX_BYTES + " bytes");
    }

    /**
     * Reads a varint that must be present and at most {@code max}.
     *
     * @throws IllegalArgumentException if truncated, malformed, or greater than {@code max}
     */
    public static long readBounded(ByteBuffer buf, long max, String what) {
        long v = read(buf);
        if (v < 0) throw new IllegalArgumentException(what + ": truncated varint");
        if (v > max) throw new IllegalArgumentException(what + ": " + v + " exceeds limit " + max);
        return v;
    }
}
