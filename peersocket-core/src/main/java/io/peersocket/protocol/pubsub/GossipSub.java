package io.peersocket.protocol.pubsub;

import com.google.protobuf.ByteString;
import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.InvalidPeerIdException;
import io.peersocket.identity.PeerId;
import io.peersocket.identity.PublicKey;
import io.peersocket.negotiation.Multistream;
import io.peersocket.protocol.pubsub.pb.RpcProto;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GossipSub v1.2 pubsub ({@code /meshsub/1.2.0}, falling back to {@code /meshsub/1.1.0} and {@code /meshsub/1.0.0}),
 * byte-compatible with go-libp2p-pubsub and js-libp2p gossipsub (libp2p specs pubsub/README.md,
 * pubsub/gossipsub/gossipsub-v1.0.md, gossipsub-v1.1.md, gossipsub-v1.2.md).
 *
 * <p><b>Wire.</b> Each side opens one long-lived outbound stream to each pubsub peer and writes varint
 * length-prefixed {@code RPC} protobufs on it; it reads the peer's RPCs from the stream the peer opened. Inbound
 * frames over {@link GossipSubConfig#maxFrameBytes()} or with broken framing reset the stream; RPCs over the
 * count limits ({@link PubSubCodec.Limits}) are dropped whole. Both are counted and add a behaviour penalty.
 *
 * <p><b>Router.</b> Topics we subscribe to have a mesh of D peers (D_lo…D_hi, with D_out outbound peers kept),
 * maintained at each heartbeat by GRAFT and PRUNE; messages are forwarded to the mesh; ids of the last
 * {@code historyGossip} heartbeats are gossiped by IHAVE to {@code max(D_lazy, gossipFactor × others)} non-mesh
 * peers, who ask by IWANT. v1.1: PRUNE carries a backoff and peer exchange (peer ids only, no signed peer records:
 * a PX peer is dialled only if its address is known from identify or peer exchange, and only while this node knows
 * fewer than D_hi peers of the topic); own messages are
 * flood-published to every topic peer above the publish threshold; peer scoring ({@link PeerScoreParams}: P1, P2,
 * P3, P3b, P4, P7) with gossip, publish and graylist thresholds; IHAVE floods are capped per heartbeat and broken
 * IWANT promises penalised. v1.2: on the first copy of a message of at least
 * {@link GossipSubConfig#idontwantThresholdBytes()} (after its signature check, before validation) IDONTWANT goes to
 * the 1.2 mesh peers other than the sender; a message is never forwarded, published or answered by IWANT to a peer
 * that sent IDONTWANT for it (ids kept {@link #IDONTWANT_TTL_HEARTBEATS} heartbeats, at most
 * {@link GossipSubConfig#maxIDontWantMessages()} accepted per peer per heartbeat).
 *
 * <p><b>Messages.</b> With {@link GossipSubConfig.SignaturePolicy#STRICT_SIGN} (default) own messages carry from,
 * a seqno (8 bytes, big-endian, starting from the clock in ns) and an Ed25519 signature over
 * {@code "libp2p-pubsub:" ‖ message without signature and key}; inbound messages without a valid signature are
 * rejected (P4). Message ids come from {@link GossipSubConfig#messageId()}; a seen cache drops duplicates and
 * replays for {@link GossipSubConfig#seenTtlMs()}; the id is computed and checked against it before the signature
 * is verified, and only a verified message's id is added. Messages of topics this node is not subscribed to are ignored.
 * Own messages are not delivered to own handlers.
 *
 * <p><b>Counters</b> (on {@link Host#counters()}): {@code pubsub.rpc.in}, {@code pubsub.rpc.out},
 * {@code pubsub.rpc.malformed}, {@code pubsub.rpc.oversize}, {@code pubsub.rpc.graylisted};
 * {@code pubsub.message.published}, {@code .received}, {@code .delivered}, {@code .duplicate} (and by source:
 * {@code .duplicate.author}, {@code .duplicate.crossed}, {@code .duplicate.mesh}, {@code .duplicate.other}),
 * {@code .forwarded}, {@code .rejected.signature}, {@code .rejected.validator}, {@code .rejected.no_topic},
 * {@code .rejected.id}, {@code .ignored.validator}, {@code .ignored.not_subscribed}, {@code .ignored.own};
 * {@code pubsub.ihave.in}, {@code .ihave.sent}, {@code .ihave.flood}, {@code .iwant.sent}, {@code .iwant.in},
 * {@code .iwant.served}, {@code .iwant.broken_promise}; {@code pubsub.graft.in}, {@code .graft.sent},
 * {@code .graft.backoff_violation}, {@code .graft.opportunistic}, {@code pubsub.prune.in}, {@code .prune.sent},
 * {@code pubsub.px.dial}; {@code pubsub.idontwant.sent}, {@code .idontwant.in}, {@code .idontwant.skipped},
 * {@code .idontwant.over_limit}; {@code pubsub.subscription.over_limit}; {@code pubsub.send.dropped}, {@code .send.failed};
 * {@code pubsub.stream.open_failed}, {@code .stream.unexpected_data}; {@code pubsub.handler.failed};
 * {@code pubsub.bytes.in}, {@code pubsub.bytes.out}.
 *
 * <p><b>Threading.</b> All state lives on the host's event loop; public methods may be called from any thread.
 * Validators run on the loop (keep them quick). Each subscription's handler gets one message at a time, in arrival
 * order, on {@link GossipSubConfig#handlerExecutor()} (default: virtual threads), so a slow handler delays only its
 * own subscription. Construct before the node connects to anyone (peers identified earlier are not seen).
 */
public final class GossipSub implements AutoCloseable {
    /** gossipsub v1.2 (v1.1 and IDONTWANT); preferred. */
    public static final String PROTOCOL_V12 = "/meshsub/1.2.0";
    /** gossipsub v1.1. */
    public static final String PROTOCOL_V11 = "/meshsub/1.1.0";
    /** gossipsub v1.0 (no backoff, no PX in PRUNE). */
    public static final String PROTOCOL_V10 = "/meshsub/1.0.0";
    /** Heartbeats an IDONTWANT id received from a peer is remembered (as go-libp2p-pubsub's IDontWantMessageTTL). */
    public static final int IDONTWANT_TTL_HEARTBEATS = 3;
    /** Longest backoff accepted from a PRUNE, seconds. */
    static final long MAX_BACKOFF_S = 3_600;
    /** Opportunistic grafting runs every this many heartbeats (v1.1). */
    static final int OPPORTUNISTIC_GRAFT_TICKS = 60;
    /** Peers grafted by one opportunistic grafting round per topic. */
    static final int OPPORTUNISTIC_GRAFT_PEERS = 2;

    private static final Logger log = LoggerFactory.getLogger(GossipSub.class);

    /** What a {@link #publish} did. */
    public record PublishResult(MessageId id, int peers) {}

    /** A subscription handle; {@link #close()} removes its handler (and leaves the topic when it is the last). */
    public interface Subscription extends AutoCloseable {
        String topic();

        @Override void close();
    }

    private final Host host;
    private final HostKey key;
    private final GossipSubConfig config;
    private final EventLoop loop;
    private final Counters counters;
    private final PubSubCodec.Limits limits;
    private final Random random;
    private final PeerScore score;
    private final Executor handlerExecutor;
    private final Map<String, TopicValidator> validators = new ConcurrentHashMap<>();

    // Event-loop state.
    private final Map<PeerId, PeerState> peers = new HashMap<>();
    private final Map<String, Set<PeerId>> topicPeers = new HashMap<>();
    private final Map<String, Set<PeerId>> mesh = new HashMap<>();
    private final Map<String, Set<PeerId>> fanout = new HashMap<>();
    private final Map<String, Long> lastPublished = new HashMap<>();
    private final Map<String, List<Sub>> subscriptions = new HashMap<>();
    private final Map<String, Map<PeerId, Long>> backoff = new HashMap<>();
    private final Map<PeerId, Integer> peerHave = new HashMap<>();
    private final Map<PeerId, Integer> iasked = new HashMap<>();
    private final Map<MessageId, Map<PeerId, Long>> promises = new LinkedHashMap<>();
    private final MessageCache mcache;
    private final SeenCache seen;
    private long seqno;
    private long heartbeats;
    private EventLoop.Cancellable heartbeatTimer;
    private volatile boolean closed;

    private static final class PeerState {
        final PeerId id;
        boolean outboundConnection;
        Stream out;
        String protocol;
        boolean opening;
        boolean notPubsub;
        Stream in;
        final List<byte[]> pending = new ArrayList<>();
        int pendingBytes;
        final Set<String> topics = new HashSet<>();
        /** v1.2: ids this peer said it does not want, with the heartbeat they arrived in (oldest first). */
        final LinkedHashMap<MessageId, Long> dontWant = new LinkedHashMap<>();
        /** IDONTWANT ids accepted from this peer in the current heartbeat. */
        int dontWantThisHeartbeat;

        PeerState(PeerId id) { this.id = id; }

        /** Whether the negotiated protocol has v1.1's PRUNE backoff and peer exchange (v1.1 and later). */
        boolean v11() { return PROTOCOL_V11.equals(protocol) || PROTOCOL_V12.equals(protocol); }

        /** Whether the negotiated protocol has v1.2's IDONTWANT. */
        boolean v12() { return PROTOCOL_V12.equals(protocol); }

        boolean doesNotWant(MessageId id) { return !dontWant.isEmpty() && dontWant.containsKey(id); }
    }

    /** One handler of a topic; delivers one message at a time, in order. */
    private final class Sub implements Subscription {
        final String topic;
        final Consumer<PubSubMessage> handler;
        final ConcurrentLinkedQueue<PubSubMessage> queue = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean();
        volatile boolean cancelled;

        Sub(String topic, Consumer<PubSubMessage> handler) {
            this.topic = topic;
            this.handler = handler;
        }

        @Override public String topic() { return topic; }

        void offer(PubSubMessage m) {
            queue.add(m);
            if (running.compareAndSet(false, true)) handlerExecutor.execute(this::drain);
        }

        private void drain() {
            while (true) {
                PubSubMessage m;
                while ((m = queue.poll()) != null) {
                    if (cancelled) continue;
                    try {
                        handler.accept(m);
                    } catch (RuntimeException e) {
                        counters.increment("pubsub.handler.failed");
                        log.warn("pubsub handler of topic {} failed", topic, e);
                    }
                }
                running.set(false);
                if (queue.isEmpty() || !running.compareAndSet(false, true)) return;
            }
        }

        @Override public void close() {
            cancelled = true;
            loop.execute(() -> unsubscribe(this));
        }
    }

    /**
     * Starts gossipsub on {@code host}: registers both protocol ids, listens to peer events and schedules the
     * heartbeat.
     *
     * @param key this node's identity, used to sign own messages (its peer id must be the host's)
     */
    public GossipSub(Host host, HostKey key, GossipSubConfig config) {
        this.host = Objects.requireNonNull(host);
        this.key = Objects.requireNonNull(key);
        if (!key.peerId().equals(host.peerId())) throw new IllegalArgumentException("key is not the host's identity");
        this.config = Objects.requireNonNull(config);
        this.loop = host.loop();
        this.counters = host.counters();
        this.limits = PubSubCodec.Limits.of(config);
        this.random = new Random(Arrays.hashCode(host.peerId().toBytes()) ^ 0x5DEECE66DL);
        this.score = new PeerScore(config.score());
        this.handlerExecutor = config.handlerExecutor() != null ? config.handlerExecutor()
                : r -> Thread.ofVirtual().name("pubsub-handler").start(r);
        this.mcache = new MessageCache(config.historyGossip(), config.historyLength());
        this.seen = new SeenCache(config.seenTtlMs(), config.maxSeenIds());
        host.registerProtocol(PROTOCOL_V12, (s, id) -> onInboundStream(s, id));
        host.registerProtocol(PROTOCOL_V11, (s, id) -> onInboundStream(s, id));
        host.registerProtocol(PROTOCOL_V10, (s, id) -> onInboundStream(s, id));
        host.onPeerEvent(this::onPeerEvent);
        loop.execute(() -> {
            // Seqnos increase from the clock in ns, so they keep increasing across restarts (as go and js do).
            seqno = loop.nowMs() * 1_000_000L;
            if (!closed) heartbeatTimer = loop.schedule(this::heartbeat, config.heartbeatInitialDelayMs());
        });
    }

    public GossipSubConfig config() { return config; }

    public PeerId self() { return host.peerId(); }

    // ---- API ----------------------------------------------------------------------------------------

    /**
     * Subscribes {@code handler} to {@code topic}: the first handler of a topic announces the subscription to all
     * pubsub peers and builds the topic's mesh. Any thread.
     *
     * @return a handle whose {@link Subscription#close()} removes the handler
     * @throws IllegalArgumentException if the topic is empty or longer than {@link GossipSubConfig#maxTopicBytes()}
     */
    public Subscription subscribe(String topic, Consumer<PubSubMessage> handler) {
        checkTopic(topic);
        Objects.requireNonNull(handler, "handler");
        Sub sub = new Sub(topic, handler);
        loop.execute(() -> {
            if (closed) return;
            List<Sub> list = subscriptions.computeIfAbsent(topic, k -> new ArrayList<>());
            list.add(sub);
            if (list.size() == 1) join(topic);
        });
        return sub;
    }

    /**
     * Publishes {@code data} to {@code topic} (signed under strict signing). Any thread.
     *
     * @return completes on the loop with the message id and the number of peers it was sent to (0 if no peer of the
     *     topic is known yet: the message is then only kept for gossip)
     * @throws IllegalArgumentException if the topic is bad or the data does not fit in a frame
     */
    public CompletableFuture<PublishResult> publish(String topic, byte[] data) {
        checkTopic(topic);
        if (data.length > config.maxFrameBytes() - 1024) {
            throw new IllegalArgumentException("message of " + data.length + " bytes over the limit "
                    + (config.maxFrameBytes() - 1024));
        }
        byte[] copy = data.clone();
        return Futures.composeOn(loop, () -> {
            if (closed) return CompletableFuture.failedFuture(new IllegalStateException("pubsub closed"));
            return CompletableFuture.completedFuture(publishOnLoop(topic, copy));
        });
    }

    /** Remote peers known to be subscribed to {@code topic}. Completes on the loop. */
    public CompletableFuture<List<PeerId>> topicPeers(String topic) {
        return onLoop(() -> List.copyOf(topicPeers.getOrDefault(topic, Set.of())));
    }

    /** The mesh peers of {@code topic} (empty if not subscribed). Completes on the loop. */
    public CompletableFuture<List<PeerId>> meshPeers(String topic) {
        return onLoop(() -> List.copyOf(mesh.getOrDefault(topic, Set.of())));
    }

    /** Topics this node is subscribed to. Completes on the loop. */
    public CompletableFuture<List<String>> topics() {
        return onLoop(() -> List.copyOf(subscriptions.keySet()));
    }

    /** {@code peer}'s current score. Completes on the loop. */
    public CompletableFuture<Double> score(PeerId peer) { return onLoop(() -> score.score(peer, loop.nowMs())); }

    /**
     * Validates messages of {@code topic} with {@code validator} before delivery and forwarding (replaces an earlier
     * one). Any thread.
     */
    public void addValidator(String topic, TopicValidator validator) {
        validators.put(topic, Objects.requireNonNull(validator));
    }

    public void removeValidator(String topic) { validators.remove(topic); }

    /** Stops the heartbeat and closes pubsub streams. On the loop or the thread driving a manual loop. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        if (heartbeatTimer != null) heartbeatTimer.cancel();
        for (PeerState ps : peers.values()) {
            if (ps.out != null) ps.out.close();
        }
    }

    private <T> CompletableFuture<T> onLoop(java.util.function.Supplier<T> f) {
        return Futures.composeOn(loop, () -> CompletableFuture.completedFuture(f.get()));
    }

    private void checkTopic(String topic) {
        Objects.requireNonNull(topic, "topic");
        if (topic.isEmpty()) throw new IllegalArgumentException("empty topic");
        if (topic.getBytes(StandardCharsets.UTF_8).length > config.maxTopicBytes()) {
            throw new IllegalArgumentException("topic longer than " + config.maxTopicBytes() + " bytes");
        }
    }

    // ---- peers and streams --------------------------------------------------------------------------

    private void onPeerEvent(PeerEvent e) {
        if (closed) return;
        switch (e.kind()) {
            case IDENTIFIED -> {
                List<String> protos = e.identify().protocols();
                if (protos.contains(PROTOCOL_V12) || protos.contains(PROTOCOL_V11) || protos.contains(PROTOCOL_V10)) {
                    PeerState ps = addPeer(e.peer(), e.connection());
                    ps.notPubsub = false;
                    openOutbound(ps);
                }
            }
            case DISCONNECTED -> {
                if (!host.isConnected(e.peer())) removePeer(e.peer());
            }
            default -> { }
        }
    }

    private PeerState addPeer(PeerId peer, Connection c) {
        PeerState ps = peers.get(peer);
        if (ps == null) {
            ps = new PeerState(peer);
            ps.outboundConnection = c != null && c.direction() == Connection.Direction.OUTBOUND;
            peers.put(peer, ps);
            score.addPeer(peer);
            // The first RPC on a new stream announces our subscriptions.
            if (!subscriptions.isEmpty()) {
                RpcProto.RPC.Builder hello = RpcProto.RPC.newBuilder();
                for (String t : subscriptions.keySet()) hello.addSubscriptions(subOpts(t, true));
                send(ps, hello.build(), false);
            }
        }
        return ps;
    }

    private void removePeer(PeerId peer) {
        PeerState ps = peers.remove(peer);
        if (ps == null) return;
        for (String t : ps.topics) {
            Set<PeerId> s = topicPeers.get(t);
            if (s != null && s.remove(peer) && s.isEmpty()) topicPeers.remove(t);
        }
        for (Set<PeerId> m : mesh.values()) m.remove(peer);
        for (Set<PeerId> f : fanout.values()) f.remove(peer);
        peerHave.remove(peer);
        iasked.remove(peer);
        score.removePeer(peer, loop.nowMs());
        if (ps.out != null) ps.out.close();
    }

    private void openOutbound(PeerState ps) {
        if (ps.out != null || ps.opening || ps.notPubsub || closed) return;
        List<Connection> cs = host.connectionsTo(ps.id);
        if (cs.isEmpty()) return;
        ps.opening = true;
        Connection c = cs.get(0);
        Multistream.select(c, List.of(PROTOCOL_V12, PROTOCOL_V11, PROTOCOL_V10), id -> new OutboundHandler(ps))
                .whenComplete((n, err) -> runOnLoop(() -> {
                    ps.opening = false;
                    if (err != null) {
                        Throwable t = Futures.unwrap(err);
                        counters.increment("pubsub.stream.open_failed");
                        if (t instanceof io.peersocket.negotiation.ProtocolNotSupportedException) ps.notPubsub = true;
                        log.debug("pubsub stream to peer={} failed: {}", ps.id, t.toString());
                        return;
                    }
                    if (closed || peers.get(ps.id) != ps) {
                        n.stream().close();
                        return;
                    }
                    ps.out = n.stream();
                    ps.protocol = n.protocolId();
                    for (byte[] frame : ps.pending) write(ps, frame);
                    ps.pending.clear();
                    ps.pendingBytes = 0;
                }));
    }

    private void runOnLoop(Runnable r) {
        if (loop.inEventLoop()) r.run();
        else loop.execute(r);
    }

    private final class OutboundHandler implements StreamHandler {
        final PeerState ps;

        OutboundHandler(PeerState ps) { this.ps = ps; }

        @Override public void onData(Stream stream, byte[] data) {
            counters.increment("pubsub.stream.unexpected_data");
        }

        @Override public void onClosed(Stream stream, Throwable cause) {
            if (ps.out == stream) {
                ps.out = null;
                ps.protocol = null;
            }
        }
    }

    private StreamHandler onInboundStream(Stream stream, String protocolId) {
        PeerId peer = stream.connection().remotePeer();
        if (closed) {
            stream.reset();
            return StreamHandler.REJECT;
        }
        PeerState ps = addPeer(peer, stream.connection());
        ps.notPubsub = false;
        if (ps.in != null && ps.in != stream) ps.in.close(); // the newest inbound stream is the peer's canonical one
        ps.in = stream;
        openOutbound(ps);
        return new InboundHandler(ps);
    }

    private final class InboundHandler implements StreamHandler {
        final PeerState ps;
        final FrameDecoder decoder = new FrameDecoder(config.maxFrameBytes());
        boolean failed;

        InboundHandler(PeerState ps) { this.ps = ps; }

        @Override public void onData(Stream stream, byte[] data) {
            if (failed) return;
            counters.add("pubsub.bytes.in", data.length);
            try {
                decoder.feed(data, frame -> handleRpc(ps, frame));
            } catch (FrameDecoder.FrameException e) {
                failed = true;
                counters.increment(e.isOversize() ? "pubsub.rpc.oversize" : "pubsub.rpc.malformed");
                score.penalty(ps.id, 1);
                log.debug("pubsub stream from peer={} reset: {}", ps.id, e.getMessage());
                stream.reset();
            }
        }

        @Override public void onClosed(Stream stream, Throwable cause) {
            if (ps.in == stream) ps.in = null;
        }
    }

    // ---- sending ------------------------------------------------------------------------------------

    /** Sends {@code rpc} to {@code ps}; a droppable one (forwarded message) is dropped when the peer lags. */
    private void send(PeerState ps, RpcProto.RPC rpc, boolean droppable) {
        sendFrame(ps, FrameDecoder.frame(rpc.toByteArray()), droppable);
    }

    private void sendFrame(PeerState ps, byte[] frame, boolean droppable) {
        if (ps.out != null) {
            if (droppable && !ps.out.isWritable()) {
                counters.increment("pubsub.send.dropped");
                return;
            }
            write(ps, frame);
            return;
        }
        // Queued until the stream opens; bounded for every kind of frame (a peer that never opens our stream must
        // not make us hold its control traffic forever).
        if (ps.notPubsub || ps.pendingBytes + frame.length > config.maxPendingBytesPerPeer()) {
            counters.increment("pubsub.send.dropped");
            return;
        }
        ps.pending.add(frame);
        ps.pendingBytes += frame.length;
        openOutbound(ps);
    }

    private void write(PeerState ps, byte[] frame) {
        counters.increment("pubsub.rpc.out");
        counters.add("pubsub.bytes.out", frame.length);
        ps.out.write(frame).whenComplete((v, err) -> {
            if (err != null) counters.increment("pubsub.send.failed");
        });
    }

    private static RpcProto.RPC.SubOpts subOpts(String topic, boolean subscribe) {
        return RpcProto.RPC.SubOpts.newBuilder().setSubscribe(subscribe).setTopicid(topic).build();
    }

    private void announce(String topic, boolean subscribe) {
        RpcProto.RPC rpc = RpcProto.RPC.newBuilder().addSubscriptions(subOpts(topic, subscribe)).build();
        for (PeerState ps : peers.values()) send(ps, rpc, false);
    }

    // ---- subscribe / publish (loop) -----------------------------------------------------------------

    private void join(String topic) {
        announce(topic, true);
        Set<PeerId> m = new LinkedHashSet<>();
        Set<PeerId> f = fanout.remove(topic);
        lastPublished.remove(topic);
        long now = loop.nowMs();
        if (f != null) {
            for (PeerId p : f) if (score.score(p, now) >= 0 && m.size() < config.d()) m.add(p);
        }
        if (m.size() < config.d()) {
            List<PeerId> candidates = new ArrayList<>();
            for (PeerId p : topicPeers.getOrDefault(topic, Set.of())) {
                if (!m.contains(p) && !inBackoff(topic, p) && score.score(p, now) >= 0) candidates.add(p);
            }
            Collections.shuffle(candidates, random);
            for (PeerId p : candidates) {
                if (m.size() >= config.d()) break;
                m.add(p);
            }
        }
        mesh.put(topic, m);
        for (PeerId p : m) {
            score.graft(p, topic, now);
            PeerState ps = peers.get(p);
            if (ps != null) sendControl(ps, RpcProto.ControlMessage.newBuilder().addGraft(graft(topic)).build());
            counters.increment("pubsub.graft.sent");
        }
    }

    private void unsubscribe(Sub sub) {
        List<Sub> list = subscriptions.get(sub.topic);
        if (list == null || !list.remove(sub) || !list.isEmpty()) return;
        subscriptions.remove(sub.topic);
        if (closed) return;
        announce(sub.topic, false);
        Set<PeerId> m = mesh.remove(sub.topic);
        if (m == null) return;
        for (PeerId p : m) {
            score.prune(p, sub.topic);
            addBackoff(sub.topic, p, config.unsubscribeBackoffMs()); // no re-graft before the peer accepts one
            PeerState ps = peers.get(p);
            if (ps != null) {
                sendControl(ps, RpcProto.ControlMessage.newBuilder()
                        .addPrune(prune(ps, sub.topic, false, config.unsubscribeBackoffMs())).build());
                counters.increment("pubsub.prune.sent");
            }
        }
    }

    private PublishResult publishOnLoop(String topic, byte[] data) {
        RpcProto.Message.Builder b = RpcProto.Message.newBuilder().setTopic(topic).setData(ByteString.copyFrom(data));
        PubSubMessage m;
        if (config.signing() == GossipSubConfig.SignaturePolicy.STRICT_SIGN) {
            byte[] sq = ByteBuffer.allocate(8).putLong(++seqno).array();
            byte[] from = self().toBytes();
            b.setFrom(ByteString.copyFrom(from)).setSeqno(ByteString.copyFrom(sq));
            b.setSignature(ByteString.copyFrom(key.sign(PubSubCodec.signedBytes(b.build()))));
            // The key travels only when the peer id does not inline it (Ed25519 ids do), as go-libp2p does.
            if (self().publicKey() == null) b.setKey(ByteString.copyFrom(key.publicKey().toProto()));
            m = new PubSubMessage(self(), from, sq, data, topic, true, self());
        } else {
            m = new PubSubMessage(null, null, null, data, topic, false, self());
        }
        RpcProto.Message pb = b.build();
        MessageId id = new MessageId(config.messageId().id(m));
        m.id = id;
        long now = loop.nowMs();
        seen.add(id, now);
        mcache.put(id, topic, pb);
        Set<PeerId> to = new LinkedHashSet<>();
        double publishThreshold = config.score().publishThreshold();
        if (config.floodPublish()) {
            for (PeerId p : topicPeers.getOrDefault(topic, Set.of())) {
                if (score.score(p, now) >= publishThreshold) to.add(p);
            }
        } else if (mesh.containsKey(topic)) {
            to.addAll(mesh.get(topic));
        } else {
            Set<PeerId> f = fanout.computeIfAbsent(topic, k -> new LinkedHashSet<>());
            if (f.size() < config.d()) {
                List<PeerId> candidates = new ArrayList<>();
                for (PeerId p : topicPeers.getOrDefault(topic, Set.of())) {
                    if (!f.contains(p) && score.score(p, now) >= publishThreshold) candidates.add(p);
                }
                Collections.shuffle(candidates, random);
                for (PeerId p : candidates) {
                    if (f.size() >= config.d()) break;
                    f.add(p);
                }
            }
            to.addAll(f);
        }
        if (!mesh.containsKey(topic)) lastPublished.put(topic, now);
        byte[] frame = FrameDecoder.frame(RpcProto.RPC.newBuilder().addPublish(pb).build().toByteArray());
        MessageCache.Entry entry = mcache.get(id);
        for (PeerId p : to) {
            PeerState ps = peers.get(p);
            if (ps == null) continue;
            if (ps.doesNotWant(id)) { // possible with content-derived ids: the peer has these bytes already
                counters.increment("pubsub.idontwant.skipped");
                continue;
            }
            sendFrame(ps, frame, false);
            if (entry != null) entry.pushed(p);
        }
        counters.increment("pubsub.message.published");
        return new PublishResult(id, to.size());
    }

    // ---- inbound RPCs (loop) ------------------------------------------------------------------------

    private void handleRpc(PeerState ps, byte[] frame) {
        counters.increment("pubsub.rpc.in");
        PeerId from = ps.id;
        long now = loop.nowMs();
        if (score.score(from, now) < config.score().graylistThreshold()) {
            counters.increment("pubsub.rpc.graylisted");
            return;
        }
        RpcProto.RPC rpc;
        try {
            rpc = PubSubCodec.decode(frame, limits);
        } catch (PubSubProtocolException e) {
            counters.increment("pubsub.rpc.malformed");
            score.penalty(from, 1);
            log.debug("bad pubsub RPC from peer={}: {}", from, e.getMessage());
            return;
        }
        for (RpcProto.RPC.SubOpts s : rpc.getSubscriptionsList()) handleSubscription(ps, s);
        for (RpcProto.Message m : rpc.getPublishList()) handleMessage(ps, m);
        if (rpc.hasControl()) handleControl(ps, rpc.getControl());
    }

    private void handleSubscription(PeerState ps, RpcProto.RPC.SubOpts s) {
        String topic = s.getTopicid();
        if (topic.isEmpty()) return;
        if (s.getSubscribe()) {
            if (ps.topics.contains(topic)) return;
            if (ps.topics.size() >= config.maxTopicsPerPeer()) {
                counters.increment("pubsub.subscription.over_limit");
                return;
            }
            ps.topics.add(topic);
            topicPeers.computeIfAbsent(topic, k -> new LinkedHashSet<>()).add(ps.id);
        } else {
            if (!ps.topics.remove(topic)) return;
            Set<PeerId> set = topicPeers.get(topic);
            if (set != null && set.remove(ps.id) && set.isEmpty()) topicPeers.remove(topic);
            Set<PeerId> m = mesh.get(topic);
            if (m != null && m.remove(ps.id)) score.prune(ps.id, topic);
            Set<PeerId> f = fanout.get(topic);
            if (f != null) f.remove(ps.id);
        }
    }

    private void handleMessage(PeerState ps, RpcProto.Message pb) {
        counters.increment("pubsub.message.received");
        PeerId from = ps.id;
        String topic = pb.getTopic();
        if (topic.isEmpty()) {
            counters.increment("pubsub.message.rejected.no_topic");
            score.penalty(from, 1);
            return;
        }
        if (!subscriptions.containsKey(topic)) {
            counters.increment("pubsub.message.ignored.not_subscribed");
            return;
        }
        PubSubMessage m;
        try {
            m = parse(pb, from);
        } catch (PubSubProtocolException e) {
            counters.increment("pubsub.message.rejected.signature");
            score.invalid(from, topic);
            log.debug("message from peer={} rejected: {}", from, e.getMessage());
            return;
        }
        MessageId id;
        try {
            byte[] raw = config.messageId().id(m);
            if (raw == null || raw.length == 0) throw new IllegalStateException("empty message id");
            id = new MessageId(raw);
        } catch (RuntimeException e) {
            counters.increment("pubsub.message.rejected.id");
            score.invalid(from, topic);
            return;
        }
        m.id = id;
        promises.remove(id);
        long now = loop.nowMs();
        // The seen check comes before the signature check: a duplicate costs no Ed25519 verification (its first copy
        // was verified before its id was marked seen).
        if (seen.contains(id)) {
            counters.increment("pubsub.message.duplicate");
            countDuplicate(ps, topic, m, id);
            score.duplicate(from, topic, seen.firstSeen(id), now);
            return;
        }
        if (m.signed()) {
            try {
                verifySignature(pb, m.from());
            } catch (PubSubProtocolException e) {
                counters.increment("pubsub.message.rejected.signature");
                score.invalid(from, topic);
                log.debug("message from peer={} rejected: {}", from, e.getMessage());
                return;
            }
        }
        // Only a message that passed the signature check is marked seen: a forged copy carrying a real message's id
        // must not make us drop the real one.
        seen.add(id, now);
        if (self().equals(m.from())) {
            counters.increment("pubsub.message.ignored.own");
            return;
        }
        // v1.2: tell the mesh at once, before validation and forwarding, so mesh peers that have not sent it yet skip us.
        if (pb.getSerializedSize() >= config.idontwantThresholdBytes()) sendIDontWant(topic, id, from);
        ValidationResult verdict = ValidationResult.ACCEPT;
        TopicValidator v = validators.get(topic);
        if (v != null) {
            try {
                verdict = Objects.requireNonNullElse(v.validate(m), ValidationResult.IGNORE);
            } catch (RuntimeException e) {
                log.debug("validator of topic {} threw: {}", topic, e.toString());
                verdict = ValidationResult.IGNORE;
            }
        }
        if (verdict == ValidationResult.REJECT) {
            counters.increment("pubsub.message.rejected.validator");
            score.invalid(from, topic);
            return;
        }
        if (verdict == ValidationResult.IGNORE) {
            counters.increment("pubsub.message.ignored.validator");
            return;
        }
        score.firstDelivery(from, topic);
        mcache.put(id, topic, pb);
        counters.increment("pubsub.message.delivered");
        for (Sub s : subscriptions.getOrDefault(topic, List.of())) s.offer(m);
        forward(pb, id, topic, from, m.from());
    }

    /**
     * Counts a duplicate by where it came from (for the benchmark's breakdown): {@code .author} its author sent it
     * (flood publish), {@code .crossed} a peer we had pushed it to (the two copies crossed in flight),
     * {@code .mesh} another mesh peer, {@code .other} a non-mesh peer (IWANT answers, mesh changes in flight).
     */
    private void countDuplicate(PeerState ps, String topic, PubSubMessage m, MessageId id) {
        MessageCache.Entry e = mcache.get(id);
        if (ps.id.equals(m.from())) counters.increment("pubsub.message.duplicate.author");
        else if (e != null && e.pushedTo(ps.id)) counters.increment("pubsub.message.duplicate.crossed");
        else if (mesh.getOrDefault(topic, Set.of()).contains(ps.id)) counters.increment("pubsub.message.duplicate.mesh");
        else counters.increment("pubsub.message.duplicate.other");
    }

    /** v1.2: IDONTWANT {@code id} to the mesh peers of {@code topic} that speak 1.2, but not to {@code source}. */
    private void sendIDontWant(String topic, MessageId id, PeerId source) {
        Set<PeerId> m = mesh.get(topic);
        if (m == null || m.isEmpty()) return;
        byte[] frame = null;
        for (PeerId p : m) {
            if (p.equals(source)) continue;
            PeerState ps = peers.get(p);
            if (ps == null || !ps.v12()) continue;
            if (frame == null) {
                RpcProto.ControlIDontWant dw = RpcProto.ControlIDontWant.newBuilder()
                        .addMessageIDs(ByteString.copyFrom(id.raw())).build();
                frame = FrameDecoder.frame(RpcProto.RPC.newBuilder()
                        .setControl(RpcProto.ControlMessage.newBuilder().addIdontwant(dw)).build().toByteArray());
            }
            sendFrame(ps, frame, false);
            counters.increment("pubsub.idontwant.sent");
        }
    }

    private void forward(RpcProto.Message pb, MessageId id, String topic, PeerId source, PeerId origin) {
        Set<PeerId> m = mesh.get(topic);
        if (m == null || m.isEmpty()) return;
        MessageCache.Entry entry = mcache.get(id);
        byte[] frame = null;
        for (PeerId p : m) {
            if (p.equals(source) || p.equals(origin)) continue;
            PeerState ps = peers.get(p);
            if (ps == null) continue;
            if (ps.doesNotWant(id)) {
                counters.increment("pubsub.idontwant.skipped");
                continue;
            }
            if (frame == null) frame = FrameDecoder.frame(RpcProto.RPC.newBuilder().addPublish(pb).build().toByteArray());
            sendFrame(ps, frame, true);
            if (entry != null) entry.pushed(p);
            counters.increment("pubsub.message.forwarded");
        }
    }

    /**
     * Decodes the message and checks its shape against the signature policy (from, seqno, key present and well
     * formed), without checking the signature itself ({@link #verifySignature}).
     */
    private PubSubMessage parse(RpcProto.Message pb, PeerId receivedFrom) {
        byte[] data = pb.getData().toByteArray();
        if (config.signing() == GossipSubConfig.SignaturePolicy.STRICT_NO_SIGN) {
            if (pb.hasSignature() || pb.hasSeqno() || pb.hasFrom() || pb.hasKey()) {
                throw new PubSubProtocolException("unsigned policy: message carries from, seqno, signature or key");
            }
            return new PubSubMessage(null, null, null, data, pb.getTopic(), false, receivedFrom);
        }
        if (!pb.hasFrom()) throw new PubSubProtocolException("message without from");
        if (pb.getSeqno().size() != 8) throw new PubSubProtocolException("seqno of " + pb.getSeqno().size() + " bytes, need 8");
        if (!pb.hasSignature()) throw new PubSubProtocolException("message without signature");
        PeerId author;
        try {
            author = PeerId.fromBytes(pb.getFrom().toByteArray());
        } catch (InvalidPeerIdException e) {
            throw new PubSubProtocolException("bad from: " + e.getMessage(), e);
        }
        return new PubSubMessage(author, pb.getFrom().toByteArray(), pb.getSeqno().toByteArray(), data, pb.getTopic(), true,
                receivedFrom);
    }

    /** Checks the Ed25519 (or other) signature of a signed message by {@code author}. */
    private void verifySignature(RpcProto.Message pb, PeerId author) {
        PublicKey pk;
        try {
            if (pb.hasKey()) {
                pk = PublicKey.fromProto(pb.getKey().toByteArray());
                if (!pk.peerId().equals(author)) throw new PubSubProtocolException("key does not match from");
            } else {
                pk = author.publicKey();
                if (pk == null) throw new PubSubProtocolException("no key and from does not inline one");
            }
        } catch (InvalidPeerIdException e) {
            throw new PubSubProtocolException("bad key: " + e.getMessage(), e);
        }
        boolean ok;
        try {
            ok = pk.verify(PubSubCodec.signedBytes(pb), pb.getSignature().toByteArray());
        } catch (RuntimeException e) {
            ok = false;
        }
        if (!ok) throw new PubSubProtocolException("bad signature");
    }

    private void handleControl(PeerState ps, RpcProto.ControlMessage c) {
        // IDONTWANT first: an RPC that carries IDONTWANT and IWANT for the same id gets no answer for it.
        handleIDontWant(ps, c.getIdontwantList());
        List<RpcProto.Message> replies = handleIWant(ps, c.getIwantList());
        List<MessageId> want = handleIHave(ps, c.getIhaveList());
        List<RpcProto.ControlPrune> prunes = handleGraft(ps, c.getGraftList());
        handlePrune(ps, c.getPruneList());
        if (replies.isEmpty() && want.isEmpty() && prunes.isEmpty()) return;
        RpcProto.RPC.Builder out = RpcProto.RPC.newBuilder().addAllPublish(replies);
        if (!want.isEmpty() || !prunes.isEmpty()) {
            RpcProto.ControlMessage.Builder cb = RpcProto.ControlMessage.newBuilder().addAllPrune(prunes);
            if (!want.isEmpty()) {
                RpcProto.ControlIWant.Builder iw = RpcProto.ControlIWant.newBuilder();
                for (MessageId id : want) iw.addMessageIDs(ByteString.copyFrom(id.raw()));
                cb.addIwant(iw);
                counters.add("pubsub.iwant.sent", want.size());
            }
            out.setControl(cb);
        }
        send(ps, out.build(), false);
    }

    /**
     * v1.2: remembers the ids {@code ps} does not want, at most {@link GossipSubConfig#maxIDontWantMessages()} per
     * heartbeat (the rest are ignored and counted), each for {@link #IDONTWANT_TTL_HEARTBEATS} heartbeats.
     */
    private void handleIDontWant(PeerState ps, List<RpcProto.ControlIDontWant> list) {
        if (list.isEmpty()) return;
        for (RpcProto.ControlIDontWant w : list) {
            for (ByteString b : w.getMessageIDsList()) {
                if (b.isEmpty()) continue;
                if (ps.dontWantThisHeartbeat >= config.maxIDontWantMessages()) {
                    counters.increment("pubsub.idontwant.over_limit");
                    return;
                }
                ps.dontWantThisHeartbeat++;
                counters.increment("pubsub.idontwant.in");
                MessageId id = new MessageId(b.toByteArray());
                ps.dontWant.remove(id); // re-inserted as the newest
                ps.dontWant.put(id, heartbeats);
            }
        }
    }

    private List<MessageId> handleIHave(PeerState ps, List<RpcProto.ControlIHave> ihaves) {
        if (ihaves.isEmpty()) return List.of();
        counters.increment("pubsub.ihave.in");
        long now = loop.nowMs();
        if (score.score(ps.id, now) < config.score().gossipThreshold()) return List.of();
        int have = peerHave.merge(ps.id, 1, Integer::sum);
        if (have > config.maxIHaveMessages()) {
            counters.increment("pubsub.ihave.flood");
            return List.of();
        }
        int asked = iasked.getOrDefault(ps.id, 0);
        if (asked >= config.maxIHaveLength()) {
            counters.increment("pubsub.ihave.flood");
            return List.of();
        }
        LinkedHashSet<MessageId> want = new LinkedHashSet<>();
        for (RpcProto.ControlIHave h : ihaves) {
            if (!mesh.containsKey(h.getTopicID())) continue;
            for (ByteString b : h.getMessageIDsList()) {
                if (b.isEmpty()) continue;
                MessageId id = new MessageId(b.toByteArray());
                if (!seen.contains(id)) want.add(id);
            }
        }
        if (want.isEmpty()) return List.of();
        List<MessageId> list = new ArrayList<>(want);
        int room = config.maxIHaveLength() - asked;
        if (list.size() > room) {
            Collections.shuffle(list, random);
            list = new ArrayList<>(list.subList(0, room));
        }
        iasked.put(ps.id, asked + list.size());
        // v1.1 promise: one of the asked messages must arrive within the follow-up time.
        MessageId promised = list.get(random.nextInt(list.size()));
        promises.computeIfAbsent(promised, k -> new HashMap<>()).putIfAbsent(ps.id, now + config.iwantFollowupMs());
        return list;
    }

    private List<RpcProto.Message> handleIWant(PeerState ps, List<RpcProto.ControlIWant> iwants) {
        if (iwants.isEmpty()) return List.of();
        counters.increment("pubsub.iwant.in");
        if (score.score(ps.id, loop.nowMs()) < config.score().gossipThreshold()) return List.of();
        List<RpcProto.Message> out = new ArrayList<>();
        Set<MessageId> done = new HashSet<>();
        int bytes = 0;
        int budget = config.maxIHaveLength();
        for (RpcProto.ControlIWant w : iwants) {
            for (ByteString b : w.getMessageIDsList()) {
                if (budget-- <= 0) return out;
                MessageId id = new MessageId(b.toByteArray());
                if (!done.add(id)) continue;
                MessageCache.Entry e = mcache.get(id);
                if (e == null) continue;
                if (ps.doesNotWant(id)) {
                    counters.increment("pubsub.idontwant.skipped");
                    continue;
                }
                int n = e.sent.merge(ps.id, 1, Integer::sum);
                if (n > config.gossipRetransmission()) continue;
                int size = e.message.getSerializedSize() + 8;
                if (bytes + size > config.maxFrameBytes() - 1024) {
                    // Over one frame: send what we have and start another.
                    send(ps, RpcProto.RPC.newBuilder().addAllPublish(out).build(), false);
                    out = new ArrayList<>();
                    bytes = 0;
                }
                out.add(e.message);
                e.pushed(ps.id);
                bytes += size;
                counters.increment("pubsub.iwant.served");
            }
        }
        return out;
    }

    private List<RpcProto.ControlPrune> handleGraft(PeerState ps, List<RpcProto.ControlGraft> grafts) {
        if (grafts.isEmpty()) return List.of();
        List<RpcProto.ControlPrune> prunes = new ArrayList<>();
        long now = loop.nowMs();
        for (RpcProto.ControlGraft g : grafts) {
            counters.increment("pubsub.graft.in");
            String topic = g.getTopicID();
            Set<PeerId> m = mesh.get(topic);
            if (m == null) continue; // not our topic: ignore (go-libp2p does the same)
            if (m.contains(ps.id)) continue;
            if (inBackoff(topic, ps.id)) {
                counters.increment("pubsub.graft.backoff_violation");
                score.penalty(ps.id, 1);
                prunes.add(prune(ps, topic, false, config.pruneBackoffMs()));
                continue;
            }
            if (score.score(ps.id, now) < 0) {
                prunes.add(prune(ps, topic, false, config.pruneBackoffMs()));
                continue;
            }
            if (m.size() >= config.dHi() && !ps.outboundConnection) {
                prunes.add(prune(ps, topic, true, config.pruneBackoffMs()));
                continue;
            }
            m.add(ps.id);
            score.graft(ps.id, topic, now);
        }
        for (RpcProto.ControlPrune p : prunes) {
            addBackoff(p.getTopicID(), ps.id, config.pruneBackoffMs());
            counters.increment("pubsub.prune.sent");
        }
        return prunes;
    }

    private void handlePrune(PeerState ps, List<RpcProto.ControlPrune> prunes) {
        long now = loop.nowMs();
        for (RpcProto.ControlPrune p : prunes) {
            counters.increment("pubsub.prune.in");
            String topic = p.getTopicID();
            Set<PeerId> m = mesh.get(topic);
            if (m != null && m.remove(ps.id)) score.prune(ps.id, topic);
            long backoffMs = p.hasBackoff() ? Math.min(p.getBackoff(), MAX_BACKOFF_S) * 1000 : config.pruneBackoffMs();
            addBackoff(topic, ps.id, backoffMs);
            // PX helps a node that lacks topic peers; one that knows D_hi or more already has candidates, and dialling
            // every offer would make each PRUNE add connections (a cascade in large meshes).
            int known = topicPeers.getOrDefault(topic, Set.of()).size();
            if (p.getPeersCount() > 0 && m != null && known < config.dHi()
                    && score.score(ps.id, now) >= config.score().acceptPxThreshold()) {
                int n = 0;
                for (RpcProto.PeerInfo info : p.getPeersList()) {
                    if (n >= config.prunePeers() || known + n >= config.dHi()) break;
                    PeerId px;
                    try {
                        px = PeerId.fromBytes(info.getPeerID().toByteArray());
                    } catch (InvalidPeerIdException e) {
                        continue;
                    }
                    if (px.equals(self()) || peers.containsKey(px) || host.addressesOf(px).isEmpty()) continue;
                    n++;
                    counters.increment("pubsub.px.dial");
                    host.connection(px).whenComplete((c, err) -> {
                        if (err != null) log.debug("PX dial to peer={} failed: {}", px, Futures.unwrap(err).toString());
                    });
                }
            }
        }
    }

    private RpcProto.ControlGraft graft(String topic) { return RpcProto.ControlGraft.newBuilder().setTopicID(topic).build(); }

    /** A PRUNE for {@code ps}: v1.1 peers get the backoff and, if {@code px}, other topic peers to connect to. */
    private RpcProto.ControlPrune prune(PeerState ps, String topic, boolean px, long backoffMs) {
        RpcProto.ControlPrune.Builder b = RpcProto.ControlPrune.newBuilder().setTopicID(topic);
        if (!ps.v11()) return b.build();
        b.setBackoff(backoffMs / 1000);
        if (px && config.prunePeers() > 0) {
            long now = loop.nowMs();
            List<PeerId> candidates = new ArrayList<>();
            for (PeerId p : topicPeers.getOrDefault(topic, Set.of())) {
                if (!p.equals(ps.id) && score.score(p, now) >= 0) candidates.add(p);
            }
            Collections.shuffle(candidates, random);
            for (PeerId p : candidates.subList(0, Math.min(config.prunePeers(), candidates.size()))) {
                b.addPeers(RpcProto.PeerInfo.newBuilder().setPeerID(ByteString.copyFrom(p.toBytes())));
            }
        }
        return b.build();
    }

    private void sendControl(PeerState ps, RpcProto.ControlMessage c) {
        send(ps, RpcProto.RPC.newBuilder().setControl(c).build(), false);
    }

    private boolean inBackoff(String topic, PeerId p) {
        Map<PeerId, Long> b = backoff.get(topic);
        if (b == null) return false;
        Long until = b.get(p);
        return until != null && until > loop.nowMs();
    }

    private void addBackoff(String topic, PeerId p, long ms) {
        long until = loop.nowMs() + ms;
        backoff.computeIfAbsent(topic, k -> new HashMap<>()).merge(p, until, Math::max);
    }

    // ---- heartbeat (loop) ---------------------------------------------------------------------------

    private void heartbeat() {
        if (closed) return;
        try {
            heartbeatOnce();
        } catch (RuntimeException e) {
            log.warn("pubsub heartbeat failed", e);
        }
        heartbeatTimer = loop.schedule(this::heartbeat, config.heartbeatMs());
    }

    /** One heartbeat (package-private for tests that drive the router directly). */
    void heartbeatOnce() {
        heartbeats++;
        long now = loop.nowMs();
        peerHave.clear();
        iasked.clear();
        for (PeerState ps : peers.values()) {
            ps.dontWantThisHeartbeat = 0;
            for (Iterator<Long> it = ps.dontWant.values().iterator(); it.hasNext(); ) {
                if (heartbeats - it.next() < IDONTWANT_TTL_HEARTBEATS) break; // oldest first
                it.remove();
            }
        }
        brokenPromises(now);
        score.refresh(now);

        Map<PeerId, RpcProto.ControlMessage.Builder> control = new HashMap<>();
        java.util.function.Function<PeerId, RpcProto.ControlMessage.Builder> ctl =
                p -> control.computeIfAbsent(p, k -> RpcProto.ControlMessage.newBuilder());

        for (Map.Entry<String, Set<PeerId>> e : mesh.entrySet()) {
            String topic = e.getKey();
            Set<PeerId> m = e.getValue();
            // Peers with a negative score leave the mesh.
            for (Iterator<PeerId> it = m.iterator(); it.hasNext(); ) {
                PeerId p = it.next();
                if (score.score(p, now) < 0 || !peers.containsKey(p)) {
                    it.remove();
                    score.prune(p, topic);
                    PeerState ps = peers.get(p);
                    if (ps != null) {
                        ctl.apply(p).addPrune(prune(ps, topic, false, config.pruneBackoffMs()));
                        addBackoff(topic, p, config.pruneBackoffMs());
                    }
                }
            }
            if (m.size() < config.dLo()) {
                for (PeerId p : candidates(topic, m, now, false, config.d() - m.size())) {
                    m.add(p);
                    score.graft(p, topic, now);
                    ctl.apply(p).addGraft(graft(topic));
                }
            }
            if (m.size() > config.dHi()) {
                List<PeerId> sorted = new ArrayList<>(m);
                Collections.shuffle(sorted, random);
                sorted.sort(Comparator.comparingDouble((PeerId p) -> score.score(p, now)).reversed());
                List<PeerId> keep = new ArrayList<>(sorted.subList(0, config.dScore()));
                List<PeerId> rest = new ArrayList<>(sorted.subList(config.dScore(), sorted.size()));
                Collections.shuffle(rest, random);
                keep.addAll(rest.subList(0, config.d() - config.dScore()));
                List<PeerId> removed = new ArrayList<>(rest.subList(config.d() - config.dScore(), rest.size()));
                // Keep at least D_out outbound peers: swap removed outbound peers for kept inbound ones.
                int outbound = (int) keep.stream().filter(this::isOutbound).count();
                for (PeerId p : List.copyOf(removed)) {
                    if (outbound >= config.dOut()) break;
                    if (!isOutbound(p)) continue;
                    int swap = -1;
                    for (int i = keep.size() - 1; i >= 0 && swap < 0; i--) if (!isOutbound(keep.get(i))) swap = i;
                    if (swap < 0) break;
                    removed.remove(p);
                    removed.add(keep.set(swap, p));
                    outbound++;
                }
                for (PeerId p : removed) {
                    m.remove(p);
                    score.prune(p, topic);
                    PeerState ps = peers.get(p);
                    if (ps != null) ctl.apply(p).addPrune(prune(ps, topic, true, config.pruneBackoffMs()));
                    addBackoff(topic, p, config.pruneBackoffMs());
                }
            }
            if (m.size() >= config.dLo()) {
                int outbound = (int) m.stream().filter(this::isOutbound).count();
                if (outbound < config.dOut()) {
                    for (PeerId p : candidates(topic, m, now, true, config.dOut() - outbound)) {
                        m.add(p);
                        score.graft(p, topic, now);
                        ctl.apply(p).addGraft(graft(topic));
                    }
                }
            }
            if (heartbeats % OPPORTUNISTIC_GRAFT_TICKS == 0 && m.size() > 1) {
                List<Double> scores = new ArrayList<>();
                for (PeerId p : m) scores.add(score.score(p, now));
                Collections.sort(scores);
                double median = scores.get(scores.size() / 2);
                if (median < config.score().opportunisticGraftThreshold()) {
                    int left = OPPORTUNISTIC_GRAFT_PEERS;
                    for (PeerId p : candidates(topic, m, now, false, Integer.MAX_VALUE)) {
                        if (left == 0 || m.size() >= config.dHi()) break;
                        if (score.score(p, now) <= median) continue;
                        m.add(p);
                        score.graft(p, topic, now);
                        ctl.apply(p).addGraft(graft(topic));
                        counters.increment("pubsub.graft.opportunistic");
                        left--;
                    }
                }
            }
            gossip(topic, m, now, ctl);
        }

        // Fanout: forget topics not published to lately, top up the rest, and gossip them.
        for (Iterator<Map.Entry<String, Set<PeerId>>> it = fanout.entrySet().iterator(); it.hasNext(); ) {
            Map.Entry<String, Set<PeerId>> e = it.next();
            String topic = e.getKey();
            if (lastPublished.getOrDefault(topic, 0L) + config.fanoutTtlMs() < now) {
                it.remove();
                lastPublished.remove(topic);
                continue;
            }
            Set<PeerId> f = e.getValue();
            Set<PeerId> tp = topicPeers.getOrDefault(topic, Set.of());
            f.removeIf(p -> !tp.contains(p) || score.score(p, now) < config.score().publishThreshold());
            if (f.size() < config.d()) {
                List<PeerId> cs = new ArrayList<>();
                for (PeerId p : tp) if (!f.contains(p) && score.score(p, now) >= config.score().publishThreshold()) cs.add(p);
                Collections.shuffle(cs, random);
                for (PeerId p : cs) {
                    if (f.size() >= config.d()) break;
                    f.add(p);
                }
            }
            gossip(topic, f, now, ctl);
        }

        for (Map.Entry<PeerId, RpcProto.ControlMessage.Builder> e : control.entrySet()) {
            PeerState ps = peers.get(e.getKey());
            if (ps == null) continue;
            RpcProto.ControlMessage c = e.getValue().build();
            counters.add("pubsub.graft.sent", c.getGraftCount());
            counters.add("pubsub.prune.sent", c.getPruneCount());
            sendControl(ps, c);
        }

        mcache.shift();
        seen.expire(now);
        for (Iterator<Map.Entry<String, Map<PeerId, Long>>> it = backoff.entrySet().iterator(); it.hasNext(); ) {
            Map<PeerId, Long> b = it.next().getValue();
            b.values().removeIf(until -> until <= now);
            if (b.isEmpty()) it.remove();
        }
        for (PeerState ps : peers.values()) {
            if (ps.out == null && !ps.opening && !ps.notPubsub) openOutbound(ps);
        }
    }

    private boolean isOutbound(PeerId p) {
        PeerState ps = peers.get(p);
        return ps != null && ps.outboundConnection;
    }

    /** Topic peers not in {@code exclude}, not backing off, score ≥ 0 (outbound only if asked), shuffled, at most n. */
    private List<PeerId> candidates(String topic, Set<PeerId> exclude, long now, boolean outboundOnly, int n) {
        List<PeerId> out = new ArrayList<>();
        if (n <= 0) return out;
        for (PeerId p : topicPeers.getOrDefault(topic, Set.of())) {
            if (exclude.contains(p) || inBackoff(topic, p) || score.score(p, now) < 0) continue;
            if (outboundOnly && !isOutbound(p)) continue;
            out.add(p);
        }
        Collections.shuffle(out, random);
        return out.size() > n ? new ArrayList<>(out.subList(0, n)) : out;
    }

    /** IHAVE of the recent ids of {@code topic} to max(D_lazy, gossipFactor × n) non-mesh topic peers. */
    private void gossip(String topic, Set<PeerId> exclude, long now,
                        java.util.function.Function<PeerId, RpcProto.ControlMessage.Builder> ctl) {
        List<MessageId> ids = mcache.gossipIds(topic);
        if (ids.isEmpty()) return;
        List<PeerId> cs = new ArrayList<>();
        for (PeerId p : topicPeers.getOrDefault(topic, Set.of())) {
            if (!exclude.contains(p) && score.score(p, now) >= config.score().gossipThreshold()) cs.add(p);
        }
        if (cs.isEmpty()) return;
        int target = Math.max(config.dLazy(), (int) (config.gossipFactor() * cs.size()));
        Collections.shuffle(cs, random);
        if (ids.size() > config.maxIHaveLength()) {
            ids = new ArrayList<>(ids);
            Collections.shuffle(ids, random);
            ids = ids.subList(0, config.maxIHaveLength());
        }
        RpcProto.ControlIHave.Builder ih = RpcProto.ControlIHave.newBuilder().setTopicID(topic);
        for (MessageId id : ids) ih.addMessageIDs(ByteString.copyFrom(id.raw()));
        RpcProto.ControlIHave ihave = ih.build();
        for (PeerId p : cs.subList(0, Math.min(target, cs.size()))) {
            ctl.apply(p).addIhave(ihave);
            counters.increment("pubsub.ihave.sent");
        }
    }

    /** v1.1: peers that announced a message by IHAVE, were asked by IWANT and did not deliver it in time. */
    private void brokenPromises(long now) {
        for (Iterator<Map.Entry<MessageId, Map<PeerId, Long>>> it = promises.entrySet().iterator(); it.hasNext(); ) {
            Map<PeerId, Long> byPeer = it.next().getValue();
            for (Iterator<Map.Entry<PeerId, Long>> pi = byPeer.entrySet().iterator(); pi.hasNext(); ) {
                Map.Entry<PeerId, Long> e = pi.next();
                if (e.getValue() <= now) {
                    pi.remove();
                    score.penalty(e.getKey(), 1);
                    counters.increment("pubsub.iwant.broken_promise");
                }
            }
            if (byPeer.isEmpty()) it.remove();
        }
    }

    // ---- inspection for tests -----------------------------------------------------------------------

    /** Mesh peers of {@code topic}; event loop only (tests). */
    Set<PeerId> meshOnLoop(String topic) { return Set.copyOf(mesh.getOrDefault(topic, Set.of())); }

    /** Score of {@code peer}; event loop only (tests). */
    double scoreOnLoop(PeerId peer) { return score.score(peer, loop.nowMs()); }

    /** Whether the outbound pubsub stream to {@code peer} is open; event loop only (tests). */
    boolean hasStreamTo(PeerId peer) {
        PeerState ps = peers.get(peer);
        return ps != null && ps.out != null;
    }

    int seenSize() { return seen.size(); }

    /** IDONTWANT ids remembered for {@code peer}; event loop only (tests). */
    int dontWantSize(PeerId peer) {
        PeerState ps = peers.get(peer);
        return ps == null ? 0 : ps.dontWant.size();
    }

    /** The protocol id negotiated on the outbound stream to {@code peer}, or null; event loop only (tests). */
    String protocolTo(PeerId peer) {
        PeerState ps = peers.get(peer);
        return ps == null ? null : ps.protocol;
    }
}
