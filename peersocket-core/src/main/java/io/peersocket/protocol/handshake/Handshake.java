package io.peersocket.protocol.handshake;

import com.google.protobuf.InvalidProtocolBufferException;
import io.peersocket.identity.PeerId;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.negotiation.ProtocolNotSupportedException;
import io.peersocket.protocol.handshake.pb.HandshakeProto;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The Peersocket handshake {@value #ID} (seed 001, the bzz handshake): on each new connection both sides say
 * which handshake version they speak, which network they belong to and whether they are a light node, and each
 * decides whether to keep talking.
 *
 * <p>Wire: each side opens one stream and writes a varint-length-prefixed {@code Hello}; the other side answers on
 * that stream with one {@code Verdict} and closes its writing side. A connection is ready when this side accepted
 * the remote's hello and the remote accepted ours. A remote with another network id, or a version older than
 * {@link HandshakeConfig#minVersion()}, is refused: the verdict carries the reason, the refusal is logged and
 * counted ({@value #REFUSED_NETWORK_ID}, {@value #REFUSED_VERSION}) and the connection is closed (by the remote on
 * reading the verdict, else by us after {@link HandshakeConfig#refusalGraceMs()}). A connection whose handshake has
 * not completed within {@link HandshakeConfig#timeoutMs()} is closed ({@value #REFUSED_TIMEOUT}). A malformed
 * message closes the connection ({@value #MALFORMED}). A remote that does not speak the protocol at all (a plain
 * libp2p node: it answers {@code na}) keeps its connection but never becomes ready ({@value #UNSUPPORTED}).
 *
 * <p>Bounds: messages ≤ {@value #MAX_MESSAGE_BYTES} bytes, refusal reasons ≤ {@value #MAX_REASON_CHARS} chars, one
 * hello per connection and direction.
 *
 * <p>Threading: {@link #start}, {@link #onConnectionClosed} and the stream upcalls run on the node's event loop;
 * {@link #infoOf} may be called from any thread.
 */
public final class Handshake implements ProtocolHandler {
    public static final String ID = "/peersocket/handshake/1.0.0";
    /** The handshake version this code speaks. */
    public static final int VERSION = 1;
    public static final int MAX_MESSAGE_BYTES = 1024;
    public static final int MAX_REASON_CHARS = 256;

    /** Counter: a handshake passed. */
    public static final String OK = "handshake.ok";
    /** Counter: refused a remote with another network id. */
    public static final String REFUSED_NETWORK_ID = "handshake.refused.network_id";
    /** Counter: refused a remote with an unsupported version. */
    public static final String REFUSED_VERSION = "handshake.refused.version";
    /** Counter: closed a connection whose handshake did not complete in time. */
    public static final String REFUSED_TIMEOUT = "handshake.refused.timeout";
    /** Counter: the remote refused us (its reason is logged). */
    public static final String REFUSED_BY_REMOTE = "handshake.refused.by_remote";
    /** Counter: a malformed or unexpected handshake message or stream. */
    public static final String MALFORMED = "handshake.malformed";
    /** Counter: the connection closed before the handshake completed. */
    public static final String CLOSED = "handshake.closed";
    /** Counter: the remote does not speak the handshake (not a Peersocket node); connection kept, never ready. */
    public static final String UNSUPPORTED = "handshake.unsupported";

    private static final Logger log = LoggerFactory.getLogger(Handshake.class);

    /** Told when a connection passed the handshake. */
    @FunctionalInterface
    public interface Listener {
        /** Called on the event loop, once per connection, with what the remote said about itself. */
        void onReady(Connection connection, HandshakeInfo remote);
    }

    private final EventLoop loop;
    private final Counters counters;
    private final HandshakeConfig config;
    private final Listener listener;
    private final byte[] helloFrame;
    // Event-loop state.
    private final Map<Long, State> states = new HashMap<>();
    private final Map<PeerId, Integer> readyConnections = new HashMap<>();
    // Read from any thread.
    private final Map<PeerId, HandshakeInfo> ready = new ConcurrentHashMap<>();

    /**
     * @param loop the node's event loop (timers, thread of all upcalls)
     * @param counters where outcomes are counted
     * @param listener told when a connection becomes ready
     */
    public Handshake(EventLoop loop, Counters counters, HandshakeConfig config, Listener listener) {
        this.loop = Objects.requireNonNull(loop);
        this.counters = Objects.requireNonNull(counters);
        this.config = Objects.requireNonNull(config);
        this.listener = Objects.requireNonNull(listener);
        this.helloFrame = FrameDecoder.frame(encodeHello(config.local()));
    }

    /** What this node says about itself. */
    public HandshakeInfo local() { return config.local(); }

    /**
     * What {@code peer} said in the handshake of a connection that is ready and still open, or null if there is
     * none. Any thread.
     */
    public HandshakeInfo infoOf(PeerId peer) { return ready.get(peer); }

    /** Starts the handshake on a new connection: sends our hello and starts the timeout. Idempotent. */
    public void start(Connection c) {
        State st = stateFor(c);
        if (st.started || st.done) return;
        st.started = true;
        Multistream.select(c, List.of(ID), id -> new OutboundReader(st)).whenComplete((n, err) -> {
            if (err == null) {
                st.outbound = n.stream();
                n.stream().write(helloFrame);
                if (st.done) n.stream().close();
                return;
            }
            Throwable cause = err instanceof CompletionException && err.getCause() != null ? err.getCause() : err;
            if (cause instanceof ProtocolNotSupportedException && st.remote == null && !st.done) {
                st.done = true;
                st.cancelTimer();
                counters.increment(UNSUPPORTED);
                log.debug("peer={} does not speak {}; keeping the connection as a plain libp2p peer", c.remotePeer(), ID);
            } else {
                fail(st, MALFORMED, "cannot open handshake stream: " + cause.getMessage());
            }
        });
    }

    /** Forgets the connection's handshake; call when it closed. */
    public void onConnectionClosed(Connection c) {
        State st = states.remove(c.id());
        if (st == null) return;
        if (!st.done) {
            counters.increment(CLOSED);
            log.debug("connection closed during the handshake peer={}", c.remotePeer());
        }
        st.done = true;
        st.cancelTimer();
        if (st.ready) {
            PeerId peer = c.remotePeer();
            int n = readyConnections.getOrDefault(peer, 1) - 1;
            if (n <= 0) {
                readyConnections.remove(peer);
                ready.remove(peer);
            } else {
                readyConnections.put(peer, n);
            }
        }
    }

    /** Serves the remote's hello on a stream it opened. */
    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        State st = stateFor(stream.connection());
        if (st.inboundSeen) {
            counters.increment(MALFORMED);
            log.debug("peer={} opened a second handshake stream; reset", stream.connection().remotePeer());
            stream.reset();
            return (s, d) -> {};
        }
        st.inboundSeen = true;
        return new InboundReader(st);
    }

    /**
     * Why we refuse a remote that said {@code remote}, or null if we accept it.
     *
     * @return the counter to increment and the reason
     */
    public Refusal check(HandshakeInfo remote) {
        if (remote.networkId() != config.networkId()) {
            return new Refusal(REFUSED_NETWORK_ID, "network id " + Long.toUnsignedString(remote.networkId())
                    + " differs from ours (" + Long.toUnsignedString(config.networkId()) + ")");
        }
        if (remote.version() < config.minVersion()) {
            return new Refusal(REFUSED_VERSION, "handshake version " + remote.version()
                    + " is not supported (we accept " + config.minVersion() + " and newer)");
        }
        return null;
    }

    /** A refusal: the counter it is counted under and the reason sent to the remote. */
    public record Refusal(String counter, String reason) {}

    /** A decoded verdict. */
    public record Verdict(boolean accepted, String reason) {}

    // ---- codec -----------------------------------------------------------------------------------------------

    /** Encodes a hello (without the length prefix). */
    public static byte[] encodeHello(HandshakeInfo info) {
        return HandshakeProto.Hello.newBuilder().setVersion(info.version()).setNetworkId(info.networkId())
                .setLight(info.light()).build().toByteArray();
    }

    /**
     * Decodes a hello (without the length prefix).
     *
     * @throws HandshakeException if longer than {@value #MAX_MESSAGE_BYTES} bytes or not a valid {@code Hello}
     */
    public static HandshakeInfo decodeHello(byte[] message) {
        if (message.length > MAX_MESSAGE_BYTES) {
            throw new HandshakeException("hello of " + message.length + " bytes exceeds limit " + MAX_MESSAGE_BYTES);
        }
        HandshakeProto.Hello pb;
        try {
            pb = HandshakeProto.Hello.parseFrom(message);
        } catch (InvalidProtocolBufferException e) {
            throw new HandshakeException("malformed hello: " + e.getMessage());
        }
        if (pb.getVersion() < 0) { // uint32 above 2^31 - 1
            throw new HandshakeException("hello version " + Integer.toUnsignedString(pb.getVersion()) + " out of range");
        }
        return new HandshakeInfo(pb.getVersion(), pb.getNetworkId(), pb.getLight());
    }

    /** Encodes a verdict (without the length prefix); the reason is cut to {@value #MAX_REASON_CHARS} chars. */
    public static byte[] encodeVerdict(boolean accepted, String reason) {
        String r = reason == null ? "" : reason.length() > MAX_REASON_CHARS ? reason.substring(0, MAX_REASON_CHARS) : reason;
        return HandshakeProto.Verdict.newBuilder().setAccepted(accepted).setReason(r).build().toByteArray();
    }

    /**
     * Decodes a verdict (without the length prefix).
     *
     * @throws HandshakeException if longer than {@value #MAX_MESSAGE_BYTES} bytes, not a valid {@code Verdict}, or
     *     its reason is over {@value #MAX_REASON_CHARS} chars
     */
    public static Verdict decodeVerdict(byte[] message) {
        if (message.length > MAX_MESSAGE_BYTES) {
            throw new HandshakeException("verdict of " + message.length + " bytes exceeds limit " + MAX_MESSAGE_BYTES);
        }
        HandshakeProto.Verdict pb;
        try {
            pb = HandshakeProto.Verdict.parseFrom(message);
        } catch (InvalidProtocolBufferException e) {
            throw new HandshakeException("malformed verdict: " + e.getMessage());
        }
        if (pb.getReason().length() > MAX_REASON_CHARS) {
            throw new HandshakeException("verdict reason of " + pb.getReason().length() + " chars exceeds limit "
                    + MAX_REASON_CHARS);
        }
        return new Verdict(pb.getAccepted(), pb.getReason());
    }

    // ---- state machine (event loop) --------------------------------------------------------------------------

    private static final class State {
        final Connection connection;
        EventLoop.Cancellable timer;
        boolean started;      // our hello is on its way
        boolean inboundSeen;  // the remote opened its handshake stream
        HandshakeInfo remote; // the remote's hello, once we accepted it
        boolean remoteAccepted;
        boolean done;         // ready, failed or unsupported
        boolean ready;
        boolean refused;      // we refused the remote's hello
        Stream outbound;

        State(Connection connection) { this.connection = connection; }

        void cancelTimer() {
            if (timer != null) timer.cancel();
            timer = null;
        }
    }

    private State stateFor(Connection c) {
        State st = states.get(c.id());
        if (st == null) {
            State created = new State(c);
            created.timer = loop.schedule(() -> fail(created, REFUSED_TIMEOUT,
                    "handshake did not complete within " + config.timeoutMs() + " ms"), config.timeoutMs());
            states.put(c.id(), created);
            st = created;
        }
        return st;
    }

    private void maybeReady(State st) {
        if (st.done || st.remote == null || !st.remoteAccepted) return;
        st.done = true;
        st.ready = true;
        st.cancelTimer();
        if (states.get(st.connection.id()) != st || !st.connection.isOpen()) return; // closed meanwhile
        PeerId peer = st.connection.remotePeer();
        readyConnections.merge(peer, 1, Integer::sum);
        ready.put(peer, st.remote);
        counters.increment(OK);
        log.debug("handshake passed peer={}: {}", peer, st.remote);
        listener.onReady(st.connection, st.remote);
    }

    private void fail(State st, String counter, String reason) {
        if (st.done) return;
        st.done = true;
        st.cancelTimer();
        if (!st.connection.isOpen()) {
            counters.increment(CLOSED);
            log.debug("connection closed during the handshake peer={} ({})", st.connection.remotePeer(), reason);
            return;
        }
        counters.increment(counter);
        log.info("handshake failed peer={} ({}): {}; closing the connection", st.connection.remotePeer(), counter,
                reason);
        if (st.outbound != null) st.outbound.reset();
        st.connection.close();
    }

    /** Reads the remote's hello on the stream it opened and answers with our verdict. */
    private final class InboundReader implements StreamHandler {
        private final State st;
        private final FrameDecoder decoder = new FrameDecoder(MAX_MESSAGE_BYTES);
        private boolean answered;

        InboundReader(State st) { this.st = st; }

        @Override public void onData(Stream s, byte[] data) {
            if (answered) return;
            HandshakeInfo[] hello = new HandshakeInfo[1];
            try {
                decoder.feed(data, msg -> {
                    hello[0] = decodeHello(msg);
                    decoder.stop();
                });
            } catch (IllegalArgumentException e) {
                answered = true;
                s.reset();
                fail(st, MALFORMED, "bad hello: " + e.getMessage());
                return;
            }
            if (hello[0] == null) return;
            answered = true;
            if (st.done) { // timed out or failed meanwhile
                s.reset();
                return;
            }
            Refusal refusal = check(hello[0]);
            if (refusal == null) {
                s.write(FrameDecoder.frame(encodeVerdict(true, "")));
                s.closeWrite();
                st.remote = hello[0];
                maybeReady(st);
                return;
            }
            st.done = true;
            st.refused = true;
            st.cancelTimer();
            counters.increment(refusal.counter());
            log.info("handshake refused peer={} ({}): {}", st.connection.remotePeer(), hello[0], refusal.reason());
            s.write(FrameDecoder.frame(encodeVerdict(false, refusal.reason())));
            s.closeWrite();
            Connection c = st.connection;
            loop.schedule(c::close, config.refusalGraceMs());
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (!answered) {
                answered = true;
                fail(st, MALFORMED, "remote ended its handshake stream before a hello");
            }
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (!answered) {
                answered = true;
                fail(st, MALFORMED, "handshake stream closed before a hello"
                        + (cause == null ? "" : ": " + cause.getMessage()));
            }
        }
    }

    /** Reads the remote's verdict on our hello, on the stream we opened. */
    private final class OutboundReader implements StreamHandler {
        private final State st;
        private final FrameDecoder decoder = new FrameDecoder(MAX_MESSAGE_BYTES);
        private boolean answered;

        OutboundReader(State st) { this.st = st; }

        @Override public void onData(Stream s, byte[] data) {
            if (answered) return;
            Verdict[] verdict = new Verdict[1];
            try {
                decoder.feed(data, msg -> {
                    verdict[0] = decodeVerdict(msg);
                    decoder.stop();
                });
            } catch (IllegalArgumentException e) {
                answered = true;
                fail(st, MALFORMED, "bad verdict: " + e.getMessage());
                return;
            }
            if (verdict[0] == null) return;
            answered = true;
            s.close();
            if (st.refused) { // both verdicts are out: nothing left to wait for
                st.connection.close();
                return;
            }
            if (verdict[0].accepted()) {
                st.remoteAccepted = true;
                maybeReady(st);
            } else {
                fail(st, REFUSED_BY_REMOTE, "remote refused us: " + verdict[0].reason());
            }
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (!answered) {
                answered = true;
                fail(st, MALFORMED, "remote ended the handshake stream without a verdict");
            }
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (!answered) {
                answered = true;
                fail(st, MALFORMED, "handshake stream closed without a verdict"
                        + (cause == null ? "" : ": " + cause.getMessage()));
            }
        }
    }
}
