package io.peersocket.protocol.pubsub;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * Computes a message id from a decoded message (libp2p specs pubsub/README.md "Message Identification"). Every
 * node of one network must use the same function, or IHAVE/IWANT gossip cannot match ids (messages still flow
 * through the mesh). Called on the event loop; must be fast and pure.
 */
@FunctionalInterface
public interface MessageIdFunction {

    /** The id of {@code m} (non-empty). */
    byte[] id(PubSubMessage m);

    /** The spec's and go-libp2p-pubsub's default: the {@code from} bytes followed by the {@code seqno} bytes. */
    MessageIdFunction FROM_AND_SEQNO = m -> concat(m.fromBytes(), m.seqnoBytes());

    /**
     * js-libp2p gossipsub's default under strict signing: the author's public key in protobuf form followed by the
     * 8-byte seqno. For Ed25519 peer ids this is {@code from} without its 2-byte identity-multihash prefix.
     */
    MessageIdFunction PUBLIC_KEY_AND_SEQNO = m -> {
        byte[] key = m.from() != null && m.from().publicKey() != null ? m.from().publicKey().toProto() : m.fromBytes();
        return concat(key, m.seqnoBytes());
    };

    /** SHA-256 of the data (for unsigned messages, where from and seqno are absent). */
    MessageIdFunction SHA256_OF_DATA = m -> {
        try {
            return MessageDigest.getInstance("SHA-256").digest(m.data());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    };

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = new byte[a.length + b.length];
        System.arraycopy(a, 0, out, 0, a.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}
