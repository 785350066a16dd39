package io.peersocket.identity;

import com.google.protobuf.ByteString;
import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.pb.Crypto;
import java.io.IOException;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Arrays;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.bouncycastle.crypto.signers.Ed25519Signer;

/**
 * A node's Ed25519 identity key pair (BouncyCastle). Its {@link #peerId()} is how other nodes address it.
 * On disk it is the libp2p protobuf {@code PrivateKey} (Ed25519 data = 32-byte seed ‖ 32-byte public key),
 * so keys interoperate with other libp2p tools.
 *
 * <p>Thread-safe. Source: seed 000 (public keys as identities, no CAs), libp2p peer-ids spec.
 */
public final class HostKey {
    /** File name of the key inside a node's data dir. */
    public static final String FILE_NAME = "identity.key";

    private final Ed25519PrivateKeyParameters privateKey;
    private final PublicKey publicKey;
    private final PeerId peerId;

    private HostKey(Ed25519PrivateKeyParameters privateKey) {
        this.privateKey = privateKey;
        this.publicKey = PublicKey.ed25519(privateKey.generatePublicKey().getEncoded());
        this.peerId = publicKey.peerId();
    }

    /** A new random key pair (SecureRandom). */
    public static HostKey generate() {
        return new HostKey(new Ed25519PrivateKeyParameters(new SecureRandom()));
    }

    /** The key pair for a 32-byte Ed25519 private key seed (RFC 8032). @throws IllegalArgumentException if not 32 bytes */
    public static HostKey fromSeed(byte[] seed32) {
        if (seed32.length != 32) throw new IllegalArgumentException("Ed25519 seed must be 32 bytes, got " + seed32.length);
        return new HostKey(new Ed25519PrivateKeyParameters(seed32, 0));
    }

    /**
     * Loads {@code dataDir/identity.key}, or creates the directory and the file (owner read/write only where
     * POSIX permissions exist) with a new key.
     *
     * @throws IOException if the file cannot be read or written, or is malformed (the message names the file)
     */
    public static HostKey loadOrCreate(Path dataDir) throws IOException {
        Files.createDirectories(dataDir);
        Path file = dataDir.resolve(FILE_NAME);
        if (Files.exists(file)) return load(file);
        HostKey key = generate();
        Path tmp = dataDir.resolve(FILE_NAME + ".tmp");
        Files.deleteIfExists(tmp);
        try {
            Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (UnsupportedOperationException e) {
            Files.createFile(tmp);
        }
        Files.write(tmp, key.toPrivateKeyProto());
        try {
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, file);
        } catch (FileAlreadyExistsException e) {
            Files.deleteIfExists(tmp);
            return load(file); // another process won the race
        }
        return key;
    }

    private static HostKey load(Path file) throws IOException {
        long size = Files.size(file);
        if (size > 4096) throw new IOException("identity key file " + file + " is " + size + " bytes; not a key");
        byte[] data = Files.readAllBytes(file);
        try {
            Crypto.PrivateKey pb = Crypto.PrivateKey.parseFrom(data);
            if (pb.getType() != Crypto.KeyType.Ed25519) {
                throw new IOException("identity key file " + file + " holds a " + pb.getType() + " key; only Ed25519 is supported");
            }
            byte[] d = pb.getData().toByteArray();
            if (d.length != 64 && d.length != 32) {
                throw new IOException("identity key file " + file + ": Ed25519 key data must be 64 bytes, got " + d.length);
            }
            HostKey key = fromSeed(Arrays.copyOf(d, 32));
            if (d.length == 64 && !Arrays.equals(Arrays.copyOfRange(d, 32, 64), key.publicKey.raw())) {
                throw new IOException("identity key file " + file + ": public half does not match the private key");
            }
            return key;
        } catch (InvalidProtocolBufferException e) {
            throw new IOException("identity key file " + file + " is not a libp2p PrivateKey protobuf: " + e.getMessage(), e);
        }
    }

    /** libp2p protobuf {@code PrivateKey} encoding (Ed25519: seed ‖ public key). Handle with care. */
    public byte[] toPrivateKeyProto() {
        byte[] data = new byte[64];
        System.arraycopy(privateKey.getEncoded(), 0, data, 0, 32);
        System.arraycopy(publicKey.raw(), 0, data, 32, 32);
        return Crypto.PrivateKey.newBuilder().setType(Crypto.KeyType.Ed25519)
                .setData(ByteString.copyFrom(data)).build().toByteArray();
    }

    public PublicKey publicKey() { return publicKey; }

    public PeerId peerId() { return peerId; }

    /** Ed25519 signature (64 bytes) of {@code data}. */
    public byte[] sign(byte[] data) {
        Ed25519Signer signer = new Ed25519Signer();
        signer.init(true, privateKey);
        signer.update(data, 0, data.length);
        return signer.generateSignature();
    }

    /** The 32-byte private seed (a copy). Handle with care. */
    public byte[] seed() { return privateKey.getEncoded(); }

    @Override public String toString() { return "HostKey(" + peerId + ")"; }
}
