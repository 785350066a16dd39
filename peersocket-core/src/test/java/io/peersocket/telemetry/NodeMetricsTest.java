package io.peersocket.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import io.peersocket.identity.HostKey;
import io.peersocket.node.Node;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;

/** Node metrics over real QUIC on loopback: connections and a failed (wrong peer id) dial as a handshake failure. */
class NodeMetricsTest {
    @Test
    void connectionsAndHandshakeFailuresAreMeasured() throws Exception {
        InMemoryMetricReader reader = InMemoryMetricReader.create();
        OpenTelemetrySdk otel = OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();
        try (otel;
             Node a = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").openTelemetry(otel).start();
             Node b = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start()) {
            a.connect(b.addresses().get(0)).get(20, TimeUnit.SECONDS);
            var wrong = b.listenAddresses().get(0).withPeerId(HostKey.generate().peerId());
            assertThatThrownBy(() -> a.connect(wrong).get(20, TimeUnit.SECONDS)).hasMessageContaining("authenticated as");

            Map<String, MetricData> m = reader.collectAllMetrics().stream()
                    .collect(Collectors.toMap(MetricData::getName, Function.identity()));
            assertThat(m.get("peersocket.connections.opened").getLongSumData().getPoints())
                    .extracting(LongPointData::getValue).containsExactly(1L);
            assertThat(m.get("peersocket.handshake.failures").getLongSumData().getPoints())
                    .singleElement().satisfies(p -> {
                        assertThat(p.getValue()).isEqualTo(1);
                        assertThat(p.getAttributes().get(io.opentelemetry.api.common.AttributeKey.stringKey("reason")))
                                .isEqualTo("node.dial.failed.peer_id_mismatch");
                    });
        }
    }
}
