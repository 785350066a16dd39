package io.peersocket.cli.telemetry;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.export.SimpleSpanProcessor;
import io.peersocket.identity.HostKey;
import io.peersocket.telemetry.Telemetry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The span file format the testbed viewer reads (docs/cli.md "Traces"), and its size cap. */
class JsonLinesSpanExporterTest {
    @TempDir Path dir;

    private SdkTracerProvider provider(JsonLinesSpanExporter exporter, String peer) {
        return SdkTracerProvider.builder()
                .setResource(Resource.create(Attributes.of(Telemetry.LOCAL_PEER, peer)))
                .addSpanProcessor(SimpleSpanProcessor.create(exporter)).build();
    }

    @Test
    void oneObjectPerLineWithTheDocumentedFields() throws Exception {
        Path file = dir.resolve("traces.jsonl");
        String peer = HostKey.generate().peerId().toString();
        String remote = HostKey.generate().peerId().toString();
        try (SdkTracerProvider p = provider(new JsonLinesSpanExporter(file, 1 << 20), peer)) {
            Tracer t = p.get("test");
            Span parent = t.spanBuilder("send PING").setSpanKind(SpanKind.CLIENT).setNoParent()
                    .setAttribute(Telemetry.REMOTE_PEER, remote)
                    .setAttribute(Telemetry.PROTOCOL, "/peersocket/despatch/1.0.0")
                    .setAttribute(Telemetry.MESSAGE_TYPE, 20L)
                    .setAttribute(Telemetry.MESSAGE_NAME, "PING")
                    .setAttribute(Telemetry.MESSAGE_ID, 7L)
                    .setAttribute(Telemetry.MESSAGE_BYTES, 16L).startSpan();
            Span child = t.spanBuilder("handle PING").setParent(io.opentelemetry.context.Context.root().with(parent)).startSpan();
            child.setStatus(StatusCode.ERROR, "boom");
            child.end();
            parent.end();
        }
        List<String> lines = Files.readAllLines(file);
        assertThat(lines).hasSize(2);
        Map<String, Object> c = JSON.std.mapFrom(lines.get(0)), s = JSON.std.mapFrom(lines.get(1));
        assertThat(s.keySet()).containsExactly("traceId", "spanId", "parentSpanId", "name", "kind", "startNanos",
                "endNanos", "peer", "status", "attributes");
        assertThat((String) s.get("traceId")).matches("[0-9a-f]{32}");
        assertThat((String) s.get("spanId")).matches("[0-9a-f]{16}");
        assertThat(s).containsEntry("parentSpanId", "").containsEntry("name", "send PING").containsEntry("kind", "CLIENT")
                .containsEntry("peer", peer).containsEntry("status", "OK");
        assertThat(((Number) s.get("endNanos")).longValue()).isGreaterThanOrEqualTo(((Number) s.get("startNanos")).longValue());
        assertThat(((Number) s.get("startNanos")).longValue()).isGreaterThan(1_600_000_000_000_000_000L); // epoch ns
        @SuppressWarnings("unchecked") Map<String, Object> a = (Map<String, Object>) s.get("attributes");
        assertThat(a).containsEntry("peersocket.remote_peer", remote)
                .containsEntry("peersocket.protocol", "/peersocket/despatch/1.0.0")
                .containsEntry("peersocket.message.name", "PING");
        assertThat(((Number) a.get("peersocket.message.type")).intValue()).isEqualTo(20);
        assertThat(((Number) a.get("peersocket.message.id")).longValue()).isEqualTo(7);
        assertThat(((Number) a.get("peersocket.message.bytes")).intValue()).isEqualTo(16);
        assertThat(c).containsEntry("parentSpanId", s.get("spanId")).containsEntry("traceId", s.get("traceId"))
                .containsEntry("kind", "INTERNAL").containsEntry("status", "ERROR");
    }

    @Test
    void theFileIsRotatedOnceAtTheCap() throws Exception {
        Path file = dir.resolve("traces.jsonl");
        try (SdkTracerProvider p = provider(new JsonLinesSpanExporter(file, 4096), "peer")) {
            for (int i = 0; i < 100; i++) p.get("test").spanBuilder("span " + i).startSpan().end();
        }
        assertThat(Files.size(file)).isLessThanOrEqualTo(4096);
        Path old = dir.resolve("traces.jsonl.1");
        assertThat(old).exists();
        assertThat(Files.size(old)).isLessThanOrEqualTo(4096);
        List<String> last = Files.readAllLines(file);
        assertThat(last.get(last.size() - 1)).contains("\"name\":\"span 99\"");
        assertThat(Files.list(dir)).hasSize(2);
    }
}
