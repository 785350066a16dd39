package io.peersocket.protocol.kad;

/** A kad message broke the wire format or a bound (size, key length, unknown type); the message names the part. */
public class KadProtocolException extends KadException {
    public KadProtocolException(String message) { super(message); }
}
