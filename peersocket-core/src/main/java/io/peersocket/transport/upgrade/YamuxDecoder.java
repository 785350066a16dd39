package io.peersocket.transport.upgrade;

import java.util.Arrays;

/**
 * Incremental Yamux frame decoder (hashicorp yamux spec.md "Framing"): a 12-byte header (version 0, type,
 * 16-bit flags, 32-bit stream id, 32-bit length, big-endian), then {@code length} payload bytes for Data
 * frames only. Data payloads are bounded by {@code maxDataBytes} before buffering. Not thread-safe.
 */
final class YamuxDecoder {
    static final int HEADER = 12;
    static final int TYPE_DATA = 0, TYPE_WINDOW_UPDATE = 1, TYPE_PING = 2, TYPE_GO_AWAY = 3;
    static final int SYN = 1, ACK = 2, FIN = 4, RST = 8;

    /** One decoded frame; {@code payload} is empty except for Data frames. {@code length} is unsigned. */
    record Frame(int type, int flags, int streamId, long length, byte[] payload) {}

    interface Sink { void onFrame(Frame frame); }

    private final int maxDataBytes;
    private final byte[] header = new byte[HEADER];
    private int headerHave;
    private Frame pending; // a Data frame waiting for its payload
    private byte[] payload;
    private int payloadHave;

    YamuxDecoder(int maxDataBytes) { this.maxDataBytes = maxDataBytes; }

    /**
     * Feeds bytes; calls {@code sink} per complete frame.
     *
     * @throws YamuxException on a bad version, unknown type or a Data frame over the bound; the decoder is
     *     then unusable
     */
    void feed(byte[] data, Sink sink) {
        int off = 0;
        while (off < data.length) {
            if (pending == null) {
                int n = Math.min(HEADER - headerHave, data.length - off);
                System.arraycopy(data, off, header, headerHave, n);
                headerHave += n;
                off += n;
                if (headerHave < HEADER) return;
                headerHave = 0;
                Frame f = parseHeader(header);
                if (f.type() != TYPE_DATA || f.length() == 0) {
                    sink.onFrame(f);
                    continue;
                }
                pending = f;
                payload = new byte[(int) f.length()];
                payloadHave = 0;
            }
            int n = Math.min(payload.length - payloadHave, data.length - off);
            System.arraycopy(data, off, payload, payloadHave, n);
            payloadHave += n;
            off += n;
            if (payloadHave == payload.length) {
                Frame f = new Frame(pending.type(), pending.flags(), pending.streamId(), pending.length(), payload);
                pending = null;
                payload = null;
                sink.onFrame(f);
            }
        }
    }

    private Frame parseHeader(byte[] h) {
        if (h[0] != 0) throw new YamuxException("yamux version " + (h[0] & 0xFF) + ", expected 0");
        int type = h[1] & 0xFF;
        if (type > TYPE_GO_AWAY) throw new YamuxException("unknown yamux frame type " + type);
        int flags = ((h[2] & 0xFF) << 8) | (h[3] & 0xFF);
        int sid = ((h[4] & 0xFF) << 24) | ((h[5] & 0xFF) << 16) | ((h[6] & 0xFF) << 8) | (h[7] & 0xFF);
        long len = (((long) h[8] & 0xFF) << 24) | ((h[9] & 0xFF) << 16) | ((h[10] & 0xFF) << 8) | (h[11] & 0xFF);
        if (type == TYPE_DATA && len > maxDataBytes) {
            throw new YamuxException("yamux data frame of " + len + " bytes on stream " + Integer.toUnsignedString(sid)
                    + " exceeds the receive window " + maxDataBytes);
        }
        return new Frame(type, flags, sid, len, EMPTY);
    }

    private static final byte[] EMPTY = new byte[0];

    /** Encodes a header followed by {@code payload[off, off+len)} (len is the header's length for non-Data frames when payload is null). */
    static byte[] encode(int type, int flags, int streamId, long length, byte[] payload, int off, int len) {
        byte[] out = new byte[HEADER + len];
        out[1] = (byte) type;
        out[2] = (byte) (flags >>> 8);
        out[3] = (byte) flags;
        out[4] = (byte) (streamId >>> 24);
        out[5] = (byte) (streamId >>> 16);
        out[6] = (byte) (streamId >>> 8);
        out[7] = (byte) streamId;
        out[8] = (byte) (length >>> 24);
        out[9] = (byte) (length >>> 16);
        out[10] = (byte) (length >>> 8);
        out[11] = (byte) length;
        if (len > 0) System.arraycopy(payload, off, out, HEADER, len);
        return out;
    }

    static byte[] header(int type, int flags, int streamId, long length) {
        return encode(type, flags, streamId, length, null, 0, 0);
    }

    @Override public String toString() { return "YamuxDecoder[" + Arrays.toString(header) + "]"; }
}
