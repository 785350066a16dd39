package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** {@code peersocket node --bandwidth-limit / --peer-bandwidth-limit} values. */
class NodeRateOptionTest {
    @Test
    void ratesTakeBinarySuffixesAndAnOptionalPerSecond() {
        assertThat(NodeCommand.parseRate("--x", "0")).isZero();
        assertThat(NodeCommand.parseRate("--x", "500000")).isEqualTo(500_000);
        assertThat(NodeCommand.parseRate("--x", "64k")).isEqualTo(64 * 1024);
        assertThat(NodeCommand.parseRate("--x", "8M")).isEqualTo(8L << 20);
        assertThat(NodeCommand.parseRate("--x", "2G/s")).isEqualTo(2L << 30);
        assertThat(NodeCommand.parseRate("--x", "1500/s")).isEqualTo(1500);
    }

    @Test
    void badRatesNameTheFlag() {
        for (String bad : new String[] {"", "-1", "fast", "8X", "M", "2T", "99999999999999999999"}) {
            assertThatThrownBy(() -> NodeCommand.parseRate("--peer-bandwidth-limit", bad)).as(bad)
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("--peer-bandwidth-limit");
        }
    }

    @Test
    void nodeRejectsABadLimitBeforeStarting(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
        CliTest.Run r = CliTest.run("node", "--data", dir.resolve("n").toString(), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1",
                "--bandwidth-limit", "lots");
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("--bandwidth-limit must be BYTES per second");
        CliTest.Run help = CliTest.run("node", "--help");
        assertThat(help.out()).contains("--bandwidth-limit", "--peer-bandwidth-limit", "--pull-sync", "--content");
    }
}
