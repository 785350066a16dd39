package io.peersocket.protocol.pubsub;

import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import java.nio.charset.StandardCharsets;

/**
 * Decodes and bounds pubsub RPCs ({@code pubsub.pb.RPC}, libp2p specs pubsub/README.md). On the wire every RPC is
 * an unsigned-varint length and the protobuf bytes, on a long-lived stream per direction; the framing is done by
 * {@link io.peersocket.util.FrameDecoder} with the frame limit, this class checks what is inside. Thread-safe.
 */
public final class PubSubCodec {
    /** Longest message id accepted in IHAVE / IWANT / IDONTWANT, bytes. */
    public static final int MAX_MESSAGE_ID_BYTES = 256;
    /** The prefix of the bytes a message signature covers (pubsub/README.md "Message Signing"). */
    static final byte[] SIGN_PREFIX = "libp2p-pubsub:".getBytes(StandardCharsets.US_ASCII);

    /**
     * Limits applied to one RPC.
     *
     * @param maxSubscriptions subscription changes per RPC
     * @param maxMessages messages per RPC
     * @param maxControl IHAVE + IWANT + GRAFT + PRUNE + IDONTWANT entries per RPC
     * @param maxIds message ids over all IHAVE, IWANT and IDONTWANT entries of the RPC
     * @param maxTopicBytes longest topic (UTF-8 bytes)
     * @param maxPeersPerPrune peer-exchange entries per PRUNE
     */
    public record Limits(int maxSubscriptions, int maxMessages, int maxControl, int maxIds, int maxTopicBytes,
                         int maxPeersPerPrune) {
        static Limits of(GossipSubConfig c) {
            return new Limits(c.maxTopicsPerPeer(), c.maxMessagesPerRpc(), c.maxControlPerRpc(),
                    c.maxIHaveLength() * 2, c.maxTopicBytes(), Math.max(16, c.prunePeers() * 4));
        }

        /** Limits of {@link GossipSubConfig#defaults()}. */
        public static Limits defaults() { return of(GossipSubConfig.defaults()); }
    }

    private PubSubCodec() {}

    /**
     * Parses one RPC frame and checks it against {@code limits}.
     *
     * @throws PubSubProtocolException naming the bad part: not a protobuf RPC, a count over a limit, an over-long
     *     topic or message id
     */
    public static RpcProto.RPC decode(byte[] frame, Limits limits) {
        RpcProto.RPC rpc;
        try {
            rpc = RpcProto.RPC.parseFrom(frame);
        } catch (InvalidProtocolBufferException e) {
            throw new PubSubProtocolException("malformed pubsub RPC: " + e.getMessage(), e);
        }
        check(rpc.getSubscriptionsCount(), limits.maxSubscriptions(), "subscriptions");
        check(rpc.getPublishCount(), limits.maxMessages(), "messages");
        for (RpcProto.RPC.SubOpts s : rpc.getSubscriptionsList()) topic(s.getTopicid(), limits, "subscription");
        for (RpcProto.Message m : rpc.getPublishList()) topic(m.getTopic(), limits, "message");
        if (rpc.hasControl()) {
            RpcProto.ControlMessage c = rpc.getControl();
            check(c.getIhaveCount() + c.getIwantCount() + c.getGraftCount() + c.getPruneCount() + c.getIdontwantCount(),
                    limits.maxControl(), "control entries");
            int ids = 0;
            for (RpcProto.ControlIHave h : c.getIhaveList()) {
                topic(h.getTopicID(), limits, "IHAVE");
                ids += h.getMessageIDsCount();
                for (com.google.protobuf.ByteString id : h.getMessageIDsList()) messageId(id, "IHAVE");
            }
            for (RpcProto.ControlIWant w : c.getIwantList()) {
                ids += w.getMessageIDsCount();
                for (com.google.protobuf.ByteString id : w.getMessageIDsList()) messageId(id, "IWANT");
            }
            for (RpcProto.ControlIDontWant w : c.getIdontwantList()) {
                ids += w.getMessageIDsCount();
                for (com.google.protobuf.ByteString id : w.getMessageIDsList()) messageId(id, "IDONTWANT");
            }
            check(ids, limits.maxIds(), "message ids in control");
            for (RpcProto.ControlGraft g : c.getGraftList()) topic(g.getTopicID(), limits, "GRAFT");
            for (RpcProto.ControlPrune p : c.getPruneList()) {
                topic(p.getTopicID(), limits, "PRUNE");
                check(p.getPeersCount(), limits.maxPeersPerPrune(), "PRUNE peers");
            }
        }
        return rpc;
    }

    /** The bytes a signature covers: the prefix and the message without {@code signature} and {@code key}. */
    static byte[] signedBytes(RpcProto.Message m) {
        byte[] body = m.toBuilder().clearSignature().clearKey().build().toByteArray();
        byte[] out = new byte[SIGN_PREFIX.length + body.length];
        System.arraycopy(SIGN_PREFIX, 0, out, 0, SIGN_PREFIX.length);
        System.arraycopy(body, 0, out, SIGN_PREFIX.length, body.length);
        return out;
    }

    private static void check(int count, int max, String what) {
        if (count > max) throw new PubSubProtocolException("pubsub RPC has " + count + " " + what + ", limit " + max);
    }

    private static void topic(String topic, Limits limits, String where) {
        // String length is in UTF-16 units: at most 3 UTF-8 bytes each, so only long strings need encoding.
        if (topic.length() * 3 > limits.maxTopicBytes()
                && topic.getBytes(StandardCharsets.UTF_8).length > limits.maxTopicBytes()) {
            throw new PubSubProtocolException(where + " topic longer than " + limits.maxTopicBytes() + " bytes");
        }
    }

    private static void messageId(com.google.protobuf.ByteString id, String where) {
        if (id.size() > MAX_MESSAGE_ID_BYTES) {
            throw new PubSubProtocolException(where + " message id of " + id.size() + " bytes, limit " + MAX_MESSAGE_ID_BYTES);
        }
    }
}
