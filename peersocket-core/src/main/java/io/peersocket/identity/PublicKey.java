package io.peersocket.identity;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.pb.Crypto;
import java.util.Arrays;
import org.bouncycastle.crypto.params.Ed25519PublicKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * A libp2p public key (libp2p specs peer-ids/peer-ids.md "Keys"): key type and raw key bytes, with the
 * deterministic protobuf encoding used for peer ids, identify and the TLS certificate extension. Verifies
 * Ed25519 signatures (BouncyCastle); other key types decode, but {@link #verify} returns false for them.
 *
 * <p>Immutable and thread-safe.
 */
public final class PublicKey {
    /** libp2p KeyType enum values. */
    public enum Type { RSA, ED25519, SECP256K1, ECDSA }

    /** Largest accepted encoded key, bytes (RSA-4096 DER is ~550; generous bound). */
    public static final int MAX_PROTO_BYTES = 2048;

    private final Type type;
    private final byte[] raw;
    private final byte[] proto;
    private volatile Ed25519PublicKeyParameters ed25519;

    private PublicKey(Type type, byte[] raw) {
        this.type = type;
        this.raw = raw;
        this.proto = Crypto.PublicKey.newBuilder()
                .setType(Crypto.KeyType.forNumber(type.ordinal()))
                .setData(ByteString.copyFrom(raw))
                .build()
                .toByteArray();
    }

    /** An Ed25519 public key from its 32 raw bytes. @throws InvalidPeerIdException if not 32 bytes */
    public static PublicKey ed25519(byte[] raw32) {
        if (raw32.length != 32) throw new InvalidPeerIdException("Ed25519 public key must be 32 bytes, got " + raw32.length);
        return new PublicKey(Type.ED25519, raw32.clone());
    }

    /** Decodes the protobuf {@code PublicKey} message. @throws InvalidPeerIdException if malformed */
    public static PublicKey fromProto(byte[] proto) {
        if (proto.length > MAX_PROTO_BYTES) {
            throw new InvalidPeerIdException("public key encoding is " + proto.length + " bytes, limit " + MAX_PROTO_BYTES);
        }
        Crypto.PublicKey pb;
        try {
            pb = Crypto.PublicKey.parseFrom(proto);
        } catch (InvalidProtocolBufferException e) {
            throw new InvalidPeerIdException("malformed public key protobuf: " + e.getMessage(), e);
        }
        Type type = switch (pb.getType()) {
            case RSA -> Type.RSA;
            case Ed25519 -> Type.ED25519;
            case Secp256k1 -> Type.SECP256K1;
            case ECDSA -> Type.ECDSA;
        };
        byte[] raw = pb.getData().toByteArray();
        if (type == Type.ED25519 && raw.length != 32) {
            throw new InvalidPeerIdException("Ed25519 public key must be 32 bytes, got " + raw.length);
        }
        if (raw.length == 0) throw new InvalidPeerIdException("empty " + type + " public key");
        return new PublicKey(type, raw);
    }

    public Type type() { return type; }

    /** Raw key bytes (a copy): 32 bytes for Ed25519. */
    public byte[] raw() { return raw.clone(); }

    /** Deterministic protobuf encoding (field 1 type, field 2 data), a copy. */
    public byte[] toProto() { return proto.clone(); }

    public PeerId peerId() { return PeerId.fromPublicKeyProto(proto); }

    /** True iff {@code signature} is a valid signature of {@code data} by this key. Never throws on bad input. */
    public boolean verify(byte[] data, byte[] signature) {
        if (type != Type.ED25519 || signature == null || signature.length != 64) return false;
        Ed25519PublicKeyParameters params = ed25519;
        try {
            if (params == null) ed25519 = params = new Ed25519PublicKeyParameters(raw, 0);
            Ed25519Signer verifier = new Ed25519Signer();
            verifier.init(false, params);
            verifier.update(data, 0, data.length);
            return verifier.verifySignature(signature);
        } catch (RuntimeException e) {
            return false;
        }
    }

    @Override public boolean equals(Object o) {
        return o instanceof PublicKey k && k.type == type && Arrays.equals(k.raw, raw);
    }

    @Override public int hashCode() { return Arrays.hashCode(raw) * 31 + type.hashCode(); }

    @Override public String toString() { return type + ":" + peerId(); }
}
