package io.peersocket.despatch;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.opentelemetry.sdk.testing.exporter.InMemorySpanExporter;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.peersocket.node.Node;
import io.peersocket.telemetry.Telemetry;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/** Trace context in despatch headers: request/reply and conversations as one trace; sampling; the no-op default. */
@Timeout(30)
class DespatchTracingTest {
    static final int PING = 20, PONG = 21, OPEN = 30, STEP = 31;

    final MemoryNodes net = new MemoryNodes();
    final InMemorySpanExporter spans = InMemorySpanExporter.create();
    final InMemoryMetricReader metrics = InMemoryMetricReader.create();

    @AfterEach
    void close() { net.close(); }

    OpenTelemetry sdk(Sampler sampler) {
        return OpenTelemetrySdk.builder()
                .setTracerProvider(SdkTracerProvider.builder().setSampler(sampler)
                        .addSpanProcessor(SimpleSpanProcessor.create(spans)).build())
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(metrics).build())
                .build();
    }

    static void pingPong(Node n) {
        n.despatcher().register(PING, "PING", m -> m.reply(PONG, m.payload()));
        n.despatcher().nameType(PONG, "PONG");
    }

    /** The trace-flags byte of the message's traceparent. */
    static int flags(Message m) {
        String tp = new String(m.traceContext(), StandardCharsets.US_ASCII);
        return Integer.parseInt(tp.substring(53, 55), 16);
    }

    static byte[] utf8(String s) { return s.getBytes(StandardCharsets.UTF_8); }

    private SpanData one(List<SpanData> all, String name) {
        List<SpanData> l = all.stream().filter(s -> s.getName().equals(name)).toList();
        assertThat(l).as("spans named " + name + " in " + all).hasSize(1);
        return l.get(0);
    }

    @Test
    void requestAndReplyAreOneTraceWithParentLinks() {
        OpenTelemetry otel = sdk(Sampler.parentBased(Sampler.alwaysOn()));
        Node a = net.start(1, DespatchConfig.defaults(), otel), b = net.start(2, DespatchConfig.defaults(), otel);
        pingPong(a);
        pingPong(b);
        Message reply = net.await(a.despatcher().request(b.peerId(), PING, utf8("hi")));
        assertThat(reply.payloadUtf8()).isEqualTo("hi");
        assertThat(new String(reply.traceContext(), StandardCharsets.US_ASCII)).matches("00-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}");
        assertThat(flags(reply) & 1).as("sampled flag").isEqualTo(1);
        net.await(() -> spans.getFinishedSpanItems().size() >= 5);

        List<SpanData> all = spans.getFinishedSpanItems();
        SpanData send = one(all, "send PING"), receive = one(all, "receive PING"), handle = one(all, "handle PING");
        SpanData sendReply = one(all, "send PONG"), receiveReply = one(all, "receive PONG");
        assertThat(all).extracting(SpanData::getTraceId).containsOnly(send.getTraceId());
        assertThat(send.getKind()).isEqualTo(SpanKind.CLIENT);
        assertThat(send.getParentSpanContext().isValid()).isFalse();
        assertThat(receive.getKind()).isEqualTo(SpanKind.SERVER);
        assertThat(receive.getParentSpanId()).isEqualTo(send.getSpanId());
        assertThat(receive.getParentSpanContext().isRemote()).isTrue();
        assertThat(handle.getParentSpanId()).isEqualTo(receive.getSpanId());
        assertThat(sendReply.getParentSpanId()).isEqualTo(receive.getSpanId());
        assertThat(receiveReply.getKind()).isEqualTo(SpanKind.CONSUMER);
        assertThat(receiveReply.getParentSpanId()).isEqualTo(sendReply.getSpanId());
        // The client span lasts until the reply came.
        assertThat(send.getEndEpochNanos()).isGreaterThanOrEqualTo(receiveReply.getStartEpochNanos());
        assertThat(send.getAttributes().get(Telemetry.REMOTE_PEER)).isEqualTo(b.peerId().toString());
        assertThat(send.getAttributes().get(Telemetry.MESSAGE_TYPE)).isEqualTo(PING);
        assertThat(send.getAttributes().get(Telemetry.MESSAGE_BYTES)).isEqualTo(2);
        assertThat(receive.getAttributes().get(Telemetry.PROTOCOL)).isEqualTo(Despatcher.PROTOCOL_ID);
        assertThat(sendReply.getAttributes().get(Telemetry.IN_REPLY_TO)).isEqualTo(send.getAttributes().get(Telemetry.MESSAGE_ID));

        // Metrics: messages by name, and one request latency.
        Map<String, MetricData> m = metrics.collectAllMetrics().stream()
                .collect(Collectors.toMap(MetricData::getName, Function.identity()));
        assertThat(m.get("peersocket.messages.sent").getLongSumData().getPoints())
                .anySatisfy(p -> assertThat(p.getAttributes().get(Telemetry.MESSAGE_NAME)).isEqualTo("PING"));
        assertThat(m.get("peersocket.request.duration").getHistogramData().getPoints())
                .singleElement().satisfies(p -> assertThat(p.getCount()).isEqualTo(1));
        assertThat(m).containsKeys("peersocket.connections.opened", "peersocket.bytes.received", "peersocket.events");
    }

    @Test
    void aRequestMadeInsideAHandlerContinuesTheTrace() {
        OpenTelemetry otel = sdk(Sampler.alwaysOn());
        Node a = net.start(1, DespatchConfig.defaults(), otel), b = net.start(2, DespatchConfig.defaults(), otel);
        Node c = net.start(3, DespatchConfig.defaults(), otel);
        pingPong(c);
        // B answers PING by asking C first (the handler's context is current, so the onward request joins the trace).
        b.despatcher().register(PING, "PING", msg -> msg.reply(PONG, b.despatcher().request(c.peerId(), PING, msg.payload()).get().payload()));
        b.despatcher().nameType(PONG, "PONG");
        a.despatcher().nameType(PING, "PING");
        net.await(a.despatcher().request(b.peerId(), PING, utf8("x")));
        net.await(() -> spans.getFinishedSpanItems().size() >= 10);
        List<SpanData> all = spans.getFinishedSpanItems();
        assertThat(all).extracting(SpanData::getTraceId).containsOnly(all.get(0).getTraceId());
        assertThat(all.stream().filter(s -> s.getName().equals("send PING")).count()).isEqualTo(2);
    }

    @Test
    void aConversationIsOneTrace() {
        OpenTelemetry otel = sdk(Sampler.alwaysOn());
        Node a = net.start(1, DespatchConfig.defaults(), otel), b = net.start(2, DespatchConfig.defaults(), otel);
        b.despatcher().registerConversation(OPEN, "OPEN", first -> (c, m) -> {
            if (m.payloadUtf8().equals("3")) c.sendAndEnd(STEP, utf8("done"));
            else c.send(STEP, utf8("ack " + m.payloadUtf8()));
        });
        b.despatcher().nameType(STEP, "STEP");
        a.despatcher().nameType(OPEN, "OPEN");
        a.despatcher().nameType(STEP, "STEP");
        CompletableFuture<ConversationHandler.EndReason> end = new CompletableFuture<>();
        Conversation[] conv = new Conversation[1];
        // Opened with a span of the caller's current: that becomes the parent of the whole conversation.
        Span root = otel.getTracer("test").spanBuilder("user operation").startSpan();
        try (var ignored = Context.current().with(root).makeCurrent()) {
            conv[0] = a.despatcher().openConversation(b.peerId(), OPEN, utf8("1"), new ConversationHandler() {
                int n = 1;

                @Override public void onMessage(Conversation c, Message m) {
                    if (m.payloadUtf8().startsWith("ack")) c.send(STEP, utf8(Integer.toString(++n)));
                }

                @Override public void onEnd(Conversation c, EndReason reason, String detail) { end.complete(reason); }
            });
        }
        root.end();
        assertThat(net.await(end)).isEqualTo(ConversationHandler.EndReason.REMOTE);
        // 3 messages A→B, 3 B→A, each a send, a receive and (but the end) a handle.
        net.await(() -> spans.getFinishedSpanItems().stream().filter(s -> s.getName().startsWith("receive")).count() >= 6);
        List<SpanData> all = spans.getFinishedSpanItems();
        assertThat(all).extracting(SpanData::getTraceId).containsOnly(root.getSpanContext().getTraceId());
        Set<String> names = all.stream().map(SpanData::getName).collect(Collectors.toSet());
        assertThat(names).contains("send OPEN", "receive OPEN", "handle OPEN", "send STEP", "receive STEP", "handle STEP");
        assertThat(one(all, "send OPEN").getParentSpanId()).isEqualTo(root.getSpanContext().getSpanId());
    }

    @Test
    void samplingOffRecordsNoSpansButStillWorks() {
        OpenTelemetry otel = sdk(Sampler.parentBased(Sampler.alwaysOff()));
        Node a = net.start(1, DespatchConfig.defaults(), otel), b = net.start(2, DespatchConfig.defaults(), otel);
        pingPong(a);
        pingPong(b);
        for (int i = 0; i < 3; i++) {
            Message reply = net.await(a.despatcher().request(b.peerId(), PING, utf8("p" + i)));
            assertThat(reply.payloadUtf8()).isEqualTo("p" + i);
            // The (unsampled) context still travels, with the sampled flag off, so downstream nodes agree.
            assertThat(reply.traceContext()).isNotEmpty();
            assertThat(flags(reply) & 1).as("sampled flag").isZero();
        }
        net.loop.runPending();
        assertThat(spans.getFinishedSpanItems()).isEmpty();
    }

    @Test
    void withoutAnSdkNoTraceBytesAreSent() {
        Node a = net.start(1), b = net.start(2);
        pingPong(a);
        pingPong(b);
        assertThat(a.telemetry().enabled()).isFalse();
        Message reply = net.await(a.despatcher().request(b.peerId(), PING, utf8("hi")));
        assertThat(reply.traceContext()).isEmpty();
        assertThat(reply.header().has(Header.F_TRACE)).isFalse();
        assertThat(reply.context()).isSameAs(Context.root());
    }

    @Test
    void typeNamesAreValidatedAndDefaultToTheNumber() {
        Node a = net.start(1);
        assertThat(a.despatcher().typeName(77)).isEqualTo("77");
        a.despatcher().nameType(77, "SEVENTY_SEVEN");
        assertThat(a.despatcher().typeName(77)).isEqualTo("SEVENTY_SEVEN");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.despatcher().nameType(78, "has space"))
                .isInstanceOf(IllegalArgumentException.class);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> a.despatcher().nameType(78, ""))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
