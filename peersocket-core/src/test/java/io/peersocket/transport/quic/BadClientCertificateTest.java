package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThat;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.nio.NioDatagramChannel;
import io.netty.handler.codec.quic.BoringSSLContextOption;
import io.netty.handler.codec.quic.QuicChannel;
import io.netty.handler.codec.quic.QuicClientCodecBuilder;
import io.netty.handler.codec.quic.QuicSslContext;
import io.netty.handler.codec.quic.QuicSslContextBuilder;
import io.netty.handler.codec.quic.QuicStreamChannel;
import io.netty.handler.codec.quic.QuicStreamType;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.peersocket.identity.HostKey;
import io.peersocket.transport.Connection;
import io.peersocket.transport.tls.Libp2pTls;
import io.peersocket.transport.tls.TestCerts;
import java.net.InetSocketAddress;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * A raw Netty QUIC client presenting a broken libp2p certificate is rejected by the server, which keeps serving
 * good clients. (TLS 1.3: the client's handshake completes before the server checks its certificate, so the
 * rejection shows as the server closing the connection.)
 */
class BadClientCertificateTest {
    private TestNode server;
    private EventLoopGroup group;

    @BeforeEach
    void setUp() throws Exception {
        server = new TestNode();
        server.listen();
        group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    @AfterEach
    void tearDown() throws Exception {
        server.close();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).sync();
        assertThat(server.violations).isEmpty();
    }

    /** Connects a raw client with {@code cert}; returns the QUIC channel, or null if the connect itself failed. */
    private QuicChannel rawConnect(Libp2pTls.CertifiedKey cert) throws Exception {
        QuicSslContext ssl = QuicSslContextBuilder.forClient()
                .keyManager(cert.privateKey(), null, cert.certificate())
                .trustManager(InsecureTrustManagerFactory.INSTANCE)
                .applicationProtocols(Libp2pTls.ALPN)
                .endpointIdentificationAlgorithm("")
                .option(BoringSSLContextOption.SIGNATURE_ALGORITHMS, new String[] {"ecdsa_secp256r1_sha256"})
                .build();
        ChannelHandler codec = new QuicClientCodecBuilder()
                .sslContext(ssl)
                .maxIdleTimeout(5000, TimeUnit.MILLISECONDS)
                .initialMaxData(1 << 20)
                .initialMaxStreamDataBidirectionalLocal(1 << 20)
                .initialMaxStreamDataBidirectionalRemote(1 << 20)
                .initialMaxStreamsBidirectional(10)
                .build();
        Channel udp = new Bootstrap().group(group).channel(NioDatagramChannel.class).handler(codec)
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        InetSocketAddress target = server.transport.listenAddresses().get(0).toQuicSocketAddress();
        try {
            return QuicChannel.newBootstrap(udp)
                    .handler(new ChannelInboundHandlerAdapter())
                    .streamHandler(new ChannelInboundHandlerAdapter())
                    .remoteAddress(target)
                    .connect().get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            return null; // refused during the handshake: fine too
        }
    }

    @ParameterizedTest
    @EnumSource(value = TestCerts.Flaw.class, names = {"NO_EXTENSION", "BAD_SIGNATURE", "WRONG_HOST_KEY_TYPE", "EXPIRED"})
    void serverRejectsBadClientCertificateAndKeepsServing(TestCerts.Flaw flaw) throws Exception {
        HostKey client = HostKey.generate();
        QuicChannel bad = rawConnect(TestCerts.build(client, flaw));
        if (bad != null) {
            // try to get data through before the server's verdict arrives: it must never reach the handler
            var created = bad.createStream(QuicStreamType.BIDIRECTIONAL, new ChannelInboundHandlerAdapter());
            created.awaitUninterruptibly(2, TimeUnit.SECONDS);
            QuicStreamChannel s = created.getNow();
            if (s != null) s.writeAndFlush(Unpooled.wrappedBuffer("sneaky".getBytes()));
            assertThat(bad.closeFuture().await(5, TimeUnit.SECONDS)).as("server closes the connection").isTrue();
        }
        assertThat(server.connections).as("no connection reported").isEmpty();
        assertThat(server.inboundStreams).isEmpty();

        // a good raw client with a proper certificate is accepted and authenticated
        QuicChannel good = rawConnect(TestCerts.build(client, TestCerts.Flaw.NONE));
        assertThat(good).isNotNull();
        Connection c = server.connections.poll(5, TimeUnit.SECONDS);
        assertThat(c).isNotNull();
        assertThat(c.remotePeer()).isEqualTo(client.peerId());
        good.close().sync();

        // and so is a regular transport
        try (TestNode other = new TestNode()) {
            other.listen();
            assertThat(other.dial(server).remotePeer()).isEqualTo(server.peerId());
            assertThat(other.violations).isEmpty();
        }
    }

    @Test
    void serverAcceptsAClientWithANonCriticalExtension() throws Exception {
        HostKey client = HostKey.generate();
        QuicChannel ch = rawConnect(TestCerts.build(client, TestCerts.Flaw.NOT_CRITICAL));
        assertThat(ch).isNotNull();
        Connection c = server.connections.poll(5, TimeUnit.SECONDS);
        assertThat(c).isNotNull();
        assertThat(c.remotePeer()).isEqualTo(client.peerId());
    }
}
