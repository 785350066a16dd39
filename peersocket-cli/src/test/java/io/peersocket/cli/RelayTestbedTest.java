package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * {@code peersocket testbed --scenario relay} with four nodes and a relay, each a real process: pairs cut apart by
 * the firewall talk through the relay, then upgrade to direct connections while a conversation runs, losing nothing.
 */
@Timeout(120)
class RelayTestbedTest {
    @Test
    void relayScenarioUpgradesEveryPairWithoutLoss() throws Exception {
        CliTest.Run r = CliTest.run("testbed", "--scenario", "relay", "--json");
        System.out.println(r.err() + r.out()); // the testbed's progress and summary, in the surefire report's output
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        Map<String, Object> m = JSON.std.mapFrom(r.out().strip().lines().reduce((a, b) -> b).orElseThrow());
        assertThat(m).as(r.err()).containsEntry("failures", 0).containsEntry("peers", 4).containsEntry("pairs", 2)
                .containsEntry("relayedConnects", 2).containsEntry("upgradedToDirect", 2)
                .containsEntry("messagesLost", 0).containsEntry("conversations", 6);
        assertThat(((Number) m.get("directConnections")).intValue()).isGreaterThanOrEqualTo(2);
        assertThat(((Number) m.get("linksMigrated")).intValue()).isEqualTo(4);
        assertThat(((Number) m.get("upgradeMsMax")).longValue()).isPositive();
        assertThat(((Number) m.get("conversationsAcrossUpgrade")).intValue()).isPositive();
        assertThat(r.err()).contains("[7/7] collecting", "2/2 upgraded to direct");
    }
}
