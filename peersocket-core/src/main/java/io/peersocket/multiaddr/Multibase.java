package io.peersocket.multiaddr;

import java.util.Base64;

/**
 * The multibase encodings a certhash value may use: base16 ({@code f}/{@code F}), base32 ({@code b}/{@code B},
 * RFC 4648 without padding), base58btc ({@code z}), base64 ({@code m}, {@code M} padded) and base64url
 * ({@code u}, {@code U} padded). Decoding is strict: characters outside the alphabet, wrong padding, impossible
 * lengths and non-zero trailing bits are rejected.
 *
 * <p>Stateless. Source: multiformats multibase spec, RFC 4648.
 */
final class Multibase {
    private Multibase() {}

    private static final String BASE16_LOWER = "0123456789abcdef";
    private static final String BASE16_UPPER = "0123456789ABCDEF";
    private static final String BASE32_LOWER = "abcdefghijklmnopqrstuvwxyz234567";
    private static final String BASE32_UPPER = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    private static final String BASE64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    private static final String BASE64_URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /** Longest multibase text decoded (base16 of 256 bytes plus prefix, with room). */
    private static final int MAX_TEXT = 520;

    /** Decodes multibase text. @throws IllegalArgumentException naming what is wrong */
    static byte[] decode(String text) {
        if (text.length() < 2) throw new IllegalArgumentException("multibase text too short");
        if (text.length() > MAX_TEXT) throw new IllegalArgumentException("multibase text too long");
        char prefix = text.charAt(0);
        String body = text.substring(1);
        return switch (prefix) {
            case 'f' -> radix2(body, BASE16_LOWER, 4, "base16");
            case 'F' -> radix2(body, BASE16_UPPER, 4, "base16");
            case 'b' -> radix2(body, BASE32_LOWER, 5, "base32");
            case 'B' -> radix2(body, BASE32_UPPER, 5, "base32");
            case 'z' -> io.peersocket.identity.Base58.decode(body, MAX_TEXT);
            case 'm' -> radix2(body, BASE64, 6, "base64");
            case 'u' -> radix2(body, BASE64_URL, 6, "base64url");
            case 'M' -> radix2(unpad(body, "base64"), BASE64, 6, "base64");
            case 'U' -> radix2(unpad(body, "base64url"), BASE64_URL, 6, "base64url");
            default -> throw new IllegalArgumentException("unsupported multibase prefix '"
                    + (prefix > 0x20 && prefix < 0x7F ? String.valueOf(prefix) : String.format("U+%04X", (int) prefix))
                    + "'");
        };
    }

    /** Multibase base64url without padding ({@code u…}). */
    static String encodeBase64Url(byte[] b) {
        return "u" + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Strips 0-2 '=' from a padded base64 body whose length must be a multiple of 4. */
    private static String unpad(String body, String name) {
        if (body.length() % 4 != 0) throw new IllegalArgumentException("bad " + name + " padding");
        int end = body.length();
        while (end > 0 && body.charAt(end - 1) == '=' && body.length() - end < 2) end--;
        return body.substring(0, end);
    }

    /** Decodes an RFC 4648 power-of-two alphabet of {@code bits} bits per character, unpadded. */
    private static byte[] radix2(String body, String alphabet, int bits, String name) {
        long totalBits = (long) body.length() * bits;
        int leftover = (int) (totalBits % 8);
        if (leftover >= bits) throw new IllegalArgumentException("bad " + name + " length " + body.length());
        byte[] out = new byte[(int) (totalBits / 8)];
        int acc = 0;
        int accBits = 0;
        int o = 0;
        for (int i = 0; i < body.length(); i++) {
            int v = alphabet.indexOf(body.charAt(i));
            if (v < 0) throw new IllegalArgumentException("bad " + name + " character at index " + (i + 1));
            acc = (acc << bits) | v;
            accBits += bits;
            if (accBits >= 8) {
                accBits -= 8;
                out[o++] = (byte) (acc >>> accBits);
                acc &= (1 << accBits) - 1;
            }
        }
        if (acc != 0) throw new IllegalArgumentException("non-zero trailing bits in " + name);
        return out;
    }
}
