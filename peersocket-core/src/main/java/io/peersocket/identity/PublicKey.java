package io.peersocket.identity;

/**
 * A libp2p public key (libp2p specs peer-ids.md "Keys"): key type and raw key bytes, with the deterministic
 * protobuf encoding used for peer ids and in identify / TLS. Verifies signatures for Ed25519 (BouncyCastle);
 * Secp256k1, ECDSA and RSA keys may be decoded but {@link #verify} reports false for types it cannot check.
 *
 * <p>Immutable and thread-safe. TODO(identity helper): implement (stub signatures are the contract).
 */
public final class PublicKey {
    /** libp2p KeyType enum values. */
    public enum Type { RSA, ED25519, SECP256K1, ECDSA }

    private PublicKey() {}

    /** An Ed25519 public key from its 32 raw bytes. */
    public static PublicKey ed25519(byte[] raw32) { throw new UnsupportedOperationException(); }

    /** Decodes the protobuf {@code PublicKey} message. @throws InvalidPeerIdException if malformed */
    public static PublicKey fromProto(byte[] proto) { throw new UnsupportedOperationException(); }

    public Type type() { throw new UnsupportedOperationException(); }

    /** Raw key bytes (a copy): 32 bytes for Ed25519. */
    public byte[] raw() { throw new UnsupportedOperationException(); }

    /** Deterministic protobuf encoding (field 1 type, field 2 data). */
    public byte[] toProto() { throw new UnsupportedOperationException(); }

    public PeerId peerId() { throw new UnsupportedOperationException(); }

    /** True iff {@code signature} is a valid signature of {@code data} by this key. Never throws on bad input. */
    public boolean verify(byte[] data, byte[] signature) { throw new UnsupportedOperationException(); }
}
