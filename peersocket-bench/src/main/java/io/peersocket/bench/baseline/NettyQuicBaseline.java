package io.peersocket.bench.baseline;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollDatagramChannel;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicCodecBuilder;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.handler.codec.quic.QuicTokenHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.handler.ssl.util.SelfSignedCertificate;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.peersocket.bench.BulkMeter;
import io.peersocket.bench.BulkResult;
import io.peersocket.bench.ConnectResult;
import io.peersocket.bench.Recorder;
import io.peersocket.bench.RrResult;
import io.peersocket.bench.Settings;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;

/**
 * Raw Netty QUIC (quiche + BoringSSL) on loopback, in the style of Netty's own QUIC examples: a server and a
 * client UDP channel, each on its own one-thread event loop, a self-signed EC P-256 certificate, all work done
 * in Netty handlers on the event loops. Transport parameters match {@code QuicTransport}: 16 MiB connection and
 * 4 MiB stream windows, CUBIC, no Retry, 4 MiB socket buffers, DATAGRAM enabled, epoll when available, and
 * (optionally) its 16 KiB UDP payloads towards loopback peers.
 */
public final class NettyQuicBaseline implements AutoCloseable {
    /** Same as QuicTransport.MAX_DATA / MAX_STREAM_DATA. */
    static final long MAX_DATA = 16L << 20;
    static final long MAX_STREAM_DATA = 4L << 20;
    static final int SOCKET_BUFFER = 4 << 20;
    static final String ALPN = "peersocket-bench";
    /** UDP payload QuicTransport uses towards loopback peers (its PacketRouter.LOOPBACK_UDP_PAYLOAD), bytes. */
    public static final int LOOPBACK_UDP_PAYLOAD = 16_384;
    /** System property: print QUIC connection statistics after each measurement. */
    public static final String VERBOSE = "peersocket.bench.verbose";

    private final boolean epoll = Epoll.isAvailable();
    private final EventLoopGroup serverGroup;
    private final EventLoopGroup clientGroup;
    private final QuicSslContext serverSsl;
    private final QuicSslContext clientSsl;
    private final boolean mutualTls;
    private final int udpPayload;

    /**
     * @param mutualTls also authenticate the client with a certificate (libp2p does; Netty's examples do not)
     * @param udpPayload largest UDP payload quiche sends and accepts, bytes; 0 for Netty's default (1350, what
     *     real paths carry). {@code QuicTransport} uses {@link #LOOPBACK_UDP_PAYLOAD} towards loopback peers.
     */
    @SuppressWarnings("deprecation") // SelfSignedCertificate: what Netty's QUIC examples use; fine for a benchmark
    public NettyQuicBaseline(boolean mutualTls, int udpPayload) throws Exception {
        this.mutualTls = mutualTls;
        this.udpPayload = udpPayload;
        SelfSignedCertificate cert = SelfSignedCertificate.builder().fqdn("localhost").algorithm("EC").bits(256).build();
        QuicSslContextBuilder server = QuicSslContextBuilder.forServer(cert.key(), null, cert.cert())
                .applicationProtocols(ALPN).earlyData(false);
        QuicSslContextBuilder client = QuicSslContextBuilder.forClient()
                .trustManager(InsecureTrustManagerFactory.INSTANCE).applicationProtocols(ALPN).earlyData(false);
        if (mutualTls) {
            server.trustManager(InsecureTrustManagerFactory.INSTANCE).clientAuth(ClientAuth.REQUIRE);
            client.keyManager(cert.key(), null, cert.cert());
        }
        serverSsl = server.build();
        clientSsl = client.build();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        serverGroup = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("raw-quic-server", true), io);
        clientGroup = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("raw-quic-client", true), io);
    }

    /** "epoll" or "nio". */
    public String ioMode() { return epoll ? "epoll" : "nio"; }

    // ---- request/reply --------------------------------------------------------------------------------

    /** Request/reply on one stream with {@link Settings#depth()} or 1 requests outstanding (pipelined, in order). */
    public RrResult requestReply(Settings s, int depth) throws Exception {
        try (Pair p = open(Echo::new)) {
            Recorder rec = new Recorder(s.warmupMs(), s.durationMs());
            Pinger pinger = new Pinger(s.payloadBytes(), depth, rec);
            QuicStreamChannel st = p.client.createStream(QuicStreamType.BIDIRECTIONAL, pinger).get(10, TimeUnit.SECONDS);
            st.eventLoop().execute(() -> pinger.start(st));
            pinger.done.get(rec.remainingMs(10_000), TimeUnit.MILLISECONDS);
            st.close().await(5, TimeUnit.SECONDS);
            return rec.result(depth == 1 ? "raw Netty QUIC" : "raw Netty QUIC, " + depth + " pipelined");
        }
    }

    /** Echoes whatever arrives on a stream. */
    private static final class Echo extends ChannelInboundHandlerAdapter {
        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) { ctx.write(msg); }

        @Override public void channelReadComplete(ChannelHandlerContext ctx) { ctx.flush(); }

        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) { ctx.close(); }
    }

    /** Client side: keeps {@code depth} requests in flight; replies arrive in order on the one stream. */
    private static final class Pinger extends ChannelInboundHandlerAdapter {
        final byte[] request;
        final int depth;
        final Recorder rec;
        final long[] sent; // ring of send times
        int head;
        int tail;
        long pendingBytes;
        boolean stopped;
        Channel ch;
        final CompletableFuture<Void> done = new CompletableFuture<>();

        Pinger(int size, int depth, Recorder rec) {
            this.request = new byte[size];
            this.depth = depth;
            this.rec = rec;
            this.sent = new long[depth];
        }

        void start(Channel ch) {
            this.ch = ch;
            for (int i = 0; i < depth; i++) send();
        }

        private void send() {
            sent[tail] = System.nanoTime();
            tail = (tail + 1) % depth;
            ch.writeAndFlush(Unpooled.wrappedBuffer(request)).addListener((ChannelFuture f) -> {
                if (!f.isSuccess()) done.completeExceptionally(f.cause());
            });
        }

        @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
            pendingBytes += ((ByteBuf) msg).readableBytes();
            ReferenceCountUtil.release(msg);
            while (pendingBytes >= request.length && !stopped) {
                pendingBytes -= request.length;
                long t0 = sent[head];
                head = (head + 1) % depth;
                if (!rec.record(t0, System.nanoTime())) {
                    stopped = true;
                    done.complete(null);
                    return;
                }
                send();
            }
        }

        @Override public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            done.completeExceptionally(cause);
            ctx.close();
        }
    }

    // ---- bulk -----------------------------------------------------------------------------------------

    /** One stream; the client keeps {@link Settings#writeWindow()} chunk writes in flight. */
    public BulkResult bulk(Settings s) throws Exception {
        BulkMeter meter = new BulkMeter(udpPayload > 0 ? "raw Netty QUIC" : "raw Netty QUIC, 1350 B packets", s);
        CompletableFuture<Void> done = new CompletableFuture<>();
        try (Pair p = open(() -> new ChannelInboundHandlerAdapter() {
            @Override public void channelRead(ChannelHandlerContext ctx, Object msg) {
                int n = ((ByteBuf) msg).readableBytes();
                ReferenceCountUtil.release(msg);
                if (meter.onBytes(n)) done.complete(null);
            }
        })) {
            QuicStreamChannel st = p.client.createStream(QuicStreamType.BIDIRECTIONAL,
                    new ChannelInboundHandlerAdapter()).get(10, TimeUnit.SECONDS);
            byte[] chunk = new byte[s.chunkBytes()];
            Runnable pump = new Runnable() {
                int inFlight;

                @Override public void run() {
                    while (inFlight < s.writeWindow() && !meter.isDone()) {
                        inFlight++;
                        st.writeAndFlush(Unpooled.wrappedBuffer(chunk)).addListener((ChannelFuture f) -> {
                            inFlight--;
                            if (!f.isSuccess()) done.completeExceptionally(f.cause());
                            else run();
                        });
                    }
                }
            };
            st.eventLoop().execute(pump);
            done.get(s.warmupMs() + s.bulkCapMs() + 10_000, TimeUnit.MILLISECONDS);
            if (Boolean.getBoolean(VERBOSE)) {
                System.err.println("raw QUIC bulk sender: " + p.client.collectStats().get(5, TimeUnit.SECONDS)
                        + " " + p.client.collectPathStats(0).get(5, TimeUnit.SECONDS));
            }
            st.close().await(5, TimeUnit.SECONDS);
            return meter.result();
        }
    }

    // ---- connection set-up ----------------------------------------------------------------------------

    /** Times {@link Settings#connects()} QUIC handshakes (connect until the handshake completed), each closed after. */
    public ConnectResult connect(Settings s) throws Exception {
        try (Pair p = open(ChannelInboundHandlerAdapter::new)) {
            long[] samples = new long[s.connects()];
            for (int i = -s.connectWarmup(); i < s.connects(); i++) {
                long t0 = System.nanoTime();
                QuicChannel q = QuicChannel.newBootstrap(p.clientUdp)
                        .handler(new ChannelInboundHandlerAdapter())
                        .streamHandler(new ChannelInboundHandlerAdapter())
                        .remoteAddress(p.serverAddress)
                        .connect().get(10, TimeUnit.SECONDS);
                long t1 = System.nanoTime();
                if (i >= 0) samples[i] = t1 - t0;
                q.close().await(5, TimeUnit.SECONDS);
            }
            return new ConnectResult(mutualTls ? "raw Netty QUIC, mutual TLS" : "raw Netty QUIC", samples);
        }
    }

    // ---- plumbing -------------------------------------------------------------------------------------

    /** A server UDP channel, a client UDP channel, and one established QUIC connection between them. */
    private final class Pair implements AutoCloseable {
        Channel serverUdp;
        Channel clientUdp;
        InetSocketAddress serverAddress;
        QuicChannel client;

        @Override public void close() {
            if (client != null) client.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            if (clientUdp != null) clientUdp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
            if (serverUdp != null) serverUdp.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
        }
    }

    private Pair open(Supplier<ChannelHandler> serverStreamHandler) throws Exception {
        Pair p = new Pair();
        try {
            ChannelHandler serverCodec = common(new QuicServerCodecBuilder())
                    .sslContext(serverSsl)
                    .tokenHandler(NoRetry.INSTANCE)
                    .handler(Ignore.INSTANCE)
                    .streamHandler(new ChannelInitializer<QuicStreamChannel>() {
                        @Override protected void initChannel(QuicStreamChannel ch) {
                            ch.pipeline().addLast(serverStreamHandler.get());
                        }
                    })
                    .build();
            p.serverUdp = udp(serverGroup, serverCodec);
            p.serverAddress = (InetSocketAddress) p.serverUdp.localAddress();
            ChannelHandler clientCodec = common(new QuicClientCodecBuilder()).sslContext(clientSsl).build();
            p.clientUdp = udp(clientGroup, clientCodec);
            p.client = QuicChannel.newBootstrap(p.clientUdp)
                    .handler(new ChannelInboundHandlerAdapter())
                    .streamHandler(new ChannelInboundHandlerAdapter())
                    .remoteAddress(p.serverAddress)
                    .connect().get(10, TimeUnit.SECONDS);
            return p;
        } catch (Exception e) {
            p.close();
            throw e;
        }
    }

    private Channel udp(EventLoopGroup group, ChannelHandler codec) throws InterruptedException {
        return new Bootstrap()
                .group(group)
                .channelFactory(() -> epoll ? new EpollDatagramChannel() : new NioDatagramChannel())
                .option(ChannelOption.SO_RCVBUF, SOCKET_BUFFER)
                .option(ChannelOption.SO_SNDBUF, SOCKET_BUFFER)
                .option(ChannelOption.RCVBUF_ALLOCATOR,
                        new FixedRecvByteBufAllocator(udpPayload > 0 ? udpPayload + 1024 : 2048))
                .handler(codec)
                .bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0)).sync().channel();
    }

    private <B extends QuicCodecBuilder<B>> B common(B b) {
        if (udpPayload > 0) b.maxSendUdpPayloadSize(udpPayload).maxRecvUdpPayloadSize(udpPayload);
        return b.maxIdleTimeout(30_000, TimeUnit.MILLISECONDS)
                .initialMaxData(MAX_DATA)
                .initialMaxStreamDataBidirectionalLocal(MAX_STREAM_DATA)
                .initialMaxStreamDataBidirectionalRemote(MAX_STREAM_DATA)
                .initialMaxStreamsBidirectional(256)
                .initialMaxStreamsUnidirectional(0)
                .congestionControlAlgorithm(QuicCongestionControlAlgorithm.CUBIC)
                .datagram(1024, 1024);
    }

    /** Handler for server-side connection channels (shared by all of them). */
    @ChannelHandler.Sharable
    private static final class Ignore extends ChannelInboundHandlerAdapter {
        static final Ignore INSTANCE = new Ignore();
    }

    /** Never sends a Retry (our transport does not either), so a handshake is one round trip. */
    private enum NoRetry implements QuicTokenHandler {
        INSTANCE;

        @Override public boolean writeToken(ByteBuf out, ByteBuf dcid, InetSocketAddress address) { return false; }

        @Override public int validateToken(ByteBuf token, InetSocketAddress address) { return -1; }

        @Override public int maxTokenLength() { return 0; }
    }

    @Override public void close() {
        serverGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
        clientGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(5, TimeUnit.SECONDS);
    }
}
