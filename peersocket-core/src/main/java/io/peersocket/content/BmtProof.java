package io.peersocket.content;

import java.security.MessageDigest;
import java.util.Arrays;
import java.util.Objects;

/**
 * An inclusion proof of one 32-byte segment of a chunk's (zero-padded) payload against the chunk's address:
 * the segment, its 7 sibling hashes from the leaves up, and the span (docs/wire.md "Chunks"). Anyone holding
 * the address can check that the segment is at that position of that chunk without the other 4,064 bytes —
 * what seed 001's "provable" data exchange and receipts need.
 *
 * @param segment segment index, 0..127
 * @param data the segment's 32 bytes (zeros beyond the payload)
 * @param siblings 7 sibling hashes of 32 bytes, leaf level first
 * @param span the chunk's span
 */
public record BmtProof(int segment, byte[] data, byte[][] siblings, long span) {
    /** Levels of the BMT: 128 = 2^7 segments. */
    public static final int DEPTH = 7;

    public BmtProof {
        if (segment < 0 || segment >= Chunk.SEGMENTS) {
            throw new IllegalArgumentException("segment must be in 0.." + (Chunk.SEGMENTS - 1) + ", got " + segment);
        }
        Objects.requireNonNull(data, "data");
        Objects.requireNonNull(siblings, "siblings");
        if (data.length != Chunk.SEGMENT_BYTES) {
            throw new IllegalArgumentException("segment data must be 32 bytes, got " + data.length);
        }
        if (siblings.length != DEPTH) {
            throw new IllegalArgumentException("a proof has " + DEPTH + " siblings, got " + siblings.length);
        }
        byte[][] copy = new byte[DEPTH][];
        for (int i = 0; i < DEPTH; i++) {
            if (siblings[i] == null || siblings[i].length != Chunk.SEGMENT_BYTES) {
                throw new IllegalArgumentException("sibling " + i + " must be 32 bytes");
            }
            copy[i] = siblings[i].clone();
        }
        data = data.clone();
        siblings = copy;
    }

    /**
     * The proof of segment {@code segment} of {@code chunk}.
     *
     * @throws IllegalArgumentException if {@code segment} is not in 0..127
     */
    public static BmtProof of(Chunk chunk, int segment) {
        if (segment < 0 || segment >= Chunk.SEGMENTS) {
            throw new IllegalArgumentException("segment must be in 0.." + (Chunk.SEGMENTS - 1) + ", got " + segment);
        }
        byte[] level = Arrays.copyOf(chunk.payload(), Chunk.MAX_PAYLOAD);
        byte[] data = Arrays.copyOfRange(level, segment * 32, segment * 32 + 32);
        byte[][] siblings = new byte[DEPTH][];
        MessageDigest md = Chunk.sha256();
        int index = segment;
        int nodes = Chunk.SEGMENTS;
        for (int l = 0; l < DEPTH; l++) {
            int sib = index ^ 1;
            siblings[l] = Arrays.copyOfRange(level, sib * 32, sib * 32 + 32);
            byte[] up = new byte[nodes / 2 * 32];
            for (int p = 0; p < nodes / 2; p++) {
                md.update(level, p * 64, 64);
                System.arraycopy(md.digest(), 0, up, p * 32, 32);
            }
            level = up;
            nodes /= 2;
            index >>= 1;
        }
        return new BmtProof(segment, data, siblings, chunk.span());
    }

    /** Whether this proof shows {@link #data()} at {@link #segment()} of the chunk at {@code address}. */
    public boolean verify(ChunkAddress address) {
        MessageDigest md = Chunk.sha256();
        byte[] h = data.clone();
        int index = segment;
        for (int l = 0; l < DEPTH; l++) {
            if ((index & 1) == 0) {
                md.update(h);
                md.update(siblings[l]);
            } else {
                md.update(siblings[l]);
                md.update(h);
            }
            h = md.digest();
            index >>= 1;
        }
        byte[] spanBytes = new byte[Chunk.SPAN_BYTES];
        Chunk.putSpan(spanBytes, span);
        md.update(spanBytes);
        md.update(h);
        return Arrays.equals(md.digest(), address.raw());
    }

    @Override
    public byte[] data() {
        return data.clone();
    }

    @Override
    public byte[][] siblings() {
        byte[][] copy = new byte[DEPTH][];
        for (int i = 0; i < DEPTH; i++) {
            copy[i] = siblings[i].clone();
        }
        return copy;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof BmtProof p && p.segment == segment && p.span == span && Arrays.equals(p.data, data)
                && Arrays.deepEquals(p.siblings, siblings);
    }

    @Override
    public int hashCode() {
        return Objects.hash(segment, span, Arrays.hashCode(data));
    }

    @Override
    public String toString() {
        return "BmtProof[segment " + segment + ", span " + span + "]";
    }
}
