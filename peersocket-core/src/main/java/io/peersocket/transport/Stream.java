package io.peersocket.transport;

import java.util.concurrent.CompletableFuture;

/**
 * A reliable, ordered, bidirectional byte stream inside a {@link Connection}. Writes are queued in order; each
 * returned future completes (on the event executor) when the bytes are handed to the transport's send buffer,
 * or fails if the stream is closed or reset.
 */
public interface Stream {

    /** Transport-assigned id, unique within its connection. */
    long id();

    Connection connection();

    /** True if this side opened the stream. */
    boolean isOutbound();

    /** Queues {@code data} (not copied; do not modify after calling). */
    CompletableFuture<Void> write(byte[] data);

    /** True while the transport wants more data (its send buffer is below its high-water mark). */
    boolean isWritable();

    /**
     * Asks the transport to stop (true) or resume (false) delivering this stream's data, so flow control pushes
     * back on the sender; used by a relay to match a fast sender to a slow receiver. Data already read may still
     * arrive after pausing (the QUIC transport: at most about 1 MiB). Transports without read control ignore it.
     * Any thread.
     */
    default void setReadPaused(boolean paused) {}

    /** Finishes this side's writing (QUIC FIN) after queued writes; reading continues. */
    CompletableFuture<Void> closeWrite();

    /** Aborts the stream in both directions (QUIC RESET_STREAM / STOP_SENDING). Idempotent. */
    void reset();

    /** Closes both directions gracefully. Idempotent. */
    void close();
}
