package io.peersocket.protocol.kad;

import io.peersocket.identity.PeerId;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Random;

/**
 * A point in the Kademlia key space: 256 bits, the SHA-256 of a {@link PeerId}'s bytes or of a record key
 * (libp2p kad-dht spec, "Distance"). In seed 001's terms this is an <em>overlay address</em>.
 *
 * <p>Distance is XOR; the <em>proximity order</em> (PO) of two keys is the number of leading bits they share,
 * 0..256 (256 only for equal keys). Peers with PO {@code p} to our key fall in bin {@code p}; a larger PO
 * means closer.
 *
 * <p>Immutable and thread-safe.
 */
public final class KadKey implements Comparable<KadKey> {
    /** Key length in bits. */
    public static final int BITS = 256;
    /** Key length in bytes. */
    public static final int BYTES = 32;

    private final byte[] bytes;
    private final int hash;

    private KadKey(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    /** The key of a peer: SHA-256 of its binary PeerId (the identity / sha256 multihash). */
    public static KadKey of(PeerId peer) { return new KadKey(sha256(peer.toBytes())); }

    /** The key of a record or provider key (or any wire key): SHA-256 of {@code key}. */
    public static KadKey ofKey(byte[] key) { return new KadKey(sha256(key)); }

    /**
     * A key from its 32 raw bytes (already hashed).
     *
     * @throws IllegalArgumentException if {@code raw} is not 32 bytes
     */
    public static KadKey fromBytes(byte[] raw) {
        if (raw.length != BYTES) throw new IllegalArgumentException("kad key must be " + BYTES + " bytes, got " + raw.length);
        return new KadKey(raw.clone());
    }

    /** The 32 key bytes (a copy). */
    public byte[] toBytes() { return bytes.clone(); }

    /** The bit at {@code index} (0 = most significant bit of the first byte). */
    public int bit(int index) { return (bytes[index >>> 3] >>> (7 - (index & 7))) & 1; }

    /** Proximity order to {@code other}: the number of leading equal bits, 0..256. */
    public int proximity(KadKey other) { return proximity(bytes, other.bytes); }

    static int proximity(byte[] a, byte[] b) {
        for (int i = 0; i < BYTES; i++) {
            int x = (a[i] ^ b[i]) & 0xFF;
            if (x != 0) return i * 8 + Integer.numberOfLeadingZeros(x) - 24;
        }
        return BITS;
    }

    /** XOR distance to {@code other}, as a key (compare distances with {@link #compareTo}). */
    public KadKey distance(KadKey other) {
        byte[] d = new byte[BYTES];
        for (int i = 0; i < BYTES; i++) d[i] = (byte) (bytes[i] ^ other.bytes[i]);
        return new KadKey(d);
    }

    /**
     * Compares the XOR distances from this key to {@code a} and to {@code b}: negative if {@code a} is closer,
     * positive if {@code b} is closer, 0 if equal (only when {@code a} equals {@code b}).
     */
    public int compareDistance(KadKey a, KadKey b) { return io.peersocket.util.Proximity.compareDistance(bytes, a.bytes, b.bytes); }

    /** Unsigned big-endian order of the key bytes (so distances compare by magnitude). */
    @Override public int compareTo(KadKey o) { return Arrays.compareUnsigned(bytes, o.bytes); }

    /**
     * A random wire key (shaped as a sha256-multihash PeerId) whose {@link KadKey} has proximity order exactly
     * {@code po} to {@code base}: used to refresh bin {@code po}. Found by trying random preimages, about
     * 2^(po+1) SHA-256 computations on average.
     *
     * @param maxTries give up after this many tries
     * @return the key, or null if none was found within {@code maxTries}
     * @throws IllegalArgumentException if {@code po} is not in 0..255
     */
    public static byte[] randomPreimageInBin(KadKey base, int po, Random random, int maxTries) {
        if (po < 0 || po >= BITS) throw new IllegalArgumentException("po must be in 0..255, got " + po);
        byte[] candidate = new byte[34];
        candidate[0] = 0x12; // sha2-256 multihash
        candidate[1] = 0x20;
        byte[] digest = new byte[32];
        MessageDigest md = digest();
        for (int i = 0; i < maxTries; i++) {
            for (int j = 2; j < 34; j += 4) {
                int r = random.nextInt();
                candidate[j] = (byte) r;
                candidate[j + 1] = (byte) (r >>> 8);
                candidate[j + 2] = (byte) (r >>> 16);
                candidate[j + 3] = (byte) (r >>> 24);
            }
            md.reset();
            md.update(candidate);
            try {
                md.digest(digest, 0, 32);
            } catch (java.security.DigestException e) {
                throw new IllegalStateException(e);
            }
            if (proximity(base.bytes, digest) == po) return candidate.clone();
        }
        return null;
    }

    static byte[] sha256(byte[] data) { return digest().digest(data); }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    @Override public boolean equals(Object o) { return o instanceof KadKey k && Arrays.equals(k.bytes, bytes); }

    @Override public int hashCode() { return hash; }

    /** Hex of the key. */
    @Override public String toString() { return HexFormat.of().formatHex(bytes); }

    /** The first 4 bytes in hex, for logs and tables. */
    public String shortString() { return HexFormat.of().formatHex(bytes, 0, 4); }
}
