package io.peersocket.ledger;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PublicKey;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Objects;

/**
 * A ledger transaction (seed 003 records, simplified), signed by its {@code signer}'s Ed25519 key. Kinds:
 * <ul>
 *   <li>{@link Kind#ASSET} registration: {@code signer} registers asset {@code name} with {@code data} (a
 *       fingerprint, 0…64 bytes); the asset id is this tx's id;</li>
 *   <li>{@link Kind#ISSUE}: the asset's registrant ({@code signer}) issues a new token of asset {@code ref} to
 *       {@code owner}; the token id is this tx's id;</li>
 *   <li>{@link Kind#TRANSFER}: the token's current owner ({@code signer}) passes token {@code ref} to {@code owner};
 *       {@code prev} must be the token's current head tx (its issue or last transfer), so a second transfer of the
 *       same head is a double spend;</li>
 *   <li>{@link Kind#PROOF}: {@code signer} records the digest {@code ref} (32 bytes) in the chain.</li>
 * </ul>
 *
 * <p>Encoding (docs/ledger.md): {@code kind(1) ‖ body ‖ signature(64)}; the signature is over
 * {@code "peersocket-ledger-tx\0" ‖ len(chain)(1) ‖ chain ‖ kind ‖ body}, so a tx cannot be replayed on another
 * chain; the tx id is SHA-256 of the whole encoding. Immutable (arrays are copied).
 *
 * @param nonce makes otherwise equal registrations, issues and proofs distinct
 */
public record Tx(Kind kind, byte[] signer, byte[] ref, byte[] prev, byte[] owner, String name, byte[] data, long nonce,
                 byte[] signature) {
    /** Transaction kinds and their wire codes. */
    public enum Kind {
        ASSET(1), ISSUE(2), TRANSFER(3), PROOF(4);
        public final int code;
        Kind(int code) { this.code = code; }
        static Kind of(int code) throws MalformedLedgerException {
            for (Kind k : values()) if (k.code == code) return k;
            throw new MalformedLedgerException("unknown tx kind " + code);
        }
    }

    /** Largest encoded tx, bytes. */
    public static final int MAX_BYTES = 1 + 32 + 8 + 1 + 64 + 1 + 64 + 64;
    /** Longest asset name, UTF-8 bytes. */
    public static final int MAX_NAME_BYTES = 64;
    /** Longest asset fingerprint, bytes. */
    public static final int MAX_DATA_BYTES = 64;
    private static final byte[] DOMAIN = Bytes.utf8("peersocket-ledger-tx\0");
    private static final byte[] NONE = new byte[0];

    public Tx {
        Objects.requireNonNull(kind, "kind");
        signer = copy(signer, 32, "signer");
        signature = copy(signature, 64, "signature");
        name = name == null ? "" : name;
        data = data == null ? NONE : data.clone();
        switch (kind) {
            case ASSET -> {
                if (Bytes.utf8(name).length > MAX_NAME_BYTES || name.isEmpty()) throw new IllegalArgumentException("asset name must be 1.." + MAX_NAME_BYTES + " UTF-8 bytes");
                if (data.length > MAX_DATA_BYTES) throw new IllegalArgumentException("fingerprint over " + MAX_DATA_BYTES + " bytes");
                ref = NONE; prev = NONE; owner = NONE;
            }
            case ISSUE -> { ref = copy(ref, 32, "asset id"); owner = copy(owner, 32, "owner"); prev = NONE; }
            case TRANSFER -> { ref = copy(ref, 32, "token id"); prev = copy(prev, 32, "prev"); owner = copy(owner, 32, "owner"); }
            case PROOF -> { ref = copy(ref, 32, "digest"); prev = NONE; owner = NONE; }
        }
        if (kind != Kind.ASSET) { name = ""; data = NONE; }
        if (kind == Kind.TRANSFER) nonce = 0;
    }

    private static byte[] copy(byte[] b, int len, String what) {
        if (b == null || b.length != len) throw new IllegalArgumentException(what + " must be " + len + " bytes");
        return b.clone();
    }

    /** Asset registration signed by {@code key}. */
    public static Tx asset(String chain, HostKey key, String name, byte[] fingerprint, long nonce) {
        return signed(chain, key, Kind.ASSET, null, null, null, name, fingerprint, nonce);
    }

    /** Issue of a token of {@code assetId} to {@code owner} (32-byte Ed25519 key), signed by the registrant {@code key}. */
    public static Tx issue(String chain, HostKey key, byte[] assetId, byte[] owner, long nonce) {
        return signed(chain, key, Kind.ISSUE, assetId, null, owner, null, null, nonce);
    }

    /** Transfer of {@code tokenId} (whose head tx is {@code prev}) to {@code owner}, signed by the current owner {@code key}. */
    public static Tx transfer(String chain, HostKey key, byte[] tokenId, byte[] prev, byte[] owner) {
        return signed(chain, key, Kind.TRANSFER, tokenId, prev, owner, null, null, 0);
    }

    /** Proof of {@code digest} (32 bytes) signed by {@code key}. */
    public static Tx proof(String chain, HostKey key, byte[] digest, long nonce) {
        return signed(chain, key, Kind.PROOF, digest, null, null, null, null, nonce);
    }

    private static Tx signed(String chain, HostKey key, Kind kind, byte[] ref, byte[] prev, byte[] owner, String name,
                             byte[] data, long nonce) {
        Tx unsigned = new Tx(kind, key.publicKey().raw(), ref, prev, owner, name, data, nonce, new byte[64]);
        return unsigned.withSignature(key.sign(unsigned.signingBytes(chain)));
    }

    private Tx withSignature(byte[] sig) { return new Tx(kind, signer, ref, prev, owner, name, data, nonce, sig); }

    /** kind ‖ body (no signature). */
    byte[] body() {
        byte[] n = Bytes.utf8(name);
        ByteBuffer b = ByteBuffer.allocate(MAX_BYTES);
        b.put((byte) kind.code).put(signer);
        switch (kind) {
            case ASSET -> b.putLong(nonce).put((byte) n.length).put(n).put((byte) data.length).put(data);
            case ISSUE -> b.put(ref).put(owner).putLong(nonce);
            case TRANSFER -> b.put(ref).put(prev).put(owner);
            case PROOF -> b.put(ref).putLong(nonce);
        }
        return Arrays.copyOf(b.array(), b.position());
    }

    /** The bytes the signer signs for {@code chain}. */
    public byte[] signingBytes(String chain) {
        byte[] c = Bytes.utf8(chain);
        byte[] body = body();
        return ByteBuffer.allocate(DOMAIN.length + 1 + c.length + body.length).put(DOMAIN).put((byte) c.length).put(c).put(body).array();
    }

    /** The canonical encoding. */
    public byte[] encode() {
        byte[] body = body();
        return ByteBuffer.allocate(body.length + 64).put(body).put(signature).array();
    }

    /** SHA-256 of {@link #encode()}. */
    public byte[] id() { return Bytes.sha256(encode()); }

    /** Whether the signature verifies for {@code chain}. */
    public boolean signatureValid(String chain) {
        try {
            return PublicKey.ed25519(signer).verify(signingBytes(chain), signature);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Decodes one tx occupying all of {@code bytes}.
     *
     * @throws MalformedLedgerException naming the bad part (unknown kind, truncated field, bad name, trailing bytes)
     */
    public static Tx decode(byte[] bytes) throws MalformedLedgerException {
        if (bytes.length > MAX_BYTES) throw new MalformedLedgerException("tx of " + bytes.length + " bytes exceeds limit " + MAX_BYTES);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        Kind kind = Kind.of(Bytes.u8(b, "tx kind"));
        byte[] signer = Bytes.take(b, 32, "tx signer");
        byte[] ref = null, prev = null, owner = null, data = null;
        String name = null;
        long nonce = 0;
        switch (kind) {
            case ASSET -> {
                nonce = Bytes.u64(b, "asset nonce");
                int nl = Bytes.u8(b, "asset name length");
                if (nl < 1 || nl > MAX_NAME_BYTES) throw new MalformedLedgerException("asset name length " + nl + " not in 1.." + MAX_NAME_BYTES);
                byte[] nb = Bytes.take(b, nl, "asset name");
                try {
                    name = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                            .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(nb)).toString();
                } catch (CharacterCodingException e) {
                    throw new MalformedLedgerException("asset name is not UTF-8");
                }
                int dl = Bytes.u8(b, "fingerprint length");
                if (dl > MAX_DATA_BYTES) throw new MalformedLedgerException("fingerprint length " + dl + " exceeds " + MAX_DATA_BYTES);
                data = Bytes.take(b, dl, "fingerprint");
            }
            case ISSUE -> {
                ref = Bytes.take(b, 32, "issue asset id");
                owner = Bytes.take(b, 32, "issue owner");
                nonce = Bytes.u64(b, "issue nonce");
            }
            case TRANSFER -> {
                ref = Bytes.take(b, 32, "transfer token id");
                prev = Bytes.take(b, 32, "transfer prev");
                owner = Bytes.take(b, 32, "transfer owner");
            }
            case PROOF -> {
                ref = Bytes.take(b, 32, "proof digest");
                nonce = Bytes.u64(b, "proof nonce");
            }
        }
        byte[] sig = Bytes.take(b, 64, "tx signature");
        Bytes.end(b, "tx");
        Tx tx = new Tx(kind, signer, ref, prev, owner, name, data, nonce, sig);
        if (!Arrays.equals(tx.encode(), bytes)) throw new MalformedLedgerException("tx encoding is not canonical");
        return tx;
    }

    @Override public boolean equals(Object o) { return o instanceof Tx t && Arrays.equals(t.encode(), encode()); }

    @Override public int hashCode() { return Arrays.hashCode(encode()); }

    @Override public String toString() { return "Tx[" + kind + " " + Bytes.hex(id()).substring(0, 12) + "]"; }
}
