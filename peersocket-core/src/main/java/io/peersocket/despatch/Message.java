package io.peersocket.despatch;

import io.opentelemetry.context.Context;
import io.peersocket.identity.PeerId;
import io.peersocket.transport.Connection;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;

/**
 * An incoming despatch message as handlers see it. Immutable; may be used from any thread.
 * {@link #reply} answers a request (once; later calls fail).
 */
public final class Message {
    private final Despatcher despatcher;
    private final PeerId peer;
    private final Connection connection;
    private final Header header;
    private final byte[] payload;
    private final boolean reliable;
    /** The receive span's context; null when tracing is off. Set on the loop before the message is handed on. */
    volatile Context context;

    Message(Despatcher despatcher, PeerId peer, Connection connection, Header header, byte[] payload, boolean reliable) {
        this.despatcher = despatcher;
        this.peer = peer;
        this.connection = connection;
        this.header = header;
        this.payload = payload;
        this.reliable = reliable;
    }

    /** The sender. */
    public PeerId peer() { return peer; }

    /**
     * The connection it arrived on (its stream's or datagram's); {@link Connection#isLimited()} tells whether it
     * came over a relay.
     */
    public Connection connection() { return connection; }

    public int type() { return header.type(); }

    /** The sender's id for this message. */
    public long id() { return header.messageId(); }

    /** The id of our request this answers, or 0. */
    public long inReplyTo() { return header.inReplyTo(); }

    /** The id of the message that opened this message's conversation, or 0. */
    public long inRegardsTo() { return header.inRegardsTo(); }

    /** True if the sender waits for a reply. */
    public boolean isRequest() { return header.has(Header.F_REQUEST); }

    /** True if this is an error answer (payload is a UTF-8 reason). */
    public boolean isError() { return header.has(Header.F_ERROR); }

    /** True if it came on a stream, false if in a datagram. */
    public boolean isReliable() { return reliable; }

    /** Trace context bytes (W3C traceparent), empty if none. */
    public byte[] traceContext() { return header.trace().clone(); }

    public Header header() { return header; }

    /**
     * The trace context this message was received in (its {@code "receive NAME"} span, a child of the sender's
     * span), for continuing its trace by hand; {@link Context#root()} when tracing is off. Handlers need not use
     * it: they already run with it current.
     */
    public Context context() {
        Context c = context;
        return c == null ? Context.root() : c;
    }

    /** The payload (not copied: do not modify). */
    public byte[] payload() { return payload; }

    public String payloadUtf8() { return new String(payload, StandardCharsets.UTF_8); }

    /**
     * Answers this request with {@code payload}, reliably, as message {@code type}.
     *
     * @return completes when handed to the transport
     * @throws IllegalStateException if this is not a request or was already answered
     */
    public CompletableFuture<Void> reply(int type, byte[] payload) {
        return despatcher.reply(this, type, payload, false);
    }

    /** Answers this request with an error; the requester's future fails with {@link RemoteException}. */
    public CompletableFuture<Void> replyError(String reason) {
        return despatcher.reply(this, type(), reason.getBytes(StandardCharsets.UTF_8), true);
    }

    @Override public String toString() {
        return "Message[from=" + peer.shortString() + ", " + header + ", " + payload.length + " bytes]";
    }
}
