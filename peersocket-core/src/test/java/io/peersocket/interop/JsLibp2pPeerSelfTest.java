package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.interop.JsLibp2pPeer.IdentifyInfo;
import io.peersocket.interop.JsLibp2pPeer.JsPeerException;
import java.io.IOException;
import java.math.BigInteger;
import java.net.DatagramSocket;
import java.net.InetAddress;
import java.time.Duration;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.concurrent.CompletableFuture;
import org.bouncycastle.crypto.params.Ed25519PrivateKeyParameters;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Proves the JS interop peer and its Java runner: two independent js-libp2p processes ping and identify each
 * other over QUIC v1 on loopback, driven through {@link JsLibp2pPeer}. Needs Node.js ≥ 20 and npm on PATH (fails,
 * never skips, without them).
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsLibp2pPeerSelfTest {
    private static final byte[] SEED_A = HexFormat.of().parseHex(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
    private static final Duration WAIT = Duration.ofSeconds(10);

    private JsLibp2pPeer a;
    private JsLibp2pPeer b;

    @BeforeAll
    void startPeers() throws Exception {
        var root = JsLibp2pPeer.findRepoRoot();
        // npm ci (if needed) is serialised inside start(); starting both at once exercises that lock.
        CompletableFuture<JsLibp2pPeer> fa = CompletableFuture.supplyAsync(() -> JsLibp2pPeer.start(root, SEED_A));
        CompletableFuture<JsLibp2pPeer> fb = CompletableFuture.supplyAsync(() -> JsLibp2pPeer.start(root, null));
        a = fa.get(2, java.util.concurrent.TimeUnit.MINUTES);
        b = fb.get(2, java.util.concurrent.TimeUnit.MINUTES);
    }

    @AfterAll
    void stopPeers() {
        if (a != null) a.close();
        if (b != null) b.close();
    }

    @Test
    void seededPeerHasTheEd25519PeerIdOfItsSeed() {
        assertThat(a.peerId()).isEqualTo(ed25519PeerIdFromSeed(SEED_A));
        assertThat(a.peerId()).startsWith("12D3KooW");
        assertThat(b.peerId()).startsWith("12D3KooW").isNotEqualTo(a.peerId());
        assertThat(a.addresses()).allSatisfy(addr -> assertThat(addr)
                .matches("/ip4/127\\.0\\.0\\.1/udp/[1-9][0-9]*/quic-v1/p2p/" + a.peerId()));
    }

    @Test
    void onePeerPingsTheOther() {
        long rtt = a.ping(b.addresses().get(0));
        assertThat(rtt).isBetween(0L, WAIT.toMillis());
        assertThat(a.connectedPeers()).contains(b.peerId());
        assertThat(b.connectedPeers()).contains(a.peerId());
        // Pings in the other direction reuse or open a connection just the same.
        assertThat(b.ping(a.addresses().get(0))).isBetween(0L, WAIT.toMillis());
    }

    @Test
    void identifyReturnsTheRemotesAnswerAndTheRemoteIdentifiesUsBack() {
        IdentifyInfo info = a.identify(b.addresses().get(0));
        assertThat(info.peerId()).isEqualTo(b.peerId());
        assertThat(info.protocols()).contains("/ipfs/ping/1.0.0", "/ipfs/id/1.0.0");
        String bListen = b.addresses().get(0).replace("/p2p/" + b.peerId(), "");
        assertThat(info.listenAddrs()).contains(bListen);
        assertThat(info.agentVersion()).startsWith("js-libp2p/");
        assertThat(info.protocolVersion()).isEqualTo("ipfs/0.1.0");
        // b saw a's connection come from a's dialing socket, which is not a's listening port.
        assertThat(info.observedAddr()).startsWith("/ip4/127.0.0.1/udp/").contains("/quic-v1");

        IdentifyInfo seenByB = b.awaitIdentifiedBy(a.peerId(), WAIT);
        assertThat(seenByB.protocols()).contains("/ipfs/ping/1.0.0", "/ipfs/id/1.0.0");
        assertThat(seenByB.agentVersion()).startsWith("js-libp2p/");
        assertThat(a.identifiedSoFar()).extracting(IdentifyInfo::peerId).contains(b.peerId());
    }

    @Test
    void dialingAKnownAddressWithTheWrongPeerIdFails() {
        String otherId = ed25519PeerIdFromSeed(seedOf((byte) 7));
        String wrong = b.addresses().get(0).replace(b.peerId(), otherId);
        // js-libp2p-quic compares the PeerId from the TLS certificate with the /p2p/ part of the dialled address.
        assertThatThrownBy(() -> a.ping(wrong, Duration.ofSeconds(5)))
                .isInstanceOfSatisfying(JsPeerException.class, e -> assertThat(e.jsError())
                        .isEqualTo("Dialed peer " + otherId + " but connected to " + b.peerId()))
                .hasMessageContaining("ping failed in js peer")
                .hasMessageContaining("--- js peer stderr ---");
    }

    @Test
    void jsErrorsComeBackAsExceptions() throws IOException {
        assertThatThrownBy(() -> a.ping("/not/a/multiaddr"))
                .isInstanceOf(JsPeerException.class)
                .hasMessageContaining("ping failed in js peer");

        int closedPort;
        try (DatagramSocket s = new DatagramSocket(0, InetAddress.getLoopbackAddress())) {
            closedPort = s.getLocalPort();
        }
        String nobody = "/ip4/127.0.0.1/udp/" + closedPort + "/quic-v1/p2p/" + ed25519PeerIdFromSeed(seedOf((byte) 9));
        assertThatThrownBy(() -> a.identify(nobody, Duration.ofSeconds(2)))
                .isInstanceOf(JsPeerException.class)
                .hasMessageContaining("identify failed in js peer");
        assertThat(a.isAlive()).isTrue();
    }

    @Test
    void closeStopsTheProcessAndLaterCallsFailClearly() {
        JsLibp2pPeer c = JsLibp2pPeer.start(JsLibp2pPeer.findRepoRoot(), null);
        ProcessHandle handle = ProcessHandle.of(c.pid()).orElseThrow();
        c.close();
        assertThat(handle.isAlive()).isFalse();
        assertThat(c.isAlive()).isFalse();
        assertThatThrownBy(() -> c.ping(b.addresses().get(0)))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("closed");
        c.close(); // idempotent
    }

    @Test
    void awaitIdentifiedByTimesOutWithTheListOfKnownPeers() {
        String stranger = ed25519PeerIdFromSeed(seedOf((byte) 3));
        assertThatThrownBy(() -> b.awaitIdentifiedBy(stranger, Duration.ofMillis(200)))
                .isInstanceOf(AssertionError.class)
                .hasMessageContaining("did not identify " + stranger);
    }

    @Test
    void missingNodeFailsLoudlyInsteadOfSkipping() {
        assertThatThrownBy(() -> JsLibp2pPeer.requireNodeAndNpm("/nonexistent-dir-for-test"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageStartingWith(JsLibp2pPeer.NODE_REQUIRED);
    }

    private static byte[] seedOf(byte b) {
        byte[] seed = new byte[32];
        Arrays.fill(seed, b);
        return seed;
    }

    /** Independent derivation: identity multihash of the protobuf PublicKey{Type=Ed25519, Data=pub}, base58btc. */
    static String ed25519PeerIdFromSeed(byte[] seed) {
        byte[] pub = new Ed25519PrivateKeyParameters(seed, 0).generatePublicKey().getEncoded();
        byte[] mh = new byte[2 + 4 + 32];
        mh[0] = 0x00; // identity multihash
        mh[1] = 36; // digest length
        mh[2] = 0x08; // field 1 (Type), varint
        mh[3] = 0x01; // Ed25519
        mh[4] = 0x12; // field 2 (Data), length-delimited
        mh[5] = 32;
        System.arraycopy(pub, 0, mh, 6, 32);
        return base58btc(mh);
    }

    private static String base58btc(byte[] data) {
        final String alphabet = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
        StringBuilder sb = new StringBuilder();
        BigInteger n = new BigInteger(1, data);
        BigInteger base = BigInteger.valueOf(58);
        while (n.signum() > 0) {
            BigInteger[] qr = n.divideAndRemainder(base);
            sb.append(alphabet.charAt(qr[1].intValue()));
            n = qr[0];
        }
        for (int i = 0; i < data.length && data[i] == 0; i++) {
            sb.append('1');
        }
        return sb.reverse().toString();
    }
}
