package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** The main job with real node processes (a smaller N than the default to keep CI quick). */
class TestbedTest {
    @Test
    void testbedOfFiveProcessesPassesEveryCheck() {
        CliTest.Run r = CliTest.run("testbed", "--peers", "5", "--pings", "5", "--requests", "10",
                "--conversations", "4", "--seed", "1");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("RESULT PASS").containsPattern("connections\\s+10")
                .containsPattern("relayedConnections\\s+0");
        // Every pair is connected directly, some pairs maybe twice (both sides dialled at once).
        var direct = java.util.regex.Pattern.compile("directConnections\\s+(\\d+)").matcher(r.out());
        assertThat(direct.find()).as(r.out()).isTrue();
        assertThat(Integer.parseInt(direct.group(1))).isBetween(10, 20);
        assertThat(r.err()).contains("[1/7] starting 5 node processes");
    }

    @Test
    void discoveryScenarioMakesEveryTableHealthyAndEveryLookupSucceed() {
        CliTest.Run r = CliTest.run("testbed", "--scenario", "discovery", "--peers", "8", "--lookups", "3", "--seed", "2",
                "--health-timeout", "120");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        assertThat(r.out()).contains("RESULT PASS").containsPattern("healthyTables\\s+8")
                .containsPattern("lookupsSucceeded\\s+24");
    }
}
