package io.peersocket.protocol.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.despatch.Message;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.TransportException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Relayed connections end to end over real QUIC nodes on loopback: B reserves on R, A dials B through R; the
 * circuit is upgraded (Noise + Yamux) to a limited connection that the node uses like any other (identify,
 * handshake, ping, despatch).
 */
class RelayedConnectionTest {
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void close() {
        for (Node n : nodes) n.close();
    }

    private Node node(RelayConfig relay) throws Exception {
        var b = Node.builder().redialOnStart(0);
        if (relay != null) b.relayService(relay);
        Node n = b.start();
        nodes.add(n);
        return n;
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(15, TimeUnit.SECONDS);
    }

    private static Multiaddr circuit(Node relay, Node target) {
        return Multiaddr.parse(relay.addresses().get(0) + "/p2p-circuit/p2p/" + target.peerId());
    }

    @Test
    void nodeDialsThroughTheRelayAndUsesTheLimitedConnection() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node a = node(null);
        Node b = node(null);
        CompletableFuture<Connection> atB = new CompletableFuture<>();
        CompletableFuture<PeerEvent> readyAtB = new CompletableFuture<>();
        b.onPeerEvent(e -> {
            if (e.peer().equals(a.peerId()) && e.kind() == PeerEvent.Kind.CONNECTED) atB.complete(e.connection());
            if (e.peer().equals(a.peerId()) && e.kind() == PeerEvent.Kind.READY) readyAtB.complete(e);
        });
        b.despatcher().register(1, m -> m.reply(2, ("echo:" + new String(m.payload(), StandardCharsets.UTF_8))
                .getBytes(StandardCharsets.UTF_8)));
        get(b.relay().reserve(r.addresses().get(0)));

        Connection c = get(a.connect(circuit(r, b)));
        assertThat(c.remotePeer()).isEqualTo(b.peerId());
        assertThat(c.isLimited()).isTrue();
        assertThat(c.direction()).isEqualTo(Connection.Direction.OUTBOUND);
        assertThat(c.remoteAddress()).isEqualTo(Multiaddr.parse(r.addresses().get(0) + "/p2p-circuit"));
        Connection in = get(atB);
        assertThat(in.isLimited()).isTrue();
        assertThat(in.remotePeer()).isEqualTo(a.peerId());
        assertThat(in.direction()).isEqualTo(Connection.Direction.INBOUND);
        get(readyAtB); // the Peersocket handshake ran over the relayed connection

        Duration rtt = get(a.ping(b.peerId()));
        assertThat(rtt).isPositive();
        Message reply = get(a.despatcher().request(b.peerId(), 1, "hi".getBytes(StandardCharsets.UTF_8)));
        assertThat(new String(reply.payload(), StandardCharsets.UTF_8)).isEqualTo("echo:hi");
        // identify over the circuit: B advertises its circuit address
        assertThat(get(a.identify(b.peerId())).listenAddresses())
                .contains(Multiaddr.parse(r.addresses().get(0) + "/p2p-circuit"));
        assertThat(r.counters().get("relay.connect.ok")).isEqualTo(1);
        assertThat(a.isConnected(r.peerId())).isTrue();
    }

    @Test
    void connectionToAPeerFallsBackToItsCircuitAddress() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node a = node(null);
        Node b = node(null);
        get(b.relay().reserve(r.addresses().get(0)));
        // A knows B only by a dead direct address and the circuit address
        a.addAddresses(b.peerId(), List.of(Multiaddr.parse(r.addresses().get(0) + "/p2p-circuit"),
                Multiaddr.parse("/ip4/127.0.0.1/udp/9/quic-v1")));
        a.addAddresses(r.peerId(), List.of(r.listenAddresses().get(0)));
        Connection c = get(a.connection(b.peerId()));
        assertThat(c.isLimited()).isTrue();
        assertThat(get(a.ping(b.peerId()))).isPositive();
        // direct first: the dead direct address was tried (and failed) before the circuit
        assertThat(a.counters().snapshot().keySet()).anyMatch(k -> k.startsWith("node.dial.failed."));
    }

    @Test
    void dialWithoutReservationFailsAsRefused() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node a = node(null);
        Node b = node(null);
        assertThatThrownBy(() -> get(a.connect(circuit(r, b)))).isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(TransportException.class, e -> {
                    assertThat(e.kind()).isEqualTo(TransportException.Kind.REFUSED);
                    assertThat(e.getCause()).isInstanceOfSatisfying(RelayException.class,
                            re -> assertThat(re.status()).isEqualTo(RelayStatus.NO_RESERVATION));
                });
        PeerId none = a.peerId();
        assertThat(none).isNotNull();
    }
}
