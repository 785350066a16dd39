package io.peersocket.identity;

/** Thrown when a peer id, public key or key file cannot be decoded; the message names the bad part. */
public class InvalidPeerIdException extends IllegalArgumentException {
    public InvalidPeerIdException(String message) { super(message); }
    public InvalidPeerIdException(String message, Throwable cause) { super(message, cause); }
}
