package io.peersocket.transport.quic;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.TransportConfig;
import io.peersocket.transport.TransportException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The QUIC transport's firewall ({@link QuicTransport#block}): a packet filter at the UDP socket, over real sockets on
 * 127.0.0.1. To QUIC it must look exactly like a network cut.
 */
class QuicFirewallTest {
    private final List<TestNode> nodes = new ArrayList<>();

    private TestNode listening(UnaryOperator<TransportConfig> tweak) throws Exception {
        TestNode n = new TestNode(tweak);
        nodes.add(n);
        n.listen();
        return n;
    }

    @AfterEach
    void tearDown() {
        for (TestNode n : nodes) n.close();
        for (TestNode n : nodes) assertThat(n.violations).as("upcall rule violations").isEmpty();
    }

    private static TransportException failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(10, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(TransportException.class);
            return (TransportException) e.getCause();
        }
        throw new AssertionError("expected the dial to fail");
    }

    @Test
    void dialToABlockedPeerTimesOutWhileOthersAndLaterDialsWork() throws Exception {
        UnaryOperator<TransportConfig> fast = c -> c.withHandshakeTimeoutMs(600);
        TestNode a = listening(fast), b = listening(fast), c = listening(fast);
        a.transport.block(List.of(b.address())); // with /p2p/: ignored
        assertThat(a.transport.blocked()).containsExactly(b.address().withoutPeerId());

        long t0 = System.nanoTime();
        TransportException e = failure(a.transport.dial(b.address(), null));
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(e.kind()).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(ms).as("failed at the handshake timeout, not at once").isGreaterThanOrEqualTo(500);
        assertThat(b.connections).as("nothing reached B").isEmpty();
        long[] drops = a.transport.firewallDrops();
        assertThat(drops[1]).as("initial packets dropped on send").isPositive();

        Connection ac = a.dial(c); // unblocked peers are reachable as before
        assertThat(ac.remotePeer()).isEqualTo(c.peerId());

        a.transport.unblock(List.of(b.address().withoutPeerId()));
        assertThat(a.transport.blocked()).isEmpty();
        assertThat(a.dial(b).remotePeer()).isEqualTo(b.peerId());
    }

    @Test
    void blockOnTheListenerDropsInboundHandshakes() throws Exception {
        UnaryOperator<TransportConfig> fast = c -> c.withHandshakeTimeoutMs(600);
        TestNode a = listening(fast), b = listening(fast);
        b.transport.block(List.of(a.address().withoutPeerId()));
        assertThat(failure(a.transport.dial(b.address(), null)).kind()).isEqualTo(TransportException.Kind.TIMEOUT);
        assertThat(b.connections).isEmpty();
        assertThat(b.transport.firewallDrops()[0]).as("A's packets dropped on receive at B").isPositive();
        b.transport.unblock(List.of(a.address()));
        assertThat(a.dial(b).remotePeer()).isEqualTo(b.peerId());
    }

    @Test
    void anEstablishedConnectionStallsAndDiesAtTheIdleTimeoutOnBothSides() throws Exception {
        // keep-alives flow (datagrams on), so only the cut can make the connection idle
        UnaryOperator<TransportConfig> idle = c -> c.withIdleTimeoutMs(800);
        TestNode a = listening(idle), b = listening(idle);
        Connection ab = a.dial(b);
        Connection ba = b.connections.poll(5, TimeUnit.SECONDS);
        TestNode.Collector before = new TestNode.Collector();
        Stream s1 = ab.openStream(before).get(5, TimeUnit.SECONDS);
        s1.write("before".getBytes()).get(5, TimeUnit.SECONDS);
        s1.closeWrite();
        assertThat(new String(before.fin.get(5, TimeUnit.SECONDS))).isEqualTo("before");

        long t0 = System.nanoTime();
        a.transport.block(List.of(b.address()));
        TestNode.Collector during = new TestNode.Collector();
        ab.openStream(during).thenAccept(s2 -> s2.write("during".getBytes())); // never delivered
        assertThat(a.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ab);
        long ms = (System.nanoTime() - t0) / 1_000_000;
        assertThat(a.closeReasons.get(ab)).isEqualTo("idle timeout");
        assertThat(ms).as("closed by the idle timeout, not at once").isGreaterThanOrEqualTo(600);
        assertThat(b.closedConnections.poll(5, TimeUnit.SECONDS)).isSameAs(ba);
        assertThat(b.closeReasons.get(ba)).isEqualTo("idle timeout");
        assertThat(b.inboundStreams).as("only the stream opened before the cut reached B").hasSize(1);
        assertThat(during.received.size()).as("nothing crossed the cut").isZero();
        long[] drops = a.transport.firewallDrops();
        assertThat(drops[0]).as("B's packets dropped at A").isPositive();
        assertThat(drops[1]).as("A's packets dropped before B").isPositive();

        a.transport.unblock(a.transport.blocked());
        assertThat(a.dial(b).isOpen()).as("a new connection after the heal").isTrue();
    }

    @Test
    void refusesAddressesItCannotFilter() throws Exception {
        TestNode a = listening(c -> c);
        for (String bad : List.of("/dns4/localhost/udp/4001/quic-v1", "/ip4/127.0.0.1/tcp/4001",
                "/ip4/127.0.0.1/udp/0/quic-v1", "/ip4/127.0.0.1/udp/1/quic-v1/webtransport")) {
            assertThatThrownBy(() -> a.transport.block(List.of(Multiaddr.parse(bad))))
                    .as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(a.transport.blocked()).isEmpty();
        a.transport.block(List.of(Multiaddr.parse("/ip4/127.0.0.1/udp/9")));
        assertThat(a.transport.blocked()).containsExactly(Multiaddr.parse("/ip4/127.0.0.1/udp/9/quic-v1"));
    }
}
