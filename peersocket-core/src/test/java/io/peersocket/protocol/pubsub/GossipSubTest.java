package io.peersocket.protocol.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** GossipSub between real nodes on the in-memory transport, in virtual time. */
class GossipSubTest {
    private static final String TOPIC = "blocks";

    private static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    @Test
    void meshFormsWithinBoundsAndEveryNodeGetsEachMessageOnce() {
        int n = 20;
        try (PubSubNet net = new PubSubNet()) {
            List<Map<String, Integer>> got = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                net.start(GossipSubConfig.defaults());
                Map<String, Integer> counts = new HashMap<>();
                got.add(counts);
                net.ps(i).subscribe(TOPIC, m -> counts.merge(new String(m.data(), StandardCharsets.UTF_8), 1, Integer::sum));
            }
            for (int i = 0; i < n; i++) for (int j = i + 1; j < n; j++) net.connect(i, j);
            net.advance(5_000);
            int total = 0;
            for (int i = 0; i < n; i++) {
                Set<PeerId> mesh = net.ps(i).meshOnLoop(TOPIC);
                // D_lo is restored at each heartbeat; a PRUNE that arrived since may leave a node a little below it
                assertThat(mesh.size()).as("mesh of node %d", i).isBetween(3, 12);
                total += mesh.size();
                for (PeerId p : mesh) {
                    // meshes are symmetric: a GRAFT is accepted or answered by a PRUNE
                    int j = indexOf(net, p);
                    assertThat(net.ps(j).meshOnLoop(TOPIC)).as("mesh of %d contains %d", j, i).contains(net.node(i).peerId());
                }
            }
            assertThat(total / (double) n).as("mean mesh size").isBetween(5.0, 9.0);
            assertThat(net.await(net.ps(0).topicPeers(TOPIC))).hasSize(n - 1);
            GossipSub.PublishResult r = net.await(net.ps(3).publish(TOPIC, utf8("hello")));
            assertThat(r.peers()).isEqualTo(n - 1); // flood publish
            net.advance(1_000);
            for (int i = 0; i < n; i++) {
                if (i == 3) assertThat(got.get(i)).isEmpty(); // own messages are not delivered to own handlers
                else assertThat(got.get(i)).as("node %d", i).containsExactly(Map.entry("hello", 1));
            }
            long dups = 0;
            for (Node node : net.nodes) dups += node.counters().get("pubsub.message.duplicate");
            assertThat(dups).isPositive(); // the mesh sends copies; the seen cache dropped them
        }
    }

    private static int indexOf(PubSubNet net, PeerId p) {
        for (int i = 0; i < net.nodes.size(); i++) if (net.node(i).peerId().equals(p)) return i;
        throw new AssertionError("unknown peer " + p);
    }

    @Test
    void graftOnSubscribeAndPruneOnUnsubscribe() {
        try (PubSubNet net = new PubSubNet()) {
            net.start(GossipSubConfig.defaults());
            net.start(GossipSubConfig.defaults());
            net.connect(0, 1);
            net.ps(0).subscribe(TOPIC, m -> { });
            net.advance(100);
            GossipSub.Subscription sub = net.ps(1).subscribe(TOPIC, m -> { });
            net.advance(50); // join grafts at once, without waiting for a heartbeat
            assertThat(net.ps(0).meshOnLoop(TOPIC)).containsExactly(net.node(1).peerId());
            assertThat(net.ps(1).meshOnLoop(TOPIC)).containsExactly(net.node(0).peerId());
            assertThat(net.node(0).counters().get("pubsub.graft.in")).isEqualTo(1);
            sub.close();
            net.advance(50);
            assertThat(net.ps(0).meshOnLoop(TOPIC)).isEmpty();
            assertThat(net.await(net.ps(0).topicPeers(TOPIC))).isEmpty();
            assertThat(net.node(0).counters().get("pubsub.prune.in")).isEqualTo(1);
            // node 1 comes back at once: node 0 keeps it out while the unsubscribe backoff (10 s) lasts
            net.ps(1).subscribe(TOPIC, m -> { });
            net.advance(1_000);
            assertThat(net.node(0).counters().get("pubsub.graft.backoff_violation")).isZero();
            net.advance(12_000);
            assertThat(net.ps(0).meshOnLoop(TOPIC)).containsExactly(net.node(1).peerId());
        }
    }

    @Test
    void gossipRepairsWhatTheMeshDidNotCarry() {
        // Degree 1: the hub keeps one leaf in its mesh; the other leaves get the message only by IHAVE/IWANT.
        GossipSubConfig c = GossipSubConfig.defaults().withDegrees(1, 1, 1).withFloodPublish(false);
        try (PubSubNet net = new PubSubNet()) {
            for (int i = 0; i < 4; i++) net.start(c);
            List<List<String>> got = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                List<String> l = new ArrayList<>();
                got.add(l);
                net.ps(i).subscribe(TOPIC, m -> l.add(new String(m.data(), StandardCharsets.UTF_8)));
            }
            for (int i = 1; i < 4; i++) net.connect(i, 0);
            net.advance(5_000);
            assertThat(net.ps(0).meshOnLoop(TOPIC)).hasSize(1);
            net.await(net.ps(0).publish(TOPIC, utf8("m1")));
            net.advance(20);
            long viaMesh = got.stream().filter(l -> !l.isEmpty()).count();
            assertThat(viaMesh).isEqualTo(1);
            net.advance(2_000); // the hub's heartbeat gossips the id to the others, who ask for it
            for (int i = 1; i < 4; i++) assertThat(got.get(i)).as("leaf %d", i).containsExactly("m1");
            assertThat(net.node(0).counters().get("pubsub.iwant.served")).isEqualTo(2);
            assertThat(net.node(0).counters().get("pubsub.ihave.sent")).isGreaterThanOrEqualTo(2);
        }
    }

    @Test
    void aFullMeshPrunesWithPeerExchangeAndThePrunedPeersConnectToTheOffers() {
        // The hub takes two mesh peers (D_hi 2); later GRAFTs from inbound peers get a PRUNE listing the other
        // topic peers, whose addresses the leaves know but have not dialled. A leaf knows one topic peer (the hub),
        // fewer than D_hi, so it dials one offer.
        GossipSubConfig c = GossipSubConfig.defaults().withDegrees(2, 1, 2);
        int n = 6;
        try (PubSubNet net = new PubSubNet()) {
            for (int i = 0; i < n; i++) net.start(c).pubsub().subscribe(TOPIC, m -> { });
            for (int i = 1; i < n; i++) {
                for (int j = 1; j < n; j++) {
                    if (i != j) net.node(i).addAddresses(net.node(j).peerId(), net.node(j).listenAddresses());
                }
            }
            for (int i = 1; i < n; i++) net.connect(i, 0);
            net.advance(3_000);
            assertThat(net.node(0).counters().get("pubsub.prune.sent")).isPositive();
            long dials = 0;
            for (int i = 1; i < n; i++) dials += net.node(i).counters().get("pubsub.px.dial");
            assertThat(dials).isPositive();
            int leafLinks = 0;
            for (int i = 1; i < n; i++) {
                for (PeerId p : net.await(net.node(i).connectedPeers())) if (!p.equals(net.node(0).peerId())) leafLinks++;
            }
            assertThat(leafLinks).as("connections between leaves, made from PX").isPositive();
        }
    }

    @Test
    void prunedPeersRespectTheBackoff() {
        GossipSubConfig c = GossipSubConfig.defaults().withDegrees(1, 1, 1);
        try (PubSubNet net = new PubSubNet()) {
            for (int i = 0; i < 3; i++) net.start(c).pubsub().subscribe(TOPIC, m -> { });
            net.connect(1, 0);
            net.connect(2, 0);
            net.advance(3_000);
            assertThat(net.node(0).counters().get("pubsub.prune.sent")).isPositive();
            // the pruned leaf backs off: no GRAFT during the backoff, so no violation is counted at the hub
            net.advance(30_000);
            assertThat(net.node(0).counters().get("pubsub.graft.backoff_violation")).isZero();
        }
    }

    @Test
    void validatorRejectsAndIgnores() {
        try (PubSubNet net = new PubSubNet()) {
            net.start(GossipSubConfig.defaults());
            net.start(GossipSubConfig.defaults());
            List<String> got = new ArrayList<>();
            net.ps(1).subscribe(TOPIC, m -> got.add(new String(m.data(), StandardCharsets.UTF_8)));
            net.ps(1).addValidator(TOPIC, m -> switch (new String(m.data(), StandardCharsets.UTF_8)) {
                case "bad" -> ValidationResult.REJECT;
                case "meh" -> ValidationResult.IGNORE;
                default -> ValidationResult.ACCEPT;
            });
            net.ps(0).subscribe(TOPIC, m -> { });
            net.connect(0, 1);
            net.advance(2_000);
            for (String s : List.of("meh", "good")) net.await(net.ps(0).publish(TOPIC, utf8(s)));
            net.advance(100);
            assertThat(got).containsExactly("good");
            assertThat(net.node(1).counters().get("pubsub.message.ignored.validator")).isEqualTo(1);
            double before = net.await(net.ps(1).score(net.node(0).peerId()));
            assertThat(before).isGreaterThanOrEqualTo(0);
            net.await(net.ps(0).publish(TOPIC, utf8("bad")));
            net.advance(100);
            assertThat(got).containsExactly("good");
            assertThat(net.node(1).counters().get("pubsub.message.rejected.validator")).isEqualTo(1);
            assertThat(net.await(net.ps(1).score(net.node(0).peerId()))).isLessThan(0);
            net.advance(1_000); // a heartbeat: a peer with a negative score leaves the mesh
            assertThat(net.ps(1).meshOnLoop(TOPIC)).doesNotContain(net.node(0).peerId());
        }
    }

    @Test
    void apiRejectsBadArguments() {
        try (PubSubNet net = new PubSubNet()) {
            net.start(GossipSubConfig.defaults());
            assertThatThrownBy(() -> net.ps(0).subscribe("", m -> { })).isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("empty topic");
            assertThatThrownBy(() -> net.ps(0).publish("x".repeat(2000), new byte[1]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("topic longer");
            assertThatThrownBy(() -> net.ps(0).publish(TOPIC, new byte[2 << 20]))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("over the limit");
            GossipSub.PublishResult r = net.await(net.ps(0).publish(TOPIC, new byte[1]));
            assertThat(r.peers()).isZero();
            assertThat(r.id().length()).isEqualTo(38 + 8); // Ed25519 peer id (38 bytes) + seqno
        }
    }
}
