package io.peersocket.protocol.relay;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PublicKey;
import io.peersocket.protocol.relay.pb.RelayProto;
import io.peersocket.util.Varint;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A libp2p signed envelope (libp2p specs RFC/0002-signed-envelopes.md): a payload, its type (multicodec bytes,
 * e.g. {@code 0x03 0x02} for relay vouchers) and the signer's public key, signed over {@code varint(len(domain)) ‖ domain ‖
 * varint(len(type)) ‖ type ‖ varint(len(payload)) ‖ payload}. The domain is never sent; it separates uses of
 * the same key. Instances are verified: {@link #open} checks the signature before returning.
 *
 * @param publicKey the signer
 * @param payloadType the payload's type (multicodec bytes)
 * @param payload the signed bytes
 * @param signature the signature over the domain-separated content
 */
public record SignedEnvelope(PublicKey publicKey, byte[] payloadType, byte[] payload, byte[] signature) {
    /** Largest envelope {@link #open} accepts, in bytes. */
    public static final int MAX_BYTES = 4096;

    public SignedEnvelope {
        Objects.requireNonNull(publicKey, "publicKey");
        payloadType = payloadType.clone();
        payload = payload.clone();
        signature = signature.clone();
    }

    @Override public byte[] payloadType() { return payloadType.clone(); }

    @Override public byte[] payload() { return payload.clone(); }

    @Override public byte[] signature() { return signature.clone(); }

    /** Signs {@code payload} with {@code key} in {@code domain}. */
    public static SignedEnvelope seal(HostKey key, String domain, byte[] payloadType, byte[] payload) {
        byte[] sig = key.sign(signedContent(domain, payloadType, payload));
        return new SignedEnvelope(key.publicKey(), payloadType, payload, sig);
    }

    /** The {@code Envelope} protobuf. */
    public byte[] toBytes() {
        return RelayProto.Envelope.newBuilder()
                .setPublicKey(ByteString.copyFrom(publicKey.toProto()))
                .setPayloadType(ByteString.copyFrom(payloadType))
                .setPayload(ByteString.copyFrom(payload))
                .setSignature(ByteString.copyFrom(signature))
                .build().toByteArray();
    }

    /**
     * Decodes an envelope and verifies its signature in {@code domain}.
     *
     * @throws RelayProtocolException if over {@value #MAX_BYTES} bytes, not a valid protobuf, missing a field,
     *     carrying a bad public key, or if the signature does not verify
     */
    public static SignedEnvelope open(byte[] bytes, String domain) {
        if (bytes.length > MAX_BYTES) throw new RelayProtocolException("envelope is " + bytes.length + " bytes, limit " + MAX_BYTES);
        RelayProto.Envelope pb;
        try {
            pb = RelayProto.Envelope.parseFrom(bytes);
        } catch (InvalidProtocolBufferException e) {
            throw new RelayProtocolException("malformed envelope: " + e.getMessage());
        }
        if (!pb.hasPublicKey() || !pb.hasPayloadType() || !pb.hasSignature()) {
            throw new RelayProtocolException("envelope lacks public key, payload type or signature");
        }
        PublicKey key;
        try {
            key = PublicKey.fromProto(pb.getPublicKey().toByteArray());
        } catch (IllegalArgumentException e) {
            throw new RelayProtocolException("envelope public key: " + e.getMessage());
        }
        byte[] type = pb.getPayloadType().toByteArray();
        byte[] payload = pb.getPayload().toByteArray();
        byte[] sig = pb.getSignature().toByteArray();
        if (!key.verify(signedContent(domain, type, payload), sig)) {
            throw new RelayProtocolException("envelope signature does not verify (domain " + domain + ")");
        }
        return new SignedEnvelope(key, type, payload, sig);
    }

    /** The bytes the signature covers (RFC 0002 "Signature Production"). */
    static byte[] signedContent(String domain, byte[] payloadType, byte[] payload) {
        byte[] d = domain.getBytes(StandardCharsets.UTF_8);
        ByteArrayOutputStream out = new ByteArrayOutputStream(d.length + payloadType.length + payload.length + 27);
        out.writeBytes(Varint.encode(d.length));
        out.writeBytes(d);
        out.writeBytes(Varint.encode(payloadType.length));
        out.writeBytes(payloadType);
        out.writeBytes(Varint.encode(payload.length));
        out.writeBytes(payload);
        return out.toByteArray();
    }

    @Override public boolean equals(Object o) {
        return o instanceof SignedEnvelope e && e.publicKey.equals(publicKey) && Arrays.equals(e.payloadType, payloadType)
                && Arrays.equals(e.payload, payload) && Arrays.equals(e.signature, signature);
    }

    @Override public int hashCode() {
        return Objects.hash(publicKey, Arrays.hashCode(payloadType), Arrays.hashCode(payload), Arrays.hashCode(signature));
    }
}
