package io.peersocket.protocol.handshake;

/** A handshake message was malformed or over a bound; the message names the bad part. */
public class HandshakeException extends IllegalArgumentException {
    public HandshakeException(String message) { super(message); }
}
