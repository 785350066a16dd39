package io.peersocket.negotiation;

/** multistream-select failed: malformed messages, wrong header, too many proposals, or the stream closed. */
public class NegotiationException extends RuntimeException {
    public NegotiationException(String message) { super(message); }
}
