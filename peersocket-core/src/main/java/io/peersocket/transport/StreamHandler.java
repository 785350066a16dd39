package io.peersocket.transport;

/** Upcalls for one stream, on the event executor, in order; {@link #onClosed} is last and called once. */
public interface StreamHandler {

    /** Bytes arrived, in order. {@code data} is owned by the callee. */
    void onData(Stream stream, byte[] data);

    /** The remote finished writing (FIN); the stream may still be written until closed. */
    default void onRemoteWriteClosed(Stream stream) {}

    /** The stream is gone: both sides closed, reset, or the connection closed. {@code cause} null if clean. */
    default void onClosed(Stream stream, Throwable cause) {}

    /** A handler that resets the stream as soon as it is returned from {@link TransportHandler#onStream}. */
    StreamHandler REJECT = (s, d) -> {};
}
