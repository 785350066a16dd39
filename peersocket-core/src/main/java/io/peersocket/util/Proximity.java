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
}
