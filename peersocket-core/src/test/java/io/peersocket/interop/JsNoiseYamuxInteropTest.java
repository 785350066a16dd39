package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.identify.Identify;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.protocol.ping.Ping;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.upgrade.NoiseYamuxUpgrader;
import io.peersocket.transport.upgrade.Upgrader;
import io.peersocket.util.ThreadEventLoop;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Byte compatibility of {@link NoiseYamuxUpgrader} with js-libp2p ({@code @libp2p/tcp} + {@code @libp2p/noise} +
 * {@code @libp2p/yamux}): a plain TCP socket to the js peer ({@code peer.mjs --tcp}) is upgraded by the Java side
 * as initiator, then ping and identify run over Yamux streams; and the js peer dials a Java {@link ServerSocket}
 * whose connections Java upgrades as responder. Needs Node.js and npm (fails, never skips, without).
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsNoiseYamuxInteropTest {
    private final HostKey key = HostKey.generate();
    private final ThreadEventLoop loop = new ThreadEventLoop("js-noise-yamux");
    private final LinkedBlockingQueue<String> closedReasons = new LinkedBlockingQueue<>();
    private JsLibp2pPeer js;
    private Identify identify;
    private Ping ping;
    private Map<String, ProtocolHandler> served;

    @BeforeAll
    void start() {
        js = JsLibp2pPeer.startWith(JsLibp2pPeer.findRepoRoot(), JsLibp2pPeer.Options.DEFAULT, List.of(JsLibp2pPeer.TCP_FLAG));
        ping = new Ping(loop);
        identify = new Identify(key, "peersocket-upgrade-test", () -> List.of(Ping.ID, Identify.ID), List::of);
        served = Map.of(Ping.ID, ping, Identify.ID, identify);
    }

    @AfterAll
    void stop() {
        if (js != null) js.close();
        loop.close();
    }

    private final TransportHandler handler = new TransportHandler() {
        @Override public void onConnection(Connection connection) {}

        @Override public StreamHandler onStream(Stream stream) {
            return Multistream.listener(stream, served, null);
        }

        @Override public void onConnectionClosed(Connection connection, String reason) { closedReasons.add(reason); }
    };

    private String tcpAddress() {
        return js.addresses().stream().filter(a -> a.contains("/tcp/")).findFirst().orElseThrow();
    }

    /** Opens a TCP socket to the js peer and upgrades it as initiator. */
    private Connection dialJs() throws Exception {
        Multiaddr addr = Multiaddr.parse(tcpAddress());
        PeerId jsId = PeerId.parse(js.peerId());
        String[] parts = tcpAddress().split("/");
        Socket socket = new Socket(InetAddress.getLoopbackAddress(), Integer.parseInt(parts[4]));
        SocketPipe pipe = new SocketPipe(socket, loop, true);
        Upgrader.Upgrade up = new NoiseYamuxUpgrader(key, loop).start(pipe, Upgrader.Role.INITIATOR, jsId,
                addr.withoutPeerId(), Multiaddr.parse("/ip4/127.0.0.1/tcp/" + socket.getLocalPort()), false, handler);
        pipe.handler(up.input());
        pipe.startReading();
        Connection c = up.connection().get(15, TimeUnit.SECONDS);
        assertThat(c.remotePeer()).isEqualTo(jsId);
        return c;
    }

    /** Sends {@code data} on a js echo stream, closes writing, returns everything echoed until the js FIN. */
    private CompletableFuture<byte[]> echo(Connection c, byte[] data) {
        EchoCollector col = new EchoCollector();
        Multistream.select(c, List.of(ECHO), id -> col).whenComplete((n, e) -> {
            if (e != null) {
                col.done.completeExceptionally(e);
                return;
            }
            n.stream().write(data);
            n.stream().closeWrite();
        });
        return col.done;
    }

    static final String ECHO = "/peersocket/echo/1.0.0";

    static final class EchoCollector implements StreamHandler {
        final java.io.ByteArrayOutputStream got = new java.io.ByteArrayOutputStream();
        final CompletableFuture<byte[]> done = new CompletableFuture<>();

        @Override public void onData(Stream s, byte[] d) { got.writeBytes(d); }

        @Override public void onRemoteWriteClosed(Stream s) {
            done.complete(got.toByteArray());
            s.close();
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            done.completeExceptionally(cause != null ? cause : new IllegalStateException("closed before FIN"));
        }
    }

    @Test
    void bulkAndConcurrentEchoThroughJsYamux() throws Exception {
        Connection c = dialJs();
        java.util.Random rnd = new java.util.Random(5);
        List<byte[]> sent = new java.util.ArrayList<>();
        List<CompletableFuture<byte[]>> echoed = new java.util.ArrayList<>();
        byte[] big = new byte[2 << 20];
        rnd.nextBytes(big);
        sent.add(big);
        echoed.add(echo(c, big));
        for (int i = 0; i < 32; i++) {
            byte[] d = new byte[20_000 + i * 1000];
            rnd.nextBytes(d);
            sent.add(d);
            echoed.add(echo(c, d));
        }
        for (int i = 0; i < sent.size(); i++) assertThat(echoed.get(i).get(30, TimeUnit.SECONDS)).isEqualTo(sent.get(i));
        assertThat(c.isOpen()).isTrue();
        assertThat(((io.peersocket.transport.upgrade.YamuxConnection) c).ping().get(5, TimeUnit.SECONDS)).isPositive();
        c.close().get(5, TimeUnit.SECONDS);
    }

    @Test
    void javaInitiatorPingsAndIdentifiesJs() throws Exception {
        Multiaddr addr = Multiaddr.parse(tcpAddress());
        PeerId jsId = PeerId.parse(js.peerId());
        Connection c = dialJs();

        Ping.Session session = ping.open(c).get(10, TimeUnit.SECONDS);
        for (int i = 0; i < 5; i++) assertThat(session.ping().get(10, TimeUnit.SECONDS)).isPositive();

        IdentifyInfo info = identify.request(c).get(10, TimeUnit.SECONDS);
        assertThat(info.publicKey().peerId()).isEqualTo(jsId);
        assertThat(info.protocols()).contains(Ping.ID, Identify.ID);
        assertThat(info.listenAddresses()).contains(addr.withoutPeerId());

        // the js side sees us as the authenticated peer
        assertThat(js.connectedPeers()).contains(key.peerId().toString());
        c.close().get(5, TimeUnit.SECONDS);
    }

    @Test
    void jsDialsJavaResponder() throws Exception {
        try (ServerSocket server = new ServerSocket()) {
            server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
            CompletableFuture<Connection> accepted = new CompletableFuture<>();
            Thread acceptor = new Thread(() -> {
                try {
                    Socket s = server.accept();
                    SocketPipe pipe = new SocketPipe(s, loop, false);
                    Upgrader.Upgrade up = new NoiseYamuxUpgrader(key, loop).start(pipe, Upgrader.Role.RESPONDER, null,
                            Multiaddr.parse("/ip4/127.0.0.1/tcp/" + s.getPort()),
                            Multiaddr.parse("/ip4/127.0.0.1/tcp/" + server.getLocalPort()), false, handler);
                    pipe.handler(up.input());
                    pipe.startReading();
                    up.connection().whenComplete((c, e) -> {
                        if (e != null) accepted.completeExceptionally(e);
                        else accepted.complete(c);
                    });
                } catch (Exception e) {
                    accepted.completeExceptionally(e);
                }
            }, "acceptor");
            acceptor.setDaemon(true);
            acceptor.start();
            String ourAddr = "/ip4/127.0.0.1/tcp/" + server.getLocalPort() + "/p2p/" + key.peerId();
            long rttMs = js.ping(ourAddr);
            assertThat(rttMs).isNotNegative();
            Connection c = accepted.get(10, TimeUnit.SECONDS);
            assertThat(c.remotePeer()).isEqualTo(PeerId.parse(js.peerId()));
            assertThat(c.direction()).isEqualTo(Connection.Direction.INBOUND);
            JsLibp2pPeer.IdentifyInfo info = js.identify(ourAddr);
            assertThat(info.protocols()).contains(Ping.ID, Identify.ID);
            assertThat(info.agentVersion()).isEqualTo("peersocket-upgrade-test");
        }
    }
}
