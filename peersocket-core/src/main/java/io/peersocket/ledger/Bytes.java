package io.peersocket.ledger;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Small helpers: SHA-256, hex, bounded reads. */
final class Bytes {
    private Bytes() {}

    static byte[] sha256(byte[]... parts) {
        try {
            MessageDigest d = MessageDigest.getInstance("SHA-256");
            for (byte[] p : parts) d.update(p);
            return d.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 unavailable", e);
        }
    }

    static String hex(byte[] b) { return HexFormat.of().formatHex(b); }

    static byte[] unhex(String s, int len, String what) {
        byte[] b;
        try {
            b = HexFormat.of().parseHex(s);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException(what + " is not hex: " + s);
        }
        if (len >= 0 && b.length != len) throw new IllegalArgumentException(what + " must be " + len + " bytes, got " + b.length);
        return b;
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    static void need(ByteBuffer b, int n, String what) throws MalformedLedgerException {
        if (b.remaining() < n) throw new MalformedLedgerException("truncated " + what + ": need " + n + " bytes, have " + b.remaining());
    }

    static byte[] take(ByteBuffer b, int n, String what) throws MalformedLedgerException {
        need(b, n, what);
        byte[] out = new byte[n];
        b.get(out);
        return out;
    }

    static long u64(ByteBuffer b, String what) throws MalformedLedgerException {
        need(b, 8, what);
        return b.getLong();
    }

    static int u8(ByteBuffer b, String what) throws MalformedLedgerException {
        need(b, 1, what);
        return b.get() & 0xFF;
    }

    static int u16(ByteBuffer b, String what) throws MalformedLedgerException {
        need(b, 2, what);
        return b.getShort() & 0xFFFF;
    }

    static int u32(ByteBuffer b, String what, int max) throws MalformedLedgerException {
        need(b, 4, what);
        long v = b.getInt() & 0xFFFF_FFFFL;
        if (v > max) throw new MalformedLedgerException(what + " " + v + " exceeds limit " + max);
        return (int) v;
    }

    static void end(ByteBuffer b, String what) throws MalformedLedgerException {
        if (b.hasRemaining()) throw new MalformedLedgerException(b.remaining() + " trailing bytes after " + what);
    }
}
