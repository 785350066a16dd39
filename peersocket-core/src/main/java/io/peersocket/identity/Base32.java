package io.peersocket.identity;

import java.io.ByteArrayOutputStream;

/** RFC 4648 base32, lower case, no padding (multibase {@code b}). Thread-safe. */
public final class Base32 {
    private static final String ALPHABET = "abcdefghijklmnopqrstuvwxyz234567";

    private Base32() {}

    public static String encode(byte[] data) {
        StringBuilder sb = new StringBuilder((data.length * 8 + 4) / 5);
        int buffer = 0, bits = 0;
        for (byte b : data) {
            buffer = (buffer << 8) | (b & 0xFF);
            bits += 8;
            while (bits >= 5) {
                sb.append(ALPHABET.charAt((buffer >> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        if (bits > 0) sb.append(ALPHABET.charAt((buffer << (5 - bits)) & 31));
        return sb.toString();
    }

    /**
     * Decodes base32 text (either case, no padding).
     *
     * @throws IllegalArgumentException naming the first invalid character, or if longer than {@code maxChars}
     */
    public static byte[] decode(String text, int maxChars) {
        if (text.length() > maxChars) {
            throw new IllegalArgumentException("base32 text longer than " + maxChars + " characters");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length() * 5 / 8);
        int buffer = 0, bits = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = Character.toLowerCase(text.charAt(i));
            int v = ALPHABET.indexOf(c);
            if (v < 0) throw new IllegalArgumentException("invalid base32 character '" + text.charAt(i) + "' at " + i);
            buffer = (buffer << 5) | v;
            bits += 5;
            if (bits >= 8) {
                out.write((buffer >> (bits - 8)) & 0xFF);
                bits -= 8;
            }
        }
        return out.toByteArray();
    }
}
