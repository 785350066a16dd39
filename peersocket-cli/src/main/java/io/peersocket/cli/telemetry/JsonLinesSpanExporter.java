package io.peersocket.cli.telemetry;

import com.fasterxml.jackson.jr.ob.JSON;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.trace.data.SpanData;
import io.opentelemetry.sdk.trace.export.SpanExporter;
import io.opentelemetry.api.trace.StatusCode;
import io.peersocket.telemetry.Telemetry;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes finished spans to a file, one JSON object per line (docs/cli.md "Traces"):
 *
 * <pre>{@code
 * {"traceId":"<32 hex>","spanId":"<16 hex>","parentSpanId":"<16 hex or empty>","name":"send PING",
 *  "kind":"CLIENT|SERVER|PRODUCER|CONSUMER|INTERNAL","startNanos":<epoch ns>,"endNanos":<epoch ns>,
 *  "peer":"<local peer id>","status":"OK|ERROR","attributes":{"peersocket.remote_peer":"…", …}}
 * }</pre>
 *
 * {@code peer} is the resource attribute {@link Telemetry#LOCAL_PEER}. When the file would grow past
 * {@code maxBytes} it is renamed to {@code NAME.1} (replacing an older one) and a new file is started, so at most
 * about twice {@code maxBytes} is kept. Lines are flushed after each batch. Export calls are serialised.
 */
public final class JsonLinesSpanExporter implements SpanExporter {
    /** Default cap of the live file: 64 MiB. */
    public static final long DEFAULT_MAX_BYTES = 64L << 20;
    private static final Logger log = LoggerFactory.getLogger(JsonLinesSpanExporter.class);

    private final Path file;
    private final long maxBytes;
    private OutputStream out; // guarded by this
    private long size; // guarded by this
    private boolean shutdown; // guarded by this

    /**
     * @param file appended to (created with its parent dirs if missing)
     * @param maxBytes rotate when the file would pass this many bytes (≥ 1024)
     */
    public JsonLinesSpanExporter(Path file, long maxBytes) throws IOException {
        if (maxBytes < 1024) throw new IllegalArgumentException("maxBytes must be >= 1024");
        this.file = file;
        this.maxBytes = maxBytes;
        if (file.getParent() != null) Files.createDirectories(file.getParent());
        open();
    }

    private void open() throws IOException {
        out = Files.newOutputStream(file, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        size = Files.size(file);
    }

    /** One span as its JSON line (without the newline). */
    public static String toJson(SpanData s) throws IOException {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("traceId", s.getTraceId());
        m.put("spanId", s.getSpanId());
        m.put("parentSpanId", s.getParentSpanContext().isValid() ? s.getParentSpanId() : "");
        m.put("name", s.getName());
        m.put("kind", s.getKind().name());
        m.put("startNanos", s.getStartEpochNanos());
        m.put("endNanos", s.getEndEpochNanos());
        String peer = s.getResource().getAttribute(Telemetry.LOCAL_PEER);
        m.put("peer", peer == null ? "" : peer);
        m.put("status", s.getStatus().getStatusCode() == StatusCode.ERROR ? "ERROR" : "OK");
        Map<String, Object> attrs = new LinkedHashMap<>();
        s.getAttributes().forEach((AttributeKey<?> k, Object v) -> attrs.put(k.getKey(), v));
        if (s.getStatus().getStatusCode() == StatusCode.ERROR && !s.getStatus().getDescription().isEmpty()) {
            attrs.put("error", s.getStatus().getDescription());
        }
        m.put("attributes", attrs);
        return JSON.std.asString(m);
    }

    @Override public synchronized CompletableResultCode export(Collection<SpanData> spans) {
        if (shutdown) return CompletableResultCode.ofFailure();
        try {
            for (SpanData s : spans) {
                byte[] line = (toJson(s) + "\n").getBytes(StandardCharsets.UTF_8);
                if (size > 0 && size + line.length > maxBytes) rotate();
                out.write(line);
                size += line.length;
            }
            out.flush();
            return CompletableResultCode.ofSuccess();
        } catch (IOException | RuntimeException e) {
            log.warn("cannot write spans to {}: {}", file, e.toString());
            return CompletableResultCode.ofFailure();
        }
    }

    private void rotate() throws IOException {
        out.close();
        Files.move(file, file.resolveSibling(file.getFileName() + ".1"), StandardCopyOption.REPLACE_EXISTING);
        open();
    }

    @Override public synchronized CompletableResultCode flush() {
        try {
            if (!shutdown) out.flush();
            return CompletableResultCode.ofSuccess();
        } catch (IOException e) {
            return CompletableResultCode.ofFailure();
        }
    }

    @Override public synchronized CompletableResultCode shutdown() {
        if (shutdown) return CompletableResultCode.ofSuccess();
        shutdown = true;
        try {
            out.close();
            return CompletableResultCode.ofSuccess();
        } catch (IOException e) {
            return CompletableResultCode.ofFailure();
        }
    }
}
