package io.peersocket.protocol.pubsub;

/** A pubsub RPC or message broke the wire format or a limit; the message names the bad part. */
public final class PubSubProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public PubSubProtocolException(String message) { super(message); }

    public PubSubProtocolException(String message, Throwable cause) { super(message, cause); }
}
