package io.peersocket.util;

/**
 * Proximity order (PO) of two 256-bit keys: the number of leading bits they share (seed 001, libp2p kad-dht
 * "Distance"). Shared by the Kademlia key space and the chunk store, which index by it.
 */
public final class Proximity {
    /** Key length in bytes. */
    public static final int KEY_BYTES = 32;

    private Proximity() {}

    /**
     * The number of leading equal bits of {@code a} and {@code b}, 0..256 (256 only when equal).
     *
     * @throws IllegalArgumentException if either is not {@value #KEY_BYTES} bytes
     */
    public static int order(byte[] a, byte[] b) {
        if (a.length != KEY_BYTES || b.length != KEY_BYTES) {
            throw new IllegalArgumentException("proximity needs two " + KEY_BYTES + "-byte keys, got " + a.length
                    + " and " + b.length + " bytes");
        }
        for (int i = 0; i < KEY_BYTES; i++) {
            int x = (a[i] ^ b[i]) & 0xFF;
            if (x != 0) {
                return i * 8 + Integer.numberOfLeadingZeros(x) - 24;
            }
        }
        return KEY_BYTES * 8;
    }

    /**
     * Compares the XOR distances from {@code base} to {@code x} and to {@code y} (equal-length keys): negative if
     * {@code x} is closer, positive if {@code y} is, 0 if equal.
     */
    public static int compareDistance(byte[] base, byte[] x, byte[] y) {
        for (int i = 0; i < base.length; i++) {
            int dx = (base[i] ^ x[i]) & 0xFF, dy = (base[i] ^ y[i]) & 0xFF;
            if (dx != dy) return dx < dy ? -1 : 1;
        }
        return 0;
    }

    /**
     * Neighbourhood depth (seed 001): the deepest PO {@code d} such that at least {@code neighbourhoodSize} peers
     * have PO ≥ {@code d}, given {@code countPerPo[po]} peers at each PO; 0 if there are fewer peers in all.
     */
    public static int depth(int[] countPerPo, int neighbourhoodSize) {
        int count = 0;
        for (int d = countPerPo.length - 1; d >= 0; d--) {
            count += countPerPo[d];
            if (count >= neighbourhoodSize) return d;
        }
        return 0;
    }
}
