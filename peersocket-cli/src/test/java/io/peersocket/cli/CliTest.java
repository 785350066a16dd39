package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.peersocket.identity.HostKey;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.DatagramSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The CLI as a user runs it: real node processes, in-process client commands, exit codes and output. */
class CliTest {
    private final NodeProcesses nodes = new NodeProcesses();

    @AfterEach
    void killProcesses() {
        nodes.close();
    }

    /** Result of running the CLI in-process. */
    record Run(int exit, String out, String err) {}

    static synchronized Run run(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
            System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
            int code = Main.execute(args);
            return new Run(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    @Test
    void everyCommandHasHelp() {
        for (String cmd : List.of("node", "ping", "connect", "id", "status", "peers", "testbed")) {
            Run r = run(cmd, "--help");
            assertThat(r.exit()).as(cmd).isZero();
            assertThat(r.out()).as(cmd).contains("Usage: peersocket " + cmd);
        }
        assertThat(run("--help").out()).contains("node", "ping", "testbed");
        assertThat(run("--version").out()).contains("peersocket ");
    }

    @Test
    void usageErrorsExitNonZeroWithOneLine() {
        Run r = run("ping", "/ip4/300.1.1.1/udp/1/quic-v1");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err().strip().lines().count()).isEqualTo(1);
        assertThat(r.err()).contains("300.1.1.1");
    }

    @Test
    void nodeRunsPingsAndShutsDownOnSigterm(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("n1");
        NodeProcesses.NodeProcess n = nodes.start(data);

        Run ping = run("ping", n.address(), "--count", "3");
        assertThat(ping.exit()).as(ping.err()).isZero();
        assertThat(ping.out().lines().toList()).hasSize(3)
                .allSatisfy(l -> assertThat(l).matches("ping \\d from 12D3KooW\\w+: time=\\d+\\.\\d+ ms"));

        Run json = run("ping", n.address(), "--count", "1", "--json");
        assertThat(json.out()).contains("\"rttMs\":");

        // The control socket: status and peers of the running node (the ping client connected to it).
        Run status = run("status", "--data", data.toString(), "--json");
        assertThat(status.exit()).as(status.err()).isZero();
        assertThat(status.out()).contains(n.address().substring(n.address().indexOf("/p2p/") + 5), "\"protocols\"");
        Run peers = run("peers", "--data", data.toString(), "--json");
        assertThat(peers.exit()).as(peers.err()).isZero();
        assertThat(peers.out()).contains("\"peers\":[{", "\"learned\":[");
        Run none = run("peers", "--data", dir.resolve("nothing").toString());
        assertThat(none.exit()).isNotZero();
        assertThat(none.err()).contains("no running node");

        // Wrong peer id: refused.
        String wrong = n.address().substring(0, n.address().indexOf("/p2p/")) + "/p2p/" + HostKey.generate().peerId();
        Run bad = run("ping", wrong, "--count", "1");
        assertThat(bad.exit()).isNotZero();
        assertThat(bad.err()).startsWith("error: ").contains("authenticated as");

        // SIGTERM: clean exit, data dir unlocked, identity kept.
        String peerId = n.address().substring(n.address().indexOf("/p2p/") + 5);
        n.process().destroy();
        assertThat(n.process().waitFor(20, TimeUnit.SECONDS)).as("node exits after SIGTERM").isTrue();
        NodeProcesses.NodeProcess again = nodes.start(data);
        assertThat(again.address()).endsWith("/p2p/" + peerId);
        assertThat(run("id", "--data", dir.resolve("other").toString()).out()).startsWith("12D3KooW");
    }

    @Test
    void pingFailsOnAnUnreachableAddress() throws Exception {
        int port;
        try (DatagramSocket s = new DatagramSocket(0)) {
            port = s.getLocalPort();
        }
        Run r = run("ping", "/ip4/127.0.0.1/udp/" + port + "/quic-v1/p2p/" + HostKey.generate().peerId(),
                "--count", "1", "--timeout", "1500");
        assertThat(r.exit()).isNotZero();
        assertThat(r.err()).startsWith("error: ");
    }
}
