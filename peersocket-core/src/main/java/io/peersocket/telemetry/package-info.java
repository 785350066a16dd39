/**
 * Observability (seed 002, DESIGN.md "observability"): tracing and metrics through the OpenTelemetry API, and
 * the attribute names every span and metric of Peersocket uses. The library depends on the API only; it is a
 * no-op unless the embedder passes an {@code OpenTelemetry} built from an SDK to
 * {@code NodeBuilder.openTelemetry}. The CLI does, and exports spans to {@code DATA/traces.jsonl} (and OTLP) and
 * metrics to a Prometheus endpoint.
 *
 * <p>Trace context travels in the despatch header's trace field as the W3C {@code traceparent} (and
 * {@code tracestate} when both fit in {@value io.peersocket.despatch.Header#MAX_TRACE_BYTES} bytes), so a
 * request, its reply and every message of a conversation share one trace across nodes.
 */
package io.peersocket.telemetry;
