package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.pubsub.GossipSub;
import io.peersocket.protocol.pubsub.GossipSubConfig;
import io.peersocket.protocol.pubsub.MessageIdFunction;
import io.peersocket.protocol.pubsub.PubSubMessage;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * GossipSub interop with js-libp2p ({@code @libp2p/gossipsub} 17, StrictSign) over QUIC on loopback, in one mesh of
 * both kinds of node: Java node 2 — Java node 1 — js node — Java node 3 (the js node is connected to Java nodes 1
 * and 3 only, so every message between it and Java node 2 is relayed by Java node 1's mesh, and every message to
 * Java node 3 by the js node's). The Java nodes use js-libp2p's message id function so IHAVE/IWANT ids match across
 * the mesh. Both sides speak gossipsub v1.2 ({@code /meshsub/1.2.0}) and exchange IDONTWANT for large messages.
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsPubSubInteropTest {
    private static final String TOPIC = "peersocket-interop";
    private static final Duration WAIT = Duration.ofSeconds(30);

    private JsLibp2pPeer js;
    private Node j1, j2, j3;
    private final List<PubSubMessage> got1 = new CopyOnWriteArrayList<>();
    private final List<PubSubMessage> got2 = new CopyOnWriteArrayList<>();
    private final List<PubSubMessage> got3 = new CopyOnWriteArrayList<>();

    @BeforeAll
    void start() throws Exception {
        js = JsLibp2pPeer.startWith(JsLibp2pPeer.findRepoRoot(), JsLibp2pPeer.Options.DEFAULT.withPubsub(true));
        GossipSubConfig config = GossipSubConfig.defaults().withMessageId(MessageIdFunction.PUBLIC_KEY_AND_SEQNO);
        j1 = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").pubsub(config).start();
        j2 = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").pubsub(config).start();
        j3 = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").pubsub(config).start();
        j1.pubsub().subscribe(TOPIC, got1::add);
        j2.pubsub().subscribe(TOPIC, got2::add);
        j3.pubsub().subscribe(TOPIC, got3::add);
        js.subscribe(TOPIC);
        j2.connect(j1.addresses().get(0)).get(20, TimeUnit.SECONDS);
        js.dial(j1.addresses().get(0).toString(), WAIT);
        js.dial(j3.addresses().get(0).toString(), WAIT);
        PeerId jsId = PeerId.parse(js.peerId());
        // The mesh: js ⇄ j1 ⇄ j2 (a GRAFT is sent at join time or at the next heartbeat, 1 s).
        await(() -> mesh(j1).contains(jsId) && mesh(j1).contains(j2.peerId()), "j1's mesh has js and j2");
        await(() -> mesh(j2).contains(j1.peerId()), "j2's mesh has j1");
        await(() -> js.meshPeers(TOPIC).contains(j1.peerId().toString()), "js's mesh has j1");
        await(() -> mesh(j3).contains(jsId), "j3's mesh has js");
        await(() -> js.meshPeers(TOPIC).contains(j3.peerId().toString()), "js's mesh has j3");
    }

    @AfterAll
    void stop() {
        if (j1 != null) j1.close();
        if (j2 != null) j2.close();
        if (j3 != null) j3.close();
        if (js != null) js.close();
    }

    private static List<PeerId> mesh(Node n) {
        try {
            return n.pubsub().meshPeers(TOPIC).get(5, TimeUnit.SECONDS);
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** Polls {@code c} (each poll is a round trip to a node) until it holds or {@link #WAIT} passes. */
    private void await(BooleanSupplier c, String what) {
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!c.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new AssertionError("not within " + WAIT + ": " + what + "\n" + js.stderrTail());
            Thread.onSpinWait();
        }
    }

    @Test
    void aMessagePublishedByTheFarJavaNodeReachesJsThroughTheMesh() throws Exception {
        byte[] data = "hello from java node 2".getBytes(StandardCharsets.UTF_8);
        GossipSub.PublishResult r = j2.pubsub().publish(TOPIC, data).get(10, TimeUnit.SECONDS);
        assertThat(r.peers()).isEqualTo(1); // j2 knows only j1
        await(() -> js.received(TOPIC).stream().anyMatch(m -> m.text().equals("hello from java node 2")), "js got it");
        JsLibp2pPeer.PubSubMessage m = js.received(TOPIC).stream()
                .filter(x -> x.text().equals("hello from java node 2")).findFirst().orElseThrow();
        assertThat(m.from()).isEqualTo(j2.peerId().toString()); // j2's signature verified by js (StrictSign)
        assertThat(m.receivedFrom()).isEqualTo(j1.peerId().toString());
        assertThat(got1).extracting(x -> new String(x.data(), StandardCharsets.UTF_8)).contains("hello from java node 2");
    }

    @Test
    void aMessagePublishedByJsReachesBothJavaNodes() throws Exception {
        byte[] data = "hello from js".getBytes(StandardCharsets.UTF_8);
        List<String> recipients = js.publish(TOPIC, data);
        assertThat(recipients).containsExactlyInAnyOrder(j1.peerId().toString(), j3.peerId().toString());
        await(() -> has(got1, "hello from js") && has(got2, "hello from js") && has(got3, "hello from js"),
                "all Java nodes got it");
        PubSubMessage at2 = got2.stream().filter(x -> new String(x.data(), StandardCharsets.UTF_8).equals("hello from js"))
                .findFirst().orElseThrow();
        assertThat(at2.from()).isEqualTo(PeerId.parse(js.peerId()));
        assertThat(at2.signed()).isTrue();
        assertThat(at2.receivedFrom()).isEqualTo(j1.peerId());
        assertThat(j1.counters().get("pubsub.message.rejected.signature")).isZero();
        assertThat(j2.counters().get("pubsub.message.rejected.signature")).isZero();
    }

    @Test
    void largeMessagesCrossTheMixedMeshWithIDontWantBothWays() throws Exception {
        // 2,000 bytes: over both thresholds (ours 1,024 bytes of message, js's 512 bytes of data)
        byte[] data = new byte[2_000];
        byte[] text = "large from java node 2".getBytes(StandardCharsets.UTF_8);
        System.arraycopy(text, 0, data, 0, text.length);
        java.util.Arrays.fill(data, text.length, data.length, (byte) '.');
        String expected = new String(data, StandardCharsets.UTF_8);
        long j1Sent = j1.counters().get("pubsub.idontwant.sent");
        long j3In = j3.counters().get("pubsub.idontwant.in");
        j2.pubsub().publish(TOPIC, data).get(10, TimeUnit.SECONDS);
        await(() -> js.received(TOPIC).stream().anyMatch(m -> m.text().equals(expected)) && has(got3, expected),
                "js and j3 got it");
        // j1 got it from j2 and told js (its other mesh peer, on /meshsub/1.2.0) before forwarding
        assertThat(j1.counters().get("pubsub.idontwant.sent")).isGreaterThan(j1Sent);
        // js got it from j1 and told j3 (its other mesh peer): js's IDONTWANT decodes here
        await(() -> j3.counters().get("pubsub.idontwant.in") > j3In, "j3 got js's IDONTWANT");
        assertThat(j3.counters().get("pubsub.rpc.malformed")).isZero();
        assertThat(j1.counters().get("pubsub.rpc.malformed")).isZero();
        // and the mesh still carries messages both ways afterwards
        j3.pubsub().publish(TOPIC, "after idontwant".getBytes(StandardCharsets.UTF_8)).get(10, TimeUnit.SECONDS);
        await(() -> has(got1, "after idontwant") && has(got2, "after idontwant"), "j1 and j2 got j3's message");
    }

    private static boolean has(List<PubSubMessage> got, String text) {
        return got.stream().anyMatch(x -> new String(x.data(), StandardCharsets.UTF_8).equals(text));
    }
}
