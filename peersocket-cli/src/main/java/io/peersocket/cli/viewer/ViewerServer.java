package io.peersocket.cli.viewer;

import com.fasterxml.jackson.jr.ob.JSON;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.Supplier;
import java.util.zip.GZIPOutputStream;

/**
 * The testbed viewer's web server (JDK {@code com.sun.net.httpserver}, loopback only). Serves the page
 * ({@code /}, {@code /app.js}, {@code /style.css} from the {@code viewer/} class-path resources) and two JSON
 * endpoints:
 * <ul>
 *   <li>{@code GET /api/graph}: {@code {"title":…, "nodes":[{id,label,addresses,up}], "edges":[{a,b}],
 *       "spans":{kept,capacity,newest}}};</li>
 *   <li>{@code GET /api/spans?since=CURSOR&peer=&protocol=&trace=&limit=N}: the spans added after the cursor
 *       that match the filters, {@code {"cursor":…, "oldest":…, "truncated":bool, "spans":[…]}}; {@code limit}
 *       is 1..{@value #MAX_LIMIT} (default {@value #DEFAULT_LIMIT}).</li>
 * </ul>
 * Requests whose {@code Host} header is not a loopback name are refused (403), so a web page elsewhere cannot
 * read the testbed through DNS rebinding. Requests are answered on virtual threads.
 */
public final class ViewerServer implements AutoCloseable {
    /** Default and largest number of spans in one {@code /api/spans} answer. */
    public static final int DEFAULT_LIMIT = 5000, MAX_LIMIT = 20_000;
    private static final Map<String, String> STATIC = Map.of(
            "/", "index.html", "/index.html", "index.html", "/app.js", "app.js", "/style.css", "style.css");
    private static final int MAX_QUERY = 4096;

    private final HttpServer http;
    private final ExecutorService executor;
    private final Supplier<Graph> graph;
    private final SpanStore spans;
    private final String title;
    private final Map<String, byte[]> files = new HashMap<>();
    private final URI uri;

    private ViewerServer(HttpServer http, ExecutorService executor, Supplier<Graph> graph, SpanStore spans, String title) throws IOException {
        this.http = http;
        this.executor = executor;
        this.graph = graph;
        this.spans = spans;
        this.title = title;
        for (String f : STATIC.values()) {
            try (InputStream in = ViewerServer.class.getResourceAsStream("/viewer/" + f)) {
                if (in == null) throw new IOException("viewer resource missing from the class path: /viewer/" + f);
                files.put(f, in.readAllBytes());
            }
        }
        this.uri = URI.create("http://127.0.0.1:" + http.getAddress().getPort() + "/");
        http.createContext("/", this::handle);
    }

    /**
     * Starts the server on 127.0.0.1.
     *
     * @param port TCP port, 0 for any free one
     * @param title shown as the page title
     * @param graph called on each {@code /api/graph} request (keep it cheap: return a cached snapshot)
     * @param spans the span window served by {@code /api/spans}
     * @throws IOException if the port cannot be bound or the page resources are missing
     */
    public static ViewerServer start(int port, String title, Supplier<Graph> graph, SpanStore spans) throws IOException {
        if (port < 0 || port > 65535) throw new IllegalArgumentException("port must be 0..65535: " + port);
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
        ExecutorService ex = Executors.newThreadPerTaskExecutor(Thread.ofVirtual().name("viewer-http-", 0).factory());
        http.setExecutor(ex);
        ViewerServer s;
        try {
            s = new ViewerServer(http, ex, graph, spans, title);
        } catch (IOException | RuntimeException e) {
            ex.shutdownNow();
            throw e;
        }
        http.start();
        return s;
    }

    /** The page's address, {@code http://127.0.0.1:PORT/}. */
    public URI uri() { return uri; }

    /** Stops serving (open requests get up to 1 s) and releases the port. */
    @Override public void close() {
        http.stop(1);
        executor.shutdownNow();
    }

    private void handle(HttpExchange x) throws IOException {
        try (x) {
            if (!loopbackHost(x.getRequestHeaders().getFirst("Host"))) {
                send(x, 403, "text/plain", bytes("forbidden: Host must be a loopback address"));
                return;
            }
            String method = x.getRequestMethod();
            if (!method.equals("GET") && !method.equals("HEAD")) {
                x.getResponseHeaders().set("Allow", "GET, HEAD");
                send(x, 405, "text/plain", bytes("method not allowed"));
                return;
            }
            String path = x.getRequestURI().getRawPath();
            try {
                switch (path) {
                    case "/api/graph" -> sendJson(x, graphJson());
                    case "/api/spans" -> sendSpans(x, query(x.getRequestURI().getRawQuery()));
                    default -> {
                        String f = STATIC.get(path);
                        if (f == null) {
                            send(x, 404, "text/plain", bytes("not found: " + path));
                        } else {
                            String type = f.endsWith(".html") ? "text/html; charset=utf-8"
                                    : f.endsWith(".js") ? "text/javascript; charset=utf-8" : "text/css; charset=utf-8";
                            send(x, 200, type, files.get(f));
                        }
                    }
                }
            } catch (IllegalArgumentException e) {
                send(x, 400, "text/plain", bytes("bad request: " + e.getMessage()));
            }
        } catch (IOException e) {
            // client went away
        }
    }

    private byte[] graphJson() throws IOException {
        Graph g = graph.get();
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("title", title);
        m.putAll((g == null ? Graph.EMPTY : g).toMap());
        m.put("spans", Map.of("kept", spans.size(), "newest", spans.newest()));
        return JSON.std.asBytes(m);
    }

    private void sendSpans(HttpExchange x, Map<String, String> q) throws IOException {
        long since = parseLong(q.getOrDefault("since", "0"), "since");
        int limit = (int) parseLong(q.getOrDefault("limit", String.valueOf(DEFAULT_LIMIT)), "limit");
        if (limit < 1 || limit > MAX_LIMIT) throw new IllegalArgumentException("limit must be 1.." + MAX_LIMIT);
        SpanStore.Page page = spans.since(since, new SpanStore.Filter(q.get("peer"), q.get("protocol"), q.get("trace")), limit);
        StringBuilder sb = new StringBuilder(64 + page.spans().size() * 400);
        sb.append("{\"cursor\":").append(page.cursor()).append(",\"oldest\":").append(page.oldest())
                .append(",\"truncated\":").append(page.truncated()).append(",\"spans\":[");
        boolean first = true;
        for (SpanStore.Stored s : page.spans()) {
            if (!first) sb.append(',');
            sb.append(s.json());
            first = false;
        }
        sb.append("]}");
        sendJson(x, bytes(sb.toString()));
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> q = new HashMap<>();
        if (raw == null || raw.isEmpty()) return q;
        if (raw.length() > MAX_QUERY) throw new IllegalArgumentException("query longer than " + MAX_QUERY + " chars");
        for (String part : raw.split("&")) {
            int eq = part.indexOf('=');
            String k = URLDecoder.decode(eq < 0 ? part : part.substring(0, eq), StandardCharsets.UTF_8);
            String v = eq < 0 ? "" : URLDecoder.decode(part.substring(eq + 1), StandardCharsets.UTF_8);
            q.put(k, v);
        }
        return q;
    }

    private static long parseLong(String s, String name) {
        try {
            return Long.parseLong(s);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException(name + " must be an integer, not \"" + (s.length() > 20 ? s.substring(0, 20) + "…" : s) + "\"");
        }
    }

    private static boolean loopbackHost(String host) {
        if (host == null) return false;
        String h = host.startsWith("[") ? host.substring(0, host.indexOf(']') + 1)
                : host.contains(":") ? host.substring(0, host.lastIndexOf(':')) : host;
        return h.equals("127.0.0.1") || h.equals("localhost") || h.equals("[::1]");
    }

    private static void sendJson(HttpExchange x, byte[] body) throws IOException {
        send(x, 200, "application/json; charset=utf-8", body);
    }

    private static void send(HttpExchange x, int status, String type, byte[] body) throws IOException {
        var h = x.getResponseHeaders();
        h.set("Content-Type", type);
        h.set("Cache-Control", "no-store");
        h.set("X-Content-Type-Options", "nosniff");
        h.set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'");
        String accept = x.getRequestHeaders().getFirst("Accept-Encoding");
        if (body.length > 8192 && accept != null && accept.contains("gzip")) {
            ByteArrayOutputStream buf = new ByteArrayOutputStream(body.length / 4);
            try (GZIPOutputStream gz = new GZIPOutputStream(buf)) {
                gz.write(body);
            }
            body = buf.toByteArray();
            h.set("Content-Encoding", "gzip");
        }
        boolean head = x.getRequestMethod().equals("HEAD");
        x.sendResponseHeaders(status, head ? -1 : body.length);
        if (!head) {
            try (OutputStream out = x.getResponseBody()) {
                out.write(body);
            }
        }
    }

    private static byte[] bytes(String s) { return s.getBytes(StandardCharsets.UTF_8); }
}
