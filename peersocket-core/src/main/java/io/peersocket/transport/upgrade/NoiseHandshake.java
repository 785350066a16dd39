package io.peersocket.transport.upgrade;

import io.peersocket.transport.TransportException;
import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.digests.SHA256Digest;
import org.bouncycastle.crypto.macs.HMac;
import org.bouncycastle.crypto.params.KeyParameter;
import org.bouncycastle.crypto.params.X25519PrivateKeyParameters;
import org.bouncycastle.crypto.params.X25519PublicKeyParameters;
import org.bouncycastle.crypto.agreement.X25519Agreement;

/**
 * The Noise {@code XX} handshake state machine for {@code Noise_XX_25519_ChaChaPoly_SHA256} with an empty
 * prologue (Noise Protocol Framework rev 34, sections 5 and 7; libp2p specs noise/README.md). Pure crypto, no
 * I/O: the caller frames messages. Message pattern:
 * <pre>
 *   -&gt; e
 *   &lt;- e, ee, s, es
 *   -&gt; s, se
 * </pre>
 * Not thread-safe; one instance per handshake. Every method throws {@link TransportException} (kind
 * {@code REFUSED}) on a malformed or unauthentic message.
 */
final class NoiseHandshake {
    static final byte[] PROTOCOL_NAME = "Noise_XX_25519_ChaChaPoly_SHA256".getBytes(StandardCharsets.US_ASCII);
    static final int DH_LEN = 32;
    static final int HASH_LEN = 32;

    private final boolean initiator;
    private final X25519PrivateKeyParameters s;
    private final byte[] sPub;
    private final SecureRandom random;
    private X25519PrivateKeyParameters e;
    private byte[] re;
    private byte[] rs;
    private byte[] h;
    private byte[] ck;
    private final CipherState cipher = new CipherState();
    private int step;

    NoiseHandshake(boolean initiator, X25519PrivateKeyParameters staticKey, SecureRandom random) {
        this.initiator = initiator;
        this.s = staticKey;
        this.sPub = staticKey.generatePublicKey().getEncoded();
        this.random = random;
        h = PROTOCOL_NAME.clone(); // exactly HASH_LEN bytes: used as is
        ck = h.clone();
        mixHash(new byte[0]); // empty prologue
    }

    /** Our static X25519 public key (32 bytes). */
    byte[] localStatic() { return sPub.clone(); }

    /** The remote's static X25519 public key once received (after message 2 for the initiator, 3 for the responder). */
    byte[] remoteStatic() { return rs == null ? null : rs.clone(); }

    /** True once all three messages went through; then {@link #split()}. */
    boolean isComplete() { return step == 3; }

    /** True if the next action is writing (else reading). */
    boolean isMyTurn() { return initiator ? step != 1 : step == 1; }

    /** Writes the next handshake message carrying {@code payload}. */
    byte[] write(byte[] payload) {
        if (!isMyTurn() || step > 2) throw new IllegalStateException("not our turn to write (step " + step + ")");
        byte[] out;
        switch (step) {
            case 0 -> { // -> e
                byte[] ePub = newEphemeral();
                out = concat(ePub, encryptAndHash(payload));
            }
            case 1 -> { // <- e, ee, s, es
                byte[] ePub = newEphemeral();
                mixKey(dh(e, re));
                byte[] sCt = encryptAndHash(sPub);
                mixKey(dh(s, re));
                out = concat(ePub, sCt, encryptAndHash(payload));
            }
            default -> { // -> s, se
                byte[] sCt = encryptAndHash(sPub);
                mixKey(dh(s, re));
                out = concat(sCt, encryptAndHash(payload));
            }
        }
        step++;
        return out;
    }

    /** Reads the next handshake message; returns its payload. */
    byte[] read(byte[] message) {
        if (isMyTurn() || step > 2) throw new IllegalStateException("not our turn to read (step " + step + ")");
        byte[] payload;
        switch (step) {
            case 0 -> { // -> e
                need(message, DH_LEN, "message 1");
                re = Arrays.copyOfRange(message, 0, DH_LEN);
                mixHash(re);
                payload = decryptAndHash(Arrays.copyOfRange(message, DH_LEN, message.length));
            }
            case 1 -> { // <- e, ee, s, es
                need(message, DH_LEN + DH_LEN + CipherState.TAG_LEN, "message 2");
                re = Arrays.copyOfRange(message, 0, DH_LEN);
                mixHash(re);
                mixKey(dh(e, re));
                rs = decryptAndHash(Arrays.copyOfRange(message, DH_LEN, 2 * DH_LEN + CipherState.TAG_LEN));
                mixKey(dh(e, rs));
                payload = decryptAndHash(Arrays.copyOfRange(message, 2 * DH_LEN + CipherState.TAG_LEN, message.length));
            }
            default -> { // -> s, se
                need(message, DH_LEN + CipherState.TAG_LEN, "message 3");
                rs = decryptAndHash(Arrays.copyOfRange(message, 0, DH_LEN + CipherState.TAG_LEN));
                mixKey(dh(e, rs));
                payload = decryptAndHash(Arrays.copyOfRange(message, DH_LEN + CipherState.TAG_LEN, message.length));
            }
        }
        step++;
        return payload;
    }

    /** After the handshake: {send, receive} cipher states for this side. */
    CipherState[] split() {
        if (!isComplete()) throw new IllegalStateException("handshake not complete");
        byte[][] k = hkdf(ck, new byte[0]);
        CipherState c1 = new CipherState(), c2 = new CipherState();
        c1.initializeKey(k[0]);
        c2.initializeKey(k[1]);
        return initiator ? new CipherState[] {c1, c2} : new CipherState[] {c2, c1};
    }

    private static void need(byte[] m, int n, String what) {
        if (m.length < n) {
            throw new TransportException(TransportException.Kind.REFUSED,
                    "noise handshake " + what + " is " + m.length + " bytes, needs at least " + n);
        }
    }

    private byte[] newEphemeral() {
        e = new X25519PrivateKeyParameters(random);
        byte[] ePub = e.generatePublicKey().getEncoded();
        mixHash(ePub);
        return ePub;
    }

    private static byte[] dh(X25519PrivateKeyParameters priv, byte[] pub) {
        try {
            X25519Agreement agreement = new X25519Agreement();
            agreement.init(priv);
            byte[] out = new byte[DH_LEN];
            agreement.calculateAgreement(new X25519PublicKeyParameters(pub, 0), out, 0);
            return out;
        } catch (RuntimeException ex) { // an all-zero shared secret (low-order point)
            throw new TransportException(TransportException.Kind.REFUSED, "noise handshake: invalid X25519 public key", ex);
        }
    }

    private void mixHash(byte[] data) {
        SHA256Digest d = new SHA256Digest();
        d.update(h, 0, h.length);
        d.update(data, 0, data.length);
        h = new byte[HASH_LEN];
        d.doFinal(h, 0);
    }

    private void mixKey(byte[] ikm) {
        byte[][] k = hkdf(ck, ikm);
        ck = k[0];
        cipher.initializeKey(k[1]);
    }

    private byte[] encryptAndHash(byte[] plaintext) {
        byte[] ct = cipher.hasKey() ? cipher.encrypt(h, plaintext, 0, plaintext.length) : plaintext.clone();
        mixHash(ct);
        return ct;
    }

    private byte[] decryptAndHash(byte[] ct) {
        byte[] pt = cipher.hasKey() ? cipher.decrypt(h, ct, 0, ct.length) : ct.clone();
        mixHash(ct);
        return pt;
    }

    /** HKDF with two outputs (Noise section 4.3): HMAC-SHA256 keyed with {@code chainingKey}. */
    static byte[][] hkdf(byte[] chainingKey, byte[] ikm) {
        byte[] temp = hmac(chainingKey, ikm);
        byte[] out1 = hmac(temp, new byte[] {1});
        byte[] out2 = hmac(temp, concat(out1, new byte[] {2}));
        return new byte[][] {out1, out2};
    }

    private static byte[] hmac(byte[] key, byte[] data) {
        HMac mac = new HMac(new SHA256Digest());
        mac.init(new KeyParameter(key));
        mac.update(data, 0, data.length);
        byte[] out = new byte[HASH_LEN];
        mac.doFinal(out, 0);
        return out;
    }

    static byte[] concat(byte[]... parts) {
        int n = 0;
        for (byte[] p : parts) n += p.length;
        byte[] out = new byte[n];
        int off = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, out, off, p.length);
            off += p.length;
        }
        return out;
    }
}
