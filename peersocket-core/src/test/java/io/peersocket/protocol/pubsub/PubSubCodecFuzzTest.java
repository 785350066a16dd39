package io.peersocket.protocol.pubsub;

import static org.assertj.core.api.Assertions.assertThat;

import com.code_intelligence.jazzer.junit.FuzzTest;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import io.peersocket.util.FrameDecoder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Jazzer targets for the pubsub RPC decoder. Regression mode (seeds in {@code PubSubCodecFuzzTestInputs/<method>/})
 * runs in the normal test suite; {@code JAZZER_FUZZ=1} fuzzes.
 *
 * <p>Property: bad input fails only with {@link PubSubProtocolException} (or a {@link FrameDecoder.FrameException}
 * for the framing); an accepted RPC respects every limit and survives re-encoding unchanged.
 */
class PubSubCodecFuzzTest {
    private static final PubSubCodec.Limits LIMITS = PubSubCodec.Limits.defaults();

    @FuzzTest
    void decode(byte[] data) {
        RpcProto.RPC rpc;
        try {
            rpc = PubSubCodec.decode(data, LIMITS);
        } catch (PubSubProtocolException expected) {
            return;
        }
        checkAccepted(rpc);
    }

    /** The bytes as an inbound pubsub stream: varint-framed RPCs, 1 MiB frame limit. */
    @FuzzTest
    void framed(byte[] data) {
        FrameDecoder decoder = new FrameDecoder(GossipSubConfig.defaults().maxFrameBytes());
        List<RpcProto.RPC> out = new ArrayList<>();
        try {
            decoder.feed(data, frame -> {
                try {
                    out.add(PubSubCodec.decode(frame, LIMITS));
                } catch (PubSubProtocolException e) {
                    // dropped whole; the stream goes on
                }
            });
        } catch (FrameDecoder.FrameException expected) {
            // stream reset; RPCs before the bad frame were delivered
        }
        for (RpcProto.RPC rpc : out) checkAccepted(rpc);
    }

    private static void checkAccepted(RpcProto.RPC rpc) {
        assertThat(rpc.getSubscriptionsCount()).isLessThanOrEqualTo(LIMITS.maxSubscriptions());
        assertThat(rpc.getPublishCount()).isLessThanOrEqualTo(LIMITS.maxMessages());
        for (RpcProto.Message m : rpc.getPublishList()) {
            assertThat(m.getTopic().getBytes(StandardCharsets.UTF_8).length).isLessThanOrEqualTo(LIMITS.maxTopicBytes());
        }
        if (rpc.hasControl()) {
            RpcProto.ControlMessage c = rpc.getControl();
            assertThat(c.getIhaveCount() + c.getIwantCount() + c.getGraftCount() + c.getPruneCount()
                    + c.getIdontwantCount()).isLessThanOrEqualTo(LIMITS.maxControl());
            for (RpcProto.ControlIHave h : c.getIhaveList()) {
                for (var id : h.getMessageIDsList()) assertThat(id.size()).isLessThanOrEqualTo(PubSubCodec.MAX_MESSAGE_ID_BYTES);
            }
            for (RpcProto.ControlIWant w : c.getIwantList()) {
                for (var id : w.getMessageIDsList()) assertThat(id.size()).isLessThanOrEqualTo(PubSubCodec.MAX_MESSAGE_ID_BYTES);
            }
            for (RpcProto.ControlIDontWant w : c.getIdontwantList()) {
                for (var id : w.getMessageIDsList()) assertThat(id.size()).isLessThanOrEqualTo(PubSubCodec.MAX_MESSAGE_ID_BYTES);
            }
            for (RpcProto.ControlPrune p : c.getPruneList()) {
                assertThat(p.getPeersCount()).isLessThanOrEqualTo(LIMITS.maxPeersPerPrune());
            }
        }
        RpcProto.RPC back = PubSubCodec.decode(rpc.toByteArray(), LIMITS);
        assertThat(back).isEqualTo(rpc);
    }
}
