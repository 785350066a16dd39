package io.peersocket.multiaddr;

import io.peersocket.identity.PeerId;
import io.peersocket.util.Varint;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * Converts component values between text and bytes, and validates binary values. Stateless. Errors are
 * {@link BadValue}s carrying a detail message; {@link Multiaddr} adds where in the input the value was.
 */
final class ValueCodec {
    private ValueCodec() {}

    /** Longest text accepted for one value before any decoding work. */
    private static final int MAX_VALUE_TEXT = 512;

    /** A bad value; the message names the protocol and what is wrong, without the surrounding address. */
    static final class BadValue extends Exception {
        BadValue(String message) { super(message, null, false, false); }
    }

    // ---------------------------------------------------------------- text -> bytes

    static byte[] fromText(Protocol p, String text) throws BadValue {
        if (text.length() > MAX_VALUE_TEXT) {
            throw new BadValue(p + " value of " + text.length() + " chars is too long");
        }
        return switch (p.kind()) {
            case NONE -> throw new IllegalStateException("no value for " + p);
            case IP4 -> {
                byte[] b = parseIp4(text);
                if (b == null) throw new BadValue("bad ip4 address " + quote(text));
                yield b;
            }
            case IP6 -> parseIp6(text);
            case PORT -> {
                int port = parseDecimal(p, text, "port", 65535);
                yield new byte[] {(byte) (port >>> 8), (byte) port};
            }
            case BYTE -> new byte[] {(byte) parseDecimal(p, text, "value", 255)};
            case U64 -> parseU64(p, text);
            case ZONE -> {
                String why = zoneProblem(text);
                if (why != null) throw new BadValue("bad ip6zone " + quote(text) + " (" + why + ")");
                yield ascii(text);
            }
            case DNS_NAME -> {
                String why = dnsNameProblem(text);
                if (why != null) throw new BadValue("bad " + p + " name " + quote(text) + " (" + why + ")");
                yield ascii(text);
            }
            case PEER_ID -> {
                byte[] b;
                try {
                    b = PeerId.parse(text).toBytes();
                } catch (IllegalArgumentException e) {
                    throw new BadValue("bad p2p peer id " + quote(text) + ": " + e.getMessage());
                }
                if (b.length > Protocol.MAX_PEER_ID_BYTES) {
                    throw new BadValue("p2p peer id " + quote(text) + " longer than "
                            + Protocol.MAX_PEER_ID_BYTES + " bytes");
                }
                yield b;
            }
            case MULTIBASE_MULTIHASH -> {
                byte[] b;
                try {
                    b = Multibase.decode(text);
                } catch (IllegalArgumentException e) {
                    throw new BadValue("bad " + p + " " + quote(text) + ": " + e.getMessage());
                }
                if (b.length > p.maxValueBytes()) {
                    throw new BadValue(p + " " + quote(text) + " decodes to " + b.length + " bytes, over "
                            + p.maxValueBytes());
                }
                String why = multihashProblem(b);
                if (why != null) throw new BadValue("bad " + p + " " + quote(text) + ": " + why);
                yield b;
            }
        };
    }

    // ---------------------------------------------------------------- bytes -> text

    /**
     * Validates a binary value whose length already matches the protocol's size (fixed) or bound
     * (length-prefixed), and returns its canonical text (null for protocols without a value).
     */
    static String toText(Protocol p, byte[] b) throws BadValue {
        return switch (p.kind()) {
            case NONE -> null;
            case IP4 -> formatIp4(b, 0);
            case IP6 -> formatIp6(b);
            case PORT -> Integer.toString(((b[0] & 0xFF) << 8) | (b[1] & 0xFF));
            case BYTE -> Integer.toString(b[0] & 0xFF);
            case U64 -> Long.toUnsignedString(ByteBuffer.wrap(b).getLong());
            case ZONE -> {
                String s = latin1(b);
                String why = zoneProblem(s);
                if (why != null) throw new BadValue("bad ip6zone value (" + why + ")");
                yield s;
            }
            case DNS_NAME -> {
                String s = latin1(b);
                String why = dnsNameProblem(s);
                if (why != null) throw new BadValue("bad " + p + " name (" + why + ")");
                yield s;
            }
            case PEER_ID -> {
                try {
                    yield PeerId.fromBytes(b).toString();
                } catch (IllegalArgumentException e) {
                    throw new BadValue("bad p2p peer id: " + e.getMessage());
                }
            }
            case MULTIBASE_MULTIHASH -> {
                String why = multihashProblem(b);
                if (why != null) throw new BadValue("bad " + p + " value: " + why);
                yield Multibase.encodeBase64Url(b);
            }
        };
    }

    // ---------------------------------------------------------------- ip4

    /** Strict dotted quad: four decimal octets 0-255 without leading zeros; null if malformed. Never DNS. */
    static byte[] parseIp4(String s) {
        byte[] out = new byte[4];
        int part = 0;
        int i = 0;
        int n = s.length();
        while (true) {
            int start = i;
            int v = 0;
            while (i < n && s.charAt(i) >= '0' && s.charAt(i) <= '9' && i - start < 3) {
                v = v * 10 + (s.charAt(i) - '0');
                i++;
            }
            int digits = i - start;
            if (digits == 0 || v > 255 || (digits > 1 && s.charAt(start) == '0')) return null;
            out[part++] = (byte) v;
            if (part == 4) return i == n ? out : null;
            if (i >= n || s.charAt(i) != '.') return null;
            i++;
        }
    }

    static String formatIp4(byte[] b, int off) {
        return (b[off] & 0xFF) + "." + (b[off + 1] & 0xFF) + "." + (b[off + 2] & 0xFF) + "." + (b[off + 3] & 0xFF);
    }

    // ---------------------------------------------------------------- ip6

    /** RFC 4291 §2.2 text forms (hex groups, one "::", optional trailing dotted quad). Never DNS. */
    static byte[] parseIp6(String s) throws BadValue {
        BadValue bad = new BadValue("bad ip6 address " + quote(s));
        if (s.isEmpty() || s.length() > 45) throw bad;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c == ':' || c == '.' || hexDigit(c) >= 0)) throw bad;
        }
        int dbl = s.indexOf("::");
        List<Integer> groups;
        if (dbl < 0) {
            groups = ip6Groups(s, true);
            if (groups == null || groups.size() != 8) throw bad;
        } else {
            if (s.indexOf("::", dbl + 1) >= 0) throw bad;
            List<Integer> head = ip6Groups(s.substring(0, dbl), false);
            List<Integer> tail = ip6Groups(s.substring(dbl + 2), true);
            if (head == null || tail == null || head.size() + tail.size() > 7) throw bad;
            groups = new ArrayList<>(head);
            for (int k = head.size() + tail.size(); k < 8; k++) groups.add(0);
            groups.addAll(tail);
        }
        byte[] out = new byte[16];
        for (int k = 0; k < 8; k++) {
            out[2 * k] = (byte) (groups.get(k) >>> 8);
            out[2 * k + 1] = (byte) (int) groups.get(k);
        }
        return out;
    }

    /** Colon-separated hex groups; a dotted quad may end the list if {@code v4Last}. Null if malformed. */
    private static List<Integer> ip6Groups(String part, boolean v4Last) {
        List<Integer> groups = new ArrayList<>();
        if (part.isEmpty()) return groups;
        String[] pieces = part.split(":", -1);
        for (int k = 0; k < pieces.length; k++) {
            String piece = pieces[k];
            if (piece.indexOf('.') >= 0) {
                if (!v4Last || k != pieces.length - 1) return null;
                byte[] v4 = parseIp4(piece);
                if (v4 == null) return null;
                groups.add(((v4[0] & 0xFF) << 8) | (v4[1] & 0xFF));
                groups.add(((v4[2] & 0xFF) << 8) | (v4[3] & 0xFF));
            } else {
                if (piece.isEmpty() || piece.length() > 4) return null;
                int v = 0;
                for (int i = 0; i < piece.length(); i++) v = (v << 4) | hexDigit(piece.charAt(i));
                groups.add(v);
            }
        }
        return groups;
    }

    /** RFC 5952 canonical text; IPv4-mapped addresses as {@code ::ffff:a.b.c.d}. */
    static String formatIp6(byte[] b) {
        boolean mapped = true;
        for (int i = 0; i < 10; i++) mapped &= b[i] == 0;
        if (mapped && (b[10] & 0xFF) == 0xFF && (b[11] & 0xFF) == 0xFF) return "::ffff:" + formatIp4(b, 12);
        int[] g = new int[8];
        for (int k = 0; k < 8; k++) g[k] = ((b[2 * k] & 0xFF) << 8) | (b[2 * k + 1] & 0xFF);
        int bestStart = -1;
        int bestLen = 0;
        for (int k = 0; k < 8; ) {
            if (g[k] != 0) { k++; continue; }
            int start = k;
            while (k < 8 && g[k] == 0) k++;
            if (k - start > bestLen) { bestStart = start; bestLen = k - start; }
        }
        if (bestLen < 2) bestStart = -1;
        StringBuilder sb = new StringBuilder(39);
        for (int k = 0; k < 8; k++) {
            if (k == bestStart) {
                sb.append("::");
                k += bestLen - 1;
                continue;
            }
            if (sb.length() > 0 && sb.charAt(sb.length() - 1) != ':') sb.append(':');
            sb.append(Integer.toHexString(g[k]));
        }
        return sb.toString();
    }

    private static int hexDigit(char c) {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    }

    // ---------------------------------------------------------------- numbers, names

    /** A canonical decimal (no sign, no leading zeros) in [0, max]. */
    /** Unsigned 64-bit decimal without leading zeros, as 8 bytes big-endian. */
    private static byte[] parseU64(Protocol p, String s) throws BadValue {
        boolean digits = !s.isEmpty() && s.length() <= 20 && (s.length() == 1 || s.charAt(0) != '0');
        for (int i = 0; digits && i < s.length(); i++) digits = s.charAt(i) >= '0' && s.charAt(i) <= '9';
        long v;
        try {
            if (!digits) throw new NumberFormatException();
            v = Long.parseUnsignedLong(s);
        } catch (NumberFormatException e) {
            throw new BadValue("bad " + p + " value " + quote(s) + " (decimal 0-18446744073709551615)");
        }
        return ByteBuffer.allocate(8).putLong(v).array();
    }

    private static int parseDecimal(Protocol p, String s, String what, int max) throws BadValue {
        boolean digits = !s.isEmpty() && s.length() <= 10;
        for (int i = 0; digits && i < s.length(); i++) digits = s.charAt(i) >= '0' && s.charAt(i) <= '9';
        if (!digits || (s.length() > 1 && s.charAt(0) == '0')) {
            throw new BadValue("bad " + p + " " + what + " " + quote(s));
        }
        long v = Long.parseLong(s);
        if (v > max) throw new BadValue(p + " " + what + " " + v + " out of range (0-" + max + ")");
        return (int) v;
    }

    /** Why {@code s} is not an acceptable IPv6 zone id, or null if it is. */
    private static String zoneProblem(String s) {
        if (s.isEmpty()) return "empty";
        if (s.length() > Protocol.MAX_VALUE_BYTES) return "longer than " + Protocol.MAX_VALUE_BYTES + " bytes";
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '/') return "contains '/'";
            if (c <= 0x20 || c >= 0x7F) return "character " + charName(c) + " is not printable ASCII";
        }
        return null;
    }

    /**
     * Why {@code s} is not an acceptable DNS name, or null if it is: ASCII letters, digits, '-', '_' and '.',
     * at most 255 bytes, labels of 1-63 bytes (a single trailing dot allowed). Internationalised names must be
     * given in their punycode (xn--) form.
     */
    static String dnsNameProblem(String s) {
        if (s.isEmpty()) return "empty";
        if (s.length() > Protocol.MAX_DNS_NAME_BYTES) return "longer than " + Protocol.MAX_DNS_NAME_BYTES + " bytes";
        int label = 0;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '.') {
                if (label == 0) return "empty label";
                label = 0;
                continue;
            }
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_';
            if (!ok) return "character " + charName(c) + " not allowed";
            if (++label > 63) return "label longer than 63 bytes";
        }
        return null;
    }

    /** Why {@code b} is not a well-formed multihash (varint code, varint length, digest), or null. */
    static String multihashProblem(byte[] b) {
        ByteBuffer buf = ByteBuffer.wrap(b);
        try {
            long code = Varint.read(buf);
            if (code < 0) return "truncated multihash code";
            long len = Varint.read(buf);
            if (len < 0) return "truncated multihash length";
            if (len != buf.remaining()) {
                return "multihash digest length " + len + " but " + buf.remaining() + " bytes follow";
            }
        } catch (IllegalArgumentException e) {
            return "bad multihash varint: " + e.getMessage();
        }
        return null;
    }

    // ---------------------------------------------------------------- helpers

    private static byte[] ascii(String s) {
        byte[] b = new byte[s.length()];
        for (int i = 0; i < b.length; i++) b[i] = (byte) s.charAt(i); // callers have checked: ASCII only
        return b;
    }

    private static String latin1(byte[] b) {
        return new String(b, java.nio.charset.StandardCharsets.ISO_8859_1);
    }

    private static String charName(char c) {
        return c > 0x20 && c < 0x7F ? "'" + c + "'" : String.format("U+%04X", (int) c);
    }

    /** {@code s} in double quotes, non-printable characters escaped, cut to 100 characters. */
    static String quote(String s) {
        return "\"" + sanitize(s, 100) + "\"";
    }

    /** {@code s} with non-printable characters escaped as \\uXXXX, cut to {@code max} characters. */
    static String sanitize(String s, int max) {
        StringBuilder sb = new StringBuilder(Math.min(s.length(), max) + 8);
        for (int i = 0; i < s.length(); i++) {
            if (sb.length() >= max) {
                sb.append("...");
                break;
            }
            char c = s.charAt(i);
            if (c < 0x20 || c >= 0x7F || c == '"' || c == '\\') sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.toString();
    }
}
