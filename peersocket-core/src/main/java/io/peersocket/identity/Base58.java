package io.peersocket.identity;

import java.util.Arrays;

/** Base58 with the Bitcoin alphabet (multibase base58btc). Thread-safe. */
public final class Base58 {
    private static final char[] ALPHABET =
            "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz".toCharArray();
    private static final int[] INDEXES = new int[128];

    static {
        Arrays.fill(INDEXES, -1);
        for (int i = 0; i < ALPHABET.length; i++) INDEXES[ALPHABET[i]] = i;
    }

    private Base58() {}

    public static String encode(byte[] input) {
        if (input.length == 0) return "";
        int zeros = 0;
        while (zeros < input.length && input[zeros] == 0) zeros++;
        byte[] in = input.clone();
        char[] out = new char[in.length * 2];
        int outStart = out.length;
        for (int start = zeros; start < in.length; ) {
            out[--outStart] = ALPHABET[divmod(in, start, 256, 58)];
            if (in[start] == 0) start++;
        }
        while (outStart < out.length && out[outStart] == ALPHABET[0]) outStart++;
        while (--zeros >= 0) out[--outStart] = ALPHABET[0];
        return new String(out, outStart, out.length - outStart);
    }

    /**
     * Decodes base58btc text.
     *
     * @throws IllegalArgumentException naming the first invalid character, or if longer than {@code maxChars}
     */
    public static byte[] decode(String input, int maxChars) {
        if (input.length() > maxChars) {
            throw new IllegalArgumentException("base58 text longer than " + maxChars + " characters");
        }
        if (input.isEmpty()) return new byte[0];
        byte[] in58 = new byte[input.length()];
        for (int i = 0; i < input.length(); i++) {
            char c = input.charAt(i);
            int digit = c < 128 ? INDEXES[c] : -1;
            if (digit < 0) throw new IllegalArgumentException("invalid base58 character '" + c + "' at " + i);
            in58[i] = (byte) digit;
        }
        int zeros = 0;
        while (zeros < in58.length && in58[zeros] == 0) zeros++;
        byte[] out = new byte[input.length()];
        int outStart = out.length;
        for (int start = zeros; start < in58.length; ) {
            out[--outStart] = divmod(in58, start, 58, 256);
            if (in58[start] == 0) start++;
        }
        while (outStart < out.length && out[outStart] == 0) outStart++;
        return Arrays.copyOfRange(out, outStart - zeros, out.length);
    }

    private static byte divmod(byte[] number, int first, int base, int divisor) {
        int remainder = 0;
        for (int i = first; i < number.length; i++) {
            int digit = number[i] & 0xFF;
            int temp = remainder * base + digit;
            number[i] = (byte) (temp / divisor);
            remainder = temp % divisor;
        }
        return (byte) remainder;
    }
}
