package io.peersocket.content;

import io.peersocket.identity.PeerId;
import io.peersocket.util.Proximity;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Objects;

/**
 * The address of a {@link Chunk}: 32 bytes, the chunk's BMT hash (see {@link Chunk} and docs/wire.md
 * "Chunks"). Chunk addresses and node overlay addresses share one 256-bit key space, in which the proximity
 * order (PO) of two keys is the number of leading bits they share (seed 001).
 *
 * <p>Text form: 64 lowercase hex digits. Immutable and thread-safe; compares as unsigned big-endian bytes.
 */
public final class ChunkAddress implements Comparable<ChunkAddress> {
    /** Address length in bytes. */
    public static final int BYTES = 32;
    /** The largest proximity order {@link #proximityOrder} returns (for an address equal to the overlay). */
    public static final int MAX_PO = 255;

    private static final HexFormat HEX = HexFormat.of();

    private final byte[] bytes;
    private final int hash;

    private ChunkAddress(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    /**
     * An address from its 32 raw bytes (copied).
     *
     * @throws IllegalArgumentException if {@code raw} is not 32 bytes
     */
    public static ChunkAddress of(byte[] raw) {
        Objects.requireNonNull(raw, "raw");
        if (raw.length != BYTES) {
            throw new IllegalArgumentException("chunk address must be " + BYTES + " bytes, got " + raw.length);
        }
        return new ChunkAddress(raw.clone());
    }

    /**
     * An address from 32 bytes of {@code buf} at {@code offset} (copied).
     *
     * @throws IndexOutOfBoundsException if fewer than 32 bytes follow {@code offset}
     */
    public static ChunkAddress of(byte[] buf, int offset) {
        Objects.checkFromIndexSize(offset, BYTES, buf.length);
        return new ChunkAddress(Arrays.copyOfRange(buf, offset, offset + BYTES));
    }

    /** Wraps an array the caller hands over and never changes. */
    static ChunkAddress wrap(byte[] raw) {
        return new ChunkAddress(raw);
    }

    /**
     * Parses the text form: 64 hex digits (either case; surrounding whitespace ignored).
     *
     * @throws IllegalArgumentException if {@code text} is not 64 hex digits, naming the problem
     */
    public static ChunkAddress parse(String text) {
        Objects.requireNonNull(text, "text");
        String t = text.strip();
        if (t.length() != BYTES * 2) {
            throw new IllegalArgumentException("chunk address must be " + (BYTES * 2) + " hex digits, got "
                    + t.length() + " characters");
        }
        try {
            return new ChunkAddress(HEX.parseHex(t));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("chunk address is not hex: " + e.getMessage());
        }
    }

    /**
     * The overlay address of a node: SHA-256 of its binary {@link PeerId}, the same key Kademlia uses for it
     * (libp2p kad-dht spec, "Distance"; {@code io.peersocket.protocol.kad.KadKey#of(PeerId)}).
     */
    public static byte[] overlayOf(PeerId peer) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(peer.toBytes());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** The 32 address bytes (a copy). */
    public byte[] toBytes() {
        return bytes.clone();
    }

    /** Copies the 32 address bytes into {@code dst} at {@code offset}. */
    public void copyTo(byte[] dst, int offset) {
        System.arraycopy(bytes, 0, dst, offset, BYTES);
    }

    /** The internal array; callers must not change it. */
    byte[] raw() {
        return bytes;
    }

    /**
     * Proximity order to an overlay address: the number of leading bits shared, capped at {@link #MAX_PO}, so
     * 0..255; this is the chunk's bin in a store whose node has that overlay.
     *
     * @throws IllegalArgumentException if {@code overlay} is not 32 bytes
     */
    public int proximityOrder(byte[] overlay) {
        return Math.min(MAX_PO, Proximity.order(bytes, overlay));
    }

    /** Proximity order to another address, 0..255 as for {@link #proximityOrder(byte[])}. */
    public int proximityOrder(ChunkAddress other) {
        return proximityOrder(other.bytes);
    }

    /** The 64 lowercase hex digits. */
    public String toHex() {
        return HEX.formatHex(bytes);
    }

    /** The first 4 bytes in hex, for logs and tables. */
    public String shortString() {
        return HEX.formatHex(bytes, 0, 4);
    }

    @Override
    public int compareTo(ChunkAddress o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ChunkAddress a && Arrays.equals(a.bytes, bytes);
    }

    @Override
    public int hashCode() {
        return hash;
    }

    /** The 64 hex digits. */
    @Override
    public String toString() {
        return toHex();
    }
}
