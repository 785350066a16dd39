package io.peersocket.telemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.LongHistogram;
import io.opentelemetry.api.metrics.LongUpDownCounter;
import io.opentelemetry.api.metrics.Meter;
import io.opentelemetry.api.metrics.ObservableLongCounter;
import io.opentelemetry.api.metrics.ObservableLongGauge;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.api.trace.propagation.W3CTraceContextPropagator;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.TextMapGetter;
import io.opentelemetry.context.propagation.TextMapPropagator;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.peersocket.util.Counters;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.IntSupplier;
import org.slf4j.MDC;

/**
 * A node's tracer, meter and instruments, made from the {@link OpenTelemetry} the node was built with
 * (default {@link OpenTelemetry#noop()}, which makes every call here cheap and allocation-free on the message
 * path: no spans, no trace bytes).
 *
 * <p>Metric names (units in brackets): {@code peersocket.connections.opened} / {@code .closed} (counters by
 * {@code direction}), {@code peersocket.connections.current}, {@code peersocket.streams.opened} (by
 * {@code direction}), {@code peersocket.messages.sent} / {@code .received} and {@code peersocket.bytes.sent} /
 * {@code .received} [By] (by {@code peersocket.protocol} and {@code peersocket.message.name}),
 * {@code peersocket.request.duration} [ms] (histogram by message name and {@code outcome}: ok, error, timeout),
 * {@code peersocket.drops} (by {@code reason}, every counter with {@code .drop.} in its name),
 * {@code peersocket.handshake.failures} (by {@code reason}: {@code handshake.refused.*}, {@code handshake.malformed},
 * {@code node.dial.failed.timeout|refused|bad_certificate|peer_id_mismatch}), {@code peersocket.store.queue_depth} (gauge) and
 * {@code peersocket.events} (every {@link Counters} counter by {@code name}).
 *
 * <p>Thread-safe.
 */
public final class Telemetry {
    /** Instrumentation scope name of Peersocket's tracer and meter. */
    public static final String SCOPE = "io.peersocket";

    public static final AttributeKey<String> REMOTE_PEER = AttributeKey.stringKey("peersocket.remote_peer");
    public static final AttributeKey<String> PROTOCOL = AttributeKey.stringKey("peersocket.protocol");
    public static final AttributeKey<Long> MESSAGE_TYPE = AttributeKey.longKey("peersocket.message.type");
    public static final AttributeKey<String> MESSAGE_NAME = AttributeKey.stringKey("peersocket.message.name");
    public static final AttributeKey<Long> MESSAGE_ID = AttributeKey.longKey("peersocket.message.id");
    public static final AttributeKey<Long> MESSAGE_BYTES = AttributeKey.longKey("peersocket.message.bytes");
    public static final AttributeKey<Long> IN_REPLY_TO = AttributeKey.longKey("peersocket.message.in_reply_to");
    public static final AttributeKey<Long> IN_REGARDS_TO = AttributeKey.longKey("peersocket.message.in_regards_to");
    public static final AttributeKey<Boolean> RELIABLE = AttributeKey.booleanKey("peersocket.message.reliable");
    public static final AttributeKey<String> DROP_REASON = AttributeKey.stringKey("peersocket.drop_reason");
    /** Resource attribute naming the local peer (the CLI sets it; the JSON-lines exporter reads it). */
    public static final AttributeKey<String> LOCAL_PEER = AttributeKey.stringKey("peersocket.peer_id");
    static final AttributeKey<String> DIRECTION = AttributeKey.stringKey("direction");
    static final AttributeKey<String> OUTCOME = AttributeKey.stringKey("outcome");
    static final AttributeKey<String> REASON = AttributeKey.stringKey("reason");
    static final AttributeKey<String> NAME = AttributeKey.stringKey("name");

    /** MDC keys set around handler execution. */
    public static final String MDC_PEER = "peer";
    public static final String MDC_TRACE = "trace";

    private static final Telemetry NOOP = new Telemetry(OpenTelemetry.noop());
    private static final String TRACEPARENT = "traceparent";
    private static final String TRACESTATE = "tracestate";
    private static final TextMapSetter<Map<String, String>> SETTER = (carrier, key, value) -> carrier.put(key, value);
    private static final TextMapGetter<String[]> GETTER = new TextMapGetter<>() {
        @Override public Iterable<String> keys(String[] carrier) { return List.of(TRACEPARENT, TRACESTATE); }

        @Override public String get(String[] carrier, String key) {
            if (carrier == null) return null;
            return TRACEPARENT.equals(key) ? carrier[0] : TRACESTATE.equals(key) ? carrier[1] : null;
        }
    };

    private final OpenTelemetry otel;
    private final boolean enabled;
    private final Tracer tracer;
    private final Meter meter;
    private final TextMapPropagator propagator = W3CTraceContextPropagator.getInstance();
    private final LongCounter connectionsOpened, connectionsClosed, streamsOpened;
    private final LongUpDownCounter connectionsCurrent;
    private final LongCounter messagesSent, messagesReceived, bytesSent, bytesReceived;
    private final LongHistogram requestDuration;
    private final Map<String, Attributes> attributeCache = new ConcurrentHashMap<>();

    private Telemetry(OpenTelemetry otel) {
        this.otel = Objects.requireNonNull(otel);
        this.enabled = otel != OpenTelemetry.noop();
        this.tracer = otel.getTracer(SCOPE);
        this.meter = otel.getMeter(SCOPE);
        connectionsOpened = meter.counterBuilder("peersocket.connections.opened").setDescription("Connections opened").build();
        connectionsClosed = meter.counterBuilder("peersocket.connections.closed").setDescription("Connections closed").build();
        connectionsCurrent = meter.upDownCounterBuilder("peersocket.connections.current").setDescription("Open connections").build();
        streamsOpened = meter.counterBuilder("peersocket.streams.opened").setDescription("Streams opened").build();
        messagesSent = meter.counterBuilder("peersocket.messages.sent").setDescription("Messages sent").build();
        messagesReceived = meter.counterBuilder("peersocket.messages.received").setDescription("Messages received").build();
        bytesSent = meter.counterBuilder("peersocket.bytes.sent").setUnit("By").setDescription("Bytes sent in messages").build();
        bytesReceived = meter.counterBuilder("peersocket.bytes.received").setUnit("By").setDescription("Bytes received in messages").build();
        requestDuration = meter.histogramBuilder("peersocket.request.duration").ofLongs().setUnit("ms")
                .setDescription("Time from sending a request to its reply, error or timeout")
                .setExplicitBucketBoundariesAdvice(List.of(1L, 2L, 5L, 10L, 25L, 50L, 100L, 250L, 500L, 1000L, 2500L, 5000L, 10000L))
                .build();
    }

    /** The no-op telemetry (no spans, no metrics). */
    public static Telemetry noop() { return NOOP; }

    /** Telemetry from {@code otel}; {@link OpenTelemetry#noop()} gives {@link #noop()}. */
    public static Telemetry of(OpenTelemetry otel) {
        return otel == OpenTelemetry.noop() ? NOOP : new Telemetry(otel);
    }

    public OpenTelemetry openTelemetry() { return otel; }

    /** False for the no-op telemetry: callers may skip building spans and attributes. */
    public boolean enabled() { return enabled; }

    public Tracer tracer() { return tracer; }

    public Meter meter() { return meter; }

    // ---- trace context on the wire ------------------------------------------------------------------

    /**
     * The trace field for a message sent in {@code context}: the W3C {@code traceparent}, then {@code '\n'} and
     * the {@code tracestate} if both fit in {@code maxBytes}.
     *
     * @return null if {@code context} holds no valid span context (nothing to propagate)
     */
    public byte[] inject(Context context, int maxBytes) {
        if (context == null || !Span.fromContext(context).getSpanContext().isValid()) return null;
        Map<String, String> carrier = new java.util.HashMap<>(4);
        propagator.inject(context, carrier, SETTER);
        String parent = carrier.get(TRACEPARENT);
        if (parent == null) return null;
        String state = carrier.get(TRACESTATE);
        String text = state == null || state.isEmpty() || parent.length() + 1 + state.length() > maxBytes
                ? parent : parent + "\n" + state;
        byte[] b = text.getBytes(StandardCharsets.US_ASCII);
        return b.length <= maxBytes ? b : null;
    }

    /**
     * The remote parent carried by a message's trace field ({@link #inject} format), on top of {@link Context#root()};
     * the root context if the field is empty or not a valid traceparent.
     */
    public Context extract(byte[] trace) {
        if (trace == null || trace.length == 0) return Context.root();
        String text = new String(trace, StandardCharsets.US_ASCII);
        int nl = text.indexOf('\n');
        String[] carrier = nl < 0 ? new String[] {text, null} : new String[] {text.substring(0, nl), text.substring(nl + 1)};
        return propagator.extract(Context.root(), carrier, GETTER);
    }

    // ---- spans and logs -----------------------------------------------------------------------------

    /** Ends {@code span} (null-safe), with status ERROR and {@code error}'s message if it is not null. */
    public static void end(Span span, Throwable error) {
        if (span == null) return;
        if (error != null) {
            span.setStatus(StatusCode.ERROR, String.valueOf(error.getMessage()));
        }
        span.end();
    }

    /** The trace id of {@code context}'s span, or {@code "-"} if none (for log lines: {@code trace=…}). */
    public static String traceId(Context context) {
        if (context == null) return "-";
        SpanContext sc = Span.fromContext(context).getSpanContext();
        return sc.isValid() ? sc.getTraceId() : "-";
    }

    /** The trace id in a message's trace field ({@link #inject} format), or {@code "-"} if none or malformed. */
    public static String traceId(byte[] trace) {
        if (trace == null || trace.length < 35 || trace[2] != '-') return "-";
        return new String(trace, 3, 32, StandardCharsets.US_ASCII);
    }

    /**
     * Puts {@value #MDC_PEER} and {@value #MDC_TRACE} into the SLF4J MDC of this thread; close the result to
     * restore the previous values. Use around handler execution.
     */
    public static MdcScope mdc(String peer, Context context) {
        String oldPeer = MDC.get(MDC_PEER), oldTrace = MDC.get(MDC_TRACE);
        MDC.put(MDC_PEER, peer);
        MDC.put(MDC_TRACE, traceId(context));
        return new MdcScope(oldPeer, oldTrace);
    }

    /** Restores the MDC entries {@link #mdc} replaced. */
    public static final class MdcScope implements AutoCloseable {
        private final String peer, trace;

        private MdcScope(String peer, String trace) {
            this.peer = peer;
            this.trace = trace;
        }

        @Override public void close() {
            if (peer == null) MDC.remove(MDC_PEER);
            else MDC.put(MDC_PEER, peer);
            if (trace == null) MDC.remove(MDC_TRACE);
            else MDC.put(MDC_TRACE, trace);
        }
    }

    // ---- metrics ------------------------------------------------------------------------------------

    private Attributes messageAttributes(String protocol, String name) {
        return attributeCache.computeIfAbsent(protocol + ' ' + name,
                k -> Attributes.of(PROTOCOL, protocol, MESSAGE_NAME, name));
    }

    /** Counts one message of {@code bytes} (whole frame) sent. */
    public void messageSent(String protocol, String name, long bytes) {
        if (!enabled) return;
        Attributes a = messageAttributes(protocol, name);
        messagesSent.add(1, a);
        bytesSent.add(bytes, a);
    }

    /** Counts one message of {@code bytes} (whole frame) received. */
    public void messageReceived(String protocol, String name, long bytes) {
        if (!enabled) return;
        Attributes a = messageAttributes(protocol, name);
        messagesReceived.add(1, a);
        bytesReceived.add(bytes, a);
    }

    /** Records how long a request took, ms; {@code outcome} is ok, error or timeout. */
    public void requestFinished(String protocol, String name, long ms, String outcome) {
        if (!enabled) return;
        requestDuration.record(ms, attributeCache.computeIfAbsent(protocol + ' ' + name + ' ' + outcome,
                k -> Attributes.of(PROTOCOL, protocol, MESSAGE_NAME, name, OUTCOME, outcome)));
    }

    /** {@code direction}: inbound or outbound. */
    public void connectionOpened(String direction) {
        if (!enabled) return;
        Attributes a = attributeCache.computeIfAbsent("dir " + direction, k -> Attributes.of(DIRECTION, direction));
        connectionsOpened.add(1, a);
        connectionsCurrent.add(1);
    }

    public void connectionClosed() {
        if (!enabled) return;
        connectionsClosed.add(1);
        connectionsCurrent.add(-1);
    }

    /** {@code direction}: inbound or outbound. */
    public void streamOpened(String direction) {
        if (!enabled) return;
        streamsOpened.add(1, attributeCache.computeIfAbsent("dir " + direction, k -> Attributes.of(DIRECTION, direction)));
    }

    /** Counter names that are handshake failures: Peersocket handshake refusals, and dials refused or unverifiable. */
    static boolean isHandshakeFailure(String counter) {
        return counter.startsWith("handshake.refused.") || counter.equals("handshake.malformed")
                || counter.equals("node.dial.failed.timeout") || counter.equals("node.dial.failed.refused")
                || counter.equals("node.dial.failed.bad_certificate") || counter.equals("node.dial.failed.peer_id_mismatch");
    }

    /**
     * Reports {@code counters} as observable instruments at each collection: {@code peersocket.drops} (counters
     * named {@code *.drop.*}, reason = the name), {@code peersocket.handshake.failures} (see the class comment), {@code peersocket.events} (all, by name), and
     * {@code peersocket.store.queue_depth} from {@code storeQueueDepth} (null: no store).
     *
     * @return closes the instruments (call when the node stops)
     */
    public AutoCloseable observe(Counters counters, IntSupplier storeQueueDepth) {
        if (!enabled) return () -> { };
        List<AutoCloseable> handles = new ArrayList<>();
        ObservableLongCounter drops = meter.counterBuilder("peersocket.drops").setDescription("Messages and frames dropped, by reason")
                .buildWithCallback(m -> counters.snapshot().forEach((k, v) -> {
                    if (k.contains(".drop.")) m.record(v, Attributes.of(REASON, k));
                }));
        handles.add(drops);
        handles.add(meter.counterBuilder("peersocket.handshake.failures")
                .setDescription("Failed connection handshakes: dials that failed in QUIC/TLS, Peersocket handshakes refused or malformed")
                .buildWithCallback(m -> counters.snapshot().forEach((k, v) -> {
                    if (isHandshakeFailure(k)) m.record(v, Attributes.of(REASON, k));
                })));
        handles.add(meter.counterBuilder("peersocket.events").setDescription("Every node counter, by name")
                .buildWithCallback(m -> counters.snapshot().forEach((k, v) -> m.record(v, Attributes.of(NAME, k)))));
        if (storeQueueDepth != null) {
            ObservableLongGauge g = meter.gaugeBuilder("peersocket.store.queue_depth").ofLongs()
                    .setDescription("Writes waiting for the store thread").buildWithCallback(m -> m.record(storeQueueDepth.getAsInt()));
            handles.add(g);
        }
        return () -> {
            for (AutoCloseable h : handles) h.close();
        };
    }
}
