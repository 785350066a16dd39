package io.peersocket.ledger;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Payloads of the ledger's despatch RPCs and announcements (docs/ledger.md). All integers big-endian; every
 * length and count is bounded before use; decoders throw {@link MalformedLedgerException} naming the bad part.
 */
public final class LedgerWire {
    /** Most hashes in one HASHES answer. */
    public static final int MAX_HASHES = 128;
    /** Most blocks in one BLOCKS answer. */
    public static final int MAX_BLOCKS = 16;
    /** Most addresses in a register or announcement. */
    public static final int MAX_ADDRESSES = 8;
    /** Longest address text, bytes. */
    public static final int MAX_ADDRESS_BYTES = 256;
    /** Longest version text, bytes. */
    public static final int MAX_VERSION_BYTES = 32;

    private LedgerWire() {}

    /**
     * Server info (seed 003 "info"): version, chain, normal (false while synchronising), height, tip hash.
     */
    public record Info(String version, String chain, boolean normal, long height, byte[] tip) {
        public byte[] encode() {
            byte[] v = Bytes.utf8(version), c = Bytes.utf8(chain);
            return ByteBuffer.allocate(1 + v.length + 1 + c.length + 1 + 8 + 32).put((byte) v.length).put(v).put((byte) c.length).put(c)
                    .put((byte) (normal ? 1 : 0)).putLong(height).put(tip).array();
        }

        public static Info decode(byte[] p) throws MalformedLedgerException {
            ByteBuffer b = ByteBuffer.wrap(p);
            String v = text(b, MAX_VERSION_BYTES, "version");
            String c = text(b, LedgerConfig.MAX_CHAIN_BYTES, "chain");
            int mode = Bytes.u8(b, "mode");
            if (mode > 1) throw new MalformedLedgerException("mode " + mode + " is not 0 or 1");
            long h = Bytes.u64(b, "height");
            if (h < 0) throw new MalformedLedgerException("height out of range");
            byte[] tip = Bytes.take(b, 32, "tip hash");
            Bytes.end(b, "info");
            return new Info(v, c, mode == 1, h, tip);
        }
    }

    /**
     * A register request/answer and a peer or RPC announcement (seed 003): chain, Ed25519 public key (32), listener
     * addresses (multiaddr text), timestamp ms.
     */
    public record Announce(String chain, byte[] publicKey, List<String> addresses, long timestampMs) {
        public Announce {
            addresses = List.copyOf(addresses);
            if (addresses.size() > MAX_ADDRESSES) addresses = addresses.subList(0, MAX_ADDRESSES);
        }

        public byte[] encode() {
            byte[] c = Bytes.utf8(chain);
            List<byte[]> as = new ArrayList<>();
            int size = 1 + c.length + 32 + 1 + 8;
            for (String a : addresses) {
                byte[] ab = Bytes.utf8(a);
                if (ab.length > MAX_ADDRESS_BYTES) continue;
                as.add(ab);
                size += 2 + ab.length;
            }
            ByteBuffer b = ByteBuffer.allocate(size).put((byte) c.length).put(c).put(publicKey).put((byte) as.size());
            for (byte[] ab : as) b.putShort((short) ab.length).put(ab);
            return b.putLong(timestampMs).array();
        }

        public static Announce decode(byte[] p) throws MalformedLedgerException {
            ByteBuffer b = ByteBuffer.wrap(p);
            String c = text(b, LedgerConfig.MAX_CHAIN_BYTES, "chain");
            byte[] key = Bytes.take(b, 32, "public key");
            int n = Bytes.u8(b, "address count");
            if (n > MAX_ADDRESSES) throw new MalformedLedgerException("address count " + n + " exceeds " + MAX_ADDRESSES);
            List<String> as = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                int len = Bytes.u16(b, "address " + i + " length");
                if (len > MAX_ADDRESS_BYTES) throw new MalformedLedgerException("address " + i + " length " + len + " exceeds " + MAX_ADDRESS_BYTES);
                as.add(new String(Bytes.take(b, len, "address " + i), StandardCharsets.UTF_8));
            }
            long ts = Bytes.u64(b, "timestamp");
            Bytes.end(b, "announcement");
            return new Announce(c, key, as, ts);
        }
    }

    /** {@code from(8) ‖ count(2)}: a range request (HASHES, BLOCKS). */
    public record Range(long from, int count) {
        public byte[] encode() { return ByteBuffer.allocate(10).putLong(from).putShort((short) count).array(); }

        public static Range decode(byte[] p, int maxCount) throws MalformedLedgerException {
            ByteBuffer b = ByteBuffer.wrap(p);
            long from = Bytes.u64(b, "range start");
            int count = Bytes.u16(b, "range count");
            Bytes.end(b, "range");
            if (from < 0) throw new MalformedLedgerException("range start out of range");
            if (count < 1 || count > maxCount) throw new MalformedLedgerException("range count " + count + " not in 1.." + maxCount);
            return new Range(from, count);
        }
    }

    /** A height (8 bytes). */
    public static byte[] height(long h) { return ByteBuffer.allocate(8).putLong(h).array(); }

    public static long decodeHeight(byte[] p) throws MalformedLedgerException {
        ByteBuffer b = ByteBuffer.wrap(p);
        long h = Bytes.u64(b, "height");
        Bytes.end(b, "height");
        if (h < 0) throw new MalformedLedgerException("height out of range");
        return h;
    }

    /** {@code count(2) ‖ count × hash(32)}. */
    public static byte[] encodeHashes(List<byte[]> hashes) {
        ByteBuffer b = ByteBuffer.allocate(2 + 32 * hashes.size()).putShort((short) hashes.size());
        for (byte[] h : hashes) b.put(h);
        return b.array();
    }

    public static List<byte[]> decodeHashes(byte[] p) throws MalformedLedgerException {
        ByteBuffer b = ByteBuffer.wrap(p);
        int n = Bytes.u16(b, "hash count");
        if (n > MAX_HASHES) throw new MalformedLedgerException("hash count " + n + " exceeds " + MAX_HASHES);
        List<byte[]> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) out.add(Bytes.take(b, 32, "hash " + i));
        Bytes.end(b, "hashes");
        return out;
    }

    /** {@code count(1) ‖ count × (len(4) ‖ block)}. */
    public static byte[] encodeBlocks(List<Block> blocks) {
        List<byte[]> enc = new ArrayList<>();
        int size = 1;
        for (Block bl : blocks) {
            byte[] e = bl.encode();
            enc.add(e);
            size += 4 + e.length;
        }
        ByteBuffer b = ByteBuffer.allocate(size).put((byte) enc.size());
        for (byte[] e : enc) b.putInt(e.length).put(e);
        return b.array();
    }

    public static List<Block> decodeBlocks(byte[] p) throws MalformedLedgerException {
        ByteBuffer b = ByteBuffer.wrap(p);
        int n = Bytes.u8(b, "block count");
        if (n > MAX_BLOCKS) throw new MalformedLedgerException("block count " + n + " exceeds " + MAX_BLOCKS);
        List<Block> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            int len = Bytes.u32(b, "block " + i + " length", Block.MAX_BYTES);
            try {
                out.add(Block.decode(Bytes.take(b, len, "block " + i)));
            } catch (MalformedLedgerException e) {
                throw new MalformedLedgerException("block " + i + ": " + e.getMessage());
            }
        }
        Bytes.end(b, "blocks");
        return out;
    }

    private static String text(ByteBuffer b, int max, String what) throws MalformedLedgerException {
        int len = Bytes.u8(b, what + " length");
        if (len > max) throw new MalformedLedgerException(what + " length " + len + " exceeds " + max);
        return new String(Bytes.take(b, len, what), StandardCharsets.UTF_8);
    }
}
