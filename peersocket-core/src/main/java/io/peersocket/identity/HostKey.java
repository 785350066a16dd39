package io.peersocket.identity;

import java.io.IOException;
import java.nio.file.Path;

/**
 * A node's Ed25519 identity key pair (BouncyCastle). Its {@link #peerId()} is how other nodes address it.
 *
 * <p>Thread-safe. Source: seed 000 (keys, no CAs), libp2p peer-ids spec.
 * TODO(identity helper): implement (stub signatures are the contract).
 */
public final class HostKey {
    /** File name of the key inside a node's data dir. */
    public static final String FILE_NAME = "identity.key";

    private HostKey() {}

    /** A new random key pair (SecureRandom). */
    public static HostKey generate() { throw new UnsupportedOperationException(); }

    /** The key pair for a 32-byte Ed25519 private key seed (RFC 8032). */
    public static HostKey fromSeed(byte[] seed32) { throw new UnsupportedOperationException(); }

    /**
     * Loads {@code dataDir/identity.key}, or creates it (owner read/write only where POSIX permissions
     * exist) with a new key. @throws IOException if unreadable or malformed (message names the file)
     */
    public static HostKey loadOrCreate(Path dataDir) throws IOException { throw new UnsupportedOperationException(); }

    public PublicKey publicKey() { throw new UnsupportedOperationException(); }

    public PeerId peerId() { throw new UnsupportedOperationException(); }

    /** Ed25519 signature (64 bytes) of {@code data}. */
    public byte[] sign(byte[] data) { throw new UnsupportedOperationException(); }

    /** The 32-byte private seed (a copy). Handle with care. */
    public byte[] seed() { throw new UnsupportedOperationException(); }
}
