package io.peersocket.protocol.ping;

import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.EventLoop;
import java.security.SecureRandom;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * libp2p ping {@code /ipfs/ping/1.0.0} (libp2p specs ping/ping.md): the dialer sends 32 random bytes, the
 * listener echoes them; repeated on one stream. The responder echoes in whole 32-byte units, buffering at
 * most 32 bytes, so a peer cannot make it hold more.
 *
 * <p>Runs on the event loop; {@link Session#ping} may be called from any thread.
 */
public final class Ping implements ProtocolHandler {
    public static final String ID = "/ipfs/ping/1.0.0";
    public static final int SIZE = 32;

    private final SecureRandom random = new SecureRandom();
    private final EventLoop loop;

    public Ping(EventLoop loop) { this.loop = loop; }

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        return new StreamHandler() {
            final byte[] pending = new byte[SIZE];
            int have;

            @Override public void onData(Stream s, byte[] data) {
                int off = 0;
                while (off < data.length) {
                    int n = Math.min(SIZE - have, data.length - off);
                    System.arraycopy(data, off, pending, have, n);
                    have += n;
                    off += n;
                    if (have == SIZE) {
                        s.write(pending.clone());
                        have = 0;
                    }
                }
            }

            @Override public void onRemoteWriteClosed(Stream s) { s.closeWrite(); }
        };
    }

    /** Opens a ping stream on {@code connection}. Fails if the remote does not support ping. */
    public CompletableFuture<Session> open(Connection connection) {
        Session session = new Session();
        return Multistream.select(connection, List.of(ID), id -> session)
                .thenApply(n -> {
                    session.stream = n.stream();
                    return session;
                });
    }

    /** One ping stream; pings are sent one after another (a new one waits for the previous echo). */
    public final class Session implements StreamHandler, AutoCloseable {
        private Stream stream;
        private final ArrayDeque<Outstanding> queue = new ArrayDeque<>();
        private final byte[] echo = new byte[SIZE];
        private int have;
        private boolean closed;

        private record Outstanding(byte[] payload, CompletableFuture<Long> rtt, long[] sentAt) {}

        /** Sends one ping; completes with the round-trip time in ns, or fails if the stream breaks. */
        public CompletableFuture<Long> ping() {
            CompletableFuture<Long> f = new CompletableFuture<>();
            loop.execute(() -> {
                if (closed) {
                    f.completeExceptionally(new IllegalStateException("ping stream closed"));
                    return;
                }
                byte[] payload = new byte[SIZE];
                random.nextBytes(payload);
                Outstanding o = new Outstanding(payload, f, new long[1]);
                queue.add(o);
                if (queue.size() == 1) send(o);
            });
            return f;
        }

        private void send(Outstanding o) {
            o.sentAt[0] = loop.nanoTime();
            stream.write(o.payload);
        }

        @Override public void onData(Stream s, byte[] data) {
            int off = 0;
            while (off < data.length) {
                int n = Math.min(SIZE - have, data.length - off);
                System.arraycopy(data, off, echo, have, n);
                have += n;
                off += n;
                if (have < SIZE) break;
                have = 0;
                Outstanding o = queue.poll();
                if (o == null || !Arrays.equals(o.payload, echo)) {
                    fail(new IllegalStateException("ping echo does not match what was sent"));
                    s.reset();
                    return;
                }
                o.rtt.complete(loop.nanoTime() - o.sentAt[0]);
                Outstanding next = queue.peek();
                if (next != null) send(next);
            }
        }

        @Override public void onRemoteWriteClosed(Stream s) { fail(new IllegalStateException("remote closed the ping stream")); }

        @Override public void onClosed(Stream s, Throwable cause) {
            fail(new IllegalStateException("ping stream closed" + (cause == null ? "" : ": " + cause.getMessage())));
        }

        private void fail(Exception e) {
            closed = true;
            Outstanding o;
            while ((o = queue.poll()) != null) o.rtt.completeExceptionally(e);
        }

        @Override public void close() {
            loop.execute(() -> {
                closed = true;
                if (stream != null) stream.close();
            });
        }
    }
}
