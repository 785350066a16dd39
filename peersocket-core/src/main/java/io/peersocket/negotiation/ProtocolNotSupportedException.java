package io.peersocket.negotiation;

/** The remote answered "na" to every proposed protocol id. */
public class ProtocolNotSupportedException extends RuntimeException {
    public ProtocolNotSupportedException(String message) { super(message); }
}
