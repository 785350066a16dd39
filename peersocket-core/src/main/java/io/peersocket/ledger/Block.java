package io.peersocket.ledger;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PublicKey;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A ledger block: header plus transactions. Blocks link by hash: block {@code h} carries the hash of block
 * {@code h-1} ({@code prev}); height 0 is the implicit genesis of the chain ({@link #genesisHash}).
 *
 * <p>Encoding (docs/ledger.md), big-endian:
 * <pre>
 * header = version(1)=1 ‖ len(chain)(1) ‖ chain ‖ height(8) ‖ prev(32) ‖ timestampMs(8) ‖ producer(32) ‖ txRoot(32) ‖ txCount(2)
 * block  = header ‖ signature(64) ‖ txCount × (len(2) ‖ tx)
 * </pre>
 * The block hash is SHA-256(header); the producer signs {@code "peersocket-ledger-block\0" ‖ hash}; txRoot is
 * SHA-256 of the concatenated tx ids in order (a hash list). Immutable.
 */
public record Block(String chain, long height, byte[] prev, long timestampMs, byte[] producer, byte[] txRoot, List<Tx> txs,
                    byte[] signature) {
    public static final int VERSION = 1;
    /** Most transactions in one block. */
    public static final int MAX_TXS = 256;
    /** Largest encoded block, bytes. */
    public static final int MAX_BYTES = 1 + 1 + LedgerConfig.MAX_CHAIN_BYTES + 8 + 32 + 8 + 32 + 32 + 2 + 64 + MAX_TXS * (2 + Tx.MAX_BYTES);
    private static final byte[] DOMAIN = Bytes.utf8("peersocket-ledger-block\0");

    public Block {
        LedgerConfig.checkChain(chain);
        if (height < 1) throw new IllegalArgumentException("block height must be >= 1");
        prev = fixed(prev, "prev");
        producer = fixed(producer, "producer");
        txRoot = fixed(txRoot, "txRoot");
        txs = List.copyOf(txs);
        if (txs.size() > MAX_TXS) throw new IllegalArgumentException("more than " + MAX_TXS + " txs");
        Objects.requireNonNull(signature);
        if (signature.length != 64) throw new IllegalArgumentException("signature must be 64 bytes");
        signature = signature.clone();
    }

    private static byte[] fixed(byte[] b, String what) {
        if (b == null || b.length != 32) throw new IllegalArgumentException(what + " must be 32 bytes");
        return b.clone();
    }

    /** The hash of height 0 of {@code chain}: SHA-256("peersocket-ledger-genesis\0" ‖ chain). */
    public static byte[] genesisHash(String chain) {
        return Bytes.sha256(Bytes.utf8("peersocket-ledger-genesis\0"), Bytes.utf8(chain));
    }

    /** SHA-256 of the tx ids in order. */
    public static byte[] txRoot(List<Tx> txs) {
        byte[][] ids = new byte[txs.size()][];
        for (int i = 0; i < ids.length; i++) ids[i] = txs.get(i).id();
        return Bytes.sha256(ids);
    }

    /** A block signed by {@code producer} with the right tx root. */
    public static Block produce(String chain, long height, byte[] prev, long timestampMs, HostKey producer, List<Tx> txs) {
        Block unsigned = new Block(chain, height, prev, timestampMs, producer.publicKey().raw(), txRoot(txs), txs, new byte[64]);
        byte[] sig = producer.sign(signingBytes(unsigned.hash()));
        return new Block(chain, height, prev, timestampMs, unsigned.producer, unsigned.txRoot, txs, sig);
    }

    private static byte[] signingBytes(byte[] hash) {
        return ByteBuffer.allocate(DOMAIN.length + 32).put(DOMAIN).put(hash).array();
    }

    /** The header encoding. */
    public byte[] header() {
        byte[] c = Bytes.utf8(chain);
        return ByteBuffer.allocate(2 + c.length + 8 + 32 + 8 + 32 + 32 + 2).put((byte) VERSION).put((byte) c.length).put(c)
                .putLong(height).put(prev).putLong(timestampMs).put(producer).put(txRoot).putShort((short) txs.size()).array();
    }

    /** SHA-256 of the header. */
    public byte[] hash() { return Bytes.sha256(header()); }

    /** Whether the producer's signature verifies. */
    public boolean signatureValid() {
        try {
            return PublicKey.ed25519(producer).verify(signingBytes(hash()), signature);
        } catch (RuntimeException e) {
            return false;
        }
    }

    /** The canonical encoding. */
    public byte[] encode() {
        byte[] h = header();
        List<byte[]> enc = new ArrayList<>(txs.size());
        int size = h.length + 64;
        for (Tx t : txs) {
            byte[] e = t.encode();
            enc.add(e);
            size += 2 + e.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).put(h).put(signature);
        for (byte[] e : enc) b.putShort((short) e.length).put(e);
        return b.array();
    }

    /**
     * Decodes one block occupying all of {@code bytes}. Checks form only (lengths, counts, canonical encoding); a
     * decoded block still needs {@link ChainState} verification.
     *
     * @throws MalformedLedgerException naming the bad part
     */
    public static Block decode(byte[] bytes) throws MalformedLedgerException {
        if (bytes.length > MAX_BYTES) throw new MalformedLedgerException("block of " + bytes.length + " bytes exceeds limit " + MAX_BYTES);
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int v = Bytes.u8(b, "block version");
        if (v != VERSION) throw new MalformedLedgerException("unsupported block version " + v);
        int cl = Bytes.u8(b, "chain length");
        if (cl < 1 || cl > LedgerConfig.MAX_CHAIN_BYTES) throw new MalformedLedgerException("chain length " + cl + " not in 1.." + LedgerConfig.MAX_CHAIN_BYTES);
        String chain = new String(Bytes.take(b, cl, "chain"), java.nio.charset.StandardCharsets.US_ASCII);
        if (!LedgerConfig.validChain(chain)) throw new MalformedLedgerException("bad chain name");
        long height = Bytes.u64(b, "height");
        if (height < 1) throw new MalformedLedgerException("block height " + Long.toUnsignedString(height) + " is not >= 1");
        byte[] prev = Bytes.take(b, 32, "prev hash");
        long ts = Bytes.u64(b, "timestamp");
        byte[] producer = Bytes.take(b, 32, "producer");
        byte[] root = Bytes.take(b, 32, "tx root");
        int n = Bytes.u16(b, "tx count");
        if (n > MAX_TXS) throw new MalformedLedgerException("tx count " + n + " exceeds " + MAX_TXS);
        byte[] sig = Bytes.take(b, 64, "block signature");
        List<Tx> txs = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = Bytes.u16(b, "tx " + i + " length");
            if (len > Tx.MAX_BYTES) throw new MalformedLedgerException("tx " + i + " length " + len + " exceeds " + Tx.MAX_BYTES);
            try {
                txs.add(Tx.decode(Bytes.take(b, len, "tx " + i)));
            } catch (MalformedLedgerException e) {
                throw new MalformedLedgerException("tx " + i + ": " + e.getMessage());
            }
        }
        Bytes.end(b, "block");
        return new Block(chain, height, prev, ts, producer, root, txs, sig);
    }

    @Override public boolean equals(Object o) { return o instanceof Block x && Arrays.equals(x.encode(), encode()); }

    @Override public int hashCode() { return Arrays.hashCode(hash()); }

    @Override public String toString() { return "Block[" + height + " " + Bytes.hex(hash()).substring(0, 12) + " txs=" + txs.size() + "]"; }
}
