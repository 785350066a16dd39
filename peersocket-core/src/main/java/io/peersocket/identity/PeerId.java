package io.peersocket.identity;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;

/**
 * A libp2p peer id: the multihash of a protobuf-encoded libp2p {@code PublicKey}. Keys whose encoding is at
 * most 42 bytes (Ed25519) use the identity multihash, larger ones SHA-256. Text form is base58btc
 * ({@code 12D3KooW…} for Ed25519, {@code Qm…} for SHA-256); {@link #parse} also accepts the CIDv1 form
 * ({@code bafzaa…}: multibase base32, CID version 1, multicodec libp2p-key 0x72).
 *
 * <p>Immutable and thread-safe; equality by bytes. Source: libp2p specs, peer-ids/peer-ids.md.
 */
public final class PeerId implements Comparable<PeerId> {
    /** Largest binary form accepted, bytes. */
    public static final int MAX_BYTES = 64;
    private static final int IDENTITY = 0x00, SHA2_256 = 0x12, LIBP2P_KEY = 0x72;
    private static final int MAX_INLINE_KEY = 42;

    private final byte[] bytes;
    private final int hash;
    private volatile String text;

    private PeerId(byte[] bytes) {
        this.bytes = bytes;
        this.hash = Arrays.hashCode(bytes);
    }

    /**
     * Parses base58btc ({@code 12D3KooW…}, {@code Qm…}) or CIDv1 ({@code b…}) text.
     *
     * @throws InvalidPeerIdException naming what is wrong
     */
    public static PeerId parse(String text) {
        if (text == null || text.isEmpty()) throw new InvalidPeerIdException("empty peer id");
        try {
            if (text.startsWith("1") || text.startsWith("Qm")) {
                return fromBytes(Base58.decode(text, 100));
            }
            if (text.startsWith("b")) {
                byte[] cid = Base32.decode(text.substring(1), 110);
                if (cid.length < 3 || cid[0] != 0x01) throw new InvalidPeerIdException("peer id CID is not CIDv1: " + text);
                if ((cid[1] & 0xFF) != LIBP2P_KEY) {
                    throw new InvalidPeerIdException("peer id CID multicodec is 0x" + Integer.toHexString(cid[1] & 0xFF)
                            + ", expected libp2p-key (0x72): " + text);
                }
                return fromBytes(Arrays.copyOfRange(cid, 2, cid.length));
            }
        } catch (InvalidPeerIdException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new InvalidPeerIdException("bad peer id \"" + abbreviate(text) + "\": " + e.getMessage(), e);
        }
        throw new InvalidPeerIdException("bad peer id \"" + abbreviate(text)
                + "\": expected base58btc (12D3KooW…, Qm…) or CIDv1 (b…)");
    }

    /** Decodes the binary multihash form. @throws InvalidPeerIdException if malformed or over 64 bytes */
    public static PeerId fromBytes(byte[] multihash) {
        if (multihash.length > MAX_BYTES) {
            throw new InvalidPeerIdException("peer id is " + multihash.length + " bytes, limit " + MAX_BYTES);
        }
        if (multihash.length < 2) throw new InvalidPeerIdException("peer id multihash truncated");
        int code = multihash[0] & 0xFF;
        int len = multihash[1] & 0xFF;
        if (len >= 0x80) throw new InvalidPeerIdException("peer id multihash length varint too long");
        if (multihash.length != 2 + len) {
            throw new InvalidPeerIdException("peer id multihash says " + len + " digest bytes, has " + (multihash.length - 2));
        }
        if (code == IDENTITY) {
            if (len > MAX_INLINE_KEY) throw new InvalidPeerIdException("identity multihash longer than 42 bytes");
            PublicKey.fromProto(Arrays.copyOfRange(multihash, 2, multihash.length)); // must be a key
        } else if (code == SHA2_256) {
            if (len != 32) throw new InvalidPeerIdException("sha2-256 multihash must have 32 digest bytes, has " + len);
        } else {
            throw new InvalidPeerIdException("peer id multihash code 0x" + Integer.toHexString(code)
                    + " is neither identity nor sha2-256");
        }
        return new PeerId(multihash.clone());
    }

    /** The peer id of a protobuf-encoded libp2p {@code PublicKey}. */
    public static PeerId fromPublicKeyProto(byte[] publicKeyProto) {
        byte[] mh;
        if (publicKeyProto.length <= MAX_INLINE_KEY) {
            mh = new byte[2 + publicKeyProto.length];
            mh[0] = IDENTITY;
            mh[1] = (byte) publicKeyProto.length;
            System.arraycopy(publicKeyProto, 0, mh, 2, publicKeyProto.length);
        } else {
            mh = new byte[34];
            mh[0] = SHA2_256;
            mh[1] = 32;
            System.arraycopy(sha256(publicKeyProto), 0, mh, 2, 32);
        }
        return new PeerId(mh);
    }

    /** The binary multihash form (a copy). */
    public byte[] toBytes() { return bytes.clone(); }

    /** The base58btc text form. */
    @Override public String toString() {
        String t = text;
        if (t == null) text = t = Base58.encode(bytes);
        return t;
    }

    /** The CIDv1 text form (multibase base32, lower case, {@code b…}). */
    public String toCidString() {
        byte[] cid = new byte[bytes.length + 2];
        cid[0] = 0x01;
        cid[1] = (byte) LIBP2P_KEY;
        System.arraycopy(bytes, 0, cid, 2, bytes.length);
        return "b" + Base32.encode(cid);
    }

    /** The public key when it is inlined (identity multihash), else null. */
    public PublicKey publicKey() {
        return bytes[0] == IDENTITY ? PublicKey.fromProto(Arrays.copyOfRange(bytes, 2, bytes.length)) : null;
    }

    /** A short form for logs: the last 6 characters of the text form. */
    public String shortString() {
        String s = toString();
        return s.length() <= 6 ? s : s.substring(s.length() - 6);
    }

    @Override public int compareTo(PeerId o) { return Arrays.compareUnsigned(bytes, o.bytes); }

    @Override public boolean equals(Object o) { return o instanceof PeerId p && Arrays.equals(p.bytes, bytes); }

    @Override public int hashCode() { return hash; }

    static byte[] sha256(byte[] data) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(data);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String abbreviate(String s) { return s.length() <= 80 ? s : s.substring(0, 77) + "..."; }
}
