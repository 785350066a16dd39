package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.relay.RelayConfig;
import io.peersocket.protocol.relay.Reservation;
import io.peersocket.transport.Connection;
import io.peersocket.identity.PeerId;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * Circuit Relay v2 against js-libp2p ({@code @libp2p/circuit-relay-v2} over QUIC, relayed connections upgraded with
 * Noise + Yamux): our node reserves on a js relay and a js client pings it through that relay; a js node reserves on
 * our relay and our node dials and pings it through our relay. Needs Node.js and npm (fails, never skips, without).
 */
@Tag("interop")
class JsRelayInteropTest {
    private final List<AutoCloseable> open = new ArrayList<>();

    @AfterEach
    void close() throws Exception {
        for (int i = open.size() - 1; i >= 0; i--) open.get(i).close();
    }

    private <T extends AutoCloseable> T keep(T t) {
        open.add(t);
        return t;
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(20, TimeUnit.SECONDS);
    }

    private static String quicAddress(JsLibp2pPeer js) {
        return js.addresses().stream().filter(a -> a.contains("/quic-v1/") && !a.contains("p2p-circuit")).findFirst()
                .orElseThrow();
    }

    @Test
    void ourNodeReservesOnAJsRelayAndAJsClientPingsItThroughTheRelay() throws Exception {
        JsLibp2pPeer relay = keep(JsLibp2pPeer.startWith(JsLibp2pPeer.findRepoRoot(), JsLibp2pPeer.Options.DEFAULT,
                List.of(JsLibp2pPeer.RELAY_SERVER_FLAG)));
        Node b = keep(Node.builder().redialOnStart(0).start());
        Reservation r = get(b.relay().reserve(Multiaddr.parse(quicAddress(relay))));
        assertThat(r.relay().toString()).isEqualTo(relay.peerId());
        assertThat(r.voucher()).as("js relay's voucher verifies").isNotNull();
        assertThat(r.voucher().peer()).isEqualTo(b.peerId());
        // js-libp2p 3 sends its 2 min default as 120000 in the "seconds" field (spec: seconds); we report what it sent
        assertThat(r.limit().durationSeconds()).isIn(120L, 120_000L);
        assertThat(r.limit().dataBytes()).isEqualTo(1 << 17);
        assertThat(r.circuitAddresses()).isNotEmpty();
        assertThat(relay.relayReservations()).contains(b.peerId().toString());

        JsLibp2pPeer client = keep(JsLibp2pPeer.startWith(JsLibp2pPeer.findRepoRoot(), JsLibp2pPeer.Options.DEFAULT,
                List.of(JsLibp2pPeer.RELAY_CLIENT_FLAG)));
        CompletableFuture<Connection> inbound = new CompletableFuture<>();
        b.onPeerEvent(e -> {
            if (e.peer().toString().equals(client.peerId()) && e.kind() == io.peersocket.host.PeerEvent.Kind.CONNECTED) {
                inbound.complete(e.connection());
            }
        });
        String circuit = quicAddress(relay) + "/p2p-circuit/p2p/" + b.peerId();
        long rtt = client.ping(circuit, Duration.ofSeconds(20));
        assertThat(rtt).isGreaterThanOrEqualTo(0);
        Connection c = get(inbound);
        assertThat(c.isLimited()).isTrue();
        assertThat(c.direction()).isEqualTo(Connection.Direction.INBOUND);
        // and back over the same relayed connection
        assertThat(get(b.ping(PeerId.parse(client.peerId())))).isPositive();
    }

    @Test
    void aJsNodeReservesOnOurRelayAndOurNodeDialsItThroughOurRelay() throws Exception {
        Node relay = keep(Node.builder().redialOnStart(0).relayService(RelayConfig.defaults()).start());
        String relayAddr = relay.addresses().get(0).toString();
        JsLibp2pPeer target = keep(JsLibp2pPeer.startWith(JsLibp2pPeer.findRepoRoot(), JsLibp2pPeer.Options.DEFAULT,
                JsLibp2pPeer.relayListenArgs(relayAddr)));
        PeerId targetId = PeerId.parse(target.peerId());
        assertThat(target.addresses()).anyMatch(a -> a.startsWith(relayAddr + "/p2p-circuit"));
        CompletableFuture<List<PeerId>> reserved = io.peersocket.util.Futures.composeOn(relay.loop(),
                () -> CompletableFuture.completedFuture(relay.relayService().reservedPeers()));
        assertThat(get(reserved)).contains(targetId);

        Node a = keep(Node.builder().redialOnStart(0).start());
        Connection c = get(a.connect(Multiaddr.parse(relayAddr + "/p2p-circuit/p2p/" + targetId)));
        assertThat(c.isLimited()).isTrue();
        assertThat(c.remotePeer()).isEqualTo(targetId);
        assertThat(get(a.ping(targetId))).isPositive();
        assertThat(get(a.identify(targetId)).protocols()).contains("/ipfs/ping/1.0.0");
        assertThat(relay.counters().get("relay.connect.ok")).isEqualTo(1);
    }
}
