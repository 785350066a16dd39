package io.peersocket.cli.telemetry;

import io.opentelemetry.sdk.common.CompletableResultCode;
import io.opentelemetry.sdk.common.export.Compressor;
import io.opentelemetry.sdk.common.export.HttpResponse;
import io.opentelemetry.sdk.common.export.HttpSender;
import io.opentelemetry.sdk.common.export.HttpSenderConfig;
import io.opentelemetry.sdk.common.export.HttpSenderProvider;
import io.opentelemetry.sdk.common.export.MessageWriter;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * The OTLP/HTTP exporters' transport ({@link HttpSenderProvider}, the SDK's public SPI, found through
 * {@code META-INF/services}) on {@link java.net.http.HttpClient}, so the CLI needs neither OkHttp nor Kotlin.
 * Honours the endpoint, headers, content type, compression, timeouts and TLS context of the exporter's
 * config; no retries (a failed export is reported to the SDK, which drops that batch).
 */
public final class JdkHttpSenderProvider implements HttpSenderProvider {
    @Override public HttpSender createSender(HttpSenderConfig config) { return new Sender(config); }

    private static final class Sender implements HttpSender {
        private final HttpSenderConfig config;
        private final HttpClient client;

        Sender(HttpSenderConfig config) {
            this.config = config;
            HttpClient.Builder b = HttpClient.newBuilder().connectTimeout(config.getConnectTimeout());
            if (config.getSslContext() != null) b.sslContext(config.getSslContext());
            if (config.getExecutorService() != null) b.executor(config.getExecutorService());
            this.client = b.build();
        }

        @Override public void send(MessageWriter writer, Consumer<HttpResponse> onResponse, Consumer<Throwable> onError) {
            byte[] body;
            try {
                ByteArrayOutputStream bytes = new ByteArrayOutputStream(Math.max(64, writer.getContentLength()));
                Compressor compressor = config.getCompressor();
                try (OutputStream out = compressor == null ? bytes : compressor.compress(bytes)) {
                    writer.writeMessage(out);
                }
                body = bytes.toByteArray();
            } catch (IOException | RuntimeException e) {
                onError.accept(e);
                return;
            }
            HttpRequest.Builder rb = HttpRequest.newBuilder(config.getEndpoint()).timeout(config.getTimeout())
                    .header("Content-Type", config.getContentType())
                    .POST(HttpRequest.BodyPublishers.ofByteArray(body));
            if (config.getCompressor() != null) rb.header("Content-Encoding", config.getCompressor().getEncoding());
            Map<String, List<String>> headers = config.getHeadersSupplier() == null ? null : config.getHeadersSupplier().get();
            if (headers != null) headers.forEach((k, vs) -> vs.forEach(v -> rb.header(k, v)));
            client.sendAsync(rb.build(), java.net.http.HttpResponse.BodyHandlers.ofByteArray()).whenComplete((r, err) -> {
                if (err != null) {
                    onError.accept(err);
                    return;
                }
                onResponse.accept(new HttpResponse() {
                    @Override public int getStatusCode() { return r.statusCode(); }

                    @Override public String getStatusMessage() { return Integer.toString(r.statusCode()); }

                    @Override public byte[] getResponseBody() { return r.body(); }
                });
            });
        }

        @Override public CompletableResultCode shutdown() {
            client.close();
            return CompletableResultCode.ofSuccess();
        }
    }
}
