package io.peersocket.protocol.relay;

/** A Circuit Relay v2 message or envelope is malformed, over a bound, or does not verify. */
public class RelayProtocolException extends IllegalArgumentException {
    public RelayProtocolException(String message) { super(message); }
}
