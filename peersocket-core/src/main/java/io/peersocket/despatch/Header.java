package io.peersocket.despatch;

import io.peersocket.util.Varint;
import java.nio.ByteBuffer;
import java.util.Arrays;

/**
 * The despatch header (seed 000 "despatch layer"), version 1. Wire layout of a despatch frame:
 *
 * <pre>
 *   version        1 byte   = 1
 *   flags          1 byte   bit set below; unknown bits are an error
 *   type           varint   message type, 0 … 2^31-1
 *   message id     varint   sender-assigned, unique per sender, 1 … 2^63-1
 *   in-reply-to    varint   if IN_REPLY_TO: id of the request this answers
 *   in-regards-to  varint   if IN_REGARDS_TO: id of the message that opened the conversation
 *   trace context  varint length + bytes, if TRACE (≤ 128 bytes; W3C traceparent, used by tracing)
 *   payload        the rest of the frame, opaque
 * </pre>
 *
 * On a stream each frame is preceded by its varint length; a datagram carries exactly one frame.
 *
 * @param flags bit set of the {@code F_*} constants
 * @param inReplyTo 0 when absent
 * @param inRegardsTo 0 when absent
 * @param trace empty when absent
 */
public record Header(int flags, int type, long messageId, long inReplyTo, long inRegardsTo, byte[] trace) {
    public static final int VERSION = 1;
    /** {@code inReplyTo} is present: this answers the sender's request. */
    public static final int F_IN_REPLY_TO = 0x01;
    /** {@code inRegardsTo} is present: this belongs to a conversation. */
    public static final int F_IN_REGARDS_TO = 0x02;
    /** A trace context is present. */
    public static final int F_TRACE = 0x04;
    /** With IN_REGARDS_TO: the sender of this message opened the conversation. */
    public static final int F_OPENED_BY_SENDER = 0x08;
    /** This message opens a conversation whose id is this message's id. */
    public static final int F_CONVERSATION_OPEN = 0x10;
    /** The sender ends the conversation (after handling this message's payload, if any). */
    public static final int F_CONVERSATION_END = 0x20;
    /** The sender waits for a reply (a request). */
    public static final int F_REQUEST = 0x40;
    /** An error answer: the payload is a UTF-8 reason. */
    public static final int F_ERROR = 0x80;

    public static final int MAX_TYPE = Integer.MAX_VALUE;
    public static final int MAX_TRACE_BYTES = 128;
    /** Largest encoded header: 2 + 5 + 3 × 9 + 2 + 128. */
    public static final int MAX_BYTES = 2 + 5 + 27 + 2 + MAX_TRACE_BYTES;

    public Header {
        if (type < 0) throw new IllegalArgumentException("message type must be >= 0, got " + type);
        if (messageId <= 0) throw new IllegalArgumentException("message id must be > 0, got " + messageId);
        if (((flags & F_IN_REPLY_TO) != 0) != (inReplyTo > 0)) throw new IllegalArgumentException("in-reply-to flag/value mismatch");
        if (((flags & F_IN_REGARDS_TO) != 0) != (inRegardsTo > 0)) throw new IllegalArgumentException("in-regards-to flag/value mismatch");
        if (trace == null) trace = new byte[0];
        if (((flags & F_TRACE) != 0) != (trace.length > 0)) throw new IllegalArgumentException("trace flag/value mismatch");
        if (trace.length > MAX_TRACE_BYTES) throw new IllegalArgumentException("trace context over " + MAX_TRACE_BYTES + " bytes");
        if ((flags & ~0xFF) != 0) throw new IllegalArgumentException("unknown flags 0x" + Integer.toHexString(flags));
        if ((flags & F_CONVERSATION_OPEN) != 0 && (flags & (F_IN_REGARDS_TO | F_IN_REPLY_TO)) != 0) {
            throw new IllegalArgumentException("conversation-open header with in-reply-to or in-regards-to");
        }
    }

    public boolean has(int flag) { return (flags & flag) != 0; }

    /** Encodes this header followed by {@code payload} as one frame (without a length prefix). */
    public byte[] encode(byte[] payload) {
        ByteBuffer b = ByteBuffer.allocate(MAX_BYTES + payload.length);
        b.put((byte) VERSION).put((byte) flags);
        Varint.write(type, b);
        Varint.write(messageId, b);
        if (inReplyTo > 0) Varint.write(inReplyTo, b);
        if (inRegardsTo > 0) Varint.write(inRegardsTo, b);
        if (trace.length > 0) {
            Varint.write(trace.length, b);
            b.put(trace);
        }
        b.put(payload);
        return Arrays.copyOf(b.array(), b.position());
    }

    /** A decoded frame. */
    public record Frame(Header header, byte[] payload) {}

    /**
     * Decodes one frame.
     *
     * @throws MalformedFrameException naming the bad field (version, flags, a varint, a bound)
     */
    public static Frame decode(byte[] frame) {
        ByteBuffer b = ByteBuffer.wrap(frame);
        try {
            if (b.remaining() < 2) throw new MalformedFrameException("despatch frame shorter than 2 bytes");
            int version = b.get() & 0xFF;
            if (version != VERSION) throw new MalformedFrameException("unsupported despatch header version " + version);
            int flags = b.get() & 0xFF;
            int type = (int) Varint.readBounded(b, MAX_TYPE, "message type");
            long id = Varint.readBounded(b, Long.MAX_VALUE, "message id");
            if (id == 0) throw new MalformedFrameException("message id 0");
            long replyTo = 0, regards = 0;
            if ((flags & F_IN_REPLY_TO) != 0) {
                replyTo = Varint.readBounded(b, Long.MAX_VALUE, "in-reply-to");
                if (replyTo == 0) throw new MalformedFrameException("in-reply-to 0");
            }
            if ((flags & F_IN_REGARDS_TO) != 0) {
                regards = Varint.readBounded(b, Long.MAX_VALUE, "in-regards-to");
                if (regards == 0) throw new MalformedFrameException("in-regards-to 0");
            }
            byte[] trace = new byte[0];
            if ((flags & F_TRACE) != 0) {
                int len = (int) Varint.readBounded(b, MAX_TRACE_BYTES, "trace context length");
                if (len == 0 || b.remaining() < len) throw new MalformedFrameException("trace context truncated or empty");
                trace = new byte[len];
                b.get(trace);
            }
            if ((flags & F_CONVERSATION_OPEN) != 0 && (flags & (F_IN_REGARDS_TO | F_IN_REPLY_TO)) != 0) {
                throw new MalformedFrameException("conversation-open frame with in-reply-to or in-regards-to");
            }
            byte[] payload = Arrays.copyOfRange(frame, b.position(), frame.length);
            return new Frame(new Header(flags, type, id, replyTo, regards, trace), payload);
        } catch (MalformedFrameException e) {
            throw e;
        } catch (IllegalArgumentException e) {
            throw new MalformedFrameException("bad despatch header: " + e.getMessage());
        }
    }

    @Override public boolean equals(Object o) {
        return o instanceof Header h && h.flags == flags && h.type == type && h.messageId == messageId
                && h.inReplyTo == inReplyTo && h.inRegardsTo == inRegardsTo && Arrays.equals(h.trace, trace);
    }

    @Override public int hashCode() { return Long.hashCode(messageId) * 31 + type; }

    @Override public String toString() {
        return "Header[type=" + type + ", id=" + messageId + ", flags=0x" + Integer.toHexString(flags)
                + (inReplyTo > 0 ? ", inReplyTo=" + inReplyTo : "") + (inRegardsTo > 0 ? ", inRegardsTo=" + inRegardsTo : "") + "]";
    }
}
