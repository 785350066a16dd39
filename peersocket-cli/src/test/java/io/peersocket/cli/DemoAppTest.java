package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.node.Node;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The demo PING/PONG and FORWARD types through the control commands, on three in-process nodes over loopback QUIC. */
class DemoAppTest {
    private final List<Node> nodes = new java.util.ArrayList<>();

    @AfterEach
    void close() {
        for (Node n : nodes) n.close();
    }

    private Node start() throws Exception {
        Node n = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
        DemoApp.install(n.despatcher(), n.peerId());
        nodes.add(n);
        return n;
    }

    @Test
    void pingAndForwardThroughControlCommands() throws Exception {
        Node a = start(), b = start(), c = start();
        a.addAddresses(b.peerId(), b.listenAddresses());
        b.addAddresses(c.peerId(), c.listenAddresses());
        ControlHandler control = new ControlHandler(a);

        Map<String, Object> ping = control.handle(Map.of("cmd", "demo-ping", "peer", b.peerId().toString()));
        assertThat(ping).containsEntry("ok", true).containsKey("rttMs");

        Map<String, Object> fwd = control.handle(Map.of("cmd", "demo-forward", "via", b.peerId().toString(),
                "to", c.peerId().toString()));
        assertThat(fwd).as(fwd.toString()).containsEntry("ok", true)
                .containsEntry("path", List.of(b.peerId().toString(), c.peerId().toString()));

        // A knows no address of C, and B cannot forward to a peer it knows nothing of: an error naming the hop.
        Node d = start();
        Map<String, Object> bad = control.handle(Map.of("cmd", "demo-forward", "via", b.peerId().toString(),
                "to", List.of(c.peerId().toString(), d.peerId().toString())));
        assertThat(bad).containsEntry("ok", false);
        assertThat((String) bad.get("error")).contains("forward to " + d.peerId());

        Map<String, Object> garbage = control.handle(Map.of("cmd", "demo-forward", "via", b.peerId().toString(), "to", "nope"));
        assertThat(garbage).containsEntry("ok", false);
    }

    @Test
    void demoCommandsAnswerTheirTraceIdWhenTraced() throws Exception {
        var otel = io.opentelemetry.sdk.OpenTelemetrySdk.builder()
                .setTracerProvider(io.opentelemetry.sdk.trace.SdkTracerProvider.builder().build()).build();
        Node a = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").openTelemetry(otel).start();
        DemoApp.install(a.despatcher(), a.peerId());
        nodes.add(a);
        Node b = start();
        a.addAddresses(b.peerId(), b.listenAddresses());
        ControlHandler control = new ControlHandler(a);
        Map<String, Object> count = control.handle(Map.of("cmd", "count", "peer", b.peerId().toString(), "limit", 6));
        assertThat(count).as(count.toString()).containsEntry("ok", true).containsEntry("received", 4L); // 1, 3, 5, 7
        assertThat((String) count.get("traceId")).matches("[0-9a-f]{32}");
        Map<String, Object> req = control.handle(Map.of("cmd", "request", "peer", b.peerId().toString()));
        assertThat((String) req.get("traceId")).matches("[0-9a-f]{32}").isNotEqualTo(count.get("traceId"));
        // Untraced node: no traceId.
        assertThat(new ControlHandler(b).handle(Map.of("cmd", "demo-ping", "peer", a.peerId().toString())))
                .containsEntry("ok", true).doesNotContainKey("traceId");
        otel.close();
    }

    @Test
    void routeCodecBoundsAndRejectsBadIds() {
        assertThat(DemoApp.decodeRoute(new byte[0])).isEmpty();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> DemoApp.decodeRoute("x\ny".getBytes()))
                .isInstanceOf(IllegalArgumentException.class);
        StringBuilder many = new StringBuilder();
        for (int i = 0; i <= DemoApp.MAX_ROUTE; i++) many.append(i == 0 ? "" : "\n").append("a");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> DemoApp.decodeRoute(many.toString().getBytes()))
                .hasMessageContaining("limit " + DemoApp.MAX_ROUTE);
    }
}
