package io.peersocket.transport.quic;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownReadComplete;
import io.netty.channel.socket.ChannelOutputShutdownException;
import io.netty.handler.codec.quic.DefaultQuicStreamFrame;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamResetException;
import io.netty.util.ReferenceCountUtil;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import java.nio.channels.ClosedChannelException;
import java.util.Arrays;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A bidirectional QUIC stream. Data read on the loop is copied and posted to the executor; when more than
 * {@link #READ_HIGH_WATER} bytes wait there, reading pauses (so QUIC flow control pushes back on the sender) until the
 * backlog drains below {@link #READ_LOW_WATER}. Writes are queued on the loop; {@link #isWritable()} is false while
 * more than {@link #WRITE_HIGH_WATER} bytes wait to enter QUIC's send buffer.
 */
final class QuicStream implements Stream {
    private static final Logger log = LoggerFactory.getLogger(QuicStream.class);
    static final long WRITE_HIGH_WATER = 1 << 20;
    static final long READ_HIGH_WATER = 1 << 20;
    static final long READ_LOW_WATER = 256 << 10;
    /** Application error code of our RESET_STREAM / STOP_SENDING frames. */
    static final int RESET_ERROR = 0;

    private final QuicConnection conn;
    private final boolean outbound;
    private volatile QuicStreamChannel channel;
    private final AtomicLong pendingWrite = new AtomicLong();
    private final AtomicLong pendingRead = new AtomicLong();
    private final AtomicBoolean readPaused = new AtomicBoolean();
    /** Reading paused by the stream's user ({@link #setReadPaused}), on top of the backlog pause. */
    private final AtomicBoolean userPaused = new AtomicBoolean();
    private final AtomicBoolean resetCalled = new AtomicBoolean();
    private final AtomicBoolean closeCalled = new AtomicBoolean();

    // loop
    private Throwable failure;
    private boolean finReceived;

    // executor
    StreamHandler handler;
    boolean closedReported;

    QuicStream(QuicConnection conn, boolean outbound) {
        this.conn = conn;
        this.outbound = outbound;
    }

    QuicStreamChannel channel() {
        return channel;
    }

    @Override public long id() { return channel.streamId(); }

    @Override public Connection connection() { return conn; }

    @Override public boolean isOutbound() { return outbound; }

    @Override
    public CompletableFuture<Void> write(byte[] data) {
        Objects.requireNonNull(data, "data");
        CompletableFuture<Void> result = new CompletableFuture<>();
        QuicStreamChannel ch = channel;
        int len = data.length;
        pendingWrite.addAndGet(len);
        // copy into a pooled direct buffer here, on the caller's thread, not on the event loop
        ByteBuf buf = ch.alloc().directBuffer(len, len).writeBytes(data);
        ch.writeAndFlush(buf).addListener((ChannelFuture f) -> {
            pendingWrite.addAndGet(-len);
            complete(result, f);
        });
        return result;
    }

    @Override
    public boolean isWritable() {
        QuicStreamChannel ch = channel;
        return ch.isActive() && !ch.isOutputShutdown() && pendingWrite.get() < WRITE_HIGH_WATER;
    }

    @Override
    public void setReadPaused(boolean paused) {
        if (userPaused.getAndSet(paused) == paused) return;
        QuicStreamChannel ch = channel;
        onLoop(ch, () -> ch.config().setAutoRead(!readPaused.get() && !userPaused.get()));
    }

    @Override
    public CompletableFuture<Void> closeWrite() {
        CompletableFuture<Void> result = new CompletableFuture<>();
        QuicStreamChannel ch = channel;
        ch.eventLoop().execute(() -> {
            ChannelFuture fin = writeFin(ch);
            if (fin.isDone() || pendingWrite.get() > 0) {
                fin.addListener((ChannelFuture f) -> complete(result, f));
            } else {
                // a lone FIN that QUIC would not take: the peer stopped our sending side (STOP_SENDING)
                conn.transport.post(() -> result.completeExceptionally(new TransportException(
                        TransportException.Kind.CLOSED, "stream write side stopped by the peer")));
            }
        });
        return result;
    }

    /** Queues our FIN behind every queued write (not {@code shutdownOutput}, which would overtake them). */
    private static ChannelFuture writeFin(QuicStreamChannel ch) {
        return ch.writeAndFlush(new DefaultQuicStreamFrame(Unpooled.EMPTY_BUFFER, true));
    }

    @Override
    public void reset() {
        if (!resetCalled.compareAndSet(false, true)) return;
        QuicStreamChannel ch = channel;
        onLoop(ch, () -> {
            if (!ch.isOpen()) return;
            if (failure == null) {
                failure = new TransportException(TransportException.Kind.CLOSED, "stream reset locally");
            }
            ch.shutdown(RESET_ERROR).addListener(f -> ch.close());
        });
    }

    /**
     * Runs {@code task} on the stream's event loop; if the loop has shut down (the transport is closing, so the
     * channel is closed with it) there is nothing left to do.
     */
    private void onLoop(QuicStreamChannel ch, Runnable task) {
        try {
            ch.eventLoop().execute(task);
        } catch (java.util.concurrent.RejectedExecutionException e) {
            log.debug("{}: event loop already shut down; nothing to do", this);
        }
    }

    /**
     * Sends our FIN after queued writes, stops reading (STOP_SENDING unless the peer's FIN arrived), then closes.
     * If queued data cannot drain (the peer stopped reading), the stream closes after the idle timeout at the latest.
     */
    @Override
    public void close() {
        if (!closeCalled.compareAndSet(false, true)) return;
        QuicStreamChannel ch = channel;
        onLoop(ch, () -> {
            if (!ch.isOpen()) return;
            Runnable finish = () -> {
                if (!ch.isOpen()) return;
                if (!ch.isInputShutdown()) {
                    ch.shutdownInput(RESET_ERROR).addListener(f -> ch.close());
                } else {
                    ch.close();
                }
            };
            if (ch.isOutputShutdown()) {
                finish.run();
                return;
            }
            ChannelFuture fin = writeFin(ch);
            if (fin.isDone() || pendingWrite.get() == 0) {
                finish.run(); // sent, or a lone FIN the peer will not take (it stopped our sending side)
            } else {
                // The fallback timer is cancelled once the FIN is written or the channel closes, so closed
                // streams do not keep tasks (and the channel) in the event loop's queue for the idle timeout.
                var fallback = ch.eventLoop().schedule(finish, conn.transport.cfg().idleTimeoutMs(), TimeUnit.MILLISECONDS);
                ch.closeFuture().addListener(f -> fallback.cancel(false));
                fin.addListener(f -> {
                    fallback.cancel(false);
                    finish.run();
                });
            }
        });
    }

    /** Why the stream channel closed, null if cleanly (both FINs, or our {@link #close()}); on the loop. */
    private Throwable closeCause() {
        if (failure != null) return failure;
        // netty marks output shut down when it wrote our FIN (before the write's listeners may run)
        if (closeCalled.get() || finReceived && channel.isOutputShutdown()) return null;
        String reason = conn.closeReasonOnLoop();
        return new TransportException(TransportException.Kind.CLOSED,
                reason != null ? "connection closed: " + reason : "stream closed");
    }

    private void complete(CompletableFuture<Void> result, ChannelFuture f) {
        if (f.isSuccess()) {
            conn.transport.post(() -> result.complete(null));
        } else {
            TransportException e = writeFailure(f.cause());
            conn.transport.post(() -> result.completeExceptionally(e));
        }
    }

    private TransportException writeFailure(Throwable cause) {
        if (cause instanceof ChannelOutputShutdownException) {
            return new TransportException(TransportException.Kind.CLOSED,
                    "stream write side closed: " + cause.getMessage(), cause);
        }
        if (cause instanceof ClosedChannelException) {
            return new TransportException(TransportException.Kind.CLOSED,
                    conn.isOpen() ? "stream closed" : "connection closed", cause);
        }
        return new TransportException(TransportException.Kind.IO, "stream write failed: " + cause, cause);
    }

    @Override
    public String toString() {
        QuicStreamChannel ch = channel;
        return "QuicStream[" + (ch != null ? ch.streamId() : "?") + (outbound ? " out" : " in") + " on " + conn + "]";
    }

    // ------------------------------------------------------------------------------------------ executor side

    private void deliverData(byte[] data) {
        try {
            if (!closedReported && handler != null) {
                handler.onData(this, data);
            }
        } catch (Throwable t) {
            log.warn("onData handler failed on {}; resetting the stream", this, t);
            reset();
        } finally {
            long left = pendingRead.addAndGet(-data.length);
            if (left < READ_LOW_WATER && readPaused.compareAndSet(true, false)) {
                QuicStreamChannel ch = channel;
                ch.eventLoop().execute(() -> ch.config().setAutoRead(!readPaused.get() && !userPaused.get()));
            }
        }
    }

    private void deliverRemoteFin() {
        if (closedReported || handler == null) return;
        try {
            handler.onRemoteWriteClosed(this);
        } catch (Throwable t) {
            log.warn("onRemoteWriteClosed handler failed on {}", this, t);
        }
    }

    void reportClosed(Throwable cause) {
        if (closedReported) return;
        closedReported = true;
        conn.streamClosed(this);
        if (handler == null) return;
        try {
            handler.onClosed(this, cause);
        } catch (Throwable t) {
            log.warn("onClosed handler failed on {}", this, t);
        }
    }

    // ------------------------------------------------------------------------------------------ Netty handler

    ChannelHandler newNettyHandler() {
        return new Handler();
    }

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            QuicStreamChannel ch = (QuicStreamChannel) ctx.channel();
            ch.config().setAllowHalfClosure(true);
            channel = ch;
            ch.closeFuture().addListener(f -> {
                flushBatch(ctx);
                Throwable cause = closeCause();
                conn.postUpcall(() -> reportClosed(cause));
            });
        }

        /** Bytes read in the current read batch, delivered as one {@code onData} at read-complete. */
        private byte[] batch;
        private int batchLength;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                ByteBuf buf = (ByteBuf) msg;
                int n = buf.readableBytes();
                if (n == 0) return;
                if (batch == null) {
                    batch = new byte[n];
                } else if (batch.length - batchLength < n) {
                    batch = Arrays.copyOf(batch, Math.max(batch.length * 2, batchLength + n));
                }
                buf.readBytes(batch, batchLength, n);
                batchLength += n;
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            flushBatch(ctx);
        }

        private void flushBatch(ChannelHandlerContext ctx) {
            if (batchLength == 0) return;
            byte[] data = batchLength == batch.length ? batch : Arrays.copyOf(batch, batchLength);
            batch = null;
            batchLength = 0;
            if (pendingRead.addAndGet(data.length) > READ_HIGH_WATER && readPaused.compareAndSet(false, true)) {
                ctx.channel().config().setAutoRead(false);
            }
            conn.postUpcall(() -> deliverData(data));
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            flushBatch(ctx);
            if (evt == ChannelInputShutdownReadComplete.INSTANCE) {
                finReceived = true;
                conn.postUpcall(QuicStream.this::deliverRemoteFin);
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            flushBatch(ctx);
            if (cause instanceof QuicStreamResetException rse) {
                if (failure == null) {
                    failure = new TransportException(TransportException.Kind.CLOSED,
                            "stream reset by peer (error code " + rse.applicationProtocolCode() + ")", cause);
                }
            } else if (failure == null) {
                failure = new TransportException(TransportException.Kind.IO, "stream failed: " + cause, cause);
            }
            log.debug("stream {} error: {}", QuicStream.this, cause.toString());
            ctx.close();
        }
    }
}
