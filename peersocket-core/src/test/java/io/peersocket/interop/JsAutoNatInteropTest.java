package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.autonat.AutoNat;
import io.peersocket.protocol.autonat.AutoNatConfig;
import io.peersocket.protocol.autonat.AutoNatMessage;
import io.peersocket.protocol.identify.IdentifyInfo;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * AutoNAT v1 ({@code /libp2p/autonat/1.0.0}) against js-libp2p's {@code @libp2p/autonat} 3.0.28 over QUIC on
 * loopback, both ways.
 *
 * <p>What loopback allows. The js server refuses, with {@code E_DIAL_REFUSED "no dialable addresses"}, every
 * address that is private by {@code @libp2p/utils isPrivate} (127.0.0.0/8, 10/8, 172.16/12, 192.168/16, the
 * documentation ranges, ::1, fc00::/7, fe80::/10, …), whose IP differs from the requester's connection IP, or
 * whose IP is one of the server's own; it has no option to turn these checks off. On one host the requester's
 * connection IP is always a loopback (private) one, so a js server never dials back here: direction 1 checks that
 * our DIAL is decoded (a wrong or undecodable peer id would be {@code E_BAD_REQUEST}) and that its refusal is
 * decoded, status and text. The js client only asks about its own unverified public addresses, so direction 2
 * gives it one the way a UPnP service would ({@code addPublicAddressMapping 127.0.0.1:P → 1.2.3.4:P}); our server
 * then refuses the third-party IP 1.2.3.4 but dials back the requester's observed address (the spec allows it),
 * over QUIC to the js node, and answers OK — which the js client takes as verification of the mapped address.
 * Needs Node.js ≥ 20 and npm (fails, never skips, without).
 */
@Tag("interop")
class JsAutoNatInteropTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private JsLibp2pPeer js;
    private Node node;

    @AfterEach
    void stop() {
        if (node != null) node.close();
        if (js != null) js.close();
    }

    private Node autoNatNode() throws Exception {
        return Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").autoNat(AutoNatConfig.defaults()).start();
    }

    /** Polls a condition on another process (the js peer, or our node's counters fed by it), at most 20 s. */
    private static boolean await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) return false;
            TimeUnit.MILLISECONDS.sleep(100); // polling a separate process, bounded by the deadline
        }
        return true;
    }

    @Test
    void weAskTheJsServerAndDecodeItsRefusalOfLoopbackAndThirdPartyAddresses() throws Exception {
        js = JsLibp2pPeer.startWithAutonat(JsLibp2pPeer.findRepoRoot());
        node = autoNatNode();
        PeerId jsId = PeerId.parse(js.peerId());
        node.connect(Multiaddr.parse(js.addresses().get(0))).get(20, TimeUnit.SECONDS);
        // identify runs by itself on the new connection (a second, explicit one could hit js's inbound stream limit)
        assertThat(await(() -> node.identifyInfo(jsId) != null)).as("js identified").isTrue();
        IdentifyInfo info = node.identifyInfo(jsId);
        assertThat(info.protocols()).contains(AutoNat.PROTOCOL_ID);

        // our real (loopback) listen address: private, so js refuses to dial it
        AutoNatMessage.DialResponse own = node.autoNat().ask(jsId, List.of(node.listenAddresses().get(0)))
                .get(20, TimeUnit.SECONDS);
        assertThat(own.status()).isEqualTo(AutoNatMessage.Status.E_DIAL_REFUSED);
        assertThat(own.text()).isEqualTo("no dialable addresses");
        assertThat(own.address()).isNull();

        // a public address that is not the IP of our connection: refused too (anti-amplification)
        int port = Integer.parseInt(node.listenAddresses().get(0).valueOf(io.peersocket.multiaddr.Protocol.UDP));
        AutoNatMessage.DialResponse third = node.autoNat().ask(jsId, List.of(
                Multiaddr.parse("/ip4/1.2.3.4/udp/" + port + "/quic-v1"),
                Multiaddr.parse("/ip4/1.2.3.4/udp/" + port + "/quic-v1/p2p/" + node.peerId()))).get(20, TimeUnit.SECONDS);
        assertThat(third.status()).isEqualTo(AutoNatMessage.Status.E_DIAL_REFUSED);
        assertThat(third.text()).isEqualTo("no dialable addresses");
        assertThat(node.counters().get("autonat.client.asked")).isEqualTo(2);
        assertThat(node.reachability()).as("answers to ask() do not count toward reachability")
                .isEqualTo(io.peersocket.protocol.autonat.Reachability.State.UNKNOWN);
    }

    @Test
    void theJsClientAsksUsAndOurDialBackOverQuicVerifiesItsAddress() throws Exception {
        js = JsLibp2pPeer.startWithAutonat(JsLibp2pPeer.findRepoRoot());
        List<String> mapped = js.mapPublicAddress("1.2.3.4", WAIT);
        assertThat(mapped).hasSize(1);
        String publicAddr = mapped.get(0) + "/quic-v1";
        assertThat(js.addressInfo(WAIT)).anySatisfy(a -> {
            assertThat(a.addr()).isEqualTo(publicAddr);
            assertThat(a.verified()).isFalse();
        });

        node = autoNatNode();
        // Our dial makes js identify us; seeing /libp2p/autonat/1.0.0 its autonat asks us to verify 1.2.3.4:P.
        node.connect(Multiaddr.parse(js.addresses().get(0))).get(20, TimeUnit.SECONDS);
        assertThat(await(() -> node.counters().get("autonat.server.dial.ok") >= 1))
                .as(() -> "our server dialled the js peer back; counters " + node.counters().snapshot() + "\njs stderr:\n" + js.stderrTail())
                .isTrue();
        assertThat(node.counters().get("autonat.server.requests")).isEqualTo(1);
        // 1.2.3.4 is not the requester's IP: not dialled; its observed 127.0.0.1 address was, and answered
        assertThat(node.counters().get("autonat.server.refused.third_party")).isEqualTo(1);
        assertThat(node.counters().get("autonat.server.dial.error")).isZero();
        assertThat(await(() -> js.addressInfo(WAIT).stream()
                .anyMatch(a -> a.addr().equals(publicAddr) && a.verified())))
                .as("js autonat took our OK as verification of " + publicAddr + ": " + js.addressInfo(WAIT)).isTrue();
    }
}
