package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peersocket testbed --scenario content} with five real node processes and about 8 MB of real data (part of
 * /usr/share/doc and a prefix of the JDK's src.zip), unlimited rates: share, get byte-identical, neighbourhood convergence, kill -9
 * of a late joiner during historical sync and its resumption from persisted intervals, no duplicate transfers.
 */
@Tag("slow")
class ContentTestbedTest {
    @Test
    void contentScenarioPassesEveryCheck(@TempDir Path dir) throws Exception {
        Path data = ShareGetNetworkCliTest.realTree(dir, 200, 40, 7_000_000);
        CliTest.Run r = CliTest.run("testbed", "--scenario", "content", "--peers", "5", "--share", data.toString(),
                "--rate", "0", "--sync-timeout", "120", "--json");
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
        Map<String, Object> m = JSON.std.mapFrom(r.out().strip().lines().reduce((a, b) -> b).orElseThrow());
        assertThat(m).as(r.err()).containsEntry("failures", 0).containsEntry("duplicatesAfterShare", 0)
                .containsEntry("invalidChunks", 0);
        assertThat(((Number) m.get("sharedBytes")).longValue()).isGreaterThan(5_000_000);
        assertThat(((Number) m.get("getRetrieved")).longValue()).isPositive();
        assertThat(((Number) m.get("intervalsCovered")).longValue()).isPositive();
        assertThat(((Number) m.get("offeredAfterRestart")).longValue())
                .isLessThan(((Number) m.get("offersFromScratch")).longValue());
        assertThat(((Number) m.get("heldAtKill")).longValue()).isPositive()
                .isLessThan(((Number) m.get("lateJoinerChunks")).longValue());
        assertThat(r.err()).contains("[5/7] late joiner", "byte-identical");
    }
}
