package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.interop.JsLibp2pPeer.DhtPeer;
import io.peersocket.interop.JsLibp2pPeer.DhtPublishResult;
import io.peersocket.interop.JsLibp2pPeer.DhtValue;
import io.peersocket.interop.JsLibp2pPeer.JsPeerException;
import io.peersocket.interop.JsLibp2pPeer.RoutingTable;
import io.peersocket.interop.JsLibp2pPeer.SelfQuery;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Proves the JS peer's DHT mode ({@code peer.mjs --dht}, @libp2p/kad-dht 16 in server mode on loopback) and its
 * Java driver: three JS peers where A and C each dial only B. A finds C's peer record through B, a value put on A
 * is got on C, and a provider record announced by A is found on C. Needs Node.js ≥ 20 and npm (fails, never
 * skips, without them).
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsKadSelfTest {
    private static final Duration WAIT = Duration.ofSeconds(15);
    private static final SecureRandom RANDOM = new SecureRandom();

    private JsLibp2pPeer a;
    private JsLibp2pPeer b;
    private JsLibp2pPeer c;
    private SelfQuery selfQueryA;
    private SelfQuery selfQueryC;

    @BeforeAll
    void startPeers() throws Exception {
        Path root = JsLibp2pPeer.findRepoRoot();
        CompletableFuture<JsLibp2pPeer> fa = CompletableFuture.supplyAsync(() -> JsLibp2pPeer.startWithDht(root, null));
        CompletableFuture<JsLibp2pPeer> fb = CompletableFuture.supplyAsync(() -> JsLibp2pPeer.startWithDht(root, null));
        CompletableFuture<JsLibp2pPeer> fc = CompletableFuture.supplyAsync(() -> JsLibp2pPeer.startWithDht(root, null));
        a = fa.get(2, TimeUnit.MINUTES);
        b = fb.get(2, TimeUnit.MINUTES);
        c = fc.get(2, TimeUnit.MINUTES);

        // C joins first, so that B knows C when A's first self-lookup walks through B.
        assertThat(c.dial(b.addresses().get(0))).isEqualTo(b.peerId());
        selfQueryC = c.awaitSelfQuery(WAIT);
        assertThat(a.dial(b.addresses().get(0))).isEqualTo(b.peerId());
        selfQueryA = a.awaitSelfQuery(WAIT);
    }

    @AfterAll
    void stopPeers() {
        for (JsLibp2pPeer p : new JsLibp2pPeer[] {a, b, c}) {
            if (p != null) {
                p.close();
            }
        }
    }

    @Test
    void dhtRunsInServerModeAndTheFirstSelfLookupUsesTheDialledPeer() {
        assertThat(List.of(a, b, c)).allSatisfy(p -> assertThat(p.dhtEnabled()).isTrue());
        assertThat(selfQueryA.succeeded()).isTrue();
        assertThat(selfQueryC.succeeded()).isTrue();
        assertThat(selfQueryA.routingTableSize()).isPositive();

        RoutingTable tableA = a.routingTable();
        assertThat(tableA.mode()).isEqualTo("server");
        assertThat(tableA.size()).isEqualTo(tableA.peers().size());
        // B was added although its only address is on 127.0.0.1 (passthrough address mapper).
        DhtPeer bInA = tableA.peers().stream().filter(p -> p.peerId().equals(b.peerId())).findFirst().orElseThrow();
        assertThat(bInA.addrs()).contains(withoutP2p(b.addresses().get(0)));
        assertThat(c.routingTable().peerIds()).contains(b.peerId());
    }

    @Test
    void aFindsCsPeerRecordThroughTheNetwork() {
        DhtPeer found = a.findPeer(c.peerId(), WAIT);
        assertThat(found.peerId()).isEqualTo(c.peerId());
        assertThat(found.addrs()).contains(withoutP2p(c.addresses().get(0)));
        // The record came from a FIND_NODE answer (the local peer store is not consulted): B's, or C's own if A
        // already learnt of C during its self-lookup through B.
        assertThat(found.from()).isIn(b.peerId(), c.peerId());
    }

    @Test
    void aValuePutOnAIsGotOnC() {
        String key = "/test/" + HexFormat.of().formatHex(randomBytes(8));
        byte[] value = randomBytes(300);
        DhtPublishResult put = a.put(key, value, WAIT);
        assertThat(put.reached()).contains(b.peerId());

        DhtValue got = c.get(key, WAIT);
        assertThat(got.value()).isEqualTo(value);
        assertThat(got.from()).isIn(b.peerId(), c.peerId());
    }

    @Test
    void aProviderRecordFromAIsFoundOnCByCidAndByMultihash() throws Exception {
        byte[] multihash = sha256Multihash(randomBytes(32));
        String cid = cidV1Raw(multihash);
        DhtPublishResult provided = a.provide(cid, WAIT);
        assertThat(provided.reached()).contains(b.peerId());

        List<DhtPeer> providers = c.findProviders(cid, 1, WAIT);
        assertThat(providers).extracting(DhtPeer::peerId).containsExactly(a.peerId());
        assertThat(providers.get(0).addrs()).contains(withoutP2p(a.addresses().get(0)));

        // kad-dht keys provider records by the multihash alone.
        List<DhtPeer> byMultihash = b.findProvidersOfMultihash(multihash, 1, WAIT);
        assertThat(byMultihash).extracting(DhtPeer::peerId).containsExactly(a.peerId());
    }

    @Test
    void recordsOutsideTheValidatedNamespacesAreRefusedByThePeersAndMissingKeysFail() {
        DhtPublishResult put = a.put("/unvalidated/" + HexFormat.of().formatHex(randomBytes(4)),
                "x".getBytes(StandardCharsets.UTF_8), WAIT);
        assertThat(put.reached()).isEmpty();
        assertThat(put.errors()).isNotEmpty();

        String missing = "/test/missing-" + HexFormat.of().formatHex(randomBytes(4));
        assertThatThrownBy(() -> c.get(missing, WAIT))
                .isInstanceOfSatisfying(JsPeerException.class, e -> assertThat(e.jsError())
                        .contains("no value found for key"));
        assertThatThrownBy(() -> c.provide("not-a-cid", WAIT))
                .isInstanceOfSatisfying(JsPeerException.class, e -> assertThat(e.jsError()).startsWith("bad \"cid\""));
    }

    @Test
    void withoutTheDhtOptionTheDhtCommandsFailAndNothingElseChanges() {
        try (JsLibp2pPeer plain = JsLibp2pPeer.startWith(JsLibp2pPeer.findRepoRoot(), JsLibp2pPeer.Options.DEFAULT)) {
            assertThat(plain.dhtEnabled()).isFalse();
            assertThatThrownBy(() -> plain.findPeer(a.peerId()))
                    .isInstanceOfSatisfying(JsPeerException.class, e -> assertThat(e.jsError())
                            .isEqualTo("DHT not enabled: start peer.mjs with --dht"));
            assertThat(plain.ping(a.addresses().get(0))).isBetween(0L, WAIT.toMillis());
        }
    }

    private static String withoutP2p(String addr) {
        int i = addr.indexOf("/p2p/");
        return i < 0 ? addr : addr.substring(0, i);
    }

    private static byte[] randomBytes(int n) {
        byte[] out = new byte[n];
        RANDOM.nextBytes(out);
        return out;
    }

    /** sha2-256 multihash: 0x12, 0x20, digest. */
    private static byte[] sha256Multihash(byte[] data) throws NoSuchAlgorithmException {
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(data);
        byte[] mh = new byte[2 + digest.length];
        mh[0] = 0x12;
        mh[1] = 0x20;
        System.arraycopy(digest, 0, mh, 2, digest.length);
        return mh;
    }

    /** CIDv1 with codec raw (0x55) as multibase base32 ('b', RFC 4648 lower case, no padding). */
    private static String cidV1Raw(byte[] multihash) {
        byte[] cid = new byte[2 + multihash.length];
        cid[0] = 0x01;
        cid[1] = 0x55;
        System.arraycopy(multihash, 0, cid, 2, multihash.length);
        final String alphabet = "abcdefghijklmnopqrstuvwxyz234567";
        StringBuilder sb = new StringBuilder("b");
        int buffer = 0;
        int bits = 0;
        for (byte x : cid) {
            buffer = (buffer << 8) | (x & 0xff);
            bits += 8;
            while (bits >= 5) {
                sb.append(alphabet.charAt((buffer >> (bits - 5)) & 31));
                bits -= 5;
            }
        }
        if (bits > 0) {
            sb.append(alphabet.charAt((buffer << (5 - bits)) & 31));
        }
        return sb.toString();
    }
}
