package io.peersocket.protocol.kad;

/** A Kademlia operation failed: a lookup found nothing, a request timed out, the service is closed. */
public class KadException extends RuntimeException {
    public KadException(String message) { super(message); }

    public KadException(String message, Throwable cause) { super(message, cause); }
}
