package io.peersocket.protocol.snapshot;

import io.peersocket.util.Varint;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A compact binary encoding of JSON-like value trees, used for recorded local state and snapshot frames. Values:
 * null, {@link Boolean}, {@link Long} (any integral number is widened; {@value #MIN_INTEGER} … {@value #MAX_INTEGER}), {@link Double} ({@link Float} widened),
 * {@link String}, {@code byte[]}, {@link List} (any {@link Collection} on encode) and {@link Map} with
 * {@link String} keys (insertion order kept; no duplicate keys). Wire, one tag byte then:
 *
 * <pre>
 *   0 null | 1 false | 2 true
 *   3 integer  varint of the zigzag-encoded value
 *   4 double   8 bytes, IEEE 754 big-endian (raw bits)
 *   5 string   varint length + UTF-8 bytes
 *   6 bytes    varint length + bytes
 *   7 list     varint count + values
 *   8 map      varint count + (varint key length + UTF-8 key, value) pairs
 * </pre>
 *
 * Decoding is strict so that {@code encode(decode(b))} equals {@code b}: minimal varints, valid UTF-8, no
 * duplicate keys, no trailing bytes. Nesting is at most {@value #MAX_DEPTH} deep and a tree has at most
 * {@value #MAX_VALUES} values; lengths are bounded by the input. Stateless and thread-safe.
 */
public final class StateValues {
    /** Deepest nesting of lists and maps. */
    public static final int MAX_DEPTH = 16;
    /** Most values in one tree (every list item, map value and the root count). */
    public static final int MAX_VALUES = 1_000_000;
    /** Smallest integer: -2^62 (the zigzag form must fit a 63-bit varint). */
    public static final long MIN_INTEGER = -(1L << 62);
    /** Largest integer: 2^62 - 1. */
    public static final long MAX_INTEGER = (1L << 62) - 1;

    private static final int NULL = 0, FALSE = 1, TRUE = 2, INT = 3, DOUBLE = 4, STRING = 5, BYTES = 6, LIST = 7, MAP = 8;

    private StateValues() {}

    /**
     * Encodes {@code value}.
     *
     * @throws IllegalArgumentException for an unsupported type, a non-string map key, or nesting deeper than
     *     {@value #MAX_DEPTH}
     */
    public static byte[] encode(Object value) {
        Out out = new Out();
        write(value, out, 0);
        return out.toArray();
    }

    /**
     * Converts {@code value} to the form {@link #decode} returns (integers as Long, floats as Double,
     * collections as lists), checking types; handy to compare a value with its decoded copy.
     */
    public static Object normalize(Object value) { return decode(encode(value)); }

    private static void write(Object v, Out out, int depth) {
        if (depth > MAX_DEPTH) throw new IllegalArgumentException("value nested deeper than " + MAX_DEPTH);
        switch (v) {
            case null -> out.put(NULL);
            case Boolean b -> out.put(b ? TRUE : FALSE);
            case Long l -> integer(l, out);
            case Integer i -> integer(i, out);
            case Short s -> integer(s, out);
            case Byte b -> integer(b, out);
            case Double d -> dbl(d, out);
            case Float f -> dbl(f, out);
            case String s -> {
                out.put(STRING);
                bytes(s.getBytes(StandardCharsets.UTF_8), out);
            }
            case byte[] b -> {
                out.put(BYTES);
                bytes(b, out);
            }
            case Collection<?> c -> {
                out.put(LIST);
                out.varint(c.size());
                for (Object o : c) write(o, out, depth + 1);
            }
            case Map<?, ?> m -> {
                out.put(MAP);
                out.varint(m.size());
                for (Map.Entry<?, ?> e : m.entrySet()) {
                    if (!(e.getKey() instanceof String k)) {
                        throw new IllegalArgumentException("map key must be a string, got " + e.getKey());
                    }
                    bytes(k.getBytes(StandardCharsets.UTF_8), out);
                    write(e.getValue(), out, depth + 1);
                }
            }
            default -> throw new IllegalArgumentException("unsupported state value type " + v.getClass().getName());
        }
    }

    private static void integer(long v, Out out) {
        if (v < MIN_INTEGER || v > MAX_INTEGER) throw new IllegalArgumentException("integer " + v + " out of range");
        out.put(INT);
        out.varint((v << 1) ^ (v >> 63));
    }

    private static void dbl(double d, Out out) {
        out.put(DOUBLE);
        long bits = Double.doubleToRawLongBits(d);
        for (int i = 7; i >= 0; i--) out.put((int) (bits >>> (8 * i)) & 0xFF);
    }

    private static void bytes(byte[] b, Out out) {
        out.varint(b.length);
        out.put(b);
    }

    /**
     * Decodes one value that spans all of {@code data}.
     *
     * @throws MalformedSnapshotException naming the bad part (tag, length, UTF-8, duplicate key, depth, count,
     *     trailing bytes)
     */
    public static Object decode(byte[] data) {
        ByteBuffer b = ByteBuffer.wrap(data);
        int[] count = {0};
        Object v = read(b, 0, count);
        if (b.hasRemaining()) throw new MalformedSnapshotException(b.remaining() + " trailing bytes after the value");
        return v;
    }

    private static Object read(ByteBuffer b, int depth, int[] count) {
        if (depth > MAX_DEPTH) throw new MalformedSnapshotException("value nested deeper than " + MAX_DEPTH);
        if (++count[0] > MAX_VALUES) throw new MalformedSnapshotException("more than " + MAX_VALUES + " values");
        if (!b.hasRemaining()) throw new MalformedSnapshotException("value truncated: no tag");
        int tag = b.get() & 0xFF;
        return switch (tag) {
            case NULL -> null;
            case FALSE -> Boolean.FALSE;
            case TRUE -> Boolean.TRUE;
            case INT -> {
                long z = varint(b, Long.MAX_VALUE, "integer");
                // 9-byte varints carry 63 bits: the top bit of the zigzag form is never set on the wire
                yield (z >>> 1) ^ -(z & 1);
            }
            case DOUBLE -> {
                if (b.remaining() < 8) throw new MalformedSnapshotException("double truncated");
                yield Double.longBitsToDouble(b.getLong());
            }
            case STRING -> utf8(rawBytes(b, "string"), "string");
            case BYTES -> rawBytes(b, "bytes");
            case LIST -> {
                int n = (int) varint(b, b.remaining(), "list count"); // every item takes at least one byte
                List<Object> list = new ArrayList<>(Math.min(n, 1024));
                for (int i = 0; i < n; i++) list.add(read(b, depth + 1, count));
                yield list;
            }
            case MAP -> {
                int n = (int) varint(b, b.remaining() / 2, "map count"); // a key and a value take at least 2 bytes
                Map<String, Object> map = new LinkedHashMap<>();
                for (int i = 0; i < n; i++) {
                    String k = utf8(rawBytes(b, "map key"), "map key");
                    if (map.containsKey(k)) throw new MalformedSnapshotException("duplicate map key \"" + k + "\"");
                    map.put(k, read(b, depth + 1, count));
                }
                yield map;
            }
            default -> throw new MalformedSnapshotException("unknown value tag " + tag);
        };
    }

    private static long varint(ByteBuffer b, long max, String what) {
        try {
            return Varint.readBounded(b, max, what);
        } catch (IllegalArgumentException e) {
            throw new MalformedSnapshotException(e.getMessage().startsWith(what) ? e.getMessage() : what + ": " + e.getMessage());
        }
    }

    private static byte[] rawBytes(ByteBuffer b, String what) {
        long len = varint(b, Integer.MAX_VALUE, what + " length");
        if (len > b.remaining()) throw new MalformedSnapshotException(what + " length " + len + " exceeds the " + b.remaining() + " bytes left");
        byte[] out = new byte[(int) len];
        b.get(out);
        return out;
    }

    private static String utf8(byte[] bytes, String what) {
        CharsetDecoder d = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        try {
            CharBuffer cb = d.decode(ByteBuffer.wrap(bytes));
            return cb.toString();
        } catch (CharacterCodingException e) {
            throw new MalformedSnapshotException(what + " is not valid UTF-8");
        }
    }

    /** A growable byte buffer. */
    private static final class Out {
        byte[] buf = new byte[256];
        int n;

        void ensure(int extra) {
            if (n + extra > buf.length) buf = java.util.Arrays.copyOf(buf, Math.max(buf.length * 2, n + extra));
        }

        void put(int b) {
            ensure(1);
            buf[n++] = (byte) b;
        }

        void put(byte[] b) {
            ensure(b.length);
            System.arraycopy(b, 0, buf, n, b.length);
            n += b.length;
        }

        void varint(long v) {
            ensure(Varint.MAX_BYTES);
            n = Varint.write(v, buf, n);
        }

        byte[] toArray() { return java.util.Arrays.copyOf(buf, n); }
    }
}
