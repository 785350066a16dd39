package io.peersocket.cli;

import io.peersocket.cli.NodeProcesses.NodeProcess;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import io.peersocket.cli.telemetry.NodeTelemetry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 5 "done when": one trace spanning three node processes. A asks B to forward a request to C (demo
 * FORWARD); C answers B, B answers A. All three processes' {@code DATA/traces.jsonl} are read after a clean
 * shutdown, and the spans of the one trace must come from all three peers with correct parent links.
 */
class ThreeProcessTraceTest {
    private final NodeProcesses nodes = new NodeProcesses();

    @AfterEach
    void kill() {
        nodes.close();
    }

    private NodeProcess start(Path data) throws Exception {
        return nodes.start(data, "--dht", "off", "--log-level", "warn");
    }

    private static Map<String, Object> call(NodeProcess n, Map<String, Object> request) throws Exception {
        Map<String, Object> answer = ControlSocket.call(n.data(), request);
        assertThat(answer).as(request + " → " + answer).containsEntry("ok", true);
        return answer;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> spans(Path data) throws Exception {
        List<Map<String, Object>> out = new ArrayList<>();
        for (String line : Files.readAllLines(data.resolve(NodeTelemetry.TRACES_FILE))) out.add(JSON.std.mapFrom(line));
        return out;
    }

    private static Map<String, Object> only(List<Map<String, Object>> spans, String peer, String name) {
        List<Map<String, Object>> l = spans.stream().filter(s -> peer.equals(s.get("peer")) && name.equals(s.get("name"))).toList();
        assertThat(l).as(name + " on " + peer).hasSize(1);
        return l.get(0);
    }

    @Test
    void forwardedRequestIsOneTraceAcrossThreeProcesses(@TempDir Path dir) throws Exception {
        NodeProcess a = start(dir.resolve("a")), b = start(dir.resolve("b")), c = start(dir.resolve("c"));
        call(a, Map.of("cmd", "dial", "addr", b.address()));
        call(b, Map.of("cmd", "dial", "addr", c.address()));

        Map<String, Object> answer = call(a, Map.of("cmd", "demo-forward", "via", b.peerId(), "to", c.peerId()));
        assertThat(answer.get("path")).isEqualTo(List.of(b.peerId(), c.peerId()));
        String traceId = (String) answer.get("traceId");
        assertThat(traceId).matches("[0-9a-f]{32}");

        // A clean shutdown (SIGTERM) flushes each node's span file.
        for (NodeProcess n : List.of(a, b, c)) n.process().destroy();
        for (NodeProcess n : List.of(a, b, c)) assertThat(n.process().waitFor(30, TimeUnit.SECONDS)).isTrue();

        List<Map<String, Object>> all = new ArrayList<>();
        for (NodeProcess n : List.of(a, b, c)) all.addAll(spans(n.data()));
        List<Map<String, Object>> trace = all.stream().filter(s -> traceId.equals(s.get("traceId"))).toList();
        assertThat(trace.stream().map(s -> (String) s.get("peer")).collect(Collectors.toSet()))
                .containsExactlyInAnyOrder(a.peerId(), b.peerId(), c.peerId());

        // Every span but the root has its parent in the trace; the root is A's control span.
        Map<String, Map<String, Object>> byId = new HashMap<>();
        for (Map<String, Object> s : trace) byId.put((String) s.get("spanId"), s);
        List<Map<String, Object>> roots = trace.stream().filter(s -> "".equals(s.get("parentSpanId"))).toList();
        assertThat(roots).singleElement().satisfies(r -> {
            assertThat(r).containsEntry("name", "control demo-forward").containsEntry("peer", a.peerId());
        });
        for (Map<String, Object> s : trace) {
            if (!"".equals(s.get("parentSpanId"))) assertThat(byId).as("parent of " + s).containsKey((String) s.get("parentSpanId"));
        }

        // The hops: A→B, B→C, C→B, B→A, each receive a child of the matching send on the other process.
        Map<String, Object> aSend = only(trace, a.peerId(), "send FORWARD");
        Map<String, Object> bReceive = only(trace, b.peerId(), "receive FORWARD");
        Map<String, Object> bSend = only(trace, b.peerId(), "send FORWARD");
        Map<String, Object> cReceive = only(trace, c.peerId(), "receive FORWARD");
        Map<String, Object> cReply = only(trace, c.peerId(), "send FORWARD_REPLY");
        Map<String, Object> bReceiveReply = only(trace, b.peerId(), "receive FORWARD_REPLY");
        Map<String, Object> bReply = only(trace, b.peerId(), "send FORWARD_REPLY");
        Map<String, Object> aReceiveReply = only(trace, a.peerId(), "receive FORWARD_REPLY");
        assertThat(aSend).containsEntry("kind", "CLIENT").containsEntry("status", "OK");
        assertThat(bReceive).containsEntry("parentSpanId", aSend.get("spanId")).containsEntry("kind", "SERVER");
        assertThat(cReceive).containsEntry("parentSpanId", bSend.get("spanId"));
        assertThat(cReply).containsEntry("parentSpanId", cReceive.get("spanId"));
        assertThat(bReceiveReply).containsEntry("parentSpanId", cReply.get("spanId"));
        assertThat(bReply).containsEntry("parentSpanId", bReceive.get("spanId"));
        assertThat(aReceiveReply).containsEntry("parentSpanId", bReply.get("spanId"));
        // B's onward request was made while handling A's: a descendant of B's receive span.
        Map<String, Object> bHandle = byId.get((String) bSend.get("parentSpanId"));
        assertThat(bHandle).containsEntry("name", "handle FORWARD").containsEntry("parentSpanId", bReceive.get("spanId"));

        @SuppressWarnings("unchecked") Map<String, Object> attrs = (Map<String, Object>) aSend.get("attributes");
        assertThat(attrs).containsEntry("peersocket.remote_peer", b.peerId())
                .containsEntry("peersocket.protocol", "/peersocket/despatch/1.0.0")
                .containsEntry("peersocket.message.name", "FORWARD");
        assertThat(((Number) attrs.get("peersocket.message.type")).intValue()).isEqualTo(DemoApp.FORWARD);
        Set<String> names = trace.stream().map(s -> (String) s.get("name")).collect(Collectors.toSet());
        assertThat(names).contains("handle FORWARD");
    }
}
