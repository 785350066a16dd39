package io.peersocket.cli.telemetry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.peersocket.despatch.Message;
import io.peersocket.node.Node;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI's SDK: the Prometheus endpoint over real HTTP, OTLP/HTTP export through the JDK sender. */
class NodeTelemetryTest {
    @TempDir Path dir;

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    @Test
    void prometheusEndpointServesNodeMetrics() throws Exception {
        int port = freePort();
        Node b = Node.builder().listen("/ip4/127.0.0.1/udp/0/quic-v1").start();
        Path data = dir.resolve("a");
        Files.createDirectories(data);
        io.peersocket.identity.HostKey key = io.peersocket.identity.HostKey.generate();
        try (NodeTelemetry t = NodeTelemetry.start(data, key.peerId(), 1.0, null, "127.0.0.1", port);
             Node a = Node.builder().hostKey(key).listen("/ip4/127.0.0.1/udp/0/quic-v1").openTelemetry(t.openTelemetry()).start();
             b) {
            b.despatcher().register(20, "PING", m -> m.reply(21, m.payload()));
            a.despatcher().nameType(20, "PING");
            a.addAddresses(b.peerId(), b.listenAddresses());
            Message reply = a.despatcher().request(b.peerId(), 20, new byte[] {1, 2, 3}).get(20, TimeUnit.SECONDS);
            assertThat(reply.payload()).containsExactly(1, 2, 3);

            HttpResponse<String> r;
            try (HttpClient http = HttpClient.newHttpClient()) {
                r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).GET().build(),
                        HttpResponse.BodyHandlers.ofString());
            }
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
            String body = r.body();
            assertThat(body).containsPattern("peersocket_messages_sent_total\\{[^}]*peersocket_message_name=\"PING\"[^}]*} 1");
            assertThat(body).containsPattern("peersocket_request_duration_milliseconds_count\\{[^}]*outcome=\"ok\"[^}]*} 1");
            assertThat(body).contains("peersocket_connections_opened_total", "peersocket_bytes_received",
                    "peersocket_connections_current");
            assertThat(body).contains(key.peerId().toString()); // the resource names the peer (target_info)
        }
        // The span file exists in the data dir even without a collector.
        assertThat(data.resolve(NodeTelemetry.TRACES_FILE)).exists();
        assertThat(Files.readString(data.resolve(NodeTelemetry.TRACES_FILE))).contains("\"name\":\"send PING\"");
    }

    @Test
    void otlpExportGoesOverTheJdkHttpClient() throws Exception {
        HttpServer collector = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        CompletableFuture<String> got = new CompletableFuture<>();
        collector.createContext("/v1/traces", ex -> {
            byte[] body = ex.getRequestBody().readAllBytes();
            got.complete(ex.getRequestMethod() + " " + ex.getRequestHeaders().getFirst("Content-Type") + " " + body.length);
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        collector.start();
        try {
            String url = "http://127.0.0.1:" + collector.getAddress().getPort();
            io.peersocket.identity.HostKey key = io.peersocket.identity.HostKey.generate();
            try (NodeTelemetry t = NodeTelemetry.start(dir, key.peerId(), 1.0, url, null, 0)) {
                t.openTelemetry().getTracer("test").spanBuilder("hello").startSpan().end();
                t.flush();
                String req = got.get(20, TimeUnit.SECONDS);
                assertThat(req).startsWith("POST application/x-protobuf ");
                assertThat(Integer.parseInt(req.substring(req.lastIndexOf(' ') + 1))).isPositive();
            }
        } finally {
            collector.stop(0);
        }
    }

    @Test
    void badSettingsAreRefused() {
        io.peersocket.identity.PeerId p = io.peersocket.identity.HostKey.generate().peerId();
        assertThatThrownBy(() -> NodeTelemetry.start(dir, p, 1.5, null, null, 0)).hasMessageContaining("0.0 to 1.0");
        assertThatThrownBy(() -> NodeTelemetry.start(dir, p, 1.0, "ftp://x", null, 0)).hasMessageContaining("http(s) URL");
    }
}
