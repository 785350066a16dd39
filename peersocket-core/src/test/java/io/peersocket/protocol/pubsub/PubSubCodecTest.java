package io.peersocket.protocol.pubsub;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.ByteString;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import java.util.HexFormat;
import org.junit.jupiter.api.Test;

class PubSubCodecTest {
    private static final PubSubCodec.Limits LIMITS = PubSubCodec.Limits.defaults();

    @Test
    void decodesARealRpc() {
        // subscriptions {subscribe: true, topicid: "t"}; control {graft {topicID: "t"}}
        byte[] bytes = HexFormat.of().parseHex("0a050801120174" + "1a05" + "1a03" + "0a0174");
        RpcProto.RPC rpc = PubSubCodec.decode(bytes, LIMITS);
        assertThat(rpc.getSubscriptions(0).getTopicid()).isEqualTo("t");
        assertThat(rpc.getSubscriptions(0).getSubscribe()).isTrue();
        assertThat(rpc.getControl().getGraft(0).getTopicID()).isEqualTo("t");
    }

    @Test
    void rejectsCountsOverTheLimitsNamingThePart() {
        RpcProto.RPC.Builder many = RpcProto.RPC.newBuilder();
        for (int i = 0; i < 1_001; i++) many.addPublish(RpcProto.Message.newBuilder().setTopic("t"));
        assertThatThrownBy(() -> PubSubCodec.decode(many.build().toByteArray(), LIMITS))
                .isInstanceOf(PubSubProtocolException.class).hasMessageContaining("1001 messages, limit 1000");
        RpcProto.RPC.Builder subs = RpcProto.RPC.newBuilder();
        for (int i = 0; i < 1_001; i++) subs.addSubscriptions(RpcProto.RPC.SubOpts.newBuilder().setTopicid("t" + i));
        assertThatThrownBy(() -> PubSubCodec.decode(subs.build().toByteArray(), LIMITS))
                .hasMessageContaining("subscriptions");
        RpcProto.RPC longTopic = RpcProto.RPC.newBuilder()
                .addSubscriptions(RpcProto.RPC.SubOpts.newBuilder().setTopicid("x".repeat(1_025))).build();
        assertThatThrownBy(() -> PubSubCodec.decode(longTopic.toByteArray(), LIMITS)).hasMessageContaining("topic longer");
        RpcProto.RPC longId = RpcProto.RPC.newBuilder().setControl(RpcProto.ControlMessage.newBuilder()
                .addIwant(RpcProto.ControlIWant.newBuilder().addMessageIDs(ByteString.copyFrom(new byte[257])))).build();
        assertThatThrownBy(() -> PubSubCodec.decode(longId.toByteArray(), LIMITS)).hasMessageContaining("IWANT message id of 257");
        RpcProto.RPC longDontWant = RpcProto.RPC.newBuilder().setControl(RpcProto.ControlMessage.newBuilder()
                .addIdontwant(RpcProto.ControlIDontWant.newBuilder().addMessageIDs(ByteString.copyFrom(new byte[257])))).build();
        assertThatThrownBy(() -> PubSubCodec.decode(longDontWant.toByteArray(), LIMITS))
                .hasMessageContaining("IDONTWANT message id of 257");
        RpcProto.ControlIDontWant.Builder manyIds = RpcProto.ControlIDontWant.newBuilder();
        for (int i = 0; i <= LIMITS.maxIds(); i++) manyIds.addMessageIDs(ByteString.copyFrom(new byte[] {(byte) i}));
        RpcProto.RPC tooMany = RpcProto.RPC.newBuilder().setControl(RpcProto.ControlMessage.newBuilder().addIdontwant(manyIds)).build();
        assertThatThrownBy(() -> PubSubCodec.decode(tooMany.toByteArray(), LIMITS)).hasMessageContaining("message ids in control");
        assertThatThrownBy(() -> PubSubCodec.decode(new byte[] {0x0a, 0x05, 0x01}, LIMITS))
                .hasMessageStartingWith("malformed pubsub RPC");
    }
}
