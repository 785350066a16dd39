package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import io.peersocket.cli.viewer.Browser;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code testbed --view} end to end: a real testbed of node processes, its viewer page loaded in a real headless
 * Chromium while the nodes ping each other; the page must show every node and connection and a PING → PONG
 * sequence diagram. The screenshot is saved as target/test-artifacts/viewer.png.
 */
class TestbedViewerTest {
    @Test
    void viewerShowsTheLiveGraphAndAPingPongSequenceInARealBrowser() throws Exception {
        Browser.chromium(); // fail at once, with instructions, if Chromium is missing
        TestbedCommand testbed = new TestbedCommand();
        PrintStream oldOut = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        CompletableFuture<URI> viewer = new CompletableFuture<>();
        testbed.onViewerStarted = viewer::complete;
        CompletableFuture<Integer> exit = CompletableFuture.supplyAsync(() -> new CommandLine(testbed).execute(
                "--peers", "4", "--pings", "2", "--requests", "4", "--conversations", "2", "--seed", "5",
                "--view", "--duration", "600", "--json"));
        exit.whenComplete((code, err) -> viewer.completeExceptionally(
                new AssertionError("testbed ended (exit " + code + ") before its viewer started", err)));
        try {
            URI uri = viewer.get(180, TimeUnit.SECONDS);
            assertThat(uri.toString()).matches("http://127\\.0\\.0\\.1:\\d+/");
            try (Browser browser = Browser.start(1400, 1000)) {
                browser.open(uri.resolve("?select=PING"));
                browser.await("document.body.dataset.ready === '1' && document.querySelectorAll('#graph g[data-node]').length === 4"
                                + " && document.querySelectorAll('#graph line[data-edge]').length === 6",
                        Duration.ofSeconds(60), "document.getElementById('status').textContent");
                assertThat(browser.eval("return [...document.querySelectorAll('#graph g[data-node]')].map(g => g.dataset.label)"))
                        .isEqualTo(List.of("peer-0", "peer-1", "peer-2", "peer-3"));
                // The nodes keep pinging each other: a PING trace with its PONG appears and is selected. Each node
                // writes its spans about once a second, so wait until both ends of both messages are in.
                browser.await("document.querySelector('#seq g.msg[data-msg=\"PING\"]:not(.unmatched)')"
                                + " && document.querySelector('#seq g.msg[data-msg=\"PONG\"]:not(.unmatched)')",
                        Duration.ofSeconds(90), "document.getElementById('status').textContent + ' / ' + document.getElementById('seq-title').textContent");
                @SuppressWarnings("unchecked")
                List<Map<String, Object>> arrows = (List<Map<String, Object>>) browser.eval(
                        "return [...document.querySelectorAll('#seq g.msg')].map(g => ({msg: g.dataset.msg, from: g.dataset.from,"
                                + " to: g.dataset.to, text: g.textContent, cls: g.getAttribute('class')}))");
                assertThat(arrows).extracting(m -> m.get("msg")).containsSubsequence("PING", "PONG");
                Map<String, Object> ping = arrows.stream().filter(m -> m.get("msg").equals("PING")).findFirst().orElseThrow();
                Map<String, Object> pong = arrows.stream().filter(m -> m.get("msg").equals("PONG")).findFirst().orElseThrow();
                assertThat(pong.get("from")).isEqualTo(ping.get("to"));
                assertThat(pong.get("to")).isEqualTo(ping.get("from"));
                // Both ends were recorded (by two different node processes) and the times are shown.
                assertThat((String) ping.get("cls")).doesNotContain("unmatched");
                assertThat((String) pong.get("cls")).doesNotContain("unmatched").contains("reply");
                assertThat((String) ping.get("cls")).doesNotContain("reply");
                assertThat((String) ping.get("text")).containsPattern("\\d+\\.\\d+ ms").contains("rtt");
                assertThat(browser.evalInt("return document.querySelectorAll('#graph g.node.in-trace').length")).isEqualTo(2);
                assertThat(browser.eval("return document.body.dataset.errors ? document.body.dataset.lastError : null")).as("uncaught page error").isNull();
                browser.screenshot(Path.of("target", "test-artifacts", "viewer.png"));
            }
        } finally {
            testbed.stopViewing.complete(null);
            try {
                assertThat(exit.get(180, TimeUnit.SECONDS)).as("testbed exit code; output " + out).isZero();
            } finally {
                System.setOut(oldOut);
            }
        }
        // The summary counts the background pings and the spans the viewer read.
        String summary = out.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("{")).reduce((a, b) -> b).orElseThrow();
        Map<String, Object> m = JSON.std.mapFrom(summary);
        assertThat(((Number) m.get("viewPings")).intValue()).as(summary).isPositive();
        assertThat(m.get("viewPingFailures")).as(summary).isEqualTo(0);
        assertThat(((Number) m.get("viewSpans")).intValue()).as(summary).isGreaterThan(20);
        assertThat(m.get("failures")).as(summary).isEqualTo(0);
    }
}
