package io.peersocket.transport.quic;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClosedChannelException;
import io.netty.handler.codec.quic.QuicConnectionCloseEvent;
import io.netty.handler.codec.quic.QuicDatagramExtensionEvent;
import io.netty.handler.codec.quic.QuicException;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.handler.codec.quic.QuicTransportError;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.tls.Libp2pTls;
import java.net.InetSocketAddress;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.cert.Certificate;
import java.security.cert.X509Certificate;
import java.util.ArrayDeque;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLHandshakeException;
import javax.net.ssl.SSLSession;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A QUIC connection. State is split by thread: fields marked "loop" are touched only on the Netty event loop, fields
 * marked "executor" only on the event executor, volatile ones anywhere. Upcalls are posted from the loop to the
 * executor in loop order; before the connection is reported ({@link #announce}) they are held back, so
 * {@code onConnection} precedes every stream and datagram upcall, and {@code onConnectionClosed} comes last.
 */
final class QuicConnection implements Connection {
    private static final Logger log = LoggerFactory.getLogger(QuicConnection.class);
    private static final AtomicLong IDS = new AtomicLong();
    static final AttributeKey<QuicConnection> KEY = AttributeKey.valueOf("peersocket.quic.connection");

    /** Datagram payload type prefix: keep-alive (dropped on receipt). */
    static final byte DATAGRAM_KEEPALIVE = 0;
    /** Datagram payload type prefix: application data. */
    static final byte DATAGRAM_DATA = 1;
    /** Inbound datagrams waiting for the executor beyond which new ones are dropped. */
    static final int MAX_PENDING_DATAGRAMS = 1024;
    /** Application error code sent when closing because the remote is not the expected peer. */
    static final int ERROR_PEER_ID_MISMATCH = 1;

    private final long id = IDS.incrementAndGet();
    final QuicTransport transport;
    final QuicEndpoint endpoint;
    private final Direction direction;
    /** Outbound only: the peer the dial requires, or null. */
    private final PeerId expected;
    /** Outbound only: the dial's result. */
    private final CompletableFuture<Connection> dialFuture;
    /** Outbound only: our source connection id, registered with the endpoint's router. */
    private final ByteBuffer clientCid;

    private volatile QuicChannel channel;
    /** The remote UDP address: the dialled one, or the sender of an inbound connection's first packet. */
    volatile InetSocketAddress remoteSocket;
    private volatile PublicKey remoteKey;
    private volatile PeerId remotePeer;
    private volatile Multiaddr remoteAddress;
    /** Largest application datagram payload, 0 if the peer does not take datagrams. */
    private volatile int maxDatagramPayload;
    /** True from authentication until the channel closed. */
    private volatile boolean open;
    /** Set by {@link #close()}: the QUIC close (draining, up to 3 PTO) may take a while to finish. */
    private volatile boolean closeRequested;
    private final CompletableFuture<Void> closed = new CompletableFuture<>();
    final AtomicInteger pendingDatagrams = new AtomicInteger();

    // loop
    boolean slotReserved;
    /** Inbound refused for the connection limit (its handshake is made to fail). */
    boolean refused;
    private boolean established;
    private boolean dialDone;
    private String localCloseReason;
    private QuicConnectionCloseEvent peerClose;
    private Throwable handshakeFailure;
    private ScheduledFuture<?> keepAlive;

    // executor
    private boolean announced;
    private boolean closedReported;
    private final ArrayDeque<Runnable> deferred = new ArrayDeque<>();
    private final Set<QuicStream> streams = new LinkedHashSet<>();

    QuicConnection(QuicTransport transport, QuicEndpoint endpoint, Direction direction, PeerId expected,
            CompletableFuture<Connection> dialFuture, ByteBuffer clientCid) {
        this.transport = transport;
        this.endpoint = endpoint;
        this.direction = direction;
        this.expected = expected;
        this.dialFuture = dialFuture;
        this.clientCid = clientCid;
    }

    // ------------------------------------------------------------------------------------------ Connection API

    @Override public long id() { return id; }

    @Override public PeerId remotePeer() { return remotePeer; }

    @Override public PublicKey remotePublicKey() { return remoteKey; }

    @Override public Multiaddr remoteAddress() { return remoteAddress; }

    @Override public Multiaddr localAddress() { return endpoint.localAddress; }

    @Override public Direction direction() { return direction; }

    /** False once {@link #close()} was called: a connection draining its close is no longer usable. */
    @Override public boolean isOpen() { return open && !closeRequested; }

    @Override
    public CompletableFuture<Stream> openStream(StreamHandler handler) {
        Objects.requireNonNull(handler, "handler");
        CompletableFuture<Stream> result = new CompletableFuture<>();
        QuicChannel ch = channel;
        if (!open || ch == null) {
            transport.post(() -> result.completeExceptionally(closedException()));
            return result;
        }
        QuicStream stream = new QuicStream(this, true);
        stream.handler = handler;
        ch.createStream(QuicStreamType.BIDIRECTIONAL, stream.newNettyHandler()).addListener(f -> {
            if (f.isSuccess()) {
                transport.post(() -> {
                    if (closedReported) {
                        stream.closedReported = true;
                        stream.channel().close();
                        result.completeExceptionally(closedException());
                    } else {
                        streams.add(stream);
                        result.complete(stream);
                    }
                });
            } else {
                Throwable cause = f.cause();
                TransportException e = isStreamLimit(cause)
                        ? new TransportException(TransportException.Kind.LIMIT,
                                "stream limit of the remote reached", cause)
                        : !ch.isActive() ? closedException()
                        : new TransportException(TransportException.Kind.IO, "cannot open stream: " + cause, cause);
                transport.post(() -> result.completeExceptionally(e));
            }
        });
        return result;
    }

    private static boolean isStreamLimit(Throwable cause) {
        return cause instanceof QuicException qe && qe.error() == QuicTransportError.STREAM_LIMIT_ERROR
                || cause != null && String.valueOf(cause.getMessage()).toUpperCase().contains("STREAM_LIMIT");
    }

    @Override
    public boolean sendDatagram(byte[] data) {
        Objects.requireNonNull(data, "data");
        QuicChannel ch = channel;
        int max = maxDatagramPayload;
        if (!open || ch == null || max <= 0 || data.length > max) return false;
        ByteBuf buf = Unpooled.buffer(1 + data.length).writeByte(DATAGRAM_DATA).writeBytes(data);
        ch.writeAndFlush(buf).addListener(f -> {
            if (!f.isSuccess()) log.trace("datagram dropped on {}: {}", this, f.cause().toString());
        });
        return true;
    }

    @Override
    public int maxDatagramSize() {
        return open ? maxDatagramPayload : 0;
    }

    @Override
    public CompletableFuture<Void> close() {
        closeRequested = true;
        QuicChannel ch = channel;
        if (ch != null) {
            ch.eventLoop().execute(() -> closeOnLoop("closed locally", 0));
        }
        return closed.copy();
    }

    @Override
    public String toString() {
        return "QuicConnection#" + id + "[" + direction + " " + (remotePeer != null ? remotePeer : "?") + " "
                + (remoteAddress != null ? remoteAddress : "") + "]";
    }

    /** The Netty channel (tests and diagnostics in this package). */
    QuicChannel quicChannel() {
        return channel;
    }

    static TransportException closedException() {
        return new TransportException(TransportException.Kind.CLOSED, "connection closed");
    }

    // ------------------------------------------------------------------------------------------ loop side

    ChannelHandler newHandler() {
        return new Handler();
    }

    /** Closes with an application close; on the loop. */
    void closeOnLoop(String reason, int appError) {
        QuicChannel ch = channel;
        if (ch == null || !ch.isOpen()) return;
        if (localCloseReason == null) localCloseReason = reason;
        ch.close(true, appError, Unpooled.copiedBuffer(truncate(reason), StandardCharsets.UTF_8));
    }

    /** Refuses an inbound connection with transport error CONNECTION_REFUSED; on the loop. */
    void refuseOnLoop(String reason) {
        QuicChannel ch = channel;
        if (ch == null || !ch.isOpen()) return;
        if (localCloseReason == null) localCloseReason = "refused: " + reason;
        ch.close(false, (int) QuicTransportError.CONNECTION_REFUSED.code(),
                Unpooled.copiedBuffer(truncate(reason), StandardCharsets.UTF_8));
    }

    private static String truncate(String s) {
        return s.length() > 200 ? s.substring(0, 200) : s;
    }

    /** Scheduled after the handshake timeout; on the loop. */
    void onHandshakeTimeout() {
        if (established) return;
        String reason = "no handshake within " + transport.cfg().handshakeTimeoutMs() + " ms";
        if (direction == Direction.OUTBOUND) {
            failDial(new TransportException(TransportException.Kind.TIMEOUT, reason + " dialling " + target()));
        }
        QuicChannel ch = channel;
        if (ch != null && ch.isOpen()) {
            if (localCloseReason == null) localCloseReason = "handshake timeout";
            ch.close();
        }
    }

    private String target() {
        InetSocketAddress t = remoteSocket;
        return t != null ? t.getAddress().getHostAddress() + ":" + t.getPort() : "peer";
    }

    /** The outbound connect future finished; on the loop. */
    void onDialConnected(QuicChannel ch, Throwable cause) {
        if (ch == null) {
            failDial(dialFailure(cause));
            QuicChannel c = channel;
            if (c != null) c.close();
            else channelGoneWithoutChannel();
            return;
        }
        channel = ch;
        if (dialDone) { // timed out meanwhile
            closeOnLoop("dial abandoned", 0);
            return;
        }
        if (!ch.isActive()) { // closed right after the handshake, e.g. the server refused us
            failDial(dialFailure(null));
            return;
        }
        PublicKey key;
        try {
            key = Libp2pTls.verify(peerCertificates(ch));
        } catch (Exception e) {
            failDial(new TransportException(TransportException.Kind.BAD_CERTIFICATE,
                    "remote certificate rejected: " + e.getMessage(), e));
            closeOnLoop("bad certificate", 0);
            return;
        }
        PeerId peer = key.peerId();
        if (expected != null && !expected.equals(peer)) {
            failDial(new TransportException(TransportException.Kind.PEER_ID_MISMATCH,
                    "dialled " + expected + " but the remote authenticated as " + peer));
            closeOnLoop("peer id mismatch", ERROR_PEER_ID_MISMATCH);
            return;
        }
        dialDone = true;
        authenticated(ch, key);
    }

    /** When dial setup failed before a channel existed: release what it held. */
    private void channelGoneWithoutChannel() {
        releaseOnLoop();
        transport.post(() -> reportClosed("dial failed"));
    }

    private void failDial(TransportException e) {
        if (dialDone || dialFuture == null) return;
        dialDone = true;
        transport.post(() -> dialFuture.completeExceptionally(e));
    }

    private TransportException dialFailure(Throwable cause) {
        QuicChannel ch = channel;
        if (transport.isClosing()) {
            return new TransportException(TransportException.Kind.CLOSED, "transport closed", cause);
        }
        if (cause instanceof ConnectTimeoutException || ch != null && ch.isTimedOut() && peerClose == null) {
            return new TransportException(TransportException.Kind.TIMEOUT, "no answer from " + target(), cause);
        }
        QuicConnectionCloseEvent closeEvent = peerClose;
        if (closeEvent == null && cause instanceof QuicClosedChannelException qce) closeEvent = qce.event();
        if (closeEvent != null) {
            return new TransportException(TransportException.Kind.REFUSED,
                    target() + " refused the connection: " + describe(closeEvent), cause);
        }
        if (handshakeFailure != null || cause instanceof SSLHandshakeException) {
            Throwable t = handshakeFailure != null ? handshakeFailure : cause;
            return new TransportException(TransportException.Kind.BAD_CERTIFICATE,
                    "TLS handshake with " + target() + " failed: " + t.getMessage(), t);
        }
        if (cause instanceof QuicClosedChannelException) {
            return new TransportException(TransportException.Kind.REFUSED, target() + " closed the connection",
                    cause);
        }
        if (cause instanceof SSLException) {
            return new TransportException(TransportException.Kind.BAD_CERTIFICATE,
                    "TLS failure with " + target() + ": " + cause.getMessage(), cause);
        }
        return new TransportException(TransportException.Kind.IO,
                "cannot connect to " + target() + ": " + cause, cause);
    }

    private static String describe(QuicConnectionCloseEvent e) {
        String reason;
        try {
            reason = new String(e.reason(), StandardCharsets.UTF_8);
        } catch (RuntimeException noReason) { // netty's reason() fails when the frame had none
            reason = "";
        }
        String kind = e.isApplicationClose() ? "application error " : e.isTlsError() ? "TLS alert " : "transport error ";
        int code = e.isTlsError() ? QuicConnectionCloseEvent.extractTlsError(e.error()) : e.error();
        String name = e.isTlsError() ? switch (code) {
            case 40 -> " (handshake_failure)";
            case 42 -> " (bad_certificate)";
            case 43 -> " (unsupported_certificate)";
            case 46 -> " (certificate_unknown)";
            case 48 -> " (unknown_ca)";
            case 80 -> " (internal_error)";
            case 116 -> " (certificate_required)";
            case 120 -> " (no_application_protocol)";
            default -> "";
        } : !e.isApplicationClose() && code == 2 ? " (CONNECTION_REFUSED)" : "";
        return kind + code + name + (reason.isEmpty() ? "" : " \"" + reason + "\"");
    }

    private static X509Certificate[] peerCertificates(QuicChannel ch) throws Exception {
        SSLSession session = ch.sslEngine().getSession();
        Certificate[] certs = session.getPeerCertificates();
        X509Certificate[] out = new X509Certificate[certs.length];
        for (int i = 0; i < certs.length; i++) {
            if (!(certs[i] instanceof X509Certificate x)) throw new SSLException("peer certificate is not X.509");
            out[i] = x;
        }
        return out;
    }

    /** Inbound: the handshake finished (client certificate already checked by the trust manager); on the loop. */
    private void onInboundEstablished(QuicChannel ch) {
        if (established || localCloseReason != null) return;
        if (refused) {
            refuseOnLoop("connection limit reached");
            return;
        }
        PublicKey key;
        try {
            key = Libp2pTls.verify(peerCertificates(ch));
        } catch (Exception e) {
            log.debug("rejecting inbound connection from {}: {}", ch.remoteSocketAddress(), e.getMessage());
            closeOnLoop("bad certificate", 0);
            return;
        }
        authenticated(ch, key);
    }

    private void authenticated(QuicChannel ch, PublicKey key) {
        established = true;
        remoteKey = key;
        remotePeer = key.peerId();
        InetSocketAddress remote = (InetSocketAddress) ch.remoteSocketAddress();
        remoteAddress = remote != null ? Multiaddr.quic(remote) : null;
        open = true;
        long interval = Math.max(50, transport.cfg().idleTimeoutMs() / 3);
        if (transport.cfg().datagrams()) {
            keepAlive = ch.eventLoop().scheduleAtFixedRate(this::sendKeepAlive, interval, interval,
                    TimeUnit.MILLISECONDS);
        }
        transport.post(this::announce);
    }

    private void sendKeepAlive() {
        QuicChannel ch = channel;
        if (ch != null && ch.isActive() && maxDatagramPayload > 0) {
            ch.writeAndFlush(Unpooled.wrappedBuffer(new byte[] {DATAGRAM_KEEPALIVE}));
        }
    }

    /** The QUIC channel closed (any reason); on the loop. */
    private void onChannelClosed() {
        open = false;
        if (keepAlive != null) keepAlive.cancel(false);
        releaseOnLoop();
        String reason = closeReason();
        if (direction == Direction.OUTBOUND && !dialDone) {
            failDial(dialFailure(null));
        }
        transport.post(() -> reportClosed(reason));
    }

    private void releaseOnLoop() {
        if (slotReserved) {
            slotReserved = false;
            transport.releaseSlot();
        }
        if (clientCid != null) endpoint.clientCids.remove(clientCid);
        transport.channelGone(this);
    }

    /** The close reason if the QUIC channel is closing or closed, else null; on the loop. */
    String closeReasonOnLoop() {
        QuicChannel ch = channel;
        return ch == null || ch.isActive() ? null : closeReason();
    }

    private String closeReason() {
        QuicChannel ch = channel;
        if (localCloseReason != null) return localCloseReason;
        if (peerClose != null) return "closed by peer: " + describe(peerClose);
        if (ch != null && ch.isTimedOut()) return "idle timeout";
        if (handshakeFailure != null) return "handshake failed: " + handshakeFailure.getMessage();
        return "closed";
    }

    /** A stream opened by the remote; on the loop (from the channel initializer). */
    void onInboundStream(QuicStreamChannel ch) {
        if (ch.type() != QuicStreamType.BIDIRECTIONAL) {
            ch.close(); // we never allow unidirectional streams
            return;
        }
        QuicStream stream = new QuicStream(this, false);
        ch.pipeline().addLast(stream.newNettyHandler());
        postUpcall(() -> acceptStream(stream));
    }

    /** Posts an upcall for this connection, held back until the connection is reported. From the loop. */
    void postUpcall(Runnable upcall) {
        transport.post(() -> {
            if (closedReported) return;
            if (!announced) deferred.add(upcall);
            else upcall.run();
        });
    }

    private void onDatagram(ByteBuf buf) {
        if (!buf.isReadable()) return;
        byte type = buf.readByte();
        if (type != DATAGRAM_DATA) return; // keep-alive or unknown type
        if (pendingDatagrams.incrementAndGet() > MAX_PENDING_DATAGRAMS) {
            pendingDatagrams.decrementAndGet();
            return;
        }
        byte[] data = new byte[buf.readableBytes()];
        buf.readBytes(data);
        postUpcall(() -> {
            pendingDatagrams.decrementAndGet();
            try {
                transport.handler().onDatagram(this, data);
            } catch (Throwable t) {
                log.warn("onDatagram handler failed on {}", this, t);
            }
        });
    }

    // ------------------------------------------------------------------------------------------ executor side

    private void announce() {
        if (closedReported) return;
        announced = true;
        transport.connectionOpened(this);
        try {
            transport.handler().onConnection(this);
        } catch (Throwable t) {
            log.warn("onConnection handler failed on {}", this, t);
        }
        if (dialFuture != null) dialFuture.complete(this);
        while (!deferred.isEmpty() && !closedReported) {
            deferred.poll().run();
        }
    }

    private void acceptStream(QuicStream stream) {
        StreamHandler h;
        try {
            h = transport.handler().onStream(stream);
        } catch (Throwable t) {
            log.warn("onStream handler failed on {}", this, t);
            h = null;
        }
        if (h == null || h == StreamHandler.REJECT) {
            stream.handler = StreamHandler.REJECT;
            stream.closedReported = true;
            stream.reset();
            return;
        }
        stream.handler = h;
        streams.add(stream);
    }

    void streamClosed(QuicStream stream) {
        streams.remove(stream);
    }

    private void reportClosed(String reason) {
        if (closedReported) return;
        closedReported = true;
        deferred.clear();
        if (announced) {
            TransportException cause = new TransportException(TransportException.Kind.CLOSED,
                    "connection closed: " + reason);
            for (QuicStream s : List.copyOf(streams)) {
                s.reportClosed(cause);
            }
            streams.clear();
            transport.connectionClosed(this);
            try {
                transport.handler().onConnectionClosed(this, reason);
            } catch (Throwable t) {
                log.warn("onConnectionClosed handler failed on {}", this, t);
            }
        } else if (dialFuture != null && !dialFuture.isDone()) {
            dialFuture.completeExceptionally(new TransportException(TransportException.Kind.IO,
                    "connection closed during handshake: " + reason));
        }
        closed.complete(null);
    }

    // ------------------------------------------------------------------------------------------ Netty handler

    private final class Handler extends ChannelInboundHandlerAdapter {
        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            QuicChannel ch = (QuicChannel) ctx.channel();
            channel = ch;
            if (remoteSocket == null && ch.remoteSocketAddress() instanceof InetSocketAddress r) remoteSocket = r;
            ch.attr(KEY).set(QuicConnection.this);
            ch.closeFuture().addListener(f -> onChannelClosed());
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof QuicDatagramExtensionEvent e) {
                maxDatagramPayload = transport.cfg().datagrams() ? Math.max(0, e.maxLength() - 1) : 0;
            } else if (evt instanceof QuicConnectionCloseEvent e) {
                peerClose = e;
            } else if (evt instanceof SslHandshakeCompletionEvent e) {
                if (!e.isSuccess()) {
                    handshakeFailure = e.cause();
                } else if (direction == Direction.INBOUND) {
                    onInboundEstablished((QuicChannel) ctx.channel());
                }
            }
            ReferenceCountUtil.release(evt);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf buf)) {
                ctx.fireChannelRead(msg); // new remote streams: the channel sets them up at the pipeline's tail
                return;
            }
            try {
                onDatagram(buf);
            } finally {
                buf.release();
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (cause instanceof SSLHandshakeException && handshakeFailure == null) handshakeFailure = cause;
            log.debug("QUIC connection {} error: {}", QuicConnection.this, cause.toString());
        }
    }
}
