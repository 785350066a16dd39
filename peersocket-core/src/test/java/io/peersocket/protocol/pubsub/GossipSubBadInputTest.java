package io.peersocket.protocol.pubsub;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.peersocket.identity.HostKey;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Varint;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Hostile pubsub input from a raw stream (node 1 runs no pubsub and writes hand-made frames to node 0): bad
 * signatures, replays, oversized and malformed frames, RPCs over the limits and IHAVE floods are rejected, counted
 * and scored, and node 0 keeps serving.
 */
class GossipSubBadInputTest {
    private static final String TOPIC = "t";

    private static ByteString bs(byte[] b) { return ByteString.copyFrom(b); }

    static RpcProto.Message signed(HostKey k, String topic, String data, long seq) {
        RpcProto.Message.Builder b = RpcProto.Message.newBuilder().setFrom(bs(k.peerId().toBytes()))
                .setSeqno(bs(ByteBuffer.allocate(8).putLong(seq).array())).setTopic(topic)
                .setData(bs(data.getBytes(StandardCharsets.UTF_8)));
        b.setSignature(bs(k.sign(PubSubCodec.signedBytes(b.build()))));
        return b.build();
    }

    static byte[] frame(RpcProto.Message... ms) {
        RpcProto.RPC.Builder b = RpcProto.RPC.newBuilder();
        for (RpcProto.Message m : ms) b.addPublish(m);
        return FrameDecoder.frame(b.build().toByteArray());
    }

    /** Node 0: pubsub, subscribed to {@link #TOPIC}; node 1: no pubsub; node 2: pubsub, subscribed. */
    private static final class Fixture implements AutoCloseable {
        final PubSubNet net = new PubSubNet();
        final List<String> got = new ArrayList<>();
        final AtomicReference<Throwable> closed = new AtomicReference<>();
        boolean streamClosed;
        Stream raw;

        Fixture() {
            net.start(GossipSubConfig.defaults());
            net.start(null);
            net.start(GossipSubConfig.defaults());
            net.ps(0).subscribe(TOPIC, m -> got.add(new String(m.data(), StandardCharsets.UTF_8)));
            net.ps(2).subscribe(TOPIC, m -> { });
            net.connect(2, 0);
            net.connect(1, 0);
            net.advance(1_500);
            raw = openRaw();
        }

        Stream openRaw() {
            streamClosed = false;
            return net.rawStream(1, 0, new StreamHandler() {
                @Override public void onData(Stream s, byte[] d) { }

                @Override public void onClosed(Stream s, Throwable cause) {
                    streamClosed = true;
                    closed.set(cause);
                }
            });
        }

        void write(byte[] bytes) {
            raw.write(bytes);
            net.advance(20);
        }

        long counter(String name) { return net.node(0).counters().get(name); }

        double scoreOfRaw() { return net.await(net.ps(0).score(net.node(1).peerId())); }

        /** Node 2 publishes {@code text}; returns whether node 0 delivered it. */
        boolean stillServes(String text) {
            net.await(net.ps(2).publish(TOPIC, text.getBytes(StandardCharsets.UTF_8)));
            net.advance(50);
            return got.contains(text);
        }

        @Override public void close() { net.close(); }
    }

    @Test
    void badSignaturesAreRejectedAndScoredUntilThePeerIsGraylisted() {
        try (Fixture f = new Fixture()) {
            HostKey sender = f.net.node(1).hostKey();
            RpcProto.Message good = signed(sender, TOPIC, "real", 1);
            RpcProto.Message forged = good.toBuilder().setData(bs("forged".getBytes(StandardCharsets.UTF_8))).build();
            f.write(frame(forged));
            assertThat(f.got).isEmpty();
            assertThat(f.counter("pubsub.message.rejected.signature")).isEqualTo(1);
            assertThat(f.scoreOfRaw()).isEqualTo(-10.0); // P4: -10 × 1²
            // signed by someone else's key but claiming to be from node 1
            RpcProto.Message wrongKey = signed(HostKey.generate(), TOPIC, "x", 2).toBuilder()
                    .setFrom(bs(sender.peerId().toBytes())).build();
            RpcProto.Message noSeqno = good.toBuilder().clearSeqno().build();
            f.write(frame(wrongKey, noSeqno));
            assertThat(f.counter("pubsub.message.rejected.signature")).isEqualTo(3);
            assertThat(f.scoreOfRaw()).isLessThan(-80.0); // -10 × 3² = -90: below the graylist threshold
            f.write(frame(good));
            assertThat(f.counter("pubsub.rpc.graylisted")).isEqualTo(1);
            assertThat(f.got).isEmpty();
            assertThat(f.stillServes("from node 2")).isTrue();
        }
    }

    @Test
    void aReplayIsDeliveredOnce() {
        try (Fixture f = new Fixture()) {
            RpcProto.Message m = signed(f.net.node(1).hostKey(), TOPIC, "once", 7);
            f.write(frame(m));
            f.write(frame(m));
            f.write(frame(m, m));
            assertThat(f.got).containsExactly("once");
            assertThat(f.counter("pubsub.message.duplicate")).isEqualTo(3);
            assertThat(f.scoreOfRaw()).isPositive(); // P2: a first delivery
        }
    }

    @Test
    void aDuplicateIsDroppedByItsIdBeforeItsSignatureIsChecked() {
        try (Fixture f = new Fixture()) {
            RpcProto.Message m = signed(f.net.node(1).hostKey(), TOPIC, "first", 11);
            f.write(frame(m));
            double before = f.scoreOfRaw();
            // same from and seqno (same id), broken signature: a duplicate, not a signature failure (not checked)
            RpcProto.Message copy = m.toBuilder().setSignature(bs(new byte[64])).build();
            f.write(frame(copy));
            assertThat(f.got).containsExactly("first");
            assertThat(f.counter("pubsub.message.duplicate")).isEqualTo(1);
            assertThat(f.counter("pubsub.message.rejected.signature")).isZero();
            assertThat(f.scoreOfRaw()).isEqualTo(before);
        }
    }

    @Test
    void aForgedCopyDoesNotMarkTheRealMessageSeen() {
        try (Fixture f = new Fixture()) {
            RpcProto.Message real = signed(f.net.node(1).hostKey(), TOPIC, "real", 12);
            RpcProto.Message forged = real.toBuilder().setData(bs("forged".getBytes(StandardCharsets.UTF_8))).build();
            f.write(frame(forged)); // arrives first, same id, bad signature
            assertThat(f.counter("pubsub.message.rejected.signature")).isEqualTo(1);
            f.write(frame(real));
            assertThat(f.got).containsExactly("real");
            assertThat(f.counter("pubsub.message.duplicate")).isZero();
        }
    }

    @Test
    void anOversizedFrameResetsTheStreamAndTheNodeKeepsServing() {
        try (Fixture f = new Fixture()) {
            byte[] len = Varint.encode(2L << 20); // 2 MiB declared, over the 1 MiB limit
            byte[] bytes = new byte[len.length + 100];
            System.arraycopy(len, 0, bytes, 0, len.length);
            f.write(bytes);
            assertThat(f.counter("pubsub.rpc.oversize")).isEqualTo(1);
            assertThat(f.streamClosed).as("stream reset").isTrue();
            assertThat(f.scoreOfRaw()).isNegative(); // P7 behaviour penalty
            assertThat(f.stillServes("after oversize")).isTrue();
            f.raw = f.openRaw();
            f.write(frame(signed(f.net.node(1).hostKey(), TOPIC, "new stream", 1)));
            assertThat(f.got).contains("new stream");
        }
    }

    @Test
    void malformedAndOverLimitRpcsAreDroppedWholeAndPenalised() {
        try (Fixture f = new Fixture()) {
            RpcProto.Message noTopic = RpcProto.Message.newBuilder().setData(bs(new byte[3])).build();
            f.write(frame(noTopic));
            assertThat(f.counter("pubsub.message.rejected.no_topic")).isEqualTo(1);
            f.write(FrameDecoder.frame(new byte[] {0x0a, 0x05, 0x01})); // field 1 claims 5 bytes, has 1
            assertThat(f.counter("pubsub.rpc.malformed")).isEqualTo(1);
            assertThat(f.scoreOfRaw()).isEqualTo(-40.0); // P7: -10 × 2²
            // The stream survived (frame boundaries held): a good message on it is delivered.
            RpcProto.Message m = signed(f.net.node(1).hostKey(), TOPIC, "m", 1);
            f.write(frame(m));
            assertThat(f.got).containsExactly("m");
            RpcProto.ControlIHave.Builder ih = RpcProto.ControlIHave.newBuilder().setTopicID(TOPIC);
            for (int i = 0; i <= 10_000; i++) ih.addMessageIDs(bs(new byte[] {(byte) i, (byte) (i >> 8)}));
            f.write(FrameDecoder.frame(RpcProto.RPC.newBuilder()
                    .setControl(RpcProto.ControlMessage.newBuilder().addIhave(ih)).build().toByteArray()));
            assertThat(f.counter("pubsub.rpc.malformed")).isEqualTo(2);
            assertThat(f.counter("pubsub.iwant.sent")).isZero(); // dropped whole, not answered
            // three offences: -10 × 3² = -90, below the graylist threshold: further RPCs are not even read
            f.write(frame(signed(f.net.node(1).hostKey(), TOPIC, "late", 2_000)));
            assertThat(f.counter("pubsub.rpc.graylisted")).isEqualTo(1);
            assertThat(f.got).containsExactly("m");
            assertThat(f.streamClosed).isFalse();
            assertThat(f.stillServes("still")).isTrue();
        }
    }

    @Test
    void anIHaveFloodIsCappedPerHeartbeatAndBrokenPromisesArePenalised() {
        try (Fixture f = new Fixture()) {
            for (int i = 0; i < 15; i++) {
                RpcProto.ControlIHave ih = RpcProto.ControlIHave.newBuilder().setTopicID(TOPIC)
                        .addMessageIDs(bs(new byte[] {1, (byte) i})).build();
                f.raw.write(FrameDecoder.frame(RpcProto.RPC.newBuilder()
                        .setControl(RpcProto.ControlMessage.newBuilder().addIhave(ih)).build().toByteArray()));
            }
            f.net.advance(20); // all 15 arrive within one heartbeat
            assertThat(f.counter("pubsub.ihave.in")).isEqualTo(15);
            assertThat(f.counter("pubsub.iwant.sent")).isEqualTo(10);
            assertThat(f.counter("pubsub.ihave.flood")).isEqualTo(5);
            // none of the announced messages comes: each IWANT's promise breaks after 3 s
            f.net.advance(5_000);
            assertThat(f.counter("pubsub.iwant.broken_promise")).isEqualTo(10);
            assertThat(f.scoreOfRaw()).isNegative();
            assertThat(f.stillServes("ok")).isTrue();
        }
    }
}
