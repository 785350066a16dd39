package io.peersocket.transport;

/** A transport failure with a machine-readable {@link Kind} and a human-readable message. */
public class TransportException extends RuntimeException {

    public enum Kind {
        /** The address is not supported or malformed. */
        BAD_ADDRESS,
        /** No answer within the handshake timeout (host down, wrong port, packets dropped). */
        TIMEOUT,
        /** The remote refused or aborted the handshake. */
        REFUSED,
        /** The remote's certificate is missing or its libp2p extension does not verify. */
        BAD_CERTIFICATE,
        /** The remote authenticated as a different peer than the one dialled. */
        PEER_ID_MISMATCH,
        /** A configured limit (connections, streams) was reached. */
        LIMIT,
        /** The connection or transport is closed. */
        CLOSED,
        /** Anything else (I/O error). */
        IO
    }

    private final Kind kind;

    public TransportException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public TransportException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() { return kind; }
}
