package io.peersocket.cli.viewer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The viewer's span window, trace-file tailing and HTTP endpoints (no browser). */
class ViewerServerTest {
    private final SpanFixtures fx = new SpanFixtures(7);
    private final String a = fx.peerId(), b = fx.peerId(), c = fx.peerId();

    @Test
    void spanStoreKeepsABoundedWindowAndPagesByCursor() {
        SpanStore store = new SpanStore(10);
        List<Map<String, Object>> trace1 = fx.pingPong(a, b, 1_000_000_000L, 1);
        List<Map<String, Object>> trace2 = fx.pingPong(b, c, 2_000_000_000L, 2);
        List<Map<String, Object>> trace3 = fx.pingPong(c, a, 3_000_000_000L, 3);
        for (var s : trace1) store.add(s);
        for (var s : trace2) store.add(s);
        SpanStore.Page all = store.since(0, SpanStore.Filter.ALL, 100);
        assertThat(all.spans()).hasSize(8);
        assertThat(all.cursor()).isEqualTo(8);
        assertThat(all.truncated()).isFalse();
        assertThat(store.since(8, SpanStore.Filter.ALL, 100).spans()).isEmpty();

        // Paging: a limit stops the cursor at the last span returned.
        SpanStore.Page p1 = store.since(0, SpanStore.Filter.ALL, 3);
        assertThat(p1.spans()).extracting(SpanStore.Stored::seq).containsExactly(1L, 2L, 3L);
        assertThat(store.since(p1.cursor(), SpanStore.Filter.ALL, 100).spans()).extracting(SpanStore.Stored::seq)
                .containsExactly(4L, 5L, 6L, 7L, 8L);

        // The window drops the oldest: 12 spans in a window of 10.
        for (var s : trace3) store.add(s);
        assertThat(store.size()).isEqualTo(10);
        SpanStore.Page after = store.since(1, SpanStore.Filter.ALL, 100);
        assertThat(after.oldest()).isEqualTo(3);
        assertThat(after.truncated()).isTrue();
        assertThat(after.spans()).hasSize(10).first().extracting(SpanStore.Stored::seq).isEqualTo(3L);
        assertThat(store.since(10, SpanStore.Filter.ALL, 100).spans()).extracting(SpanStore.Stored::seq).containsExactly(11L, 12L);

        // Filters: by peer (either end), protocol, trace.
        String t2 = (String) trace2.get(0).get("traceId");
        assertThat(store.since(0, new SpanStore.Filter("", "", t2.toUpperCase()), 100).spans()).hasSize(4)
                .allMatch(s -> s.traceId().equals(t2));
        // a is in trace1 (its last 2 spans are still kept) and trace3.
        assertThat(store.since(0, new SpanStore.Filter(a, "", ""), 100).spans()).hasSize(6);
        assertThat(store.since(0, new SpanStore.Filter("", "/other/1.0.0", ""), 100).spans()).isEmpty();
        assertThat(store.since(0, new SpanStore.Filter("", SpanFixtures.PROTOCOL, ""), 100).spans()).hasSize(10);
    }

    @Test
    void invalidSpansAreRefusedNamingTheBadField() {
        Map<String, Object> ok = fx.pingPong(a, b, 1, 1).get(0);
        assertThatThrownBy(() -> Spans.parse(Spans.toJson(with(ok, "traceId", "abc")))).hasMessageContaining("traceId");
        assertThatThrownBy(() -> Spans.parse(Spans.toJson(with(ok, "spanId", "zz" + "0".repeat(14))))).hasMessageContaining("spanId");
        assertThatThrownBy(() -> Spans.parse(Spans.toJson(with(ok, "kind", "SIDEWAYS")))).hasMessageContaining("kind");
        assertThatThrownBy(() -> Spans.parse(Spans.toJson(with(ok, "endNanos", 0L)))).hasMessageContaining("endNanos");
        assertThatThrownBy(() -> Spans.parse(Spans.toJson(with(ok, "startNanos", "soon")))).hasMessageContaining("startNanos");
        assertThatThrownBy(() -> Spans.parse(Spans.toJson(with(ok, "parentSpanId", "12")))).hasMessageContaining("parentSpanId");
        assertThatThrownBy(() -> Spans.parse("[1,2]")).hasMessageContaining("JSON object");
        assertThatThrownBy(() -> Spans.parse("{\"traceId\":")).hasMessageContaining("JSON object");
        assertThat(Spans.parse(Spans.toJson(ok))).containsEntry("name", "send PING");
    }

    @Test
    void traceTailReadsAppendedLinesAndSkipsBadOnes(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("traces.jsonl");
        SpanStore store = new SpanStore(100);
        TraceTail tail = new TraceTail(file, store);
        assertThat(tail.poll()).as("missing file").isZero();

        List<String> lines = new ArrayList<>();
        for (var s : fx.pingPong(a, b, 5_000_000_000L, 9)) lines.add(Spans.toJson(s));
        // Two whole lines and half of the third.
        String third = lines.get(2);
        append(file, lines.get(0) + "\n" + lines.get(1) + "\n" + third.substring(0, 20));
        assertThat(tail.poll()).isEqualTo(2);
        assertThat(tail.poll()).as("partial line waits").isZero();
        append(file, third.substring(20) + "\nnot json\n\n" + "{\"x\":\"" + "y".repeat(Spans.MAX_LINE_BYTES) + "\"}\n" + lines.get(3) + "\n");
        assertThat(tail.poll()).isEqualTo(2);
        assertThat(tail.added()).isEqualTo(4);
        assertThat(tail.rejected()).isEqualTo(2);
        assertThat(store.since(0, SpanStore.Filter.ALL, 100).spans()).extracting(s -> JSON.std.mapFrom(s.json()).get("name"))
                .containsExactly("send PING", "receive PING", "send PONG", "receive PONG");

        // A long line split across polls is skipped as a whole, and the next line still counts.
        append(file, "{\"x\":\"" + "y".repeat(Spans.MAX_LINE_BYTES / 2));
        assertThat(tail.poll()).isZero();
        append(file, "y".repeat(Spans.MAX_LINE_BYTES) + "\"}\n" + lines.get(0) + "\n");
        assertThat(tail.poll()).isEqualTo(1);
        assertThat(tail.rejected()).isEqualTo(3);
        assertThat(tail.lastError()).contains("longer than");

        // Truncated in place and rewritten: read again from the start.
        Files.writeString(file, lines.get(1) + "\n");
        assertThat(tail.poll()).isEqualTo(1);
        assertThat(store.size()).isEqualTo(6);

        // Rotated as the node does it: the unread end of the old file (now traces.jsonl.1) is read, then the new file.
        append(file, lines.get(2) + "\n" + lines.get(3).substring(0, 30));
        assertThat(tail.poll()).isEqualTo(1);
        append(file, lines.get(3).substring(30) + "\n" + lines.get(0) + "\n");
        Files.move(file, dir.resolve("traces.jsonl.1"), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        append(file, lines.get(1) + "\n");
        assertThat(tail.poll()).isEqualTo(3);
        assertThat(store.size()).isEqualTo(10);
        assertThat(tail.rejected()).isEqualTo(3);
    }

    @Test
    void serverAnswersGraphSpansAndPageAndRefusesForeignHosts() throws Exception {
        SpanStore store = new SpanStore(100);
        for (var s : fx.pingPong(a, b, 1_000_000_000L, 1)) store.add(s);
        for (var s : fx.pingPong(b, c, 2_000_000_000L, 2)) store.add(s);
        Graph g = Graph.of(List.of(new Graph.Node(a, "peer-0", List.of("/ip4/127.0.0.1/udp/1/quic-v1"), true),
                        new Graph.Node(b, "peer-1", List.of(), true), new Graph.Node(c, "peer-2", List.of(), false)),
                Map.of(a, List.of(b, "12D3KooWnotanode"), b, List.of(a, c)));
        assertThat(g.edges()).containsExactlyInAnyOrder(Graph.Edge.of(a, b), Graph.Edge.of(b, c));
        try (ViewerServer server = ViewerServer.start(0, "test <bed>", () -> g, store)) {
            URI u = server.uri();
            assertThat(u.getHost()).isEqualTo("127.0.0.1");
            HttpClient http = HttpClient.newHttpClient();

            HttpResponse<String> graph = get(http, u.resolve("api/graph"));
            assertThat(graph.statusCode()).isEqualTo(200);
            assertThat(graph.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("application/json"));
            Map<String, Object> gm = JSON.std.mapFrom(graph.body());
            assertThat(gm.get("title")).isEqualTo("test <bed>");
            assertThat((List<?>) gm.get("nodes")).hasSize(3);
            assertThat((List<?>) gm.get("edges")).hasSize(2);

            Map<String, Object> spans = JSON.std.mapFrom(get(http, u.resolve("api/spans?since=0")).body());
            assertThat((List<?>) spans.get("spans")).hasSize(8);
            assertThat(spans.get("cursor")).isEqualTo(8);
            Map<String, Object> later = JSON.std.mapFrom(get(http, u.resolve("api/spans?since=6&limit=1")).body());
            assertThat((List<?>) later.get("spans")).hasSize(1);
            assertThat(later.get("cursor")).isEqualTo(7);
            Map<String, Object> byPeer = JSON.std.mapFrom(get(http, u.resolve("api/spans?since=0&peer=" + c)).body());
            assertThat((List<?>) byPeer.get("spans")).hasSize(4);

            HttpResponse<String> page = get(http, u);
            assertThat(page.statusCode()).isEqualTo(200);
            assertThat(page.body()).contains("<script src=\"app.js\">");
            assertThat(get(http, u.resolve("app.js")).headers().firstValue("Content-Type")).hasValue("text/javascript; charset=utf-8");
            assertThat(get(http, u.resolve("style.css")).statusCode()).isEqualTo(200);
            assertThat(get(http, u.resolve("../etc/passwd")).statusCode()).isEqualTo(404);
            assertThat(get(http, u.resolve("api/spans?since=x")).statusCode()).isEqualTo(400);
            assertThat(get(http, u.resolve("api/spans?limit=0")).statusCode()).isEqualTo(400);
            HttpResponse<String> post = http.send(HttpRequest.newBuilder(u.resolve("api/graph"))
                    .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(post.statusCode()).isEqualTo(405);

            assertThat(rawStatus(u, "evil.example:" + u.getPort())).isEqualTo(403);
            assertThat(rawStatus(u, "localhost:" + u.getPort())).isEqualTo(200);
        }
    }

    @Test
    void aMissingChromiumFailsTheBrowserTestsWithInstallInstructions() {
        String old = System.getProperty("CHROMIUM");
        System.setProperty("CHROMIUM", "/nonexistent/chromium");
        try {
            assertThatThrownBy(Browser::chromium).isInstanceOf(AssertionError.class)
                    .hasMessageContaining("/nonexistent/chromium not found").hasMessageContaining("apt-get install -y chromium chromium-driver");
        } finally {
            if (old == null) System.clearProperty("CHROMIUM");
            else System.setProperty("CHROMIUM", old);
        }
    }

    private static HttpResponse<String> get(HttpClient http, URI u) throws Exception {
        return http.send(HttpRequest.newBuilder(u).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Status of GET /api/graph sent with the given Host header (HttpClient does not let us set it). */
    private static int rawStatus(URI u, String host) throws Exception {
        try (Socket s = new Socket(u.getHost(), u.getPort())) {
            s.setSoTimeout(10_000);
            OutputStream out = s.getOutputStream();
            out.write(("GET /api/graph HTTP/1.1\r\nHost: " + host + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            String status = new String(in.readNBytes(12), StandardCharsets.US_ASCII);
            return Integer.parseInt(status.substring(9, 12));
        }
    }

    private static Map<String, Object> with(Map<String, Object> m, String k, Object v) {
        Map<String, Object> c = new java.util.LinkedHashMap<>(m);
        c.put(k, v);
        return c;
    }

    private static void append(Path f, String s) throws Exception {
        Files.writeString(f, s, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
    }
}
