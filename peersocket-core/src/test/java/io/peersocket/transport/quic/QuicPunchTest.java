package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.Transport;
import io.peersocket.transport.TransportException;
import java.net.DatagramPacket;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Hole-punch datagrams from the listening socket, and simultaneous open from both listening sockets. */
class QuicPunchTest {
    private final List<TestNode> nodes = new java.util.ArrayList<>();

    private TestNode node() {
        TestNode n = new TestNode();
        nodes.add(n);
        return n;
    }

    @AfterEach
    void tearDown() {
        nodes.forEach(TestNode::close);
    }

    @Test
    void punchSendsNonQuicDatagramsFromTheListeningPort() throws Exception {
        TestNode a = node();
        Multiaddr listen = a.listen();
        int port = Integer.parseInt(listen.valueOf(io.peersocket.multiaddr.Protocol.UDP));
        try (DatagramSocket sink = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            sink.setSoTimeout(5_000);
            Multiaddr target = Multiaddr.parse("/ip4/127.0.0.1/udp/" + sink.getLocalPort() + "/quic-v1");
            a.transport.punch(target, 3).get(5, TimeUnit.SECONDS);
            Set<String> payloads = new HashSet<>();
            for (int i = 0; i < 3; i++) {
                DatagramPacket p = new DatagramPacket(new byte[2048], 2048);
                sink.receive(p);
                assertThat(p.getPort()).as("sent from the listening port").isEqualTo(port);
                assertThat(p.getLength()).isBetween(32, 64);
                assertThat(p.getData()[0] & 0x40).as("QUIC fixed bit clear").isZero();
                payloads.add(new String(p.getData(), 0, p.getLength(), StandardCharsets.ISO_8859_1));
            }
            assertThat(payloads).as("random payloads").hasSize(3);
        }
    }

    @Test
    void punchToAQuicListenerIsDroppedAndItKeepsServing() throws Exception {
        TestNode a = node();
        TestNode b = node();
        a.listen();
        b.listen();
        a.transport.punch(b.transport.listenAddresses().get(0), Transport.MAX_PUNCH_PACKETS).get(5, TimeUnit.SECONDS);
        Connection c = a.dial(b);
        assertThat(c.remotePeer()).isEqualTo(b.peerId());
        assertThat(b.violations).isEmpty();
    }

    @Test
    void badPunchArgumentsFailClearly() throws Exception {
        TestNode a = node();
        a.listen();
        Multiaddr ok = Multiaddr.parse("/ip4/127.0.0.1/udp/9/quic-v1");
        assertThatThrownBy(() -> a.transport.punch(ok, 0).get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> a.transport.punch(ok, Transport.MAX_PUNCH_PACKETS + 1).get(5, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class).hasCauseInstanceOf(IllegalArgumentException.class);
        for (String bad : List.of("/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/0.0.0.0/udp/9/quic-v1", "/dns4/localhost/udp/9/quic-v1",
                "/ip4/127.0.0.1/tcp/9")) {
            assertThatThrownBy(() -> a.transport.punch(Multiaddr.parse(bad), 1).get(5, TimeUnit.SECONDS))
                    .as(bad).isInstanceOf(ExecutionException.class)
                    .cause().isInstanceOf(TransportException.class)
                    .matches(t -> ((TransportException) t).kind() == TransportException.Kind.BAD_ADDRESS);
        }
    }

    @Test
    void simultaneousOpenFromBothListeningPortsGivesTwoWorkingConnections() throws Exception {
        TestNode a = node();
        TestNode b = node();
        a.listen();
        b.listen();
        CompletableFuture<Connection> ab = a.transport.dial(b.address(), b.peerId());
        CompletableFuture<Connection> ba = b.transport.dial(a.address(), a.peerId());
        Connection c1 = ab.get(10, TimeUnit.SECONDS);
        Connection c2 = ba.get(10, TimeUnit.SECONDS);
        assertThat(c1.localAddress()).isEqualTo(a.transport.listenAddresses().get(0));
        assertThat(c2.localAddress()).isEqualTo(b.transport.listenAddresses().get(0));
        // both carry streams (the node keeps both; it prefers the first open one)
        for (Connection c : List.of(c1, c2)) {
            TestNode.Collector got = new TestNode.Collector();
            Stream s = c.openStream(got).get(5, TimeUnit.SECONDS);
            s.write("hi".getBytes(StandardCharsets.UTF_8));
            s.closeWrite();
            assertThat(new String(got.fin.get(5, TimeUnit.SECONDS), StandardCharsets.UTF_8)).isEqualTo("hi");
        }
        c2.close().get(5, TimeUnit.SECONDS);
        assertThat(c1.isOpen()).isTrue();
        assertThat(a.violations).isEmpty();
        assertThat(b.violations).isEmpty();
    }
}
