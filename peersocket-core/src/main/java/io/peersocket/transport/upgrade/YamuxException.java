package io.peersocket.transport.upgrade;

/** A Yamux protocol violation by the remote; the session answers with GoAway (protocol error) and closes. */
final class YamuxException extends RuntimeException {
    YamuxException(String message) { super(message); }
}
