package io.peersocket.identity;

/**
 * A libp2p peer id: the multihash of a protobuf-encoded libp2p {@code PublicKey}. Keys whose encoding is at most
 * 42 bytes (Ed25519) use the identity multihash, larger ones SHA-256. Text form is base58btc
 * ({@code 12D3KooW…} for Ed25519); the CIDv1 form ({@code bafzaa…}, multibase base32, codec libp2p-key) is
 * also accepted by {@link #parse}.
 *
 * <p>Immutable and thread-safe. Source: libp2p specs, peer-ids/peer-ids.md.
 * TODO(identity helper): implement (stub signatures are the contract).
 */
public final class PeerId implements Comparable<PeerId> {
    private PeerId() {}

    /** Parses base58btc or CIDv1 text. @throws InvalidPeerIdException naming what is wrong */
    public static PeerId parse(String text) { throw new UnsupportedOperationException(); }

    /** Decodes the binary multihash form. @throws InvalidPeerIdException if malformed or over 64 bytes */
    public static PeerId fromBytes(byte[] multihash) { throw new UnsupportedOperationException(); }

    /** The peer id of a protobuf-encoded libp2p {@code PublicKey}. */
    public static PeerId fromPublicKeyProto(byte[] publicKeyProto) { throw new UnsupportedOperationException(); }

    /** The binary multihash form (a copy). */
    public byte[] toBytes() { throw new UnsupportedOperationException(); }

    /** The base58btc text form. */
    @Override public String toString() { throw new UnsupportedOperationException(); }

    /** The CIDv1 text form (multibase base32, lower case, {@code b…}). */
    public String toCidString() { throw new UnsupportedOperationException(); }

    /** The public key when it is inlined (identity multihash), else null. */
    public PublicKey publicKey() { throw new UnsupportedOperationException(); }

    @Override public int compareTo(PeerId o) { throw new UnsupportedOperationException(); }
}
