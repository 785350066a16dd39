package io.peersocket.protocol.autonat;

/** An AutoNAT message was malformed or over a bound; the message names the bad part. */
public class AutoNatProtocolException extends RuntimeException {
    public AutoNatProtocolException(String message) { super(message); }
}
