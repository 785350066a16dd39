package io.peersocket.util;

import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.function.Consumer;

/**
 * Reassembles unsigned-varint length-prefixed frames from a byte stream (the framing of multistream-select,
 * identify and despatch). Not thread-safe: one instance per stream, fed from one thread.
 */
public final class FrameDecoder {
    private final int maxFrameBytes;
    private byte[] buf = new byte[256];
    private int start, end;

    /** @param maxFrameBytes frames longer than this are rejected before any buffering */
    public FrameDecoder(int maxFrameBytes) { this.maxFrameBytes = maxFrameBytes; }

    /** Thrown when the stream is not valid framing (bad varint, frame over the limit). */
    public static final class FrameException extends IllegalArgumentException {
        private final boolean oversize;

        public FrameException(String message) { this(message, false); }

        /** @param oversize true if the frame is over a size limit, false if the framing is malformed */
        public FrameException(String message, boolean oversize) {
            super(message);
            this.oversize = oversize;
        }

        /** True if a frame was over a size limit; false if the length prefix was malformed. */
        public boolean isOversize() { return oversize; }
    }

    /**
     * Appends {@code data} and calls {@code sink} once per complete frame (payload only), in order. If
     * {@code sink} returns after {@link #stop()}, remaining bytes stay buffered (see {@link #remaining()}).
     *
     * @throws FrameException on a malformed length or a frame over the limit; the decoder is then unusable
     */
    public void feed(byte[] data, Consumer<byte[]> sink) {
        append(data);
        stopped = false;
        while (!stopped) {
            ByteBuffer bb = ByteBuffer.wrap(buf, start, end - start);
            long len;
            try {
                len = Varint.read(bb);
            } catch (IllegalArgumentException e) {
                throw new FrameException("bad frame length: " + e.getMessage());
            }
            if (len < 0) break;
            if (len > maxFrameBytes) throw new FrameException("frame of " + len + " bytes exceeds limit " + maxFrameBytes, true);
            if (bb.remaining() < len) break;
            int off = bb.position();
            byte[] frame = Arrays.copyOfRange(buf, off, off + (int) len);
            start = off + (int) len;
            sink.accept(frame);
        }
        if (start == end) start = end = 0;
    }

    private boolean stopped;

    /** Called from within a sink: stop delivering frames; the rest stays buffered. */
    public void stop() { stopped = true; }

    /** Bytes buffered but not delivered (after {@link #stop()}), and clears them. */
    public byte[] remaining() {
        byte[] r = Arrays.copyOfRange(buf, start, end);
        start = end = 0;
        return r;
    }

    /** Bytes currently buffered. */
    public int buffered() { return end - start; }

    private void append(byte[] data) {
        if (end + data.length > buf.length) {
            int live = end - start;
            if (live + data.length <= buf.length) {
                System.arraycopy(buf, start, buf, 0, live);
            } else {
                byte[] nb = new byte[Math.max(buf.length * 2, live + data.length)];
                System.arraycopy(buf, start, nb, 0, live);
                buf = nb;
            }
            start = 0;
            end = live;
        }
        System.arraycopy(data, 0, buf, end, data.length);
        end += data.length;
    }

    /** Encodes one frame: varint length then payload. */
    public static byte[] frame(byte[] payload) {
        byte[] out = new byte[Varint.size(payload.length) + payload.length];
        int off = Varint.write(payload.length, out, 0);
        System.arraycopy(payload, 0, out, off, payload.length);
        return out;
    }
}
