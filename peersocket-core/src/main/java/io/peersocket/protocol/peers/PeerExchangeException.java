package io.peersocket.protocol.peers;

/** A peer exchange message was malformed, over a bound or out of protocol order; the message names the bad part. */
public class PeerExchangeException extends IllegalArgumentException {
    public PeerExchangeException(String message) { super(message); }
}
