package io.peersocket.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.TraceFlags;
import io.opentelemetry.api.trace.TraceState;
import io.opentelemetry.context.Context;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The trace field format: traceparent, tracestate only if it fits, bad input ignored. */
class TelemetryTest {
    final Telemetry t = Telemetry.of(OpenTelemetrySdk.builder().build());
    final SpanContext sc = SpanContext.create("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", TraceFlags.getSampled(),
            TraceState.builder().put("vendor", "x".repeat(40)).build());

    @Test
    void injectsTraceparentAndTracestateWhenTheyFit() {
        Context ctx = Context.root().with(Span.wrap(sc));
        String both = new String(t.inject(ctx, 128), StandardCharsets.US_ASCII);
        assertThat(both).isEqualTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\nvendor=" + "x".repeat(40));
        String onlyParent = new String(t.inject(ctx, 60), StandardCharsets.US_ASCII);
        assertThat(onlyParent).isEqualTo("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");

        SpanContext back = Span.fromContext(t.extract(both.getBytes(StandardCharsets.US_ASCII))).getSpanContext();
        assertThat(back.getTraceId()).isEqualTo(sc.getTraceId());
        assertThat(back.getSpanId()).isEqualTo(sc.getSpanId());
        assertThat(back.isRemote()).isTrue();
        assertThat(back.getTraceState().get("vendor")).isEqualTo("x".repeat(40));
    }

    @Test
    void nothingToInjectAndGarbageExtractsToRoot() {
        assertThat(t.inject(Context.root(), 128)).isNull();
        assertThat(Span.fromContext(t.extract("00-zz-nonsense".getBytes(StandardCharsets.US_ASCII))).getSpanContext().isValid()).isFalse();
        assertThat(t.extract(new byte[0])).isSameAs(Context.root());
        assertThat(Telemetry.noop().enabled()).isFalse();
        assertThat(Telemetry.traceId(Context.root())).isEqualTo("-");
        assertThat(Telemetry.traceId("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01".getBytes(StandardCharsets.US_ASCII)))
                .isEqualTo("0af7651916cd43dd8448eb211c80319c");
        assertThat(Telemetry.traceId(new byte[3])).isEqualTo("-");
    }
}
