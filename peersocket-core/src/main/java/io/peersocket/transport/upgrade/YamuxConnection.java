package io.peersocket.transport.upgrade;

import static io.peersocket.transport.upgrade.YamuxDecoder.ACK;
import static io.peersocket.transport.upgrade.YamuxDecoder.FIN;
import static io.peersocket.transport.upgrade.YamuxDecoder.RST;
import static io.peersocket.transport.upgrade.YamuxDecoder.SYN;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_DATA;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_GO_AWAY;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_PING;
import static io.peersocket.transport.upgrade.YamuxDecoder.TYPE_WINDOW_UPDATE;

import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.util.EventLoop;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A Yamux session (hashicorp yamux spec.md; libp2p {@code /yamux/1.0.0}) over a secure pipe, as a
 * {@link Connection}. The initiator opens odd stream ids, the responder even ones; each stream starts with a
 * 256 KiB window in each direction, replenished by WindowUpdate frames once half of it is consumed. This side
 * never sends more than the peer's window; a peer that exceeds ours, or sends a malformed frame, gets GoAway
 * (protocol error) and the pipe is closed. Pings are answered; {@link #close()} sends GoAway (normal).
 *
 * <p>Threading: all state lives on the event loop given to {@link NoiseYamuxUpgrader}; public methods may be
 * called from any thread (they hop to the loop). Upcalls to the {@link TransportHandler} and stream handlers run
 * on the loop: {@code onConnection} first, {@code onConnectionClosed} last. No datagrams.
 */
public final class YamuxConnection implements Connection {
    private static final Logger log = LoggerFactory.getLogger(YamuxConnection.class);
    private static final AtomicLong IDS = new AtomicLong(1L << 40);
    static final int GO_AWAY_NORMAL = 0, GO_AWAY_PROTOCOL = 1, GO_AWAY_INTERNAL = 2;
    static final int WINDOW = UpgraderConfig.INITIAL_WINDOW;
    /** A locally closed stream whose remote does not finish writing within this is reset, ms. */
    static final long CLOSE_LINGER_MS = 30_000;
    private static final long MAX_WINDOW = 0xFFFF_FFFFL;

    private final long id = IDS.incrementAndGet();
    private final Stream pipe;
    private final boolean initiator;
    private final PeerId remotePeer;
    private final PublicKey remoteKey;
    private final Multiaddr remoteAddress;
    private final Multiaddr localAddress;
    private final boolean limited;
    private final TransportHandler handler;
    private final EventLoop loop;
    private final UpgraderConfig config;
    private final YamuxDecoder decoder = new YamuxDecoder(WINDOW);
    private final Map<Integer, YamuxStream> streams = new HashMap<>();
    private final Map<Integer, Ping> pings = new HashMap<>();
    private final CompletableFuture<Void> closeFuture = new CompletableFuture<>();
    private long nextStreamId;
    private long lastRemoteId;
    private int inbound, outbound;
    private int nextPing;
    private boolean remoteGoAway;
    private volatile boolean closed;

    private record Ping(long sentAt, CompletableFuture<Long> rtt) {}

    YamuxConnection(Stream pipe, boolean initiator, PublicKey remoteKey, Multiaddr remoteAddress,
                    Multiaddr localAddress, boolean limited, TransportHandler handler, EventLoop loop,
                    UpgraderConfig config) {
        this.pipe = pipe;
        this.initiator = initiator;
        this.remoteKey = remoteKey;
        this.remotePeer = remoteKey.peerId();
        this.remoteAddress = remoteAddress;
        this.localAddress = localAddress;
        this.limited = limited;
        this.handler = handler;
        this.loop = loop;
        this.config = config;
        this.nextStreamId = initiator ? 1 : 2;
    }

    /** The handler for the pipe's (decrypted) bytes and its end. */
    StreamHandler input() {
        return new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) { onBytes(data); }

            @Override public void onRemoteWriteClosed(Stream s) { closeInternal("remote closed the connection", -1, true); }

            @Override public void onClosed(Stream s, Throwable cause) {
                closeInternal(cause == null ? "pipe closed" : "pipe closed: " + cause.getMessage(), -1, true);
            }
        };
    }

    @Override public long id() { return id; }

    @Override public PeerId remotePeer() { return remotePeer; }

    @Override public PublicKey remotePublicKey() { return remoteKey; }

    @Override public Multiaddr remoteAddress() { return remoteAddress; }

    @Override public Multiaddr localAddress() { return localAddress; }

    @Override public Direction direction() { return initiator ? Direction.OUTBOUND : Direction.INBOUND; }

    @Override public boolean isOpen() { return !closed; }

    @Override public boolean isLimited() { return limited; }

    @Override public boolean sendDatagram(byte[] data) { return false; }

    @Override public int maxDatagramSize() { return 0; }

    /** Streams open now (both directions), for tests and metrics; read on the loop. */
    int streamCount() { return streams.size(); }

    @Override public CompletableFuture<Stream> openStream(StreamHandler streamHandler) {
        CompletableFuture<Stream> f = new CompletableFuture<>();
        run(() -> {
            if (closed || remoteGoAway) {
                f.completeExceptionally(new TransportException(TransportException.Kind.CLOSED,
                        closed ? "connection " + id + " is closed" : "remote sent GoAway; no new streams"));
                return;
            }
            if (outbound >= config.maxStreams()) {
                f.completeExceptionally(new TransportException(TransportException.Kind.LIMIT,
                        "stream limit " + config.maxStreams() + " reached on connection " + id));
                return;
            }
            if (nextStreamId > MAX_WINDOW) {
                f.completeExceptionally(new TransportException(TransportException.Kind.LIMIT, "yamux stream ids exhausted"));
                return;
            }
            int sid = (int) nextStreamId;
            nextStreamId += 2;
            YamuxStream s = new YamuxStream(sid, true, streamHandler);
            streams.put(sid, s);
            outbound++;
            send(YamuxDecoder.header(TYPE_WINDOW_UPDATE, SYN, sid, 0));
            f.complete(s);
        });
        return f;
    }

    /** Sends a Yamux ping; completes with the round-trip time in ns, or fails if the connection closes. */
    public CompletableFuture<Long> ping() {
        CompletableFuture<Long> f = new CompletableFuture<>();
        run(() -> {
            if (closed) {
                f.completeExceptionally(new TransportException(TransportException.Kind.CLOSED, "connection " + id + " is closed"));
                return;
            }
            int opaque = nextPing++;
            pings.put(opaque, new Ping(loop.nanoTime(), f));
            send(YamuxDecoder.header(TYPE_PING, SYN, 0, Integer.toUnsignedLong(opaque)));
        });
        return f;
    }

    @Override public CompletableFuture<Void> close() {
        run(() -> closeInternal("closed locally", GO_AWAY_NORMAL, true));
        return closeFuture;
    }

    /** Ends the connection without GoAway and resets the pipe (broken secure channel). On the loop. */
    void abort(String reason) { closeInternal(reason, -1, false); }

    private void run(Runnable r) {
        if (loop.inEventLoop()) r.run();
        else loop.execute(r);
    }

    private void send(byte[] frame) {
        pipe.write(frame);
    }

    private void onBytes(byte[] data) {
        if (closed) return;
        try {
            decoder.feed(data, this::onFrame);
        } catch (YamuxException e) {
            log.debug("yamux protocol error on connection {} with {}: {}", id, remotePeer, e.getMessage());
            closeInternal("yamux protocol error: " + e.getMessage(), GO_AWAY_PROTOCOL, true);
        }
    }

    private void onFrame(YamuxDecoder.Frame f) {
        if (closed) return;
        switch (f.type()) {
            case TYPE_PING -> {
                if (f.streamId() != 0) throw new YamuxException("ping on stream " + Integer.toUnsignedString(f.streamId()));
                if ((f.flags() & SYN) != 0) {
                    send(YamuxDecoder.header(TYPE_PING, ACK, 0, f.length()));
                } else if ((f.flags() & ACK) != 0) {
                    Ping p = pings.remove((int) f.length());
                    if (p != null) p.rtt.complete(loop.nanoTime() - p.sentAt);
                }
            }
            case TYPE_GO_AWAY -> {
                if (f.streamId() != 0) throw new YamuxException("GoAway on stream " + Integer.toUnsignedString(f.streamId()));
                remoteGoAway = true;
                if (f.length() != GO_AWAY_NORMAL) {
                    closeInternal("remote sent GoAway with error code " + f.length(), -1, true);
                }
            }
            default -> onStreamFrame(f);
        }
    }

    private boolean isLocalId(int sid) { return ((sid & 1) == 1) == initiator; }

    private void onStreamFrame(YamuxDecoder.Frame f) {
        int sid = f.streamId();
        if (sid == 0) throw new YamuxException((f.type() == TYPE_DATA ? "data" : "window update") + " frame on stream 0");
        YamuxStream s = streams.get(sid);
        if ((f.flags() & SYN) != 0) {
            if (s != null) throw new YamuxException("SYN for open stream " + Integer.toUnsignedString(sid));
            if (isLocalId(sid)) throw new YamuxException("SYN for stream " + Integer.toUnsignedString(sid) + " with this side's parity");
            long usid = Integer.toUnsignedLong(sid);
            if (usid <= lastRemoteId) throw new YamuxException("stream id " + usid + " not above the last one " + lastRemoteId);
            lastRemoteId = usid;
            if (inbound >= config.maxStreams()) {
                log.debug("connection {}: remote {} is over the stream limit {}; resetting stream {}", id, remotePeer,
                        config.maxStreams(), usid);
                send(YamuxDecoder.header(TYPE_WINDOW_UPDATE, RST, sid, 0));
                return;
            }
            s = new YamuxStream(sid, false, null);
            streams.put(sid, s);
            inbound++;
            send(YamuxDecoder.header(TYPE_WINDOW_UPDATE, ACK, sid, 0));
            StreamHandler h;
            try {
                h = handler.onStream(s);
            } catch (RuntimeException e) {
                log.warn("onStream failed on connection {}", id, e);
                h = null;
            }
            if (h == null || h == StreamHandler.REJECT) {
                s.reset();
                return;
            }
            if (s.done) return; // the handler reset or the connection closed
            s.handler = h;
        }
        if (s == null) {
            // a stream this side already closed or reset: its frames are dropped (the peer learns from FIN/RST)
            return;
        }
        if (f.type() == TYPE_WINDOW_UPDATE) {
            s.onWindowUpdate(f.length());
        } else if (f.payload().length > 0) {
            s.onData(f.payload());
        }
        if ((f.flags() & FIN) != 0) s.onFin();
        if ((f.flags() & RST) != 0) s.onRst();
    }

    private void closeInternal(String reason, int goAwayCode, boolean graceful) {
        if (closed) return;
        closed = true;
        try {
            if (goAwayCode >= 0) pipe.write(YamuxDecoder.header(TYPE_GO_AWAY, 0, 0, goAwayCode));
            if (graceful) pipe.close();
            else pipe.reset();
        } catch (RuntimeException e) {
            log.debug("closing pipe of connection {} failed", id, e);
        }
        TransportException cause = new TransportException(TransportException.Kind.CLOSED, "connection closed: " + reason);
        for (YamuxStream s : new ArrayList<>(streams.values())) s.terminate(cause);
        for (Ping p : pings.values()) p.rtt.completeExceptionally(cause);
        pings.clear();
        try {
            handler.onConnectionClosed(this, reason);
        } catch (RuntimeException e) {
            log.warn("onConnectionClosed failed on connection {}", id, e);
        }
        closeFuture.complete(null);
    }

    @Override public String toString() {
        return "YamuxConnection#" + id + "[" + direction() + " " + remotePeer.shortString() + (limited ? " limited" : "") + "]";
    }

    /** One Yamux stream; state on the loop. */
    final class YamuxStream implements Stream {
        private final int sid;
        private final boolean outboundStream;
        StreamHandler handler;
        private long sendWindow = WINDOW;
        private long recvWindow = WINDOW;
        private long consumed;
        private final ArrayDeque<Pending> queue = new ArrayDeque<>();
        private long queued;
        private boolean writeClosed, finSent, finReceived, localClosed, closedNotified;
        boolean done;
        private final CompletableFuture<Void> finFuture = new CompletableFuture<>();

        private final class Pending {
            final byte[] data;
            int off;
            final CompletableFuture<Void> future;

            Pending(byte[] data, CompletableFuture<Void> future) {
                this.data = data;
                this.future = future;
            }
        }

        YamuxStream(int sid, boolean outboundStream, StreamHandler handler) {
            this.sid = sid;
            this.outboundStream = outboundStream;
            this.handler = handler;
        }

        @Override public long id() { return Integer.toUnsignedLong(sid); }

        @Override public Connection connection() { return YamuxConnection.this; }

        @Override public boolean isOutbound() { return outboundStream; }

        /**
         * Queues {@code data}; it goes out in Data frames of at most {@code maxDataFrameBytes} as the peer's window
         * allows. The future completes when the last byte is handed to the pipe.
         */
        @Override public CompletableFuture<Void> write(byte[] data) {
            CompletableFuture<Void> f = new CompletableFuture<>();
            run(() -> {
                if (done || writeClosed) {
                    f.completeExceptionally(new TransportException(TransportException.Kind.CLOSED,
                            "stream " + id() + " is " + (done ? "closed" : "closed for writing")));
                    return;
                }
                if (data.length == 0) {
                    f.complete(null);
                    return;
                }
                queue.add(new Pending(data, f));
                queued += data.length;
                flush();
            });
            return f;
        }

        /**
         * True while the stream is open for writing, the bytes waiting for the peer's window are below
         * {@code writeHighWaterBytes} and the pipe itself is writable.
         */
        @Override public boolean isWritable() {
            return !done && !writeClosed && !closed && queued < config.writeHighWaterBytes() && pipe.isWritable();
        }

        @Override public CompletableFuture<Void> closeWrite() {
            run(() -> {
                if (done) {
                    finFuture.completeExceptionally(new TransportException(TransportException.Kind.CLOSED, "stream " + id() + " is closed"));
                    return;
                }
                writeClosed = true;
                flush();
            });
            return finFuture;
        }

        @Override public void reset() {
            run(() -> {
                if (done) return;
                if (!closed) send(YamuxDecoder.header(TYPE_WINDOW_UPDATE, RST, sid, 0));
                terminate(new TransportException(TransportException.Kind.CLOSED, "stream reset locally"));
            });
        }

        @Override public void close() {
            run(() -> {
                if (done || localClosed) return;
                localClosed = true;
                writeClosed = true;
                flush();
                if (!closedNotified) {
                    closedNotified = true;
                    StreamHandler h = handler;
                    loop.execute(() -> notifyClosed(h, null));
                }
                if (!done) {
                    loop.schedule(() -> {
                        if (!done && !closed) {
                            send(YamuxDecoder.header(TYPE_WINDOW_UPDATE, RST, sid, 0));
                            terminate(null);
                        }
                    }, CLOSE_LINGER_MS);
                }
            });
        }

        private void flush() {
            if (done || closed) return;
            while (!queue.isEmpty() && sendWindow > 0) {
                Pending p = queue.peek();
                int n = (int) Math.min(Math.min(p.data.length - p.off, sendWindow), config.maxDataFrameBytes());
                byte[] frame = YamuxDecoder.encode(TYPE_DATA, 0, sid, n, p.data, p.off, n);
                p.off += n;
                sendWindow -= n;
                queued -= n;
                CompletableFuture<Void> w = pipe.write(frame);
                if (p.off == p.data.length) {
                    queue.poll();
                    w.whenComplete((v, e) -> {
                        if (e == null) p.future.complete(null);
                        else p.future.completeExceptionally(e);
                    });
                }
            }
            if (queue.isEmpty() && writeClosed && !finSent) {
                finSent = true;
                pipe.write(YamuxDecoder.header(TYPE_WINDOW_UPDATE, FIN, sid, 0)).whenComplete((v, e) -> {
                    if (e == null) finFuture.complete(null);
                    else finFuture.completeExceptionally(e);
                });
                if (finReceived) terminate(null);
            }
        }

        void onWindowUpdate(long delta) {
            sendWindow += delta;
            if (sendWindow > MAX_WINDOW) {
                throw new YamuxException("window update overflows the send window of stream " + id() + " (" + sendWindow + ")");
            }
            flush();
        }

        void onData(byte[] data) {
            if (data.length > recvWindow) {
                throw new YamuxException("stream " + id() + " sent " + data.length + " bytes, over its window of " + recvWindow);
            }
            if (finReceived) throw new YamuxException("data on stream " + id() + " after its FIN");
            recvWindow -= data.length;
            consumed += data.length;
            if (!localClosed && handler != null) {
                try {
                    handler.onData(this, data);
                } catch (RuntimeException e) {
                    log.warn("stream handler failed on {}; resetting", this, e);
                    reset();
                    return;
                }
            }
            if (!done && consumed >= WINDOW / 2) {
                send(YamuxDecoder.header(TYPE_WINDOW_UPDATE, 0, sid, consumed));
                recvWindow += consumed;
                consumed = 0;
            }
        }

        void onFin() {
            if (finReceived || done) return;
            finReceived = true;
            if (!localClosed && handler != null) {
                try {
                    handler.onRemoteWriteClosed(this);
                } catch (RuntimeException e) {
                    log.warn("stream handler failed on {}", this, e);
                }
            }
            if (finSent && !done) terminate(null);
        }

        void onRst() {
            terminate(new TransportException(TransportException.Kind.CLOSED, "stream reset by remote"));
        }

        /** The stream is gone: forget it, fail queued writes, tell the handler (once). */
        void terminate(Throwable cause) {
            if (done) return;
            done = true;
            if (streams.remove(sid) != null) {
                if (outboundStream) outbound--;
                else inbound--;
            }
            TransportException writeError = cause instanceof TransportException te ? te
                    : new TransportException(TransportException.Kind.CLOSED, "stream " + id() + " closed");
            Pending p;
            while ((p = queue.poll()) != null) p.future.completeExceptionally(writeError);
            queued = 0;
            if (!finFuture.isDone() && !finSent) finFuture.completeExceptionally(writeError);
            if (!closedNotified) {
                closedNotified = true;
                notifyClosed(handler, cause);
            }
        }

        private void notifyClosed(StreamHandler h, Throwable cause) {
            if (h == null) return;
            try {
                h.onClosed(this, cause);
            } catch (RuntimeException e) {
                log.warn("onClosed failed on {}", this, e);
            }
        }

        @Override public String toString() {
            return "YamuxStream#" + id() + "[" + (outboundStream ? "out" : "in") + " on " + YamuxConnection.this + "]";
        }
    }
}
