package io.peersocket.content;

import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.Objects;

/**
 * A chunk: up to {@value #MAX_PAYLOAD} bytes of payload with an 8-byte span, addressed by its content (seed
 * 001, Swarm's content-addressed chunks).
 *
 * <p>Encoding (docs/wire.md "Chunks"): the chunk's <em>data</em> is {@code span || payload}, the span an
 * unsigned 64-bit little-endian integer: for a leaf chunk the payload length, for an intermediate chunk of a
 * file tree the number of file bytes beneath it. The address is the <em>BMT hash</em>:
 * <ol>
 *   <li>pad the payload with zero bytes to 4,096 bytes = 128 segments of 32 bytes;</li>
 *   <li>hash pairs of neighbouring segments with SHA-256 ({@code SHA-256(left || right)}) level by level, a
 *       binary Merkle tree of 7 levels, down to one 32-byte root;</li>
 *   <li>address = {@code SHA-256(span as 8 bytes LE || root)}.</li>
 * </ol>
 * This is Swarm's BMT with SHA-256 in place of Keccak-256; the tree allows inclusion proofs of a 32-byte
 * segment against an address. Zero padding alone does not change the root, so the span is what tells a
 * payload from the same payload with trailing zeros.
 *
 * <p>Invariant: a {@code Chunk} instance always matches its address; every factory computes or checks it.
 * Rules checked on decode: data of 8..4,104 bytes; span at most {@value #MAX_SPAN} and not smaller than
 * the payload length. Immutable and thread-safe.
 */
public final class Chunk {
    /** Largest payload, bytes. */
    public static final int MAX_PAYLOAD = 4096;
    /** Span length, bytes. */
    public static final int SPAN_BYTES = 8;
    /** Largest encoded chunk ({@code span || payload}), bytes. */
    public static final int MAX_DATA = SPAN_BYTES + MAX_PAYLOAD;
    /** BMT segment size, bytes. */
    public static final int SEGMENT_BYTES = 32;
    /** Segments per chunk (the BMT's leaves). */
    public static final int SEGMENTS = MAX_PAYLOAD / SEGMENT_BYTES;
    /** Largest span accepted: 2^62 bytes (keeps span arithmetic far from overflow). */
    public static final long MAX_SPAN = 1L << 62;

    private static final int LEVELS = 7; // log2(SEGMENTS)
    /** ZERO[l] = root of an all-zero subtree of 2^l segments. */
    private static final byte[][] ZERO = new byte[LEVELS + 1][];
    private static final ThreadLocal<Hasher> HASHER = ThreadLocal.withInitial(Hasher::new);

    static {
        ZERO[0] = new byte[SEGMENT_BYTES];
        MessageDigest md = sha256();
        for (int l = 1; l <= LEVELS; l++) {
            md.update(ZERO[l - 1]);
            md.update(ZERO[l - 1]);
            ZERO[l] = md.digest();
        }
    }

    private final ChunkAddress address;
    /** span || payload; never changed. */
    private final byte[] data;

    private Chunk(ChunkAddress address, byte[] data) {
        this.address = address;
        this.data = data;
    }

    /**
     * A leaf chunk: span = payload length. The payload is copied.
     *
     * @throws IllegalArgumentException if the payload is longer than {@value #MAX_PAYLOAD} bytes
     */
    public static Chunk of(byte[] payload) {
        return of(payload.length, payload);
    }

    /**
     * A chunk with an explicit span (intermediate chunks of a file tree carry the byte count beneath them).
     * The payload is copied.
     *
     * @throws IllegalArgumentException if the payload is longer than {@value #MAX_PAYLOAD} bytes, or the span
     *     is negative, above {@link #MAX_SPAN} or smaller than the payload length
     */
    public static Chunk of(long span, byte[] payload) {
        Objects.requireNonNull(payload, "payload");
        return of(span, payload, 0, payload.length);
    }

    /** As {@link #of(long, byte[])} with {@code len} payload bytes from {@code buf} at {@code off}. */
    public static Chunk of(long span, byte[] buf, int off, int len) {
        Objects.checkFromIndexSize(off, len, buf.length);
        if (len > MAX_PAYLOAD) {
            throw new IllegalArgumentException("chunk payload is " + len + " bytes, more than " + MAX_PAYLOAD);
        }
        checkSpan(span, len, IllegalArgumentException::new);
        byte[] data = new byte[SPAN_BYTES + len];
        putSpan(data, span);
        System.arraycopy(buf, off, data, SPAN_BYTES, len);
        return new Chunk(HASHER.get().address(data), data);
    }

    /**
     * Decodes chunk data ({@code span || payload}, copied) and computes its address.
     *
     * @throws InvalidChunkException if the data is shorter than 8 or longer than 4,104 bytes, or the span is
     *     out of range
     */
    public static Chunk decode(byte[] data) {
        Objects.requireNonNull(data, "data");
        checkData(data);
        byte[] copy = data.clone();
        return new Chunk(HASHER.get().address(copy), copy);
    }

    /**
     * Decodes chunk data received for {@code expected} and checks that it is the content of that address.
     *
     * @throws InvalidChunkException as for {@link #decode(byte[])}, or if the data hashes to another address
     *     (the message names both)
     */
    public static Chunk decode(ChunkAddress expected, byte[] data) {
        Objects.requireNonNull(expected, "expected");
        Objects.requireNonNull(data, "data");
        checkData(data);
        byte[] copy = data.clone();
        ChunkAddress actual = HASHER.get().address(copy);
        if (!actual.equals(expected)) {
            throw new InvalidChunkException("chunk content does not match its address: expected " + expected
                    + ", content hashes to " + actual);
        }
        return new Chunk(expected, copy);
    }

    /** As {@link #decode(ChunkAddress, byte[])} but takes ownership of {@code data} (no copy). */
    static Chunk decodeOwned(ChunkAddress expected, byte[] data) {
        checkData(data);
        ChunkAddress actual = HASHER.get().address(data);
        if (!actual.equals(expected)) {
            throw new InvalidChunkException("chunk content does not match its address: expected " + expected
                    + ", content hashes to " + actual);
        }
        return new Chunk(expected, data);
    }

    /** A chunk read back from the store without re-hashing (only when verify-on-read is off). */
    static Chunk trusted(ChunkAddress address, byte[] data) {
        checkData(data);
        return new Chunk(address, data);
    }

    /**
     * The address of chunk data without building a chunk.
     *
     * @throws InvalidChunkException as for {@link #decode(byte[])}
     */
    public static ChunkAddress addressOf(byte[] data) {
        checkData(data);
        return HASHER.get().address(data);
    }

    /**
     * The BMT root of a payload (zero padded to 4,096 bytes), the inner hash of the address.
     *
     * @throws IllegalArgumentException if the payload is longer than 4,096 bytes
     */
    public static byte[] bmtRoot(byte[] payload) {
        if (payload.length > MAX_PAYLOAD) {
            throw new IllegalArgumentException("chunk payload is " + payload.length + " bytes, more than " + MAX_PAYLOAD);
        }
        byte[] root = new byte[SEGMENT_BYTES];
        HASHER.get().root(payload, 0, payload.length, root);
        return root;
    }

    /** The chunk's address. */
    public ChunkAddress address() {
        return address;
    }

    /** The span: payload length for a leaf, bytes beneath for an intermediate chunk of a file tree. */
    public long span() {
        return getSpan(data);
    }

    /** Payload length, bytes (0..4,096). */
    public int payloadLength() {
        return data.length - SPAN_BYTES;
    }

    /** The payload (a copy). */
    public byte[] payload() {
        return Arrays.copyOfRange(data, SPAN_BYTES, data.length);
    }

    /** Copies the payload into {@code dst} at {@code offset}. */
    public void copyPayload(byte[] dst, int offset) {
        System.arraycopy(data, SPAN_BYTES, dst, offset, data.length - SPAN_BYTES);
    }

    /** The encoded data {@code span || payload} (a copy): what is stored and sent on the wire. */
    public byte[] data() {
        return data.clone();
    }

    /** Encoded size in bytes (8 + payload length). */
    public int size() {
        return data.length;
    }

    /** The internal data array; callers must not change it. */
    byte[] rawData() {
        return data;
    }

    /** Recomputes the address from the content and compares it with {@link #address()}. */
    public boolean verify() {
        return HASHER.get().address(data).equals(address);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Chunk c && c.address.equals(address);
    }

    @Override
    public int hashCode() {
        return address.hashCode();
    }

    @Override
    public String toString() {
        return "Chunk[" + address.shortString() + ", span " + span() + ", " + payloadLength() + " B]";
    }

    // ---------------------------------------------------------------------------------------------- encoding

    static long getSpan(byte[] data) {
        long v = 0;
        for (int i = SPAN_BYTES - 1; i >= 0; i--) {
            v = (v << 8) | (data[i] & 0xFF);
        }
        return v;
    }

    static void putSpan(byte[] dst, long span) {
        for (int i = 0; i < SPAN_BYTES; i++) {
            dst[i] = (byte) (span >>> (8 * i));
        }
    }

    private static void checkData(byte[] data) {
        if (data.length < SPAN_BYTES) {
            throw new InvalidChunkException("chunk data is " + data.length + " bytes, shorter than its "
                    + SPAN_BYTES + "-byte span");
        }
        if (data.length > MAX_DATA) {
            throw new InvalidChunkException("chunk data is " + data.length + " bytes, more than " + MAX_DATA);
        }
        checkSpan(getSpan(data), data.length - SPAN_BYTES, InvalidChunkException::new);
    }

    private static <E extends RuntimeException> void checkSpan(long span, int payloadLength,
            java.util.function.Function<String, E> error) {
        if (span < 0 || span > MAX_SPAN) {
            throw error.apply("chunk span " + Long.toUnsignedString(span) + " is out of range (max " + MAX_SPAN + ")");
        }
        if (span < payloadLength) {
            throw error.apply("chunk span " + span + " is smaller than its payload length " + payloadLength);
        }
    }

    static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    /** Per-thread BMT state: a digest and a 4 KiB work buffer. */
    private static final class Hasher {
        private final MessageDigest md = sha256();
        private final byte[] work = new byte[MAX_PAYLOAD];

        ChunkAddress address(byte[] data) {
            byte[] root = new byte[SEGMENT_BYTES];
            root(data, SPAN_BYTES, data.length - SPAN_BYTES, root);
            md.update(data, 0, SPAN_BYTES);
            md.update(root);
            return ChunkAddress.wrap(md.digest());
        }

        /** Writes the BMT root of {@code len} payload bytes at {@code off} into {@code out}. */
        void root(byte[] buf, int off, int len, byte[] out) {
            if (len == 0) {
                System.arraycopy(ZERO[LEVELS], 0, out, 0, SEGMENT_BYTES);
                return;
            }
            System.arraycopy(buf, off, work, 0, len);
            // Zero the rest of the last segment used; segments beyond it are never read (ZERO stands in).
            int live = (len + SEGMENT_BYTES - 1) / SEGMENT_BYTES; // nodes at this level that are not all zero
            Arrays.fill(work, len, live * SEGMENT_BYTES, (byte) 0);
            try {
                for (int level = 0; level < LEVELS; level++) {
                    int parents = (live + 1) / 2;
                    for (int p = 0; p < parents; p++) {
                        int left = 2 * p;
                        if (left + 1 < live) {
                            md.update(work, left * SEGMENT_BYTES, 2 * SEGMENT_BYTES);
                        } else {
                            md.update(work, left * SEGMENT_BYTES, SEGMENT_BYTES);
                            md.update(ZERO[level]);
                        }
                        md.digest(work, p * SEGMENT_BYTES, SEGMENT_BYTES);
                    }
                    live = parents;
                }
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
            System.arraycopy(work, 0, out, 0, SEGMENT_BYTES);
        }
    }
}
