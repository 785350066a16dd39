package io.peersocket.protocol.relay;

import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import java.util.Arrays;

/**
 * The handler of a hop or stop stream: reads varint length-prefixed messages one at a time when asked
 * ({@link #expect}), holds bytes that arrive in between (bounded), and once {@link #attach attached} forwards
 * the held bytes and everything after them, plus the end of the stream, to another handler (the splice or an
 * upgrade). Event loop only.
 */
final class MessageStream implements StreamHandler {

    /** What the owner hears while expecting a message. */
    interface Reader {
        /** One whole message (its payload, without the length). */
        void onMessage(byte[] message);

        /** The stream ended, was reset, or sent bad framing before a message (stream already reset in that case). */
        void onEnd(String reason);
    }

    private final FrameDecoder decoder;
    private final int maxHeld;
    private Stream stream;
    private Reader reader;
    private StreamHandler sink;
    private byte[] held = new byte[0];
    private boolean remoteFin;
    private boolean closed;
    private Throwable closeCause;

    /**
     * @param maxMessageBytes largest message accepted
     * @param maxHeld most bytes held while neither expecting nor attached; beyond it the stream is reset
     */
    MessageStream(int maxMessageBytes, int maxHeld) {
        this.decoder = new FrameDecoder(maxMessageBytes);
        this.maxHeld = maxHeld;
    }

    /** Sets the stream early (for writes before any data arrived). */
    MessageStream stream(Stream s) {
        this.stream = s;
        return this;
    }

    Stream stream() { return stream; }

    /** Writes one framed message. */
    void send(byte[] message) { stream.write(FrameDecoder.frame(message)); }

    /** Reads the next message (from held bytes first) into {@code r}; r hears at most one call. */
    void expect(Reader r) {
        if (sink != null) throw new IllegalStateException("already attached");
        reader = r;
        process();
    }

    /**
     * Hands the stream over: {@code h} gets the held bytes now, then all later data and the end of the stream.
     */
    void attach(StreamHandler h) {
        reader = null;
        sink = h;
        byte[] rest = held;
        held = new byte[0];
        if (rest.length > 0) h.onData(stream, rest);
        if (remoteFin) h.onRemoteWriteClosed(stream);
        if (closed) h.onClosed(stream, closeCause);
    }

    /** Bytes held for a later message or for {@link #attach}. */
    int held() { return held.length; }

    @Override public void onData(Stream s, byte[] data) {
        stream = s;
        if (sink != null) {
            sink.onData(s, data);
            return;
        }
        if (closed) return;
        if ((long) held.length + data.length > maxHeld) {
            end("more than " + maxHeld + " bytes before the relay was ready");
            s.reset();
            return;
        }
        held = held.length == 0 ? data : concat(held, data);
        if (reader != null) process();
    }

    private void process() {
        if (held.length == 0) {
            if (closed || remoteFin) end(closed ? "stream closed" : "stream ended before a message");
            return;
        }
        byte[] in = held;
        held = new byte[0];
        byte[][] got = new byte[1][];
        try {
            decoder.feed(in, frame -> {
                got[0] = frame;
                decoder.stop();
            });
        } catch (FrameDecoder.FrameException e) {
            if (stream != null) stream.reset();
            end("bad framing: " + e.getMessage());
            return;
        }
        if (got[0] == null) {
            if (closed || remoteFin) end(closed ? "stream closed" : "stream ended before a message");
            return; // partial frame stays in the decoder
        }
        held = decoder.remaining();
        Reader r = reader;
        reader = null;
        r.onMessage(got[0]);
    }

    private void end(String reason) {
        Reader r = reader;
        reader = null;
        if (r != null) r.onEnd(reason);
    }

    @Override public void onRemoteWriteClosed(Stream s) {
        stream = s;
        if (sink != null) {
            sink.onRemoteWriteClosed(s);
            return;
        }
        remoteFin = true;
        if (reader != null && decoder.buffered() == 0 && held.length == 0) end("stream ended before a message");
        else if (reader != null) end("stream ended inside a message");
    }

    @Override public void onClosed(Stream s, Throwable cause) {
        stream = s;
        if (sink != null) {
            sink.onClosed(s, cause);
            return;
        }
        closed = true;
        closeCause = cause;
        end("stream closed" + (cause == null ? "" : ": " + cause.getMessage()));
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

}
