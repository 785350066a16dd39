package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peersocket ledger} against running node processes, and the testbed's ledger scenario (real processes:
 * a network cut by the nodes' firewalls, both halves grow, heal, convergence on the fork-choice winner with rebuilds, a late node catching up).
 */
class LedgerCliTest {
    private final NodeProcesses nodes = new NodeProcesses();

    @AfterEach
    void killProcesses() {
        nodes.close();
    }

    private String startNode(Path data, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--dht", "off"));
        args.addAll(List.of(extra));
        return nodes.start(data, args.toArray(String[]::new)).address();
    }

    /** Polls {@code check} on the node at {@code data} until it holds, at most 30 s. */
    private static Map<String, Object> await(Path data, Map<String, Object> req, java.util.function.Predicate<Map<String, Object>> check) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            Map<String, Object> a = Remote.call(data, req);
            if (check.test(a)) return a;
            assertThat(System.nanoTime()).as("condition on " + req + " within 30 s; last " + a).isLessThan(deadline);
            TimeUnit.MILLISECONDS.sleep(100); // polling a separate process, bounded by the deadline
        }
    }

    @Test
    void ledgerCommandsInfoHeightBlockSubmit(@TempDir Path dir) throws Exception {
        Path d1 = dir.resolve("n1"), d2 = dir.resolve("n2"), d3 = dir.resolve("n3");
        String[] ledger = {"--ledger", "cli", "--ledger-min-peers", "1", "--ledger-cycle-ms", "100"};
        startNode(d1, concat(ledger, "--ledger-produce-ms", "300"));
        String a2 = startNode(d2, ledger);
        startNode(d3); // no ledger
        Remote.call(d1, Map.of("cmd", "dial", "addr", a2));
        await(d2, Map.of("cmd", "ledger-info"), a -> ((Number) a.get("height")).longValue() >= 2);

        Run info = run("ledger", "info", "--data", d2.toString());
        assertThat(info.exit()).as(info.err()).isZero();
        assertThat(info.out()).containsPattern("chain\\s+cli").containsPattern("mode\\s+normal").containsPattern("peers\\s+1");

        Run asset = run("ledger", "submit", "asset", "gold", "0a0b", "--data", d2.toString());
        assertThat(asset.exit()).as(asset.err()).isZero();
        assertThat(asset.out()).startsWith("asset ");
        String assetId = asset.out().strip().split(" ")[1];
        Map<String, Object> s = await(d2, Map.of("cmd", "ledger-info"), a -> ((Number) a.get("assets")).intValue() == 1);
        assertThat(s.get("assets")).isEqualTo(1);
        Run issue = run("ledger", "submit", "issue", assetId, "--data", d2.toString());
        assertThat(issue.exit()).as(issue.err()).isZero();
        await(d1, Map.of("cmd", "ledger-info"), a -> ((Number) a.get("tokens")).intValue() == 1);

        // find the block carrying the asset registration
        long h = ((Number) Remote.call(d1, Map.of("cmd", "ledger-height")).get("height")).longValue();
        String found = null;
        for (long i = 1; i <= h && found == null; i++) {
            Run b = run("ledger", "block", Long.toString(i), "--data", d1.toString());
            assertThat(b.exit()).isZero();
            if (b.out().contains(assetId)) found = b.out();
        }
        assertThat(found).isNotNull().contains("kind=asset", "name=gold").containsPattern("hash\\s+[0-9a-f]{64}");
        Run height = run("ledger", "height", "--data", d1.toString());
        assertThat(Long.parseLong(height.out().strip())).isGreaterThanOrEqualTo(h);

        Run json = run("ledger", "block", "1", "--json", "--data", d1.toString());
        Map<String, Object> m = com.fasterxml.jackson.jr.ob.JSON.std.mapFrom(json.out());
        assertThat(m.get("height")).isEqualTo(1);

        Run badIssue = run("ledger", "submit", "issue", "00".repeat(32), "--data", d2.toString());
        assertThat(badIssue.exit()).isEqualTo(1);
        assertThat(badIssue.err()).contains("issue of unknown asset");
        Run noBlock = run("ledger", "block", "999999", "--data", d1.toString());
        assertThat(noBlock.exit()).isEqualTo(1);
        assertThat(noBlock.err()).contains("no block at height 999999");
        Run off = run("ledger", "info", "--data", d3.toString());
        assertThat(off.exit()).isEqualTo(1);
        assertThat(off.err()).contains("--ledger CHAIN");
        // a global snapshot records the ledger's state on the ledger nodes
        Run snap = run("snapshot", "--data", d1.toString(), "--json");
        assertThat(snap.exit()).as(snap.err()).isZero();
        assertThat(snap.out()).contains("\"ledger\"", "\"chain\":\"cli\"");
        Run help = run("ledger", "--help");
        assertThat(help.out()).contains("submit transfer TOKEN TO");
    }

    /**
     * The cut is at the network level: each node's firewall drops the other half's datagrams, so every cross-half
     * QUIC connection dies (idle timeout) and a cross-half ping fails; after the heal the nodes redial, a cross-half
     * ping is answered, and every node is on the fork-choice winner with the losing half reporting rebuilds.
     */
    @Test
    void testbedLedgerScenarioConvergesAfterANetworkCutAndALateNodeCatchesUp() {
        Run r = run("testbed", "--scenario", "ledger", "--peers", "5", "--grow-ms", "5000", "--seed", "1");
        System.out.println(r.err() + r.out());
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("RESULT PASS")
                .containsPattern("crossConnectionsDuringCut\\s+0\\b").containsPattern("crossPingDuringCut\\s+failed")
                .containsPattern("crossPingAfterHeal\\s+answered").containsPattern("crossConnectionsAfterHeal\\s+[1-9]")
                .containsPattern("converged\\s+true").containsPattern("rebuilds\\s+[1-9]").containsPattern("lateNodeCaughtUp\\s+true");
        assertThat(r.err()).contains("partition:", "network cut", "across the cut: failed", "healing")
                .containsPattern("late node at height \\d+");
    }

    private static String[] concat(String[] a, String... b) {
        String[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static Run run(String... args) {
        CliTest.Run r = CliTest.run(args);
        return new Run(r.exit(), r.out(), r.err());
    }

    private record Run(int exit, String out, String err) {}
}
