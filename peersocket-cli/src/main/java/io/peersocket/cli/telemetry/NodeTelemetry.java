package io.peersocket.cli.telemetry;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.exporter.otlp.http.metrics.OtlpHttpMetricExporter;
import io.opentelemetry.exporter.otlp.http.trace.OtlpHttpSpanExporter;
import io.opentelemetry.exporter.prometheus.PrometheusHttpServer;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.SdkMeterProviderBuilder;
import io.opentelemetry.sdk.metrics.export.PeriodicMetricReader;
import io.opentelemetry.sdk.resources.Resource;
import io.opentelemetry.sdk.trace.SdkTracerProvider;
import io.opentelemetry.sdk.trace.SdkTracerProviderBuilder;
import io.opentelemetry.sdk.trace.export.BatchSpanProcessor;
import io.opentelemetry.sdk.trace.samplers.Sampler;
import io.peersocket.identity.PeerId;
import io.peersocket.telemetry.Telemetry;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

/**
 * The OpenTelemetry SDK of a CLI node: spans (sampled at {@code samplingRatio}, parent-based so a trace is kept
 * or dropped as a whole) go to {@code DATA/traces.jsonl} always and to an OTLP/HTTP collector if one is given;
 * metrics go to a Prometheus text endpoint ({@code http://HOST:PORT/metrics}) if one is given, and to the collector.
 * The resource names the local peer ({@link Telemetry#LOCAL_PEER}, {@code service.instance.id}).
 * {@link #close()} flushes and stops everything (bounded, 10 s).
 */
public final class NodeTelemetry implements AutoCloseable {
    /** The span file in the data dir. */
    public static final String TRACES_FILE = "traces.jsonl";
    /** How often batched spans are written, ms. */
    static final long SPAN_FLUSH_MS = 1_000;

    private final OpenTelemetrySdk sdk;

    private NodeTelemetry(OpenTelemetrySdk sdk) { this.sdk = sdk; }

    /**
     * @param samplingRatio fraction of new traces recorded, 0.0 to 1.0
     * @param otlpEndpoint OTLP/HTTP base URL (e.g. {@code http://127.0.0.1:4318}; spans to {@code /v1/traces},
     *     metrics to {@code /v1/metrics}), or null
     * @param metricsHost with {@code metricsPort}: where to serve Prometheus text, or null for no endpoint
     * @throws IllegalArgumentException for a ratio outside 0..1 or a URL that is not http(s)
     * @throws IOException if the span file cannot be opened or the metrics port cannot be bound
     */
    public static NodeTelemetry start(Path dataDir, PeerId self, double samplingRatio, String otlpEndpoint,
                                      String metricsHost, int metricsPort) throws IOException {
        if (!(samplingRatio >= 0 && samplingRatio <= 1)) {
            throw new IllegalArgumentException("trace sampling ratio must be 0.0 to 1.0, got " + samplingRatio);
        }
        String base = null;
        if (otlpEndpoint != null) {
            URI u = URI.create(otlpEndpoint);
            if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme()) || u.getHost() == null) {
                throw new IllegalArgumentException("--otlp-endpoint must be an http(s) URL, got " + otlpEndpoint);
            }
            base = otlpEndpoint.replaceAll("/+$", "");
        }
        Resource resource = Resource.getDefault().merge(Resource.create(Attributes.of(
                AttributeKey.stringKey("service.name"), "peersocket",
                AttributeKey.stringKey("service.instance.id"), self.toString(),
                Telemetry.LOCAL_PEER, self.toString())));
        SdkTracerProviderBuilder traces = SdkTracerProvider.builder().setResource(resource)
                .setSampler(Sampler.parentBased(Sampler.traceIdRatioBased(samplingRatio)))
                .addSpanProcessor(BatchSpanProcessor.builder(new JsonLinesSpanExporter(dataDir.resolve(TRACES_FILE),
                        JsonLinesSpanExporter.DEFAULT_MAX_BYTES)).setScheduleDelay(SPAN_FLUSH_MS, TimeUnit.MILLISECONDS).build());
        SdkMeterProviderBuilder metrics = SdkMeterProvider.builder().setResource(resource);
        if (base != null) {
            traces.addSpanProcessor(BatchSpanProcessor.builder(OtlpHttpSpanExporter.builder()
                    .setEndpoint(base + "/v1/traces").build()).build());
            metrics.registerMetricReader(PeriodicMetricReader.builder(OtlpHttpMetricExporter.builder()
                    .setEndpoint(base + "/v1/metrics").build()).setInterval(Duration.ofSeconds(10)).build());
        }
        if (metricsHost != null) {
            try {
                metrics.registerMetricReader(PrometheusHttpServer.builder().setHost(metricsHost).setPort(metricsPort).build());
            } catch (RuntimeException e) {
                throw new IOException("cannot serve metrics on " + metricsHost + ":" + metricsPort + ": "
                        + (e.getCause() != null ? e.getCause().getMessage() : e.getMessage()), e);
            }
        }
        return new NodeTelemetry(OpenTelemetrySdk.builder().setTracerProvider(traces.build())
                .setMeterProvider(metrics.build()).build());
    }

    public OpenTelemetry openTelemetry() { return sdk; }

    /** Writes spans still in the batch queue. */
    public void flush() { sdk.getSdkTracerProvider().forceFlush().join(10, TimeUnit.SECONDS); }

    @Override public void close() { sdk.shutdown().join(10, TimeUnit.SECONDS); }
}
