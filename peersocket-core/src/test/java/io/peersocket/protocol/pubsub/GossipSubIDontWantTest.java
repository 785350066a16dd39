package io.peersocket.protocol.pubsub;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.memory.MemoryNetwork;
import io.peersocket.util.FrameDecoder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * gossipsub v1.2 IDONTWANT (libp2p specs pubsub/gossipsub/gossipsub-v1.2.md): negotiation of {@code /meshsub/1.2.0},
 * IDONTWANT sent for large messages before validation, a peer that sent IDONTWANT is skipped when forwarding and
 * answering IWANT, and the per-peer IDONTWANT state is bounded per heartbeat and expires.
 */
class GossipSubIDontWantTest {
    private static final String TOPIC = "t";

    /**
     * Nodes 0, 1, 2, all connected and subscribed; links 0-1 and 1-2 take 5 ms, 0-2 takes 50 ms. Node 1's
     * validator ignores everything (so it never forwards); node 2's only copy of node 0's message comes over the
     * slow link, after node 1's IDONTWANT.
     */
    private static PubSubNet triangle(GossipSubConfig node1) {
        PubSubNet net = new PubSubNet();
        net.start(GossipSubConfig.defaults());
        net.start(node1);
        net.start(GossipSubConfig.defaults());
        net.network.setLink(net.node(0).peerId(), net.node(2).peerId(), new MemoryNetwork.LinkConditions(50, 0));
        for (int i = 0; i < 3; i++) net.ps(i).subscribe(TOPIC, m -> { });
        net.ps(1).addValidator(TOPIC, m -> ValidationResult.IGNORE);
        net.connect(0, 1);
        net.connect(1, 2);
        net.connect(0, 2);
        net.advance(3_000);
        for (int i = 0; i < 3; i++) assertThat(net.ps(i).meshOnLoop(TOPIC)).as("mesh of %d", i).hasSize(2);
        return net;
    }

    private static long counter(PubSubNet net, int node, String name) { return net.node(node).counters().get(name); }

    @Test
    void nodesNegotiateV12AndAPeerThatSaidIDontWantIsNotSentTheMessage() {
        try (PubSubNet net = triangle(GossipSubConfig.defaults())) {
            assertThat(net.ps(1).protocolTo(net.node(2).peerId())).isEqualTo(GossipSub.PROTOCOL_V12);
            assertThat(net.ps(0).protocolTo(net.node(1).peerId())).isEqualTo(GossipSub.PROTOCOL_V12);
            net.await(net.ps(0).publish(TOPIC, new byte[2_000]));
            net.advance(200);
            // node 1 told node 2 (not node 0, the sender) before its validator ran
            assertThat(counter(net, 1, "pubsub.idontwant.sent")).isEqualTo(1);
            assertThat(counter(net, 2, "pubsub.idontwant.in")).isEqualTo(1);
            assertThat(net.ps(2).dontWantSize(net.node(1).peerId())).isEqualTo(1);
            // node 2 got the message from node 0 and forwarded it to nobody: node 1 did not want it, node 0 wrote it
            assertThat(counter(net, 2, "pubsub.message.delivered")).isEqualTo(1);
            assertThat(counter(net, 2, "pubsub.idontwant.skipped")).isEqualTo(1);
            assertThat(counter(net, 1, "pubsub.message.received")).isEqualTo(1);
            assertThat(counter(net, 1, "pubsub.message.duplicate")).isZero();
            // the ids expire after IDONTWANT_TTL_HEARTBEATS heartbeats
            net.advance(1_000L * (GossipSub.IDONTWANT_TTL_HEARTBEATS + 1));
            assertThat(net.ps(2).dontWantSize(net.node(1).peerId())).isZero();
        }
    }

    @Test
    void withoutIDontWantOrForASmallMessageTheDuplicateIsSent() {
        try (PubSubNet net = triangle(GossipSubConfig.defaults().withIDontWant(Integer.MAX_VALUE, 1_000))) {
            net.await(net.ps(0).publish(TOPIC, new byte[2_000]));
            net.advance(200);
            assertThat(counter(net, 1, "pubsub.idontwant.sent")).isZero();
            assertThat(counter(net, 1, "pubsub.message.duplicate")).isEqualTo(1); // node 2's forward
        }
        try (PubSubNet net = triangle(GossipSubConfig.defaults())) {
            net.await(net.ps(0).publish(TOPIC, new byte[100])); // under the 1024-byte threshold
            net.advance(200);
            assertThat(counter(net, 1, "pubsub.idontwant.sent")).isZero();
            assertThat(counter(net, 1, "pubsub.message.duplicate")).isEqualTo(1);
        }
    }

    private static byte[] idontwant(int from, int count) {
        RpcProto.ControlIDontWant.Builder w = RpcProto.ControlIDontWant.newBuilder();
        for (int i = from; i < from + count; i++) w.addMessageIDs(ByteString.copyFrom(new byte[] {9, (byte) (i >> 8), (byte) i}));
        return FrameDecoder.frame(RpcProto.RPC.newBuilder()
                .setControl(RpcProto.ControlMessage.newBuilder().addIdontwant(w)).build().toByteArray());
    }

    @Test
    void idontwantStateIsBoundedPerHeartbeatAndIWantIsNotAnsweredForIt() {
        try (PubSubNet net = new PubSubNet()) {
            net.start(GossipSubConfig.defaults().withIDontWant(1_024, 100));
            net.start(null); // raw peer: writes hand-made frames
            net.ps(0).subscribe(TOPIC, m -> { });
            net.connect(1, 0);
            net.advance(1_500);
            List<byte[]> ignored = new ArrayList<>();
            Stream raw = net.rawStream(1, 0, new StreamHandler() {
                @Override public void onData(Stream s, byte[] d) { ignored.add(d); }
            });
            raw.write(idontwant(0, 150));
            net.advance(20);
            assertThat(counter(net, 0, "pubsub.idontwant.in")).isEqualTo(100);
            assertThat(counter(net, 0, "pubsub.idontwant.over_limit")).isEqualTo(1);
            assertThat(net.ps(0).dontWantSize(net.node(1).peerId())).isEqualTo(100);
            net.advance(1_000); // a heartbeat resets the per-heartbeat budget
            raw.write(idontwant(150, 50));
            net.advance(20);
            assertThat(counter(net, 0, "pubsub.idontwant.in")).isEqualTo(150);
            assertThat(net.ps(0).dontWantSize(net.node(1).peerId())).isEqualTo(150);
            // an own message: an IWANT for it from a peer that said IDONTWANT for it is not answered
            GossipSub.PublishResult r = net.await(net.ps(0).publish(TOPIC, new byte[10]));
            ByteString id = ByteString.copyFrom(r.id().raw());
            raw.write(FrameDecoder.frame(RpcProto.RPC.newBuilder().setControl(RpcProto.ControlMessage.newBuilder()
                    .addIdontwant(RpcProto.ControlIDontWant.newBuilder().addMessageIDs(id))
                    .addIwant(RpcProto.ControlIWant.newBuilder().addMessageIDs(id))).build().toByteArray()));
            net.advance(20);
            assertThat(counter(net, 0, "pubsub.iwant.in")).isEqualTo(1);
            assertThat(counter(net, 0, "pubsub.idontwant.skipped")).isEqualTo(1);
            assertThat(counter(net, 0, "pubsub.iwant.served")).isZero();
            // everything expires: nothing is kept for a peer beyond IDONTWANT_TTL_HEARTBEATS heartbeats
            net.advance(1_000L * (GossipSub.IDONTWANT_TTL_HEARTBEATS + 1));
            assertThat(net.ps(0).dontWantSize(net.node(1).peerId())).isZero();
        }
    }
}
