package io.peersocket.despatch;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.peersocket.identity.PeerId;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.telemetry.Telemetry;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The despatch layer (seed 000 "Peer Socket"), protocol {@value #PROTOCOL_ID}: reads each message's
 * {@link Header} and routes it —
 * <ul>
 *   <li>a reply ({@code in-reply-to}) to the one-shot reply handler registered by {@link #request} for
 *       (peer, in-reply-to), removed on delivery; replies nobody waits for are dropped and counted
 *       ({@code despatch.drop.unknown_reply});</li>
 *   <li>a conversation message ({@code in-regards-to}) to the conversation's state machine, keyed by (peer,
 *       who opened it, opening message id), one message at a time;</li>
 *   <li>a conversation-opening message to a new state machine made by the factory registered for its type;</li>
 *   <li>anything else to the stateless handler registered for its type.</li>
 * </ul>
 *
 * <p>Wire: each side sends on one despatch stream per peer that it opened itself (on first use), so each
 * direction is one FIFO channel; frames are varint-length-prefixed {@link Header} + payload. Unreliable messages go in one QUIC
 * datagram each; a message larger than one datagram goes on the stream instead. A {@link ChannelObserver} sees
 * every stream message on the event loop in arrival order and every channel reset (a stream that ended before
 * everything on it arrived): the snapshot protocol's hook (docs/snapshot.md).
 *
 * <p>Migration (docs/wire.md "Channel succession"): when an unlimited (direct) connection to a peer opens while the
 * outbound stream to it runs over a limited (relayed) one ({@link #onConnection}), later messages go on a new
 * stream on the direct connection and the old stream ends with FIN after what was already queued on it. The
 * receiver routes a newer inbound stream's frames only after the older stream from that peer on another
 * connection ended, holding them meanwhile (at most {@value #SUCCESSION_HOLD_FRAMES} maximum-size frames per peer),
 * so the channel stays FIFO, loses and repeats nothing, and a clean succession is no channel reset. Counters:
 * {@code despatch.link.migrated},
 * {@code .link.retired} (clean), {@code .link.retire_lost}, {@code .channel.successor}, {@code .channel.held},
 * {@code .channel.succeeded}, {@code .channel.successor_reset}, {@code .channel.reset.inbound|outbound}.
 *
 * <p>Threading: routing state belongs to the event loop; public methods may be called from any thread and
 * enqueue to it. Handlers run on virtual threads, or on {@link DespatchConfig#handlerExecutor()} if one is set
 * (the simulator runs them on the event loop). Bad input (malformed header, oversized frame) resets that
 * stream and is counted; the node keeps serving.
 *
 * <p>Tracing and metrics ({@link Telemetry}): each message sent makes a span {@code "send NAME"} (CLIENT for a
 * request, ending when its reply, error or timeout comes; PRODUCER otherwise, ending when handed to the
 * transport) whose context goes in the header's trace field; each message received makes {@code "receive NAME"}
 * (SERVER for a request, CONSUMER otherwise) as a child of the sender's span, and its handler runs inside
 * {@code "handle NAME"} with that context current and the peer and trace id in the SLF4J MDC. A reply is sent in
 * the context of the request's receive span, and every message of a conversation in the context of the
 * conversation's opening message, so a request and its reply, and a whole conversation, are one trace. NAME is
 * the name given with {@link #nameType} (or the type number). With the no-op telemetry nothing is allocated.
 */
public final class Despatcher implements ProtocolHandler, AutoCloseable {
    public static final String PROTOCOL_ID = "/peersocket/despatch/1.0.0";
    private static final Logger log = LoggerFactory.getLogger(Despatcher.class);

    private final EventLoop loop;
    private final DespatchConfig config;
    private final Function<PeerId, CompletableFuture<Connection>> connector;
    private final Counters counters;
    private final Telemetry telemetry;
    private final Map<Integer, String> names = new ConcurrentHashMap<>();
    private final ExecutorService ownHandlerThreads; // null when the config names an executor
    private final Executor handlerThreads;
    private final AtomicLong nextId = new AtomicLong(1);
    private final Map<Integer, MessageHandler> handlers = new ConcurrentHashMap<>();
    private final Map<Integer, ConversationFactory> factories = new ConcurrentHashMap<>();
    private final java.util.Set<Integer> reliableOnly = ConcurrentHashMap.newKeySet();
    private volatile ChannelObserver channelObserver;

    // Event-loop state.
    private final Map<PeerId, Link> links = new HashMap<>(); // the current outbound link per peer
    private final Map<PeerId, Link> opening = new HashMap<>(); // the newest link per peer not yet settled
    private final List<Link> retiring = new ArrayList<>(); // replaced links finishing their writes (FIN)
    private final Map<PeerId, ArrayDeque<Segment>> inbound = new HashMap<>(); // inbound streams per peer, oldest first
    private final Map<PendingKey, Pending> pending = new HashMap<>();
    private final Map<ConvKey, ConvState> conversations = new HashMap<>();
    private boolean closed;

    private record PendingKey(PeerId peer, long id) {}

    private record ConvKey(PeerId peer, boolean openedLocally, long id) {}

    private static final class Pending {
        final CompletableFuture<Message> future;
        EventLoop.Cancellable timer;
        Span span; // null when tracing is off
        String name;
        long startNanos;

        Pending(CompletableFuture<Message> future) { this.future = future; }
    }

    /**
     * @param loop the node's event loop
     * @param connector returns an open connection to a peer, dialling if needed
     * @param counters where message and drop counts go
     */
    public Despatcher(EventLoop loop, DespatchConfig config, Function<PeerId, CompletableFuture<Connection>> connector,
                      Counters counters) {
        this(loop, config, connector, counters, Telemetry.noop());
    }

    /**
     * @param telemetry where spans and metrics go ({@link Telemetry#noop()} for none)
     */
    public Despatcher(EventLoop loop, DespatchConfig config, Function<PeerId, CompletableFuture<Connection>> connector,
                      Counters counters, Telemetry telemetry) {
        this.loop = Objects.requireNonNull(loop);
        this.config = Objects.requireNonNull(config);
        this.connector = Objects.requireNonNull(connector);
        this.counters = Objects.requireNonNull(counters);
        this.telemetry = Objects.requireNonNull(telemetry);
        this.ownHandlerThreads = config.handlerExecutor() == null ? Executors.newVirtualThreadPerTaskExecutor() : null;
        this.handlerThreads = ownHandlerThreads != null ? ownHandlerThreads : config.handlerExecutor();
    }

    public DespatchConfig config() { return config; }

    // ---- registration -------------------------------------------------------------------------------

    /**
     * Registers the stateless handler for {@code type}, replacing any earlier one.
     *
     * @throws IllegalArgumentException if {@code type} is negative or is a conversation-opening type
     */
    public void register(int type, MessageHandler handler) {
        checkType(type);
        if (factories.containsKey(type)) throw new IllegalArgumentException("type " + type + " opens conversations");
        handlers.put(type, Objects.requireNonNull(handler));
    }

    /** Registers the factory for conversations a remote opens with a message of {@code type}. */
    public void registerConversation(int type, ConversationFactory factory) {
        checkType(type);
        if (handlers.containsKey(type)) throw new IllegalArgumentException("type " + type + " has a stateless handler");
        factories.put(type, Objects.requireNonNull(factory));
    }

    /**
     * Marks {@code type} as stream-only: {@link #sendUnreliable} of it fails with {@link IllegalArgumentException}
     * and a datagram carrying it is dropped and counted ({@code despatch.drop.unreliable_for_reliable_type}). For
     * traffic that must stay on a FIFO channel (see {@link ChannelObserver}, docs/snapshot.md).
     */
    public void requireReliable(int type) {
        checkType(type);
        reliableOnly.add(type);
    }

    /** Whether {@link #requireReliable} was called for {@code type}. */
    public boolean isReliableOnly(int type) { return reliableOnly.contains(type); }

    /**
     * Installs the observer of channel traffic (at most one; the snapshot protocol). Null removes it.
     *
     * @throws IllegalStateException if another observer is installed
     */
    public void setChannelObserver(ChannelObserver observer) {
        if (observer != null && channelObserver != null && channelObserver != observer) {
            throw new IllegalStateException("a channel observer is already installed");
        }
        channelObserver = observer;
    }

    private void channelReset(PeerId peer, boolean inbound) {
        counters.increment(inbound ? "despatch.channel.reset.inbound" : "despatch.channel.reset.outbound");
        ChannelObserver o = channelObserver;
        if (o == null) return;
        try {
            o.onChannelReset(peer, inbound);
        } catch (RuntimeException e) {
            log.warn("channel observer failed on reset of {}: {}", peer, e.toString());
        }
    }

    /** {@link #register(int, MessageHandler)} and {@link #nameType} in one; nothing changes if either argument is bad. */
    public void register(int type, String name, MessageHandler handler) {
        checkName(name);
        register(type, handler);
        names.put(type, name);
    }

    /** {@link #registerConversation(int, ConversationFactory)} and {@link #nameType} in one; nothing changes if either argument is bad. */
    public void registerConversation(int type, String name, ConversationFactory factory) {
        checkName(name);
        registerConversation(type, factory);
        names.put(type, name);
    }

    /**
     * Names message type {@code type} (e.g. {@code "PING"}) for span names ({@code "send PING"}) and metric
     * labels. Name reply types too; unnamed types show as their number.
     *
     * @param name 1 to 64 characters, letters, digits, {@code _ - . /}
     * @throws IllegalArgumentException if the name is not like that or the type is negative
     */
    public void nameType(int type, String name) {
        checkType(type);
        checkName(name);
        names.put(type, name);
    }

    private static void checkName(String name) {
        if (name == null || name.isEmpty() || name.length() > 64 || !name.matches("[A-Za-z0-9_./-]+")) {
            throw new IllegalArgumentException("bad message type name \"" + name + "\"");
        }
    }

    /** The name given to {@code type}, or its number as text. */
    public String typeName(int type) {
        String n = names.get(type);
        return n != null ? n : Integer.toString(type);
    }

    private static void checkType(int type) {
        if (type < 0) throw new IllegalArgumentException("message type must be >= 0, got " + type);
    }

    // ---- sending ------------------------------------------------------------------------------------

    /**
     * Sends a one-way message reliably.
     *
     * @return completes when handed to the transport; fails with {@link IllegalArgumentException} if the
     *     payload is over {@link DespatchConfig#maxMessageBytes()}, or with the dial or transport failure
     */
    public CompletableFuture<Void> send(PeerId peer, int type, byte[] payload) {
        checkType(type);
        checkSize(payload);
        long id = nextId.getAndIncrement();
        Span span = sendSpan(Context.current(), SpanKind.PRODUCER, peer, type, id, 0, 0, payload.length);
        Header h = header(0, type, id, 0, 0, span);
        return ended(submit(peer, h, payload, true), span);
    }

    /**
     * Sends a one-way message unreliably (a QUIC datagram): it may be lost, duplicated or reordered. A
     * message too large for one datagram is sent reliably instead.
     */
    public CompletableFuture<Void> sendUnreliable(PeerId peer, int type, byte[] payload) {
        checkType(type);
        if (reliableOnly.contains(type)) {
            throw new IllegalArgumentException("message type " + type + " must be sent reliably (requireReliable)");
        }
        checkSize(payload);
        long id = nextId.getAndIncrement();
        Span span = sendSpan(Context.current(), SpanKind.PRODUCER, peer, type, id, 0, 0, payload.length);
        Header h = header(0, type, id, 0, 0, span);
        return ended(submit(peer, h, payload, false), span);
    }

    /**
     * Sends a one-way message reliably, now: must be called on the event loop; the frame is queued on the
     * peer's outbound channel (its despatch stream) before this returns, so it is ordered before every frame
     * this node sends to {@code peer} later — a snapshot marker included. Use it to change state and send in
     * one loop task (docs/snapshot.md).
     *
     * @return completes when handed to the transport; fails like {@link #send}
     * @throws IllegalStateException if not called on the event loop
     */
    public CompletableFuture<Void> sendFromLoop(PeerId peer, int type, byte[] payload) {
        checkType(type);
        checkSize(payload);
        if (!loop.inEventLoop()) throw new IllegalStateException("sendFromLoop called off the event loop");
        long id = nextId.getAndIncrement();
        Span span = sendSpan(Context.current(), SpanKind.PRODUCER, peer, type, id, 0, 0, payload.length);
        Header h = header(0, type, id, 0, 0, span);
        return ended(sendOnLoop(peer, h, payload, true), span);
    }

    /** {@link #request(PeerId, int, byte[], long)} with the configured default timeout. */
    public CompletableFuture<Message> request(PeerId peer, int type, byte[] payload) {
        return request(peer, type, payload, config.requestTimeoutMs());
    }

    /**
     * Sends a request and returns its reply.
     *
     * @param timeoutMs how long to wait for the reply, ms
     * @return completes with the reply; fails with {@link TimeoutException} after {@code timeoutMs},
     *     {@link RemoteException} if the remote answered with an error (e.g. no handler for {@code type}), or
     *     the dial/transport failure
     */
    public CompletableFuture<Message> request(PeerId peer, int type, byte[] payload, long timeoutMs) {
        checkType(type);
        checkSize(payload);
        if (timeoutMs <= 0) throw new IllegalArgumentException("timeoutMs must be > 0");
        long id = nextId.getAndIncrement();
        Span span = sendSpan(Context.current(), SpanKind.CLIENT, peer, type, id, 0, 0, payload.length);
        Header h = header(Header.F_REQUEST, type, id, 0, 0, span);
        CompletableFuture<Message> reply = new CompletableFuture<>();
        long start = telemetry.enabled() ? System.nanoTime() : 0;
        loop.execute(() -> {
            if (closed) {
                failRequest(reply, span, new IllegalStateException("despatcher closed"));
                return;
            }
            if (pending.size() >= config.maxPendingRequests()) {
                counters.increment("despatch.request.refused_limit");
                failRequest(reply, span, new IllegalStateException("too many outstanding requests (" + pending.size() + ")"));
                return;
            }
            PendingKey key = new PendingKey(peer, id);
            Pending p = new Pending(reply);
            p.span = span;
            if (telemetry.enabled()) {
                p.name = typeName(type);
                p.startNanos = start;
            }
            pending.put(key, p);
            p.timer = loop.schedule(() -> {
                if (pending.remove(key) != null) {
                    counters.increment("despatch.request.timeout");
                    requestDone(p, "timeout", new TimeoutException("no reply from " + peer + " to message type "
                            + typeName(type) + " within " + timeoutMs + " ms"));
                }
            }, timeoutMs);
            sendOnLoop(peer, h, payload, true).whenComplete((v, err) -> {
                if (err != null && pending.remove(key) != null) {
                    p.timer.cancel();
                    requestDone(p, "error", Futures.unwrap(err));
                }
            });
        });
        return reply;
    }

    private static void failRequest(CompletableFuture<Message> reply, Span span, Throwable err) {
        Telemetry.end(span, err);
        reply.completeExceptionally(err);
    }

    /** Ends a request: its span, its latency, then its future (with the reply if {@code err} is null). */
    private void requestDone(Pending p, String outcome, Throwable err) {
        if (p.name != null) telemetry.requestFinished(PROTOCOL_ID, p.name, (System.nanoTime() - p.startNanos) / 1_000_000, outcome);
        Telemetry.end(p.span, err);
        if (err != null) p.future.completeExceptionally(err);
    }

    /**
     * Opens a conversation with {@code peer}: sends the opening message; later messages in either direction
     * go to {@code handler}, one at a time.
     *
     * @return the conversation (usable at once; its messages queue behind the opening one)
     */
    public Conversation openConversation(PeerId peer, int type, byte[] payload, ConversationHandler handler) {
        checkType(type);
        checkSize(payload);
        Objects.requireNonNull(handler);
        long id = nextId.getAndIncrement();
        Conversation c = new Conversation(this, peer, id, true);
        Span span = sendSpan(Context.current(), SpanKind.PRODUCER, peer, type, id, 0, 0, payload.length);
        if (span != null) c.traceContext = Context.current().with(span);
        Header h = header(Header.F_CONVERSATION_OPEN, type, id, 0, 0, span);
        loop.execute(() -> {
            if (closed) {
                c.ended = true;
                Telemetry.end(span, new IllegalStateException("despatcher closed"));
                runEnd(handler, c, ConversationHandler.EndReason.SHUTDOWN, "despatcher closed");
                return;
            }
            ConvState st = new ConvState(new ConvKey(peer, true, id), c, handler);
            conversations.put(st.key, st);
            st.touch();
            sendOnLoop(peer, h, payload, true).whenComplete((v, err) -> {
                Telemetry.end(span, err);
                if (err != null) finish(st, ConversationHandler.EndReason.ERROR, "opening message not sent: " + err.getMessage(), false);
            });
        });
        return c;
    }

    CompletableFuture<Void> sendInConversation(Conversation c, int type, byte[] payload, boolean end) {
        checkType(type);
        checkSize(payload);
        if (c.ended) return CompletableFuture.failedFuture(new IllegalStateException(c + " has ended"));
        int flags = Header.F_IN_REGARDS_TO | (c.isOpenedLocally() ? Header.F_OPENED_BY_SENDER : 0)
                | (end ? Header.F_CONVERSATION_END : 0);
        long id = nextId.getAndIncrement();
        Span span = sendSpan(conversationContext(c), SpanKind.PRODUCER, c.peer(), type, id, 0, c.id(), payload.length);
        Header h = header(flags, type, id, 0, c.id(), span);
        CompletableFuture<Void> result = new CompletableFuture<>();
        loop.execute(() -> {
            ConvState st = conversations.get(new ConvKey(c.peer(), c.isOpenedLocally(), c.id()));
            if (st == null) {
                result.completeExceptionally(new IllegalStateException(c + " has ended"));
                return;
            }
            st.touch();
            sendOnLoop(c.peer(), h, payload, true).whenComplete((v, err) -> {
                if (err != null) result.completeExceptionally(err);
                else result.complete(null);
            });
            if (end) finish(st, ConversationHandler.EndReason.LOCAL, null, false);
        });
        return ended(result, span);
    }

    void endConversation(Conversation c) {
        loop.execute(() -> {
            ConvState st = conversations.get(new ConvKey(c.peer(), c.isOpenedLocally(), c.id()));
            if (st != null) finish(st, ConversationHandler.EndReason.LOCAL, null, true);
        });
    }

    CompletableFuture<Void> reply(Message request, int type, byte[] payload, boolean error) {
        checkType(type);
        checkSize(payload);
        if (!request.isRequest()) throw new IllegalStateException("message " + request.id() + " is not a request");
        if (!replied(request)) throw new IllegalStateException("request " + request.id() + " was already answered");
        int flags = Header.F_IN_REPLY_TO | (error ? Header.F_ERROR : 0);
        long id = nextId.getAndIncrement();
        Context parent = request.context != null ? request.context : Context.current();
        Span span = sendSpan(parent, SpanKind.PRODUCER, request.peer(), type, id, request.id(), 0, payload.length);
        if (span != null && error) span.setStatus(StatusCode.ERROR, "error reply");
        Header h = header(flags, type, id, request.id(), 0, span);
        return ended(submit(request.peer(), h, payload, true), span);
    }

    // ---- tracing helpers ----------------------------------------------------------------------------

    private Context conversationContext(Conversation c) {
        Context ctx = c.traceContext;
        return ctx != null ? ctx : Context.current();
    }

    /** Starts {@code "send NAME"} as a child of {@code parent}; null when tracing is off. */
    private Span sendSpan(Context parent, SpanKind kind, PeerId peer, int type, long id, long inReplyTo, long inRegardsTo,
                          int bytes) {
        if (!telemetry.enabled()) return null;
        String name = typeName(type);
        var b = telemetry.tracer().spanBuilder("send " + name).setParent(parent).setSpanKind(kind)
                .setAttribute(Telemetry.REMOTE_PEER, peer.toString())
                .setAttribute(Telemetry.PROTOCOL, PROTOCOL_ID)
                .setAttribute(Telemetry.MESSAGE_TYPE, (long) type)
                .setAttribute(Telemetry.MESSAGE_NAME, name)
                .setAttribute(Telemetry.MESSAGE_ID, id)
                .setAttribute(Telemetry.MESSAGE_BYTES, (long) bytes);
        if (inReplyTo > 0) b.setAttribute(Telemetry.IN_REPLY_TO, inReplyTo);
        if (inRegardsTo > 0) b.setAttribute(Telemetry.IN_REGARDS_TO, inRegardsTo);
        return b.startSpan();
    }

    /** A header carrying {@code span}'s context in its trace field (none if the span is null or invalid). */
    private Header header(int flags, int type, long id, long inReplyTo, long inRegardsTo, Span span) {
        byte[] trace = span == null ? null : telemetry.inject(Context.root().with(span), Header.MAX_TRACE_BYTES);
        return new Header(trace == null ? flags : flags | Header.F_TRACE, type, id, inReplyTo, inRegardsTo, trace);
    }

    /** Ends {@code span} when {@code f} completes. */
    private static CompletableFuture<Void> ended(CompletableFuture<Void> f, Span span) {
        if (span == null) return f;
        return f.whenComplete((v, err) -> Telemetry.end(span, err == null ? null : Futures.unwrap(err)));
    }

    /** A handler call. */
    private interface Body {
        void run() throws Exception;
    }

    /** Runs a handler for {@code m} inside {@code "handle NAME"}, with its context current and the MDC set. */
    private void handleTraced(Message m, Body body) throws Exception {
        if (!telemetry.enabled()) {
            try (Telemetry.MdcScope ignored = Telemetry.mdc(m.peer().toString(), null)) {
                body.run();
            }
            return;
        }
        Context parent = m.context != null ? m.context : Context.root();
        Span span = telemetry.tracer().spanBuilder("handle " + typeName(m.type())).setParent(parent)
                .setSpanKind(SpanKind.INTERNAL)
                .setAttribute(Telemetry.REMOTE_PEER, m.peer().toString())
                .setAttribute(Telemetry.MESSAGE_TYPE, (long) m.type())
                .setAttribute(Telemetry.MESSAGE_NAME, typeName(m.type()))
                .setAttribute(Telemetry.MESSAGE_ID, m.id())
                .startSpan();
        Context ctx = parent.with(span);
        Throwable failure = null;
        try (Scope ignored = ctx.makeCurrent(); Telemetry.MdcScope ignored2 = Telemetry.mdc(m.peer().toString(), ctx)) {
            body.run();
        } catch (Exception | Error e) {
            failure = e;
            throw e;
        } finally {
            Telemetry.end(span, failure);
        }
    }

    private final Map<Message, Boolean> answered = java.util.Collections.synchronizedMap(new java.util.WeakHashMap<>());

    private boolean replied(Message m) { return answered.putIfAbsent(m, Boolean.TRUE) == null; }

    private void checkSize(byte[] payload) {
        if (payload.length > config.maxMessageBytes()) {
            throw new IllegalArgumentException("message of " + payload.length + " bytes exceeds limit "
                    + config.maxMessageBytes());
        }
    }

    private CompletableFuture<Void> submit(PeerId peer, Header h, byte[] payload, boolean reliable) {
        CompletableFuture<Void> result = new CompletableFuture<>();
        loop.execute(() -> sendOnLoop(peer, h, payload, reliable).whenComplete((v, err) -> {
            if (err != null) result.completeExceptionally(err);
            else result.complete(null);
        }));
        return result;
    }

    private CompletableFuture<Void> sendOnLoop(PeerId peer, Header h, byte[] payload, boolean reliable) {
        if (closed) return CompletableFuture.failedFuture(new IllegalStateException("despatcher closed"));
        byte[] frame = h.encode(payload);
        counters.increment("despatch.sent");
        counters.add("despatch.sent_bytes", frame.length);
        if (telemetry.enabled()) telemetry.messageSent(PROTOCOL_ID, typeName(h.type()), frame.length);
        if (log.isTraceEnabled()) {
            log.trace("send {} id={} peer={} trace={} bytes={}", typeName(h.type()), h.messageId(), peer,
                    Telemetry.traceId(h.trace()), frame.length);
        }
        Link link = links.get(peer);
        if (!reliable) {
            if (link != null && link.isUsable() && link.connection != null
                    && frame.length <= link.connection.maxDatagramSize()) {
                if (link.connection.sendDatagram(frame)) {
                    counters.increment("despatch.sent_datagrams");
                    return CompletableFuture.completedFuture(null);
                }
            }
            counters.increment("despatch.datagram_fallback_reliable");
        }
        if (link == null || !link.isUsable()) {
            if (link != null) endLink(link, true);
            link = newLink(peer, null);
        }
        return link.write(FrameDecoder.frame(frame));
    }

    // ---- links (one outbound despatch stream per peer) ----------------------------------------------

    /**
     * One outbound despatch stream to a peer (the sending end of a channel), from the moment it is wanted until it
     * ends. Event-loop state. Life: waiting (its predecessor to the same peer is still negotiating) → started
     * (choosing a connection, then multistream-select) → settled (ready, or failed) → ended. A link that a
     * successor replaced ({@link #migrate}) is <em>retiring</em>: it sends its queued frames, then FIN.
     */
    private final class Link {
        final PeerId peer;
        /** The connection it opens (or opened) on; null while the connector is to choose one. */
        Connection connection;
        /** An unlimited connection that opened while the connector was choosing: used if that choice is limited. */
        Connection preferred;
        Stream stream;
        final ArrayDeque<Object[]> queued = new ArrayDeque<>(); // {byte[] frame, CompletableFuture<Void>}
        boolean failed;
        boolean started;
        boolean settled;
        /** The next link to the same peer: it starts opening only when this one settled, so streams open in order. */
        Link successor;
        boolean retiring;
        /** The remote's FIN came on this stream after ours: it read everything we wrote. */
        boolean acked;
        boolean ended;
        /** The retiring link this one replaced (migration), and the link that replaced this one. */
        Link predecessor, replacement;
        /** Bytes written on this stream while {@link #predecessor} had not ended. */
        long sentBeforeHandOver;

        Link(PeerId peer) { this.peer = peer; }

        /** Opening (stream not yet negotiated) or open on a live connection. */
        boolean isUsable() { return !failed && (stream == null || connection.isOpen()); }

        CompletableFuture<Void> write(byte[] data) {
            if (stream != null && queued.isEmpty() && !throttled(data.length)) return send(data);
            CompletableFuture<Void> f = new CompletableFuture<>();
            queued.add(new Object[] {data, f});
            return f;
        }

        /**
         * Whether {@code bytes} more must wait: this link replaced a retiring one that has not ended yet and already
         * {@link #successionBudgetBytes()} went out on this stream, all of which the receiver holds until the old
         * stream ends (its hold is bounded, wire.md "Channel succession"). The first frame always goes.
         */
        boolean throttled(int bytes) {
            return predecessor != null && !predecessor.ended && sentBeforeHandOver > 0
                    && sentBeforeHandOver + bytes > successionBudgetBytes();
        }

        private CompletableFuture<Void> send(byte[] data) {
            if (predecessor != null && !predecessor.ended) sentBeforeHandOver += data.length;
            return stream.write(data);
        }

        void ready(Stream s) {
            stream = s;
            pump();
        }

        /** Writes queued frames in order while the stream is open and the succession budget allows. */
        @SuppressWarnings("unchecked")
        void pump() {
            while (stream != null && !failed && !queued.isEmpty() && !throttled(((byte[]) queued.peek()[0]).length)) {
                Object[] q = queued.poll();
                CompletableFuture<Void> f = (CompletableFuture<Void>) q[1];
                send((byte[]) q[0]).whenComplete((v, err) -> {
                    if (err != null) f.completeExceptionally(err);
                    else f.complete(null);
                });
            }
        }

        @SuppressWarnings("unchecked")
        void fail(Throwable err) {
            failed = true;
            Object[] q;
            while ((q = queued.poll()) != null) ((CompletableFuture<Void>) q[1]).completeExceptionally(err);
        }
    }

    /** Makes {@code peer}'s current link, on {@code on} (null: the connector chooses); opens it in turn. */
    private Link newLink(PeerId peer, Connection on) {
        Link l = new Link(peer);
        l.connection = on;
        links.put(peer, l);
        Link prev = opening.put(peer, l);
        if (prev != null && !prev.settled) prev.successor = l;
        else startLink(l);
        return l;
    }

    private void startLink(Link l) {
        l.started = true;
        if (l.failed || closed) {
            settle(l);
            return;
        }
        if (l.connection != null) {
            negotiate(l, l.connection);
            return;
        }
        connector.apply(l.peer).whenComplete((conn, err) -> loop.execute(() -> {
            if (err != null) {
                linkOpened(l, null, err);
            } else if (l.failed || closed) {
                settle(l);
            } else {
                Connection use = conn;
                if (use.isLimited() && l.preferred != null && l.preferred.isOpen()) use = l.preferred;
                negotiate(l, use);
            }
        }));
    }

    private void negotiate(Link l, Connection conn) {
        l.connection = conn;
        telemetry.streamOpened("outbound");
        Multistream.select(conn, List.of(PROTOCOL_ID), id -> new Reader(l.peer, null, l))
                .whenComplete((n, e) -> loop.execute(() -> linkOpened(l, n, e)));
    }

    /** Negotiation of {@code l}'s stream finished (with {@code n}, or failed with {@code err}). On the loop. */
    private void linkOpened(Link l, Multistream.Negotiated n, Throwable err) {
        if (err != null) {
            Throwable cause = Futures.unwrap(err);
            if (!l.failed) {
                counters.increment("despatch.link.failed");
                log.debug("despatch link failed peer={}: {}", l.peer, cause.toString());
                l.fail(cause);
            }
            endLink(l, true);
        } else if (l.failed || closed) {
            n.stream().reset();
        } else {
            l.ready(n.stream());
            if (l.retiring) l.stream.closeWrite();
        }
        settle(l);
    }

    /** {@code l} finished opening (either way): the next link to its peer may open. */
    private void settle(Link l) {
        if (l.settled) return;
        l.settled = true;
        if (opening.get(l.peer) == l) opening.remove(l.peer);
        Link next = l.successor;
        l.successor = null;
        if (next != null) startLink(next);
    }

    /**
     * {@code l}'s stream ended; reports a channel reset unless it retired cleanly ({@code lost} false: a
     * successor took over and the remote read everything). Idempotent.
     */
    private void endLink(Link l, boolean lost) {
        if (l.ended) return;
        l.ended = true;
        l.failed = true;
        if (links.get(l.peer) == l) links.remove(l.peer);
        retiring.remove(l);
        if (l.retiring) counters.increment(lost ? "despatch.link.retire_lost" : "despatch.link.retired");
        if (lost || !l.retiring) channelReset(l.peer, false);
        Link next = l.replacement;
        l.replacement = null;
        if (next != null) {
            next.predecessor = null;
            next.pump(); // frames held back for the receiver's sake may go now
        }
    }

    /**
     * What a link that replaced a retiring one sends before the old stream ended: two maximum-size frames, half the
     * receiver's hold bound when both use the same {@code maxMessageBytes}. Beyond it frames wait at the sender.
     */
    private long successionBudgetBytes() {
        return (long) (SUCCESSION_HOLD_FRAMES / 2) * (config.maxMessageBytes() + Header.MAX_BYTES);
    }

    /**
     * Moves {@code old}'s peer to a new link on {@code to}: frames sent from now on queue for the new stream
     * (which opens once {@code old} has finished negotiating); {@code old} sends what it has queued, then FIN.
     * Until {@code old} ended, the new stream carries at most {@link #successionBudgetBytes()} (the receiver holds
     * them); the rest waits here, at most {@code requestTimeoutMs} ({@code despatch.link.handover_timeout}).
     */
    private void migrate(Link old, Connection to) {
        counters.increment("despatch.link.migrated");
        log.debug("despatch link to peer={} moves from {} to {}", old.peer, old.connection, to);
        old.retiring = true;
        retiring.add(old);
        Link next = newLink(old.peer, to);
        next.predecessor = old;
        old.replacement = next;
        if (old.stream != null) old.stream.closeWrite();
        // a remote that never answers the old stream's FIN must not stall the new stream for good
        loop.schedule(() -> {
            if (next.predecessor == old) {
                counters.increment("despatch.link.handover_timeout");
                next.predecessor = null;
                next.pump();
            }
        }, config.requestTimeoutMs());
    }

    /**
     * A connection opened (the node calls this from its transport handler; any thread, handled on the event loop).
     * If it is unlimited ({@code !isLimited()}) and the outbound despatch stream to its peer runs over a limited
     * (relayed) connection, the stream moves: messages sent from now on go on a new despatch stream on {@code c}
     * (queued until it is negotiated), and the old stream finishes with FIN after the messages already queued on it,
     * so nothing is lost, duplicated or reordered: the receiver delivers the new stream's messages only after the
     * old stream ended (docs/wire.md "Channel succession"). A limited connection, or a peer with no despatch
     * traffic, changes nothing (the next send picks a connection as usual).
     */
    public void onConnection(Connection c) {
        if (!loop.inEventLoop()) {
            loop.execute(() -> onConnection(c));
            return;
        }
        if (closed || c.isLimited() || !c.isOpen()) return;
        Link l = links.get(c.remotePeer());
        if (l == null || l.failed || l.connection == c) return;
        if (l.connection == null) {
            l.preferred = c; // the connector is still to choose, or choosing
        } else if (l.connection.isLimited()) {
            if (!l.started) l.connection = c; // nothing sent yet: just aim it at the direct connection
            else migrate(l, c);
        }
    }

    /**
     * The connection the outbound despatch stream to {@code peer} runs (or is being opened) on, or null if there
     * is none or the connection is still being chosen. Event loop (racy elsewhere); for tests and diagnostics.
     */
    public Connection linkConnection(PeerId peer) {
        Link l = links.get(peer);
        return l == null ? null : l.connection;
    }

    /**
     * Inbound despatch stream (multistream chose our protocol): only read. Each side sends on the stream it
     * opened, so each direction of a peer pair is one FIFO channel; a newer stream from the same peer continues
     * the channel after the older one ended (channel succession).
     */
    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        PeerId peer = stream.connection().remotePeer();
        Segment seg = new Segment(peer, stream);
        ArrayDeque<Segment> chain = inbound.computeIfAbsent(peer, k -> new ArrayDeque<>());
        chain.add(seg);
        if (blocked(chain, seg)) counters.increment("despatch.channel.successor");
        return new Reader(peer, seg, null);
    }

    /** Datagrams from the transport carry exactly one despatch frame. */
    public void onDatagram(Connection connection, byte[] data) {
        counters.add("despatch.received_bytes", data.length);
        Header.Frame frame;
        try {
            frame = Header.decode(data);
        } catch (MalformedFrameException e) {
            counters.increment("despatch.drop.malformed");
            log.debug("malformed datagram peer={}: {}", connection.remotePeer(), e.getMessage());
            return;
        }
        if (frame.payload().length > config.maxMessageBytes()) {
            counters.increment("despatch.drop.oversize");
            return;
        }
        if (reliableOnly.contains(frame.header().type())) {
            counters.increment("despatch.drop.unreliable_for_reliable_type");
            return;
        }
        route(connection.remotePeer(), connection, frame, false, false, data.length);
    }

    /** Forgets the streams of a closed connection; the next send opens a new one. */
    public void onConnectionClosed(Connection connection) {
        PeerId peer = connection.remotePeer();
        IllegalStateException e = new IllegalStateException("connection to " + peer + " closed");
        Link link = links.get(peer);
        if (link != null && link.connection == connection) {
            if (!link.started) {
                link.connection = null; // still waiting to open, nothing sent: let the connector choose
            } else {
                link.fail(e);
                endLink(link, true);
            }
        }
        if (link != null && link.preferred == connection) link.preferred = null;
        for (Link r : new ArrayList<>(retiring)) {
            if (r.connection == connection) {
                r.fail(e);
                endLink(r, !r.acked);
            }
        }
        ArrayDeque<Segment> chain = inbound.get(peer);
        if (chain != null) {
            for (Segment s : new ArrayList<>(chain)) if (s.stream.connection() == connection) endSegment(s, !s.finished);
        }
    }

    // ---- inbound channel succession ----------------------------------------------------------------

    /**
     * Held frames of all waiting inbound streams from one peer are bounded by this many maximum-size frames
     * ({@code maxMessageBytes} + header); past it the stream that overflows is reset and counted
     * ({@code despatch.drop.succession_overflow}).
     */
    public static final int SUCCESSION_HOLD_FRAMES = 4;

    /** A frame held back on a waiting inbound stream. */
    private record Held(Header.Frame frame, int bytes) {}

    /**
     * One inbound despatch stream from a peer: a segment of that peer's channel to us. Segments of a peer form a chain
     * in negotiation order; a segment's frames are held while an older segment on another connection is still open
     * or still holds frames (see {@link #blocked}).
     */
    private static final class Segment {
        final PeerId peer;
        final Stream stream;
        final ArrayDeque<Held> held = new ArrayDeque<>();
        long heldBytes;
        boolean finished; // the remote's FIN arrived: every frame it sent on this stream was read
        boolean ended; // FIN, reset or connection lost
        boolean dropped; // reset for overflowing the hold bound: ignore what is left of its data

        Segment(PeerId peer, Stream stream) {
            this.peer = peer;
            this.stream = stream;
        }

        /** Done with: ended and nothing left to route. */
        boolean spent() { return ended && held.isEmpty(); }
    }

    private long holdLimitBytes() { return (long) SUCCESSION_HOLD_FRAMES * (config.maxMessageBytes() + Header.MAX_BYTES); }

    /**
     * Whether {@code seg}'s frames must wait: an older segment from the same peer on a different connection has not
     * ended or still holds frames. Streams on one connection never wait for each other (a sender migrates only to
     * another connection; a peer that keeps several despatch streams on one connection is served as before).
     */
    private static boolean blocked(ArrayDeque<Segment> chain, Segment seg) {
        for (Segment s : chain) {
            if (s == seg) return false;
            if (!s.spent() && s.stream.connection() != seg.stream.connection()) return true;
        }
        return false;
    }

    /** Whether a segment newer than {@code seg} on another connection is in the chain (one {@code seg} blocks). */
    private static boolean hasSuccessor(ArrayDeque<Segment> chain, Segment seg) {
        boolean after = false;
        for (Segment s : chain) {
            if (s == seg) after = true;
            else if (after && s.stream.connection() != seg.stream.connection()) return true;
        }
        return false;
    }

    /** A frame arrived on inbound segment {@code seg}: routed unless an older segment blocks it, else held. */
    private void onSegmentFrame(Segment seg, Header.Frame f, int bytes) {
        if (seg.dropped || seg.ended || closed) return; // an ended segment gets no more data
        ArrayDeque<Segment> chain = inbound.get(seg.peer);
        if (chain == null) return;
        if (blocked(chain, seg)) {
            // an older stream whose connection is gone, before its close upcall came: it ended
            for (Segment s : new ArrayList<>(chain)) {
                if (s == seg) break;
                if (!s.ended && !s.stream.connection().isOpen()) endSegment(s, !s.finished);
            }
        }
        if (!blocked(chain, seg)) {
            route(seg.peer, seg.stream.connection(), f, true, true, bytes);
            return;
        }
        long heldNow = 0;
        for (Segment s : chain) heldNow += s.heldBytes;
        if (heldNow + bytes > holdLimitBytes()) {
            counters.add("despatch.drop.succession_overflow", seg.held.size() + 1);
            counters.increment("despatch.channel.successor_reset");
            log.warn("despatch stream from peer={} reset: over {} bytes held while an older stream is open",
                    seg.peer, holdLimitBytes());
            seg.dropped = true;
            seg.held.clear();
            seg.heldBytes = 0;
            seg.stream.reset();
            endSegment(seg, true);
            return;
        }
        seg.held.add(new Held(f, bytes));
        seg.heldBytes += bytes;
        counters.increment("despatch.channel.held");
    }

    /**
     * Inbound segment {@code seg} ended ({@code lost}: before its FIN, so frames may be missing: a channel reset).
     * Segments it blocked get their held frames routed, oldest first. Idempotent.
     */
    private void endSegment(Segment seg, boolean lost) {
        if (seg.ended) return;
        seg.ended = true;
        if (lost) channelReset(seg.peer, true);
        ArrayDeque<Segment> chain = inbound.get(seg.peer);
        if (chain == null) return;
        if (!lost && hasSuccessor(chain, seg)) counters.increment("despatch.channel.succeeded");
        for (Segment s : new ArrayList<>(chain)) {
            if (!s.held.isEmpty() && !blocked(chain, s)) release(s);
        }
        chain.removeIf(Segment::spent);
        if (chain.isEmpty() && inbound.get(seg.peer) == chain) inbound.remove(seg.peer);
    }

    /** Routes {@code seg}'s held frames in arrival order (nothing blocks it any more). */
    private void release(Segment seg) {
        Held h;
        while ((h = seg.held.poll()) != null) {
            seg.heldBytes -= h.bytes();
            if (!closed) route(seg.peer, seg.stream.connection(), h.frame(), true, true, h.bytes());
        }
    }

    /** Reads one despatch stream: an inbound segment of a channel ({@code seg}), or the stream we opened ({@code link}). */
    private final class Reader implements StreamHandler {
        final PeerId peer;
        final Segment seg; // non-null: the remote opened this stream; it carries the channel from the remote to us
        final Link link; // non-null: we opened it; frames the remote writes here are routed, on no channel
        final FrameDecoder decoder = new FrameDecoder(config.maxMessageBytes() + Header.MAX_BYTES);

        Reader(PeerId peer, Segment seg, Link link) {
            this.peer = peer;
            this.seg = seg;
            this.link = link;
        }

        @Override public void onData(Stream s, byte[] data) {
            if (seg != null && seg.dropped) return;
            counters.add("despatch.received_bytes", data.length);
            try {
                decoder.feed(data, bytes -> {
                    Header.Frame f = Header.decode(bytes);
                    if (f.payload().length > config.maxMessageBytes()) {
                        throw new FrameDecoder.FrameException("payload of " + f.payload().length + " bytes exceeds limit "
                                + config.maxMessageBytes(), true);
                    }
                    if (seg != null) onSegmentFrame(seg, f, bytes.length);
                    else route(peer, s.connection(), f, true, false, bytes.length);
                });
            } catch (FrameDecoder.FrameException e) {
                counters.increment(e.isOversize() ? "despatch.drop.oversize" : "despatch.drop.malformed");
                log.warn("despatch stream reset peer={}: {}", peer, e.getMessage());
                resetLink(s);
            } catch (MalformedFrameException e) {
                counters.increment("despatch.drop.malformed");
                log.warn("despatch stream reset peer={}: {}", peer, e.getMessage());
                resetLink(s);
            }
        }

        private void resetLink(Stream s) {
            s.reset();
            if (link != null) endLink(link, true);
            if (seg != null) endSegment(seg, true);
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (seg != null) {
                seg.finished = true;
                s.closeWrite();
                endSegment(seg, false);
            } else if (link.retiring) {
                link.acked = true; // we sent FIN before; the remote answers ours with its own
            } else {
                s.closeWrite();
            }
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            if (link != null) endLink(link, !(link.retiring && link.acked));
            if (seg != null) endSegment(seg, !seg.finished);
        }
    }

    // ---- routing ------------------------------------------------------------------------------------

    /**
     * @param onChannel the frame came on a stream the remote opened (a channel, {@link ChannelObserver}); frames a
     *     remote writes on the stream we opened are routed but not shown to the observer
     */
    private void route(PeerId peer, Connection connection, Header.Frame f, boolean reliable, boolean onChannel,
                       int frameBytes) {
        if (closed) return;
        Header h = f.header();
        counters.increment("despatch.received");
        if (telemetry.enabled()) telemetry.messageReceived(PROTOCOL_ID, typeName(h.type()), frameBytes);
        Message m = new Message(this, peer, connection, h, f.payload(), reliable);
        Span span = null;
        if (telemetry.enabled()) {
            Context parent = telemetry.extract(h.trace());
            String name = typeName(h.type());
            var b = telemetry.tracer().spanBuilder("receive " + name).setParent(parent)
                    .setSpanKind(h.has(Header.F_REQUEST) ? SpanKind.SERVER : SpanKind.CONSUMER)
                    .setAttribute(Telemetry.REMOTE_PEER, peer.toString())
                    .setAttribute(Telemetry.PROTOCOL, PROTOCOL_ID)
                    .setAttribute(Telemetry.MESSAGE_TYPE, (long) h.type())
                    .setAttribute(Telemetry.MESSAGE_NAME, name)
                    .setAttribute(Telemetry.MESSAGE_ID, h.messageId())
                    .setAttribute(Telemetry.MESSAGE_BYTES, (long) f.payload().length)
                    .setAttribute(Telemetry.RELIABLE, reliable);
            if (h.inReplyTo() > 0) b.setAttribute(Telemetry.IN_REPLY_TO, h.inReplyTo());
            if (h.inRegardsTo() > 0) b.setAttribute(Telemetry.IN_REGARDS_TO, h.inRegardsTo());
            span = b.startSpan();
            m.context = parent.with(span);
        }
        if (log.isTraceEnabled()) {
            log.trace("receive {} id={} peer={} trace={} bytes={}", typeName(h.type()), h.messageId(), peer,
                    Telemetry.traceId(h.trace()), frameBytes);
        }
        String drop = dispatch(peer, h, m, onChannel);
        if (span != null) {
            if (drop != null) {
                span.setAttribute(Telemetry.DROP_REASON, drop);
                span.setStatus(StatusCode.ERROR, "dropped: " + drop);
            } else if (h.has(Header.F_ERROR)) {
                span.setStatus(StatusCode.ERROR, "error answer");
            }
            span.end();
        }
    }

    /**
     * Routes {@code m} (first to the channel observer if it came on a channel); returns the drop reason if it was
     * dropped, else null. On the loop.
     */
    private String dispatch(PeerId peer, Header h, Message m, boolean onChannel) {
        ChannelObserver observer = channelObserver;
        if (onChannel && observer != null) {
            try {
                if (observer.onChannelMessage(m)) return null;
            } catch (RuntimeException e) {
                counters.increment("despatch.observer.failed");
                log.warn("channel observer failed on {}: {}", m, e.toString());
                return "observer_failed";
            }
        }
        if (h.has(Header.F_IN_REPLY_TO)) {
            Pending p = pending.remove(new PendingKey(peer, h.inReplyTo()));
            if (p == null) {
                counters.increment("despatch.drop.unknown_reply");
                log.debug("dropped reply from peer={} trace={} to unknown message {}", peer, Telemetry.traceId(m.context),
                        h.inReplyTo());
                return "unknown_reply";
            }
            p.timer.cancel();
            if (h.has(Header.F_ERROR)) {
                requestDone(p, "error", new RemoteException(m.payloadUtf8()));
            } else {
                requestDone(p, "ok", null);
                p.future.complete(m);
            }
            return null;
        }
        if (h.has(Header.F_IN_REGARDS_TO)) {
            ConvKey key = new ConvKey(peer, !h.has(Header.F_OPENED_BY_SENDER), h.inRegardsTo());
            ConvState st = conversations.get(key);
            if (st == null) {
                counters.increment("despatch.drop.unknown_conversation");
                if (!h.has(Header.F_CONVERSATION_END)) {
                    sendEnd(peer, key, "unknown conversation " + h.inRegardsTo(), m.context);
                }
                return "unknown_conversation";
            }
            st.touch();
            if (h.has(Header.F_ERROR)) {
                finish(st, ConversationHandler.EndReason.ERROR, m.payloadUtf8(), false);
                return null;
            }
            if (m.payload().length > 0 || !h.has(Header.F_CONVERSATION_END)) st.deliver(m);
            if (h.has(Header.F_CONVERSATION_END)) finish(st, ConversationHandler.EndReason.REMOTE, null, false);
            return null;
        }
        if (h.has(Header.F_CONVERSATION_OPEN)) {
            ConvKey key = new ConvKey(peer, false, h.messageId());
            ConversationFactory factory = factories.get(h.type());
            if (factory == null) {
                counters.increment("despatch.drop.no_conversation_factory");
                sendEnd(peer, key, "no conversation for message type " + h.type(), m.context);
                return "no_conversation_factory";
            }
            if (conversations.size() >= config.maxConversations()) {
                counters.increment("despatch.conversation.refused_limit");
                sendEnd(peer, key, "too many conversations", m.context);
                return "conversation_limit";
            }
            if (conversations.containsKey(key)) {
                counters.increment("despatch.drop.duplicate_open");
                return "duplicate_open";
            }
            ConversationHandler handler;
            try {
                handler = factory.create(m);
            } catch (RuntimeException e) {
                log.warn("conversation factory for type {} from peer={} trace={} failed", typeName(h.type()), peer,
                        Telemetry.traceId(m.context), e);
                handler = null;
            }
            if (handler == null) {
                counters.increment("despatch.conversation.refused");
                sendEnd(peer, key, "conversation refused", m.context);
                return "conversation_refused";
            }
            Conversation c = new Conversation(this, peer, h.messageId(), false);
            c.traceContext = m.context;
            ConvState st = new ConvState(key, c, handler);
            conversations.put(key, st);
            counters.increment("despatch.conversation.opened");
            st.touch();
            st.deliver(m);
            return null;
        }
        MessageHandler handler = handlers.get(h.type());
        if (handler == null) {
            counters.increment("despatch.drop.no_handler");
            if (h.has(Header.F_REQUEST)) replyErrorOnLoop(peer, h, m.context, "no handler for message type " + h.type());
            return "no_handler";
        }
        handlerThreads.execute(() -> {
            try {
                handleTraced(m, () -> handler.handle(m));
            } catch (Throwable t) {
                counters.increment("despatch.handler.failed");
                log.warn("handler for {} from peer={} trace={} failed: {}", typeName(h.type()), peer,
                        Telemetry.traceId(m.context), t.toString());
                if (m.isRequest() && replied(m)) {
                    String reason = "handler failed: " + (t.getMessage() == null ? t.getClass().getSimpleName() : t.getMessage());
                    loop.execute(() -> replyErrorOnLoop(peer, h, m.context, reason));
                }
            }
        });
        return null;
    }

    private void replyErrorOnLoop(PeerId peer, Header request, Context requestContext, String reason) {
        long id = nextId.getAndIncrement();
        byte[] payload = reason.getBytes(StandardCharsets.UTF_8);
        Span span = requestContext == null ? null
                : sendSpan(requestContext, SpanKind.PRODUCER, peer, request.type(), id, request.messageId(), 0, payload.length);
        if (span != null) span.setStatus(StatusCode.ERROR, reason);
        Header h = header(Header.F_IN_REPLY_TO | Header.F_ERROR, request.type(), id, request.messageId(), 0, span);
        sendOnLoop(peer, h, payload, true).whenComplete((v, err) -> Telemetry.end(span, null));
    }

    /** Sends a conversation end (with an error reason if not null), in trace context {@code ctx} (may be null). */
    private void sendEnd(PeerId peer, ConvKey key, String reason, Context ctx) {
        int flags = Header.F_IN_REGARDS_TO | Header.F_CONVERSATION_END | (reason != null ? Header.F_ERROR : 0)
                | (key.openedLocally ? Header.F_OPENED_BY_SENDER : 0);
        long id = nextId.getAndIncrement();
        byte[] payload = reason == null ? new byte[0] : reason.getBytes(StandardCharsets.UTF_8);
        Span span = ctx == null ? null : sendSpan(ctx, SpanKind.PRODUCER, peer, 0, id, 0, key.id, payload.length);
        if (span != null && reason != null) span.setStatus(StatusCode.ERROR, reason);
        Header h = header(flags, 0, id, 0, key.id, span);
        sendOnLoop(peer, h, payload, true).whenComplete((v, err) -> Telemetry.end(span, null));
    }

    // ---- conversations ------------------------------------------------------------------------------

    private final class ConvState {
        final ConvKey key;
        final Conversation conversation;
        final ConversationHandler handler;
        final ArrayDeque<Message> inbox = new ArrayDeque<>(); // guarded by this
        boolean running; // guarded by this
        boolean endQueued; // guarded by this
        ConversationHandler.EndReason endReason;
        String endDetail;
        EventLoop.Cancellable idleTimer;
        final AtomicBoolean endRun = new AtomicBoolean();

        ConvState(ConvKey key, Conversation conversation, ConversationHandler handler) {
            this.key = key;
            this.conversation = conversation;
            this.handler = handler;
        }

        void touch() {
            if (idleTimer != null) idleTimer.cancel();
            idleTimer = loop.schedule(() -> {
                if (conversations.get(key) == this) {
                    counters.increment("despatch.conversation.timeout");
                    finish(this, ConversationHandler.EndReason.TIMEOUT, "idle for " + config.conversationIdleTimeoutMs() + " ms", true);
                }
            }, config.conversationIdleTimeoutMs());
        }

        void deliver(Message m) {
            synchronized (this) {
                inbox.add(m);
                if (running) return;
                running = true;
            }
            handlerThreads.execute(this::drain);
        }

        void queueEnd(ConversationHandler.EndReason reason, String detail) {
            synchronized (this) {
                endQueued = true;
                endReason = reason;
                endDetail = detail;
                if (running) return;
                running = true;
            }
            handlerThreads.execute(this::drain);
        }

        private void drain() {
            while (true) {
                Message m;
                synchronized (this) {
                    m = inbox.poll();
                    if (m == null) {
                        if (endQueued) {
                            endQueued = false;
                            running = false;
                            break;
                        }
                        running = false;
                        return;
                    }
                }
                if (conversation.ended && endReason != null && endReason != ConversationHandler.EndReason.REMOTE
                        && endReason != ConversationHandler.EndReason.LOCAL) {
                    continue; // error/timeout: drop what is left
                }
                try {
                    handleTraced(m, () -> handler.onMessage(conversation, m));
                } catch (Throwable t) {
                    counters.increment("despatch.handler.failed");
                    log.warn("{} handler failed (peer={} trace={}): {}", conversation, conversation.peer(),
                            Telemetry.traceId(m.context), t.toString());
                    String reason = "conversation handler failed: " + t.getMessage();
                    loop.execute(() -> finish(this, ConversationHandler.EndReason.ERROR, reason, true));
                }
            }
            if (endRun.compareAndSet(false, true)) runEnd(handler, conversation, endReason, endDetail);
        }
    }

    /** Ends a conversation locally (on the loop); tells the remote if {@code notifyRemote}. */
    private void finish(ConvState st, ConversationHandler.EndReason reason, String detail, boolean notifyRemote) {
        if (conversations.get(st.key) != st) return;
        conversations.remove(st.key);
        if (st.idleTimer != null) st.idleTimer.cancel();
        st.conversation.ended = true;
        if (notifyRemote) {
            sendEnd(st.key.peer, st.key, reason == ConversationHandler.EndReason.LOCAL ? null : reason + ": " + detail,
                    st.conversation.traceContext);
        }
        st.queueEnd(reason, detail);
    }

    private void runEnd(ConversationHandler handler, Conversation c, ConversationHandler.EndReason reason, String detail) {
        try {
            handler.onEnd(c, reason, detail);
        } catch (Throwable t) {
            log.warn("{} onEnd failed: {}", c, t.toString());
        }
    }

    // ---- inspection and shutdown --------------------------------------------------------------------

    /** Open conversations (event loop snapshot; call from the loop or accept a racy count). */
    public int conversationCount() { return conversations.size(); }

    /** Outstanding requests. */
    public int pendingRequestCount() { return pending.size(); }

    /**
     * Fails outstanding requests, ends conversations with SHUTDOWN, and stops handler threads. Must run on the
     * event loop or after it stopped.
     */
    @Override public void close() {
        if (closed) return;
        closed = true;
        IllegalStateException e = new IllegalStateException("despatcher closed");
        for (Pending p : new ArrayList<>(pending.values())) {
            p.timer.cancel();
            requestDone(p, "error", e);
        }
        pending.clear();
        for (ConvState st : new ArrayList<>(conversations.values())) {
            conversations.remove(st.key);
            if (st.idleTimer != null) st.idleTimer.cancel();
            st.conversation.ended = true;
            st.queueEnd(ConversationHandler.EndReason.SHUTDOWN, null);
        }
        for (Link l : links.values()) l.fail(e);
        for (Link l : retiring) l.fail(e);
        links.clear();
        retiring.clear();
        opening.clear();
        inbound.clear();
        if (ownHandlerThreads != null) ownHandlerThreads.shutdown();
    }

}
