package io.peersocket.transport.upgrade;

import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Reassembles Noise messages from a byte stream: a 2-byte big-endian length (at most 65535) then the message
 * (libp2p specs noise/README.md "Wire Format"). Buffers at most one partial message. Not thread-safe.
 */
final class NoiseFrameDecoder {
    static final int MAX_MESSAGE = 65535;
    private byte[] buf = new byte[1024];
    private int start, end;

    /** Appends {@code data}; calls {@code sink} per complete message, in order. A throwing sink stops delivery. */
    void feed(byte[] data, Consumer<byte[]> sink) {
        append(data);
        while (end - start >= 2) {
            int len = ((buf[start] & 0xFF) << 8) | (buf[start + 1] & 0xFF);
            if (end - start - 2 < len) break;
            byte[] msg = Arrays.copyOfRange(buf, start + 2, start + 2 + len);
            start += 2 + len;
            sink.accept(msg);
        }
        if (start == end) start = end = 0;
    }

    int buffered() { return end - start; }

    private void append(byte[] data) {
        if (end + data.length > buf.length) {
            int live = end - start;
            byte[] nb = live + data.length <= buf.length ? buf : new byte[Math.max(buf.length * 2, live + data.length)];
            System.arraycopy(buf, start, nb, 0, live);
            buf = nb;
            start = 0;
            end = live;
        }
        System.arraycopy(data, 0, buf, end, data.length);
        end += data.length;
    }

    /** Prefixes {@code msg} (≤ 65535 bytes) with its 2-byte length into {@code out} at {@code off}; returns the new offset. */
    static int frame(byte[] msg, byte[] out, int off) {
        if (msg.length > MAX_MESSAGE) throw new IllegalArgumentException("noise message of " + msg.length + " bytes exceeds 65535");
        out[off] = (byte) (msg.length >>> 8);
        out[off + 1] = (byte) msg.length;
        System.arraycopy(msg, 0, out, off + 2, msg.length);
        return off + 2 + msg.length;
    }

    static byte[] frame(byte[] msg) {
        byte[] out = new byte[2 + msg.length];
        frame(msg, out, 0);
        return out;
    }
}
