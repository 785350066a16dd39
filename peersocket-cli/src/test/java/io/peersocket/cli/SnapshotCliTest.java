package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peersocket snapshot} against running node processes with token traffic, and the testbed's snapshot
 * scenario (real processes, one slow link).
 */
class SnapshotCliTest {
    private final NodeProcesses nodes = new NodeProcesses();

    @AfterEach
    void killProcesses() {
        nodes.close();
    }

    private String startNode(Path data) throws Exception {
        return nodes.start(data, "--dht", "off").address();
    }

    @Test
    void snapshotCommandPrintsStatesChannelsAndConservationWhileTokensFlow(@TempDir Path dir) throws Exception {
        Path d1 = dir.resolve("n1"), d2 = dir.resolve("n2"), d3 = dir.resolve("n3");
        startNode(d1);
        String a2 = startNode(d2);
        String a3 = startNode(d3);
        Remote.call(d1, Map.of("cmd", "dial", "addr", a2));
        Remote.call(d1, Map.of("cmd", "dial", "addr", a3));
        Remote.call(d2, Map.of("cmd", "dial", "addr", a3));
        for (Path d : List.of(d1, d2, d3)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (((Number) Remote.call(d, Map.of("cmd", "tokens")).get("channelPeers")).intValue() < 2) {
                assertThat(System.nanoTime()).as("handshakes done within 30 s").isLessThan(deadline);
                TimeUnit.MILLISECONDS.sleep(50); // polling a separate process, bounded by the deadline
            }
            Remote.call(d, Map.of("cmd", "tokens-start", "intervalMs", 2, "maxAmount", 50, "seed", 7));
        }

        Run human = run("snapshot", "--data", d1.toString(), "--timeout-ms", "10000");
        assertThat(human.exit()).as(human.out() + human.err()).isZero();
        assertThat(human.out()).contains("complete   yes").contains("tokens     issued 3000000 = states")
                .contains("conserved").containsPattern("channel  from 12D3KooW\\w+: \\d+ messages");
        assertThat(human.out().lines().filter(l -> l.startsWith("node ")).count()).isEqualTo(3);

        Run json = run("snapshot", "--data", d2.toString(), "--json");
        assertThat(json.exit()).as(json.out() + json.err()).isZero();
        Map<String, Object> m = com.fasterxml.jackson.jr.ob.JSON.std.mapFrom(json.out());
        assertThat(m.get("complete")).isEqualTo(true);
        assertThat((List<?>) m.get("nodes")).hasSize(3);
        @SuppressWarnings("unchecked")
        Map<String, Object> c = (Map<String, Object>) m.get("conservation");
        assertThat(c.get("holds")).isEqualTo(true);
        assertThat(((Number) c.get("issued")).longValue()).isEqualTo(3 * SnapshotControl.ISSUED);
        assertThat(json.out()).contains("\"counters\"", "\"peerExchange\"", "\"cursors\"", "\"tokens\"");

        Run help = run("snapshot", "--help");
        assertThat(help.exit()).isZero();
        assertThat(help.out()).contains("Usage: peersocket snapshot", "--timeout-ms", "--json", "--data");

        Run none = run("snapshot", "--data", dir.resolve("nothing").toString());
        assertThat(none.exit()).isEqualTo(1);
        assertThat(none.err()).contains("no running node");
    }

    @Test
    void testbedSnapshotScenarioConservesTokensWithOneSlowLink() {
        Run r = run("testbed", "--scenario", "snapshot", "--peers", "5", "--snapshots", "3", "--slow-ms", "300", "--seed", "3");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("RESULT PASS").containsPattern("snapshotsComplete\\s+3").containsPattern("snapshotsConserved\\s+3");
        assertThat(r.err()).contains("slow link").containsPattern("snapshot 0 from peer \\d: issued 5000000 = states \\d+ \\+ channels \\d+")
                .doesNotContain("NOT CONSERVED");
    }

    private static Run run(String... args) {
        CliTest.Run r = CliTest.run(args);
        return new Run(r.exit(), r.out(), r.err());
    }

    private record Run(int exit, String out, String err) {}
}
