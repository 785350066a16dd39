package io.peersocket.protocol.relay;

/**
 * A relay operation failed: the relay or target answered a non-OK {@link RelayStatus}, or (status null) the
 * exchange broke (stream closed, timeout, malformed answer).
 */
public class RelayException extends RuntimeException {
    private final RelayStatus status;

    public RelayException(RelayStatus status, String message) {
        super(message);
        this.status = status;
    }

    public RelayException(String message, Throwable cause) {
        super(message, cause);
        this.status = null;
    }

    /** The status the remote answered, or null if there was no answer. */
    public RelayStatus status() { return status; }
}
