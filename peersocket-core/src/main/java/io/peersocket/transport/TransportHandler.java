package io.peersocket.transport;

/**
 * Upcalls from a {@link Transport}, all on the event executor, one at a time, in order. For a given
 * connection {@link #onConnection} precedes its streams and datagrams, and {@link #onConnectionClosed} is last.
 */
public interface TransportHandler {

    /** A connection (inbound or outbound) finished its handshake and the remote is authenticated. */
    void onConnection(Connection connection);

    /**
     * The remote opened a stream. Return the handler for its data (never null); returning
     * {@link StreamHandler#REJECT} resets the stream.
     */
    StreamHandler onStream(Stream stream);

    /** A datagram arrived on {@code connection}. {@code data} is owned by the callee. */
    default void onDatagram(Connection connection, byte[] data) {}

    /** The connection closed (either side, idle timeout, or error); {@code reason} is human-readable. */
    void onConnectionClosed(Connection connection, String reason);
}
