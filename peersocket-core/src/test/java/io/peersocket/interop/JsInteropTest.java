package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.despatch.Despatcher;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.identify.IdentifyInfo;
import io.peersocket.transport.Connection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Interop with an independent libp2p implementation: js-libp2p 3 with @chainsafe/libp2p-quic over QUIC v1 on
 * loopback. Both directions of ping and identify. Needs Node.js ≥ 20 and npm (fails, never skips, without).
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsInteropTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private JsLibp2pPeer js;
    private Node node;

    @BeforeAll
    void start() throws Exception {
        js = JsLibp2pPeer.start();
        node = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
    }

    @AfterAll
    void stop() {
        if (node != null) node.close();
        if (js != null) js.close();
    }

    @Test
    void wePingAndIdentifyTheJsPeer() throws Exception {
        Multiaddr addr = Multiaddr.parse(js.addresses().get(0));
        Connection c = node.connect(addr).get(20, TimeUnit.SECONDS);
        PeerId jsId = PeerId.parse(js.peerId());
        assertThat(c.remotePeer()).isEqualTo(jsId);

        Duration rtt = node.ping(jsId).get(20, TimeUnit.SECONDS);
        assertThat(rtt).isPositive().isLessThan(Duration.ofSeconds(5));

        IdentifyInfo info = node.identify(jsId).get(20, TimeUnit.SECONDS);
        assertThat(info.peer()).isEqualTo(jsId);
        assertThat(info.publicKey().peerId()).isEqualTo(jsId);
        assertThat(info.protocols()).contains("/ipfs/ping/1.0.0", "/ipfs/id/1.0.0");
        assertThat(info.agentVersion()).isNotEmpty();
        assertThat(info.listenAddresses()).contains(addr.withoutPeerId());
    }

    @Test
    void theJsPeerPingsAndIdentifiesUs() {
        String ours = node.addresses().get(0).toString();
        long rtt = js.ping(ours, WAIT);
        assertThat(rtt).isGreaterThanOrEqualTo(0);

        JsLibp2pPeer.IdentifyInfo info = js.identify(ours, WAIT);
        assertThat(info.peerId()).isEqualTo(node.peerId().toString());
        assertThat(info.protocols()).contains("/ipfs/ping/1.0.0", "/ipfs/id/1.0.0", Despatcher.PROTOCOL_ID);
        assertThat(info.agentVersion()).startsWith("peersocket/");
        assertThat(info.listenAddrs()).anySatisfy(a -> assertThat(a).startsWith(node.listenAddresses().get(0).toString()));
    }

    @Test
    void theJsPeerIdentifiesUsWhenWeConnect() throws Exception {
        // Our dial makes the JS side run identify against us on the new connection.
        try (Node other = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start()) {
            other.connect(Multiaddr.parse(js.addresses().get(0))).get(20, TimeUnit.SECONDS);
            JsLibp2pPeer.IdentifyInfo seen = js.awaitIdentifiedBy(other.peerId().toString(), WAIT);
            assertThat(seen.protocols()).contains(Despatcher.PROTOCOL_ID);
        }
    }
}
