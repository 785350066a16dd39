package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.kad.KadConfig;
import io.peersocket.protocol.kad.KadPeer;
import io.peersocket.protocol.kad.Kademlia;
import io.peersocket.protocol.kad.Validator;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Kademlia interop with js-libp2p (@libp2p/kad-dht 16 in server mode over QUIC on loopback): our node finds a js
 * node's peer record through a third node, values put on either side are got on the other, and provider
 * records cross both ways. Topology: js A — js B — our node (we dial only B).
 */
@Tag("interop")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class JsKadInteropTest {
    private static final Duration WAIT = Duration.ofSeconds(30);
    private JsLibp2pPeer a, b;
    private Node node;
    private Kademlia kad;

    @BeforeAll
    void start() throws Exception {
        var root = JsLibp2pPeer.findRepoRoot();
        a = JsLibp2pPeer.startWithDht(root, null);
        b = JsLibp2pPeer.startWithDht(root, null);
        a.dial(b.addresses().get(0), WAIT);
        node = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1")
                .kademlia(KadConfig.builder().mode(KadConfig.Mode.SERVER).build()).start();
        kad = node.kademlia();
        kad.registerValidator("test", new Validator() {
            @Override public void validate(byte[] key, byte[] value) {}

            @Override public int select(byte[] key, List<byte[]> values) {
                int best = 0;
                for (int i = 1; i < values.size(); i++) if (Arrays.compareUnsigned(values.get(i), values.get(best)) > 0) best = i;
                return best;
            }
        });
        node.connect(Multiaddr.parse(b.addresses().get(0))).get(20, TimeUnit.SECONDS);
        // js-libp2p queries wait for its first self-lookup; ours needs B in its table.
        a.awaitSelfQuery(WAIT);
        b.awaitSelfQuery(WAIT);
        PeerId bId = PeerId.parse(b.peerId());
        long deadline = System.nanoTime() + WAIT.toNanos();
        while (!kad.inspect(t -> t.isMember(bId)).get(5, TimeUnit.SECONDS)) {
            if (System.nanoTime() > deadline) throw new AssertionError("js peer B never joined our routing table");
            Thread.onSpinWait();
        }
        // B must have us in its table before A can find us through it; our identify lists the kad protocol.
        deadline = System.nanoTime() + WAIT.toNanos();
        while (b.routingTable().peers().stream().noneMatch(p -> p.peerId().equals(node.peerId().toString()))) {
            if (System.nanoTime() > deadline) throw new AssertionError("our node never joined js peer B's routing table");
            Thread.onSpinWait();
        }
    }

    @AfterAll
    void stop() {
        if (node != null) node.close();
        if (a != null) a.close();
        if (b != null) b.close();
    }

    @Test
    void weFindTheJsPeerRecordThroughAThirdNode() throws Exception {
        PeerId aId = PeerId.parse(a.peerId());
        Kademlia.FindPeerResult r = kad.findPeer(aId).get(30, TimeUnit.SECONDS);
        assertThat(r.peer()).as("peer A found through B").isNotNull();
        assertThat(r.peer().addresses()).contains(Multiaddr.parse(a.addresses().get(0)).withoutPeerId());
    }

    @Test
    void theJsPeerFindsUsThroughAThirdNode() {
        JsLibp2pPeer.DhtPeer found = a.findPeer(node.peerId().toString(), WAIT);
        assertThat(found.addrs()).anySatisfy(addr -> assertThat(addr).startsWith(node.listenAddresses().get(0).toString()));
    }

    @Test
    void valuesCrossBothWays() throws Exception {
        byte[] ours = "from peersocket".getBytes(StandardCharsets.UTF_8);
        Kademlia.PutValueResult put = kad.putValue("/test/from-java".getBytes(StandardCharsets.UTF_8), ours)
                .get(30, TimeUnit.SECONDS);
        assertThat(put.stored()).isPositive();
        assertThat(a.get("/test/from-java", WAIT).value()).isEqualTo(ours);

        byte[] theirs = "from js".getBytes(StandardCharsets.UTF_8);
        a.put("/test/from-js", theirs, WAIT);
        Kademlia.GetValueResult got = kad.getValue("/test/from-js".getBytes(StandardCharsets.UTF_8)).get(30, TimeUnit.SECONDS);
        assertThat(got.value()).isEqualTo(theirs);
    }

    @Test
    void providerRecordsCrossBothWays() throws Exception {
        byte[] ourContent = multihash("content provided by peersocket");
        assertThat(kad.provide(ourContent).get(30, TimeUnit.SECONDS).announced()).isPositive();
        assertThat(a.findProvidersOfMultihash(ourContent, 5, WAIT))
                .extracting(JsLibp2pPeer.DhtPeer::peerId).contains(node.peerId().toString());

        byte[] theirContent = multihash("content provided by js");
        a.provideMultihash(theirContent, WAIT);
        List<KadPeer> providers = kad.findProviders(theirContent).get(30, TimeUnit.SECONDS).providers();
        assertThat(providers).extracting(KadPeer::id).contains(PeerId.parse(a.peerId()));
    }

    private static byte[] multihash(String text) throws Exception {
        byte[] d = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        byte[] mh = new byte[34];
        mh[0] = 0x12;
        mh[1] = 32;
        System.arraycopy(d, 0, mh, 2, 32);
        return mh;
    }
}
