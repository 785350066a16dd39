package io.peersocket.transport.upgrade;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.InvalidPeerIdException;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.upgrade.pb.NoiseProto;
import java.nio.charset.StandardCharsets;

/**
 * The libp2p Noise handshake payload (libp2p specs noise/README.md "The libp2p Handshake Payload"): the
 * identity public key (libp2p {@code PublicKey} protobuf) and its signature over
 * {@code "noise-libp2p-static-key:" ‖ static X25519 public key}. Extensions are accepted and ignored (muxers are
 * negotiated with multistream-select afterwards, the spec's fallback).
 */
final class NoisePayload {
    static final byte[] SIG_PREFIX = "noise-libp2p-static-key:".getBytes(StandardCharsets.US_ASCII);
    /** Largest payload accepted, bytes (a Noise message is at most 65535 bytes anyway). */
    static final int MAX_PAYLOAD_BYTES = 65535;

    private NoisePayload() {}

    /** Our payload for the static key {@code staticPub}. */
    static byte[] encode(HostKey hostKey, byte[] staticPub) {
        return NoiseProto.NoiseHandshakePayload.newBuilder()
                .setIdentityKey(ByteString.copyFrom(hostKey.publicKey().toProto()))
                .setIdentitySig(ByteString.copyFrom(hostKey.sign(NoiseHandshake.concat(SIG_PREFIX, staticPub))))
                .build().toByteArray();
    }

    /**
     * Checks the remote's payload against its static key.
     *
     * @param expected the peer the remote must be, or null for any
     * @return the remote's identity key
     * @throws TransportException REFUSED if malformed, BAD_CERTIFICATE if the signature does not verify,
     *     PEER_ID_MISMATCH if the key is not {@code expected}'s
     */
    static PublicKey verify(byte[] payload, byte[] remoteStatic, PeerId expected) {
        if (payload.length > MAX_PAYLOAD_BYTES) {
            throw new TransportException(TransportException.Kind.REFUSED, "noise payload of " + payload.length + " bytes is too large");
        }
        NoiseProto.NoiseHandshakePayload pb;
        try {
            pb = NoiseProto.NoiseHandshakePayload.parseFrom(payload);
        } catch (InvalidProtocolBufferException e) {
            throw new TransportException(TransportException.Kind.REFUSED, "malformed noise handshake payload: " + e.getMessage(), e);
        }
        if (!pb.hasIdentityKey() || !pb.hasIdentitySig()) {
            throw new TransportException(TransportException.Kind.REFUSED, "noise handshake payload lacks identity_key or identity_sig");
        }
        PublicKey key;
        try {
            key = PublicKey.fromProto(pb.getIdentityKey().toByteArray());
        } catch (InvalidPeerIdException e) {
            throw new TransportException(TransportException.Kind.REFUSED, "noise payload identity_key: " + e.getMessage(), e);
        }
        if (!key.verify(NoiseHandshake.concat(SIG_PREFIX, remoteStatic), pb.getIdentitySig().toByteArray())) {
            throw new TransportException(TransportException.Kind.BAD_CERTIFICATE,
                    "noise payload identity_sig does not verify for " + key.type() + " key of " + key.peerId());
        }
        PeerId remote = key.peerId();
        if (expected != null && !expected.equals(remote)) {
            throw new TransportException(TransportException.Kind.PEER_ID_MISMATCH,
                    "expected peer " + expected + ", remote authenticated as " + remote);
        }
        return key;
    }
}
