package io.peersocket.multiaddr;

/** A malformed or unsupported multiaddr; the message names the bad part. */
public class MultiaddrException extends IllegalArgumentException {
    public MultiaddrException(String message) { super(message); }
    public MultiaddrException(String message, Throwable cause) { super(message, cause); }
}
