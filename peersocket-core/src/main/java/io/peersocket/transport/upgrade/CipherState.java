package io.peersocket.transport.upgrade;

import io.peersocket.transport.TransportException;
import org.bouncycastle.crypto.InvalidCipherTextException;
import org.bouncycastle.crypto.modes.ChaCha20Poly1305;
import org.bouncycastle.crypto.params.AEADParameters;
import org.bouncycastle.crypto.params.KeyParameter;

/**
 * A Noise CipherState (Noise spec section 5.1) with ChaChaPoly: a 32-byte key and a 64-bit counter nonce,
 * encoded as 32 zero bits then the counter little-endian. The nonce {@code 2^64-1} is reserved: the state
 * refuses to go past it. Not thread-safe.
 */
final class CipherState {
    static final int TAG_LEN = 16;
    private static final long MAX_NONCE = -1L; // 2^64-1 as unsigned: reserved

    private KeyParameter key;
    private long n;
    private final ChaCha20Poly1305 aead = new ChaCha20Poly1305();

    void initializeKey(byte[] k) {
        key = new KeyParameter(k);
        n = 0;
    }

    boolean hasKey() { return key != null; }

    /** Messages this state has processed (the next nonce). */
    long nonce() { return n; }

    /** For tests: sets the next nonce. */
    void setNonce(long nonce) { n = nonce; }

    byte[] encrypt(byte[] ad, byte[] pt, int off, int len) {
        init(true, ad);
        byte[] out = new byte[aead.getOutputSize(len)];
        int w = aead.processBytes(pt, off, len, out, 0);
        try {
            aead.doFinal(out, w);
        } catch (InvalidCipherTextException e) {
            throw new IllegalStateException(e);
        }
        n++;
        return out;
    }

    /** @throws TransportException (REFUSED) if the ciphertext is too short or does not authenticate */
    byte[] decrypt(byte[] ad, byte[] ct, int off, int len) {
        if (len < TAG_LEN) {
            throw new TransportException(TransportException.Kind.REFUSED,
                    "noise ciphertext of " + len + " bytes is shorter than its " + TAG_LEN + "-byte tag");
        }
        init(false, ad);
        byte[] out = new byte[aead.getOutputSize(len)];
        int w = aead.processBytes(ct, off, len, out, 0);
        try {
            aead.doFinal(out, w);
        } catch (InvalidCipherTextException | RuntimeException e) {
            throw new TransportException(TransportException.Kind.REFUSED, "noise message does not authenticate (nonce " + Long.toUnsignedString(n) + ")");
        }
        n++;
        return out;
    }

    private void init(boolean encrypt, byte[] ad) {
        if (n == MAX_NONCE) throw new TransportException(TransportException.Kind.CLOSED, "noise nonce exhausted; the session must end");
        byte[] nonce = new byte[12];
        for (int i = 0; i < 8; i++) nonce[4 + i] = (byte) (n >>> (8 * i));
        aead.init(encrypt, new AEADParameters(key, TAG_LEN * 8, nonce, ad));
    }
}
