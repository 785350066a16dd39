package io.peersocket.transport.quic;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.FixedRecvByteBufAllocator;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.DatagramChannel;
import io.netty.channel.socket.DatagramPacket;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.quic.BoringSSLContextOption;
import io.netty.handler.codec.quic.Quic;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicCodecBuilder;
import io.netty.handler.codec.quic.QuicCongestionControlAlgorithm;
import io.netty.handler.codec.quic.QuicConnectionAddress;
import io.netty.handler.codec.quic.QuicConnectionIdGenerator;
import io.netty.handler.codec.quic.QuicServerCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicSslEngine;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicTokenHandler;
import io.netty.handler.ssl.ClientAuth;
import io.netty.util.AttributeKey;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.MultiaddrException;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.tls.Libp2pTls;
import io.peersocket.transport.tls.Libp2pTrustManager;
import java.lang.reflect.Constructor;
import java.lang.reflect.Method;
import java.net.Inet4Address;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.security.Principal;
import java.security.PrivateKey;
import java.security.cert.X509Certificate;
import java.util.Collections;
import java.util.WeakHashMap;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.X509ExtendedKeyManager;
import java.nio.ByteBuffer;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The QUIC v1 transport, wire-compatible with libp2p {@code /quic-v1}: TLS 1.3 with ALPN {@value Libp2pTls#ALPN}, both
 * sides authenticated by the libp2p certificate extension ({@link Libp2pTls}); reliable data on bidirectional QUIC
 * streams, small unreliable blocks on QUIC DATAGRAM frames (RFC 9221).
 *
 * <p>One UDP socket per listen address both accepts and dials: outbound connections use the listen port as their
 * source port (needed for hole punching). A dial to an address family nobody listens on binds an ephemeral socket
 * (which accepts too, but is not among {@link #listenAddresses()}). Inbound packets are routed to the server or client
 * side by destination connection id (fixed local length {@value #CID_LENGTH}), see {@link PacketRouter}. Peers at
 * loopback addresses are served by codecs with {@value #LOOPBACK_UDP_PAYLOAD}-byte UDP payloads; all others by
 * quiche's defaults (1350 bytes).
 *
 * <p>Netty with native quiche/BoringSSL does the I/O on one event-loop thread per transport (epoll where available,
 * else NIO); every {@link TransportHandler} upcall and every returned future completes on
 * {@link TransportConfig#eventExecutor()}, in order per connection and per stream. Inbound connections are reported
 * only after the client certificate verified; a dial completes only after the server certificate verified and
 * matched the expected peer. (In TLS 1.3 the client finishes first: a server that then rejects the client shows up as
 * the new connection closing.)
 *
 * <p>Limits: {@link TransportConfig#maxConnections()} counts handshaking and open connections; beyond it inbound
 * handshakes are aborted before the server sends its certificate (the dialer sees {@code REFUSED}) and dials fail
 * with {@code LIMIT}. {@link TransportConfig#maxStreamsPerConnection()} concurrent remote-opened bidirectional streams
 * (no unidirectional ones); {@link TransportConfig#idleTimeoutMs()} is the QUIC max idle timeout;
 * {@link TransportConfig#handshakeTimeoutMs()} bounds dials ({@code TIMEOUT}) and inbound handshakes. Flow control
 * windows: {@value #MAX_DATA} bytes per connection, {@value #MAX_STREAM_DATA} per stream; congestion control CUBIC.
 *
 * <p>Keep-alives: when both sides enable datagrams, a one-byte keep-alive datagram goes out every third of the idle
 * timeout, so only a silent peer times out. Every datagram carries a one-byte type prefix (0 keep-alive, 1 data),
 * invisible to users and counted out of {@link Connection#maxDatagramSize()}. Without datagram support, liveness is
 * left to higher layers (e.g. {@code /ipfs/ping/1.0.0}).
 *
 * <p>Methods may be called from any thread. Spec sources: libp2p specs {@code tls/tls.md} and
 * {@code quic/README.md}, RFC 9000, RFC 9001, RFC 9221.
 */
public final class QuicTransport implements Transport {
    private static final Logger log = LoggerFactory.getLogger(QuicTransport.class);

    /** Length in bytes of the connection ids this transport issues (client and server side). */
    public static final int CID_LENGTH = 16;
    /** Connection-level receive window in bytes. */
    public static final long MAX_DATA = 16L << 20;
    /** Per-stream receive window in bytes. */
    public static final long MAX_STREAM_DATA = 4L << 20;
    /**
     * UDP payload limit of the loopback codecs, which serve peers at loopback addresses: loopback MTUs are large
     * (64 KiB on Linux) and big packets cut per-packet costs several-fold (16 KiB measured best: larger ones overflow
     * the socket receive buffer). Other peers get quiche's defaults (1350 bytes), as quiche's path MTU discovery
     * cannot be relied on and larger datagrams would be fragmented.
     */
    static final int LOOPBACK_UDP_PAYLOAD = 16_384;
    /** Receive buffer per datagram read: fits {@link #LOOPBACK_UDP_PAYLOAD}. */
    static final int RECEIVE_BUFFER_BYTES = LOOPBACK_UDP_PAYLOAD + 1024;
    /** QUIC DATAGRAM receive and send queue lengths (datagrams). */
    static final int DATAGRAM_QUEUE = 1024;
    /** Signature algorithms offered for the certificate verify (TLS 1.3 names, BoringSSL syntax). */
    private static final String[] SIGNATURE_ALGORITHMS = {
        "ecdsa_secp256r1_sha256", "ed25519", "ecdsa_secp384r1_sha384",
        "rsa_pss_rsae_sha256", "rsa_pss_rsae_sha384", "rsa_pss_rsae_sha512"};
    private static final long CLOSE_TIMEOUT_MS = 5_000;

    private final TransportConfig config;
    private final TransportHandler handler;
    private final Executor executor;
    private final Libp2pTls.CertifiedKey certificate;
    private final QuicSslContext serverSsl;
    private final QuicSslContext clientSsl;
    private final EventLoopGroup group;
    private final boolean epoll;
    private final SecureRandom random = new SecureRandom();
    /** Whether loopback peers get the large-packet codecs. */
    private final boolean loopbackCodecs;

    private final List<QuicEndpoint> endpoints = new CopyOnWriteArrayList<>();
    private final List<Multiaddr> listenAddresses = new CopyOnWriteArrayList<>();
    private final AtomicBoolean listenCalled = new AtomicBoolean();
    private final Object ephemeralLock = new Object();
    private CompletableFuture<QuicEndpoint> ephemeralV4;
    private CompletableFuture<QuicEndpoint> ephemeralV6;

    /** Every connection with a live QUIC channel (handshaking or established). */
    private final Set<QuicConnection> live = ConcurrentHashMap.newKeySet();
    /** Connections reported to the handler and not yet closed. */
    private final Set<QuicConnection> open = ConcurrentHashMap.newKeySet();
    /** Slots taken against {@link TransportConfig#maxConnections()}. */
    private final AtomicInteger slots = new AtomicInteger();

    /** Engines of inbound handshakes refused for the connection limit: the server key manager offers them no key. */
    private final Set<SSLEngine> refusedEngines = Collections.synchronizedSet(Collections.newSetFromMap(new WeakHashMap<>()));
    static final AttributeKey<Boolean> REFUSED = AttributeKey.valueOf("peersocket.quic.refused");

    /** The block list at every socket of this transport ({@link #block}). */
    private final PacketFilter filter = new PacketFilter();

    private final AtomicBoolean closing = new AtomicBoolean();
    private final CompletableFuture<Void> terminated = new CompletableFuture<>();
    private final CompletableFuture<Void> closedOnExecutor = new CompletableFuture<>();

    /**
     * Creates the transport (no socket yet): generates a fresh libp2p TLS certificate for
     * {@link TransportConfig#hostKey()} and starts one Netty event-loop thread.
     *
     * @throws IllegalStateException if the native QUIC library is unavailable on this platform
     */
    public QuicTransport(TransportConfig config, TransportHandler handler) {
        this(config, handler, true);
    }

    /** As above; {@code loopbackCodecs} false sends loopback peers through the WAN codecs too (tests). */
    QuicTransport(TransportConfig config, TransportHandler handler, boolean loopbackCodecs) {
        this.loopbackCodecs = loopbackCodecs;
        this.config = Objects.requireNonNull(config, "config");
        this.handler = Objects.requireNonNull(handler, "handler");
        this.executor = config.eventExecutor();
        if (!Quic.isAvailable()) {
            throw new IllegalStateException("native QUIC (quiche) unavailable: " + Quic.unavailabilityCause(),
                    Quic.unavailabilityCause());
        }
        this.certificate = Libp2pTls.generate(config.hostKey());
        this.serverSsl = QuicSslContextBuilder
                .forServer(new ServerKeyManager(certificate, refusedEngines), null)
                .trustManager(Libp2pTrustManager.INSTANCE)
                .clientAuth(ClientAuth.REQUIRE)
                .applicationProtocols(Libp2pTls.ALPN)
                .option(BoringSSLContextOption.SIGNATURE_ALGORITHMS, SIGNATURE_ALGORITHMS)
                .earlyData(false)
                .build();
        this.clientSsl = QuicSslContextBuilder.forClient()
                .keyManager(certificate.privateKey(), null, certificate.certificate())
                .trustManager(Libp2pTrustManager.INSTANCE)
                .applicationProtocols(Libp2pTls.ALPN)
                .endpointIdentificationAlgorithm("")
                .option(BoringSSLContextOption.SIGNATURE_ALGORITHMS, SIGNATURE_ALGORITHMS)
                .earlyData(false)
                .build();
        this.epoll = NativeIo.EPOLL;
        IoHandlerFactory io = epoll ? NativeIo.factory() : NioIoHandler.newFactory();
        this.group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("peersocket-quic", true), io);
    }

    /** True if the native QUIC library loads on this platform. */
    public static boolean isAvailable() {
        return Quic.isAvailable();
    }

    /** This node's peer id (from {@link TransportConfig#hostKey()}). */
    public PeerId localPeer() {
        return config.hostKey().peerId();
    }

    /** The configuration this transport was created with. */
    public TransportConfig config() {
        return config;
    }

    // --------------------------------------------------------------------------------------------- Transport

    @Override
    public CompletableFuture<List<Multiaddr>> listen(List<Multiaddr> addresses) {
        CompletableFuture<List<Multiaddr>> result = new CompletableFuture<>();
        if (closing.get()) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "transport closed"));
        }
        if (!listenCalled.compareAndSet(false, true)) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.IO,
                    "listen may be called only once"));
        }
        List<InetSocketAddress> sockets = new ArrayList<>();
        try {
            if (addresses == null || addresses.isEmpty()) {
                throw new TransportException(TransportException.Kind.BAD_ADDRESS, "no listen address given");
            }
            for (Multiaddr a : addresses) {
                sockets.add(listenSocket(a));
            }
        } catch (TransportException e) {
            return failOnExecutor(result, e);
        }
        List<CompletableFuture<QuicEndpoint>> binds = new ArrayList<>();
        for (InetSocketAddress s : sockets) {
            binds.add(bind(s, true));
        }
        CompletableFuture.allOf(binds.toArray(new CompletableFuture[0])).whenComplete((v, err) -> {
            if (err != null) {
                for (CompletableFuture<QuicEndpoint> b : binds) {
                    b.thenAccept(ep -> {
                        endpoints.remove(ep);
                        ep.channel.close();
                    });
                }
                Throwable cause = unwrap(err);
                failOnExecutor(result, cause instanceof TransportException te ? te
                        : new TransportException(TransportException.Kind.IO, "cannot bind: " + cause, cause));
                return;
            }
            List<Multiaddr> bound = new ArrayList<>();
            for (CompletableFuture<QuicEndpoint> b : binds) {
                bound.add(b.join().localAddress);
            }
            listenAddresses.addAll(bound);
            post(() -> result.complete(List.copyOf(bound)));
        });
        return result;
    }

    private static InetSocketAddress listenSocket(Multiaddr a) {
        if (a == null || !a.isQuic()) {
            throw new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "not a QUIC listen address (want /ip4|ip6/A/udp/P/quic-v1): " + a);
        }
        if (isDns(a)) {
            throw new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "listen address must be /ip4 or /ip6, not a DNS name: " + a);
        }
        try {
            return a.toQuicSocketAddress();
        } catch (MultiaddrException e) {
            throw new TransportException(TransportException.Kind.BAD_ADDRESS, e.getMessage(), e);
        }
    }

    private static boolean isDns(Multiaddr a) {
        Protocol host = a.components().get(0).protocol();
        return host == Protocol.DNS || host == Protocol.DNS4 || host == Protocol.DNS6;
    }

    @Override
    public List<Multiaddr> listenAddresses() {
        return List.copyOf(listenAddresses);
    }

    @Override
    public boolean canDial(Multiaddr address) {
        return address != null && address.isQuic();
    }

    @Override
    public CompletableFuture<Connection> dial(Multiaddr address, PeerId expected) {
        CompletableFuture<Connection> result = new CompletableFuture<>();
        if (closing.get()) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "transport closed"));
        }
        if (!canDial(address)) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "not a QUIC address (want /ip4|ip6|dns*/H/udp/P/quic-v1[/p2p/ID]): " + address));
        }
        PeerId want;
        try {
            PeerId inAddress = address.peerId();
            if (expected != null && inAddress != null && !expected.equals(inAddress)) {
                throw new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "address names peer " + inAddress + " but " + expected + " is expected");
            }
            want = expected != null ? expected : inAddress;
        } catch (TransportException e) {
            return failOnExecutor(result, e);
        } catch (RuntimeException e) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "bad peer id in " + address + ": " + e.getMessage(), e));
        }
        CompletableFuture<InetSocketAddress> target;
        if (!isDns(address)) {
            target = new CompletableFuture<>();
            try {
                target.complete(address.toQuicSocketAddress());
            } catch (RuntimeException e) {
                target.completeExceptionally(e);
            }
        } else {
            // DNS resolution blocks: keep it off the caller (often the event executor) and off the event loop.
            target = CompletableFuture.supplyAsync(address::toQuicSocketAddress,
                    r -> Thread.ofVirtual().name("peersocket-dns").start(r));
        }
        target.whenComplete((socket, err) -> {
            if (err != null) {
                Throwable cause = unwrap(err);
                failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "cannot resolve " + address + ": " + cause.getMessage(), cause));
                return;
            }
            if (socket.getAddress() == null || socket.getAddress().isAnyLocalAddress() || socket.getPort() == 0) {
                failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                        "cannot dial unspecified address or port 0: " + address));
                return;
            }
            if (!tryReserveSlot()) {
                failOnExecutor(result, new TransportException(TransportException.Kind.LIMIT,
                        "connection limit " + config.maxConnections() + " reached"));
                return;
            }
            endpointFor(socket.getAddress()).whenComplete((ep, bindErr) -> {
                if (bindErr != null) {
                    releaseSlot();
                    Throwable cause = unwrap(bindErr);
                    failOnExecutor(result, cause instanceof TransportException te ? te
                            : new TransportException(TransportException.Kind.IO, "no socket to dial from: " + cause,
                                    cause));
                    return;
                }
                try {
                    ep.channel.eventLoop().execute(() -> startDial(ep, socket, want, result));
                } catch (RejectedExecutionException e) {
                    releaseSlot();
                    failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "transport closed"));
                }
            });
        });
        return result;
    }

    /** On the endpoint's event loop. */
    private void startDial(QuicEndpoint ep, InetSocketAddress target, PeerId want,
            CompletableFuture<Connection> result) {
        if (closing.get()) {
            releaseSlot();
            failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "transport closed"));
            return;
        }
        byte[] cid = new byte[CID_LENGTH];
        random.nextBytes(cid);
        ByteBuffer cidKey = ByteBuffer.wrap(cid.clone());
        ep.clientCids.add(cidKey);
        QuicConnection conn = new QuicConnection(this, ep, Connection.Direction.OUTBOUND, want, result, cidKey);
        conn.remoteSocket = target;
        conn.slotReserved = true;
        live.add(conn);
        try {
            ep.router.connecting(target.getAddress().isLoopbackAddress(), () -> QuicChannel.newBootstrap(ep.channel)
                    .handler(conn.newHandler())
                    .streamHandler(inboundStreamInitializer())
                    .localConnectionAddress(new QuicConnectionAddress(cid))
                    .remoteAddress(target)
                    .connect()
                    // run after the current loop task: netty fires the datagram-extension event right after
                    // completing the connect promise, and the connection should know its datagram size when reported
                    .addListener(f -> ep.channel.eventLoop().execute(() -> conn.onDialConnected(
                            f.isSuccess() ? (QuicChannel) f.getNow() : null, f.cause()))));
        } catch (RuntimeException e) {
            conn.onDialConnected(null, e);
        }
        ep.channel.eventLoop().schedule(conn::onHandshakeTimeout, config.handshakeTimeoutMs(), TimeUnit.MILLISECONDS);
    }

    /**
     * Sends {@code count} datagrams of 32..64 random bytes (fixed bit cleared: not QUIC, so receivers drop them)
     * from the listening socket of {@code target}'s address family straight to the socket, past the QUIC codecs.
     */
    @Override
    public CompletableFuture<Void> punch(Multiaddr target, int count) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        if (closing.get()) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "transport closed"));
        }
        if (count < 1 || count > MAX_PUNCH_PACKETS) {
            return failOnExecutor(result, new IllegalArgumentException(
                    "punch count must be 1.." + MAX_PUNCH_PACKETS + ", got " + count));
        }
        InetSocketAddress socket;
        try {
            if (target == null || !canDial(target) || isDns(target)) throw new MultiaddrException("not an IP QUIC address");
            socket = target.toQuicSocketAddress();
            if (socket.getAddress() == null || socket.getAddress().isAnyLocalAddress() || socket.getPort() == 0) {
                throw new MultiaddrException("unspecified address or port 0");
            }
        } catch (RuntimeException e) {
            return failOnExecutor(result, new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "cannot punch " + target + " (want /ip4|ip6/H/udp/P/quic-v1): " + e.getMessage(), e));
        }
        endpointFor(socket.getAddress()).whenComplete((ep, bindErr) -> {
            if (bindErr != null) {
                failOnExecutor(result, new TransportException(TransportException.Kind.IO, "no socket to punch from: "
                        + unwrap(bindErr).getMessage(), unwrap(bindErr)));
                return;
            }
            try {
                ep.channel.eventLoop().execute(() -> {
                    List<ChannelFuture> sends = new ArrayList<>(count);
                    for (int i = 0; i < count; i++) {
                        byte[] b = new byte[32 + random.nextInt(33)];
                        random.nextBytes(b);
                        b[0] &= (byte) ~0x40; // QUIC fixed bit clear (RFC 9000 §17): every QUIC stack drops it
                        ChannelFuture f = ep.router.sendRaw(new DatagramPacket(io.netty.buffer.Unpooled.wrappedBuffer(b), socket));
                        if (f != null) sends.add(f);
                    }
                    if (sends.isEmpty()) {
                        failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "socket not ready"));
                        return;
                    }
                    // complete when the last send finished (datagrams leave in order); a send error (e.g. no route
                    // to the address) fails the future
                    sends.get(sends.size() - 1).addListener(f -> {
                        if (f.isSuccess()) {
                            if (!post(() -> result.complete(null))) result.complete(null);
                        } else {
                            failOnExecutor(result, new TransportException(TransportException.Kind.IO,
                                    "cannot send to " + target + ": " + f.cause(), f.cause()));
                        }
                    });
                });
            } catch (RejectedExecutionException e) {
                failOnExecutor(result, new TransportException(TransportException.Kind.CLOSED, "transport closed"));
            }
        });
        return result;
    }

    @Override
    public List<Connection> connections() {
        return List.copyOf(open);
    }

    /**
     * {@inheritDoc}
     *
     * <p>Here a packet filter at each UDP socket drops every datagram from or to the blocked socket addresses (the
     * {@code /ip4|ip6/A/udp/P} part of each multiaddr; a {@code /p2p/} suffix is ignored). To QUIC this is a
     * network cut: connections to a blocked address stall and close at the idle timeout, dials to one fail with
     * {@code TIMEOUT} at the handshake timeout.
     *
     * @throws IllegalArgumentException if an address is not {@code /ip4|ip6/A/udp/P[/quic-v1][/p2p/ID]} (DNS names
     *     are refused: the filter matches the sender of each datagram, an IP address)
     */
    @Override
    public void block(java.util.Collection<Multiaddr> remotes) {
        List<InetSocketAddress> sockets = filterSockets(remotes);
        filter.blocked().addAll(sockets);
        log.info("firewall: blocking {} (now {} blocked)", sockets, filter.blocked().size());
    }

    /** {@inheritDoc} Addresses as in {@link #block}. */
    @Override
    public void unblock(java.util.Collection<Multiaddr> remotes) {
        List<InetSocketAddress> sockets = filterSockets(remotes);
        filter.blocked().removeAll(sockets);
        log.info("firewall: unblocking {} (now {} blocked)", sockets, filter.blocked().size());
    }

    /** {@inheritDoc} Each as {@code /ip4|ip6/A/udp/P/quic-v1}. */
    @Override
    public java.util.Set<Multiaddr> blocked() {
        java.util.Set<Multiaddr> out = new java.util.LinkedHashSet<>();
        for (InetSocketAddress s : filter.blocked()) out.add(Multiaddr.quic(s));
        return java.util.Set.copyOf(out);
    }

    /** Datagrams the firewall ({@link #block}) dropped so far: {@code [received, sent]}. */
    public long[] firewallDrops() {
        return new long[] {filter.droppedIn(), filter.droppedOut()};
    }

    private static List<InetSocketAddress> filterSockets(java.util.Collection<Multiaddr> remotes) {
        Objects.requireNonNull(remotes, "remotes");
        List<InetSocketAddress> out = new ArrayList<>();
        for (Multiaddr a : remotes) {
            Objects.requireNonNull(a, "address");
            List<Multiaddr.Component> c = a.components();
            boolean ok = c.size() >= 2 && (c.get(0).protocol() == Protocol.IP4 || c.get(0).protocol() == Protocol.IP6)
                    && c.get(1).protocol() == Protocol.UDP;
            for (int i = 2; ok && i < c.size(); i++) {
                Protocol p = c.get(i).protocol();
                ok = (p == Protocol.QUIC_V1 && i == 2) || (p == Protocol.P2P && i == c.size() - 1);
            }
            if (!ok) {
                throw new IllegalArgumentException("firewall takes /ip4|ip6/A/udp/P[/quic-v1][/p2p/ID] addresses, not " + a);
            }
            int port = Integer.parseInt(c.get(1).value());
            if (port < 1 || port > 65535) throw new IllegalArgumentException("firewall: bad UDP port in " + a);
            try {
                out.add(new InetSocketAddress(InetAddress.getByAddress(c.get(0).rawValue()), port));
            } catch (java.net.UnknownHostException e) {
                throw new IllegalArgumentException("firewall: bad IP address in " + a, e);
            }
        }
        return out;
    }

    @Override
    public CompletableFuture<Void> closeAsync() {
        if (closing.compareAndSet(false, true)) {
            List<QuicEndpoint> eps = new ArrayList<>(endpoints);
            synchronized (ephemeralLock) {
                for (CompletableFuture<QuicEndpoint> f : new CompletableFuture[] {ephemeralV4, ephemeralV6}) {
                    if (f != null) f.thenAccept(ep -> { if (!eps.contains(ep)) eps.add(ep); });
                }
            }
            Runnable shutdown = () -> {
                for (QuicConnection c : List.copyOf(live)) {
                    c.closeOnLoop("transport closed", 0);
                }
                List<ChannelFuture> closes = new ArrayList<>();
                for (QuicEndpoint ep : eps) closes.add(ep.channel.close());
                group.shutdownGracefully(0, 2, TimeUnit.SECONDS).addListener(f -> {
                    ReferenceCountUtil.release(serverSsl);
                    ReferenceCountUtil.release(clientSsl);
                    terminated.complete(null);
                    // FIFO executor: every upcall posted before this one (e.g. onConnectionClosed) has run.
                    if (!post(() -> closedOnExecutor.complete(null))) closedOnExecutor.complete(null);
                });
            };
            try {
                group.next().execute(shutdown);
            } catch (RejectedExecutionException e) {
                terminated.complete(null);
                closedOnExecutor.complete(null);
            }
        }
        return closedOnExecutor.copy();
    }

    /**
     * Blocking {@link #closeAsync()}: waits up to {@value #CLOSE_TIMEOUT_MS} ms for sockets and the event-loop thread
     * to be released (not for the event executor, so it may be called on it).
     */
    @Override
    public void close() {
        closeAsync();
        try {
            terminated.get(CLOSE_TIMEOUT_MS, TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (TimeoutException | java.util.concurrent.ExecutionException e) {
            log.warn("QUIC transport close did not finish in {} ms", CLOSE_TIMEOUT_MS);
        }
    }

    // --------------------------------------------------------------------------------------------- internals

    TransportConfig cfg() {
        return config;
    }

    TransportHandler handler() {
        return handler;
    }

    boolean isClosing() {
        return closing.get();
    }

    void connectionOpened(QuicConnection c) {
        open.add(c);
    }

    void connectionClosed(QuicConnection c) {
        open.remove(c);
    }

    void channelGone(QuicConnection c) {
        live.remove(c);
    }

    boolean tryReserveSlot() {
        while (true) {
            int n = slots.get();
            if (n >= config.maxConnections()) return false;
            if (slots.compareAndSet(n, n + 1)) return true;
        }
    }

    void releaseSlot() {
        slots.decrementAndGet();
    }

    /** Runs {@code task} on the event executor; false if the executor refused it. */
    boolean post(Runnable task) {
        try {
            executor.execute(task);
            return true;
        } catch (RejectedExecutionException e) {
            log.debug("event executor rejected a task: {}", e.toString());
            return false;
        }
    }

    private <T> CompletableFuture<T> failOnExecutor(CompletableFuture<T> f, Throwable e) {
        if (!post(() -> f.completeExceptionally(e))) f.completeExceptionally(e);
        return f;
    }

    private static Throwable unwrap(Throwable t) { return io.peersocket.util.Futures.unwrap(t); }

    /** The socket to dial {@code target} from: a listening one of the same family, else one bound on demand. */
    private CompletableFuture<QuicEndpoint> endpointFor(InetAddress target) {
        boolean v4 = target instanceof Inet4Address;
        for (QuicEndpoint ep : endpoints) {
            if (ep.listening && ep.isIpv4() == v4) return CompletableFuture.completedFuture(ep);
        }
        synchronized (ephemeralLock) {
            if (v4) {
                if (ephemeralV4 == null) ephemeralV4 = bind(new InetSocketAddress("0.0.0.0", 0), false);
                return ephemeralV4;
            } else {
                if (ephemeralV6 == null) ephemeralV6 = bind(new InetSocketAddress("::", 0), false);
                return ephemeralV6;
            }
        }
    }

    private CompletableFuture<QuicEndpoint> bind(InetSocketAddress address, boolean listening) {
        CompletableFuture<QuicEndpoint> result = new CompletableFuture<>();
        Set<ByteBuffer> cids = QuicEndpoint.newCidSet();
        AtomicReference<QuicEndpoint> endpointRef = new AtomicReference<>();
        AtomicReference<PacketRouter> routerRef = new AtomicReference<>();
        SocketProtocolFamily family = address.getAddress() instanceof Inet4Address
                ? SocketProtocolFamily.INET : SocketProtocolFamily.INET6;
        Bootstrap b = new Bootstrap()
                .group(group)
                .channelFactory(() -> epoll ? NativeIo.datagramChannel(family) : new NioDatagramChannel(family))
                .option(ChannelOption.SO_RCVBUF, config.socketBufferBytes())
                .option(ChannelOption.SO_SNDBUF, config.socketBufferBytes())
                // room for the loopback codecs' large datagrams
                .option(ChannelOption.RCVBUF_ALLOCATOR, new FixedRecvByteBufAllocator(RECEIVE_BUFFER_BYTES))
                .handler(new ChannelInitializer<DatagramChannel>() {
                    @Override
                    protected void initChannel(DatagramChannel ch) {
                        PacketRouter router = new PacketRouter(CID_LENGTH, cids, loopbackCodecs,
                                () -> publish(endpointRef, ch, listening, cids, routerRef.get()));
                        routerRef.set(router);
                        ch.pipeline().addLast("firewall", filter); // head: sees every datagram first and last
                        router.install(ch.pipeline(), serverCodec(endpointRef, false), serverCodec(endpointRef, true),
                                clientCodec(false), clientCodec(true));
                    }
                });
        try {
            b.bind(address).addListener((ChannelFuture f) -> {
                if (!f.isSuccess()) {
                    result.completeExceptionally(new TransportException(TransportException.Kind.IO,
                            "cannot bind UDP " + address + ": " + f.cause().getMessage(), f.cause()));
                    return;
                }
                QuicEndpoint ep = publish(endpointRef, (DatagramChannel) f.channel(), listening, cids, routerRef.get());
                if (closing.get()) {
                    f.channel().close();
                    result.completeExceptionally(new TransportException(TransportException.Kind.CLOSED,
                            "transport closed"));
                    return;
                }
                if (listening) endpoints.add(ep);
                log.debug("QUIC socket bound on {} ({})", ep.localAddress, epoll ? "epoll" : "nio");
                result.complete(ep);
            });
        } catch (RejectedExecutionException e) {
            result.completeExceptionally(new TransportException(TransportException.Kind.CLOSED, "transport closed"));
        }
        return result;
    }

    /** The endpoint of a bound socket, created once (when it becomes active or its bind completes). */
    private static QuicEndpoint publish(AtomicReference<QuicEndpoint> ref, DatagramChannel ch, boolean listening,
            Set<ByteBuffer> cids, PacketRouter router) {
        return ref.updateAndGet(e -> e != null ? e : new QuicEndpoint(ch, listening, cids, router));
    }

    private <B extends QuicCodecBuilder<B>> B common(B b, boolean loopback) {
        b.maxIdleTimeout(config.idleTimeoutMs(), TimeUnit.MILLISECONDS)
                .initialMaxData(MAX_DATA)
                .initialMaxStreamDataBidirectionalLocal(MAX_STREAM_DATA)
                .initialMaxStreamDataBidirectionalRemote(MAX_STREAM_DATA)
                .initialMaxStreamDataUnidirectional(0)
                .initialMaxStreamsBidirectional(config.maxStreamsPerConnection())
                .initialMaxStreamsUnidirectional(0)
                .congestionControlAlgorithm(QuicCongestionControlAlgorithm.CUBIC)
                .localConnectionIdLength(CID_LENGTH);
        if (loopback) {
            b.maxSendUdpPayloadSize(LOOPBACK_UDP_PAYLOAD).maxRecvUdpPayloadSize(LOOPBACK_UDP_PAYLOAD);
        }
        if (config.datagrams()) {
            b.datagram(DATAGRAM_QUEUE, DATAGRAM_QUEUE);
        }
        return b;
    }

    private ChannelHandler serverCodec(AtomicReference<QuicEndpoint> endpoint, boolean loopback) {
        return common(new QuicServerCodecBuilder(), loopback)
                .sslEngineProvider(this::newServerEngine)
                .connectionIdAddressGenerator(QuicConnectionIdGenerator.randomGenerator())
                .tokenHandler(NoRetryTokenHandler.INSTANCE)
                .handler(new ChannelInitializer<QuicChannel>() {
                    @Override
                    protected void initChannel(QuicChannel ch) {
                        acceptInbound(ch, endpoint.get());
                    }
                })
                .streamHandler(inboundStreamInitializer())
                .build();
    }

    private ChannelHandler clientCodec(boolean loopback) {
        return common(new QuicClientCodecBuilder(), loopback).sslContext(clientSsl).build();
    }

    /**
     * The TLS engine of a new inbound connection, on its event loop, before its first packet is processed. Takes a
     * connection slot (released when the channel closes); beyond the limit the engine is marked refused, so the
     * handshake fails before the server sends its certificate and the dialer sees a prompt refusal.
     */
    private QuicSslEngine newServerEngine(QuicChannel ch) {
        QuicSslEngine engine = serverSsl.newEngine(ch.alloc());
        if (closing.get() || !tryReserveSlot()) {
            log.debug("refusing inbound QUIC connection from {}: {}", ch.remoteSocketAddress(),
                    closing.get() ? "transport closing" : "limit " + config.maxConnections() + " reached");
            refusedEngines.add(engine);
            ch.attr(REFUSED).set(Boolean.TRUE);
        } else {
            ch.closeFuture().addListener(f -> releaseSlot());
        }
        return engine;
    }

    /** A new inbound QUIC connection (handshake not yet done), on its event loop. */
    private void acceptInbound(QuicChannel ch, QuicEndpoint ep) {
        if (ep == null) {
            // the router publishes the endpoint when the socket becomes active, before its first read
            ch.close();
            return;
        }
        QuicConnection conn = new QuicConnection(this, ep, Connection.Direction.INBOUND, null, null, null);
        conn.refused = Boolean.TRUE.equals(ch.attr(REFUSED).get());
        ch.pipeline().addLast(conn.newHandler());
        live.add(conn);
        ch.eventLoop().schedule(conn::onHandshakeTimeout, config.handshakeTimeoutMs(), TimeUnit.MILLISECONDS);
    }

    private ChannelInitializer<QuicStreamChannel> inboundStreamInitializer() {
        return new ChannelInitializer<>() {
            @Override
            protected void initChannel(QuicStreamChannel ch) {
                QuicConnection conn = ch.parent().attr(QuicConnection.KEY).get();
                if (conn == null) {
                    ch.close();
                    return;
                }
                conn.onInboundStream(ch);
            }
        };
    }

    /**
     * Offers the transport's certificate to every inbound handshake except refused ones (no key material makes
     * BoringSSL abort the handshake with an alert before the server flight).
     */
    private static final class ServerKeyManager extends X509ExtendedKeyManager {
        private static final String ALIAS = "libp2p";
        private final Libp2pTls.CertifiedKey key;
        private final Set<SSLEngine> refused;

        ServerKeyManager(Libp2pTls.CertifiedKey key, Set<SSLEngine> refused) {
            this.key = key;
            this.refused = refused;
        }

        @Override
        public String chooseEngineServerAlias(String keyType, Principal[] issuers, SSLEngine engine) {
            return refused.contains(engine) ? null : ALIAS;
        }

        @Override
        public String chooseServerAlias(String keyType, Principal[] issuers, Socket socket) {
            return ALIAS;
        }

        @Override
        public String[] getServerAliases(String keyType, Principal[] issuers) {
            return new String[] {ALIAS};
        }

        @Override
        public String[] getClientAliases(String keyType, Principal[] issuers) {
            return null;
        }

        @Override
        public String chooseClientAlias(String[] keyType, Principal[] issuers, Socket socket) {
            return null;
        }

        @Override
        public X509Certificate[] getCertificateChain(String alias) {
            return ALIAS.equals(alias) ? new X509Certificate[] {key.certificate()} : null;
        }

        @Override
        public PrivateKey getPrivateKey(String alias) {
            return ALIAS.equals(alias) ? key.privateKey() : null;
        }
    }

    /** Never sends Retry: address validation costs a round trip and is not needed for a p2p node. */
    private enum NoRetryTokenHandler implements QuicTokenHandler {
        INSTANCE;

        @Override
        public boolean writeToken(ByteBuf out, ByteBuf dcid, InetSocketAddress address) {
            return false;
        }

        @Override
        public int validateToken(ByteBuf token, InetSocketAddress address) {
            return -1; // we never issue tokens, so any token is not ours
        }

        @Override
        public int maxTokenLength() {
            return 0;
        }
    }

    /**
     * Linux epoll, looked up reflectively: netty-transport-classes-epoll is a runtime-only dependency, absent on
     * other platforms, where NIO is used.
     */
    private static final class NativeIo {
        static final boolean EPOLL;
        private static final Method NEW_FACTORY;
        private static final Constructor<? extends DatagramChannel> CHANNEL;

        static {
            boolean ok = false;
            Method factory = null;
            Constructor<? extends DatagramChannel> ctor = null;
            try {
                Class<?> epoll = Class.forName("io.netty.channel.epoll.Epoll");
                if ((Boolean) epoll.getMethod("isAvailable").invoke(null)) {
                    factory = Class.forName("io.netty.channel.epoll.EpollIoHandler").getMethod("newFactory");
                    ctor = Class.forName("io.netty.channel.epoll.EpollDatagramChannel")
                            .asSubclass(DatagramChannel.class).getConstructor(SocketProtocolFamily.class);
                    ok = true;
                }
            } catch (ReflectiveOperationException | LinkageError | RuntimeException e) {
                ok = false;
            }
            EPOLL = ok;
            NEW_FACTORY = factory;
            CHANNEL = ctor;
        }

        static IoHandlerFactory factory() {
            try {
                return (IoHandlerFactory) NEW_FACTORY.invoke(null);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("epoll unavailable", e);
            }
        }

        static DatagramChannel datagramChannel(SocketProtocolFamily family) {
            try {
                return CHANNEL.newInstance(family);
            } catch (ReflectiveOperationException e) {
                throw new IllegalStateException("cannot create epoll datagram channel", e);
            }
        }
    }
}
