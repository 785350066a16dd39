/**
 * The CLI node's OpenTelemetry SDK setup ({@link io.peersocket.cli.telemetry.NodeTelemetry}): spans to
 * {@code DATA/traces.jsonl} ({@link io.peersocket.cli.telemetry.JsonLinesSpanExporter}) and optionally to an
 * OTLP/HTTP collector (sent with the JDK's HTTP client, {@link io.peersocket.cli.telemetry.JdkHttpSenderProvider}),
 * metrics on an optional Prometheus text endpoint.
 */
package io.peersocket.cli.telemetry;
