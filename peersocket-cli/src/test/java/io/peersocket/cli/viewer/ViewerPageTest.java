package io.peersocket.cli.viewer;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The viewer page in a real headless Chromium against a viewer server fed with fixture spans (the traces.jsonl
 * format): the graph, the PING → PONG sequence diagram, filters, and a 20-node, 10,000-span load that must render
 * within a bound. Screenshots go to target/test-artifacts/.
 */
class ViewerPageTest {
    static final Path ARTIFACTS = Path.of("target", "test-artifacts");
    private static Browser browser;

    @BeforeAll
    static void startBrowser() throws Exception {
        browser = Browser.start(1400, 900);
    }

    @AfterAll
    static void stopBrowser() {
        if (browser != null) browser.close();
    }

    @Test
    @SuppressWarnings("unchecked")
    void pageShowsGraphAndPingPongSequenceFromTracesFiles(@TempDir Path dir) throws Exception {
        SpanFixtures fx = new SpanFixtures(11);
        List<String> ids = new ArrayList<>();
        List<Graph.Node> nodes = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            ids.add(fx.peerId());
            nodes.add(new Graph.Node(ids.get(i), "peer-" + i, List.of("/ip4/127.0.0.1/udp/" + (4001 + i) + "/quic-v1"), true));
        }
        Map<String, List<String>> connected = new HashMap<>();
        for (int i = 0; i < 5; i++) connected.put(ids.get(i), List.of(ids.get((i + 1) % 5), ids.get((i + 2) % 5)));
        Graph g = Graph.of(nodes, connected);
        assertThat(g.edges()).hasSize(10);

        // Each node writes its own half of the exchanges to its own traces file, as the CLI nodes do.
        SpanStore store = new SpanStore(SpanStore.DEFAULT_CAPACITY);
        Map<String, Path> files = new HashMap<>();
        for (String id : ids) files.put(id, dir.resolve(id + ".jsonl"));
        long t = System.currentTimeMillis() * 1_000_000L - 5_000_000_000L;
        for (int k = 0; k < 12; k++) {
            String a = ids.get(k % 5), b = ids.get((k + 1) % 5);
            for (Map<String, Object> s : fx.pingPong(a, b, t + k * 200_000_000L, 100 + k)) {
                Files.writeString(files.get((String) s.get("peer")), Spans.toJson(s) + "\n",
                        java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.APPEND);
            }
        }
        // One exchange on another protocol, one span only (the other side did not record it).
        Map<String, Object> kad = SpanFixtures.span(fx.hex(16), fx.hex(8), "", "send FIND_NODE", "CLIENT", t - 1_000_000_000L,
                t - 999_000_000L, ids.get(2), ids.get(3), 4, "FIND_NODE", 1);
        ((Map<String, Object>) kad.get("attributes")).put("peersocket.protocol", "/ipfs/kad/1.0.0");
        Files.writeString(files.get(ids.get(2)), Spans.toJson(kad) + "\n", java.nio.file.StandardOpenOption.APPEND);
        int read = 0;
        for (Path f : files.values()) read += new TraceTail(f, store).poll();
        assertThat(read).isEqualTo(49);

        try (ViewerServer server = ViewerServer.start(0, "Fixture testbed", () -> g, store)) {
            browser.open(server.uri().resolve("?select=PING"));
            browser.await("document.body.dataset.ready === '1' && document.querySelector('#seq g.msg[data-msg=\"PONG\"]')",
                    Duration.ofSeconds(30), "document.body.outerHTML.slice(0, 2000)");
            assertThat(browser.evalInt("return document.querySelectorAll('#graph g[data-node]').length")).isEqualTo(5);
            assertThat(browser.evalInt("return document.querySelectorAll('#graph line[data-edge]').length")).isEqualTo(10);
            assertThat(browser.evalInt("return document.querySelectorAll('#traces tbody tr[data-trace]').length")).isEqualTo(13);
            // The sequence: PING from the client's peer to the server's, then PONG back, each with a duration.
            @SuppressWarnings("unchecked")
            List<Map<String, Object>> arrows = (List<Map<String, Object>>) browser.eval(
                    "return [...document.querySelectorAll('#seq g.msg')].map(g => ({msg: g.dataset.msg, from: g.dataset.from,"
                            + " to: g.dataset.to, text: g.textContent, cls: g.getAttribute('class')}))");
            assertThat(arrows).extracting(m -> m.get("msg")).containsExactly("PING", "PONG");
            assertThat(arrows.get(0).get("from")).isEqualTo(arrows.get(1).get("to"));
            assertThat(arrows.get(0).get("to")).isEqualTo(arrows.get(1).get("from"));
            assertThat((String) arrows.get(0).get("text")).contains("0.30 ms").contains("rtt 1.20 ms");
            assertThat((String) arrows.get(1).get("text")).contains("0.60 ms");
            assertThat(arrows).extracting(m -> m.get("cls")).containsExactly("msg", "msg reply");
            String selected = (String) browser.eval("return document.body.dataset.selectedTrace");
            assertThat(selected).matches("[0-9a-f]{32}");
            assertThat((String) browser.eval("return location.hash")).isEqualTo("#trace=" + selected);
            assertThat(browser.eval("return document.querySelector('#traces tbody tr[data-trace]').dataset.trace"))
                    .as("the newest PING trace is selected").isEqualTo(selected);
            assertThat(browser.evalInt("return document.querySelectorAll('#seq g.peer').length")).isEqualTo(2);
            // The selected trace's peers and edge are marked in the graph.
            assertThat(browser.evalInt("return document.querySelectorAll('#graph g.node.in-trace').length")).isEqualTo(2);
            assertThat(browser.evalInt("return document.querySelectorAll('#graph line.edge.in-trace').length")).isEqualTo(1);
            assertThat(browser.eval("return document.body.dataset.errors ? document.body.dataset.lastError : null")).as("uncaught page error").isNull();
            browser.screenshot(ARTIFACTS.resolve("viewer-fixture.png"));

            // Filter by peer: clicking peer-0 in the graph keeps only traces involving it (peer-0 is in 5 of 12).
            browser.eval("document.querySelector('#graph g[data-label=\"peer-0\"] circle').dispatchEvent(new MouseEvent('click', {bubbles: true})); return null");
            browser.await("document.querySelectorAll('#traces tbody tr[data-trace]').length === 5", Duration.ofSeconds(10),
                    "document.querySelectorAll('#traces tbody tr[data-trace]').length");
            assertThat(browser.eval("return document.getElementById('f-peer').value")).isEqualTo(ids.get(0));
            // Filter by protocol and by trace id prefix.
            browser.eval("const f = document.getElementById('f-protocol'); f.value = '/ipfs/kad/1.0.0'; f.dispatchEvent(new Event('change')); return null");
            assertThat(browser.evalInt("return document.querySelectorAll('#traces tbody tr[data-trace]').length")).isZero();
            browser.eval("document.getElementById('f-peer').value = ''; document.getElementById('f-peer').dispatchEvent(new Event('change')); return null");
            assertThat(browser.eval("return [...document.querySelectorAll('#traces tbody tr td:nth-child(2)')].map(td => td.textContent)"))
                    .isEqualTo(List.of("FIND_NODE"));
            browser.eval("const f = document.getElementById('f-protocol'); f.value = '" + SpanFixtures.PROTOCOL + "'; f.dispatchEvent(new Event('change')); return null");
            assertThat(browser.evalInt("return document.querySelectorAll('#traces tbody tr[data-trace]').length")).isEqualTo(12);
            browser.eval("document.getElementById('f-clear').click(); const f = document.getElementById('f-trace');"
                    + " f.value = '" + selected.substring(0, 10) + "'; f.dispatchEvent(new Event('input')); return null");
            assertThat(browser.eval("return [...document.querySelectorAll('#traces tbody tr[data-trace]')].map(r => r.dataset.trace)"))
                    .isEqualTo(List.of(selected));

        }
    }

    @Test
    void twentyNodesAndTenThousandSpansRenderWithoutFreezing() throws Exception {
        SpanFixtures fx = new SpanFixtures(20);
        List<String> ids = new ArrayList<>();
        List<Graph.Node> nodes = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            ids.add(fx.peerId());
            nodes.add(new Graph.Node(ids.get(i), "peer-" + i, List.of(), true));
        }
        Map<String, List<String>> connected = new HashMap<>();
        for (String id : ids) connected.put(id, ids); // full mesh: 190 connections
        Graph g = Graph.of(nodes, connected);
        SpanStore store = new SpanStore(SpanStore.DEFAULT_CAPACITY);
        long t = System.currentTimeMillis() * 1_000_000L - 60_000_000_000L;
        java.util.Random random = new java.util.Random(3);
        for (int k = 0; k < 2500; k++) {
            String a = ids.get(random.nextInt(20)), b = ids.get((ids.indexOf(a) + 1 + random.nextInt(19)) % 20);
            for (var s : fx.pingPong(a, b, t + k * 20_000_000L, k)) store.add(s);
        }
        assertThat(store.size()).isEqualTo(10_000);

        try (ViewerServer server = ViewerServer.start(0, "20 nodes", () -> g, store)) {
            // Opening with #trace=<id> selects that trace.
            String traceId = store.since(5000, SpanStore.Filter.ALL, 1).spans().get(0).traceId();
            browser.open(server.uri().resolve("#trace=" + traceId));
            browser.await("document.body.dataset.ready === '1'", Duration.ofSeconds(60), "document.getElementById('status').textContent");
            assertThat(browser.evalInt("return document.querySelectorAll('#graph g[data-node]').length")).isEqualTo(20);
            assertThat(browser.evalInt("return document.querySelectorAll('#graph line[data-edge]').length")).isEqualTo(190);
            assertThat(browser.eval("return document.body.dataset.spans")).isEqualTo("10000");
            assertThat(browser.eval("return document.body.dataset.traces")).isEqualTo("2500");
            // The trace list is capped; the chosen trace is drawn.
            assertThat(browser.evalInt("return document.querySelectorAll('#traces tbody tr[data-trace]').length")).isEqualTo(200);
            assertThat(browser.eval("return document.body.dataset.selectedTrace")).isEqualTo(traceId);
            assertThat(browser.evalInt("return document.querySelectorAll('#seq g.msg').length")).isEqualTo(2);
            // First load (fetch, parse and draw 10,000 spans) and each update stay well below a second of work.
            double first = Double.parseDouble((String) browser.eval("return document.body.dataset.firstRenderMs"));
            assertThat(first).as("first render ms").isLessThan(3000);

            // 2,000 more spans arrive while the page polls: it takes them in without a long frame.
            for (int k = 0; k < 500; k++) {
                String a = ids.get(random.nextInt(20)), b = ids.get((ids.indexOf(a) + 1) % 20);
                for (var s : fx.pingPong(a, b, t + (2500 + k) * 20_000_000L, 2500 + k)) store.add(s);
            }
            browser.await("document.body.dataset.spans === '12000'", Duration.ofSeconds(30), "document.body.dataset.spans");
            double maxRender = Double.parseDouble((String) browser.eval("return document.body.dataset.maxRenderMs"));
            System.out.printf("viewer, 20 nodes: first load of 10,000 spans %.1f ms, longest update %.1f ms%n", first, maxRender);
            assertThat(maxRender).as("longest update ms").isLessThan(1000);
            // The page still answers at once, and filtering 3,000 traces is quick.
            long t0 = System.nanoTime();
            browser.eval("const f = document.getElementById('f-peer'); f.value = '" + ids.get(7) + "'; f.dispatchEvent(new Event('change')); return null");
            double filterMs = (System.nanoTime() - t0) / 1e6;
            assertThat(filterMs).as("filter round trip ms").isLessThan(1000);
            @SuppressWarnings("unchecked")
            List<String> rows = (List<String>) browser.eval("return [...document.querySelectorAll('#traces tbody tr td:nth-child(3)')].map(td => td.textContent)");
            assertThat(rows).isNotEmpty().allMatch(r -> r.contains("peer-7"));
            assertThat(browser.eval("return document.body.dataset.errors ? document.body.dataset.lastError : null")).as("uncaught page error").isNull();
            browser.screenshot(ARTIFACTS.resolve("viewer-20-nodes.png"));
        }
    }
}
