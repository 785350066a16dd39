package io.peersocket.interop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MiniJsonTest {

    @Test
    void parsesWhatJsonStringifyProduces() {
        Map<String, Object> m = MiniJson.parseObject(
                "{\"id\":\"7\",\"ok\":true,\"rttMs\":12,\"x\":-1.5e2,\"n\":null,"
                        + "\"protocols\":[\"/ipfs/id/1.0.0\",\"/ipfs/ping/1.0.0\"],\"nested\":{\"a\":[]},"
                        + "\"s\":\"q\\\"\\\\\\/\\n\\u00e9\\ud83d\\ude00\"}");
        assertThat(m).containsEntry("id", "7").containsEntry("ok", true).containsEntry("rttMs", 12L)
                .containsEntry("x", -150.0).containsEntry("n", null)
                .containsEntry("protocols", List.of("/ipfs/id/1.0.0", "/ipfs/ping/1.0.0"))
                .containsEntry("nested", Map.of("a", List.of()))
                .containsEntry("s", "q\"\\/\né😀");
        assertThat(m.keySet()).startsWith("id", "ok", "rttMs");
    }

    @Test
    void writesAndReadsBack() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("cmd", "ping");
        m.put("addr", "/ip4/127.0.0.1/udp/1/quic-v1");
        m.put("timeoutMs", 10_000L);
        m.put("text", "tab\there \"quoted\" \u0001 é");
        m.put("list", List.of(1, true, "x"));
        String json = MiniJson.write(m);
        assertThat(json).startsWith("{\"cmd\":\"ping\",").doesNotContain("\t").contains("\\u0001");
        assertThat(MiniJson.parseObject(json)).containsEntry("text", m.get("text"))
                .containsEntry("timeoutMs", 10_000L).containsEntry("list", List.of(1L, true, "x"));
    }

    @Test
    void rejectsMalformedInputNamingTheProblem() {
        assertThatThrownBy(() -> MiniJson.parse("{\"a\":1,}")).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("expected a string key");
        assertThatThrownBy(() -> MiniJson.parse("[1 2]")).hasMessageContaining("expected ',' or ']'");
        assertThatThrownBy(() -> MiniJson.parse("\"abc")).hasMessageContaining("unterminated string");
        assertThatThrownBy(() -> MiniJson.parse("01")).hasMessageContaining("leading zero");
        assertThatThrownBy(() -> MiniJson.parse("{} x")).hasMessageContaining("trailing characters");
        assertThatThrownBy(() -> MiniJson.parse("xyz")).hasMessageContaining("unexpected character 'x'");
        assertThatThrownBy(() -> MiniJson.parseObject("[]")).hasMessageContaining("expected a JSON object");
        assertThatThrownBy(() -> MiniJson.parse("[".repeat(MiniJson.MAX_DEPTH + 1)))
                .hasMessageContaining("nesting deeper than " + MiniJson.MAX_DEPTH);
    }
}
