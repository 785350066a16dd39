package io.peersocket.transport.upgrade;

/** A Yamux protocol violation by the remote; the session answers with GoAway (protocol error) and closes. */
public final class YamuxException extends RuntimeException {
    public YamuxException(String message) { super(message); }
}
