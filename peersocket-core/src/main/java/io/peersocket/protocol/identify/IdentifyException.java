package io.peersocket.protocol.identify;

/** Identify failed: malformed or oversized message, key mismatch, or the stream ended early. */
public class IdentifyException extends RuntimeException {
    public IdentifyException(String message) { super(message); }
}
