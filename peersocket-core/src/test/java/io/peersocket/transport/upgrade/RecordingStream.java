package io.peersocket.transport.upgrade;

import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.TransportException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/** A raw stream that records what is done to it (for fuzz targets on a {@link io.peersocket.util.ManualEventLoop}). */
final class RecordingStream implements Stream {
    final List<byte[]> writes = new ArrayList<>();
    int resets, closes;
    boolean writeAfterEnd;

    @Override public long id() { return 1; }

    @Override public Connection connection() { return null; }

    @Override public boolean isOutbound() { return false; }

    @Override public CompletableFuture<Void> write(byte[] data) {
        if (resets > 0 || closes > 0) {
            writeAfterEnd = true;
            return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.CLOSED, "ended"));
        }
        writes.add(data);
        return CompletableFuture.completedFuture(null);
    }

    @Override public boolean isWritable() { return true; }

    @Override public CompletableFuture<Void> closeWrite() { return CompletableFuture.completedFuture(null); }

    @Override public void reset() { resets++; }

    @Override public void close() { closes++; }

    byte[] last() { return writes.isEmpty() ? null : writes.get(writes.size() - 1); }
}
