package io.peersocket.netns;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

/**
 * The harness's NATs behave as documented: a cone router keeps one mapping (same external ip:port towards
 * every destination), a symmetric one ({@code --random-fully}) uses a different port per destination; every
 * namespace is gone after close. Needs root; fails (never skips) without.
 */
@Tag("netns")
class NetNsTest {

    @Test
    void coneKeepsOneMappingSymmetricDoesNotAndCloseCleansUp() throws Exception {
        String prefix;
        try (NetNs net = new NetNs()) {
            prefix = net.prefix();
            NetNs.Host a = net.publicHost("a");
            NetNs.Host b = net.publicHost("b");
            NetNs.Private cone = net.privateHost("cone", NetNs.Nat.CONE, 0);
            NetNs.Private sym = net.privateHost("sym", NetNs.Nat.SYMMETRIC, 0);
            assertThat(net.ourNamespaces()).hasSize(7).allMatch(ns -> ns.startsWith(prefix));
            echo(net, a);
            echo(net, b);

            List<String> seen = send(net, cone.host(), a.ip() + ":7000", b.ip() + ":7000");
            assertThat(seen).containsExactly(cone.externalIp() + ":5000", cone.externalIp() + ":5000");

            List<String> symSeen = send(net, sym.host(), a.ip() + ":7000", b.ip() + ":7000");
            assertThat(symSeen).hasSize(2).allMatch(s -> s.startsWith(sym.externalIp() + ":"));
            assertThat(symSeen.get(0)).isNotEqualTo(symSeen.get(1));
        }
        List<String> left = new ArrayList<>();
        for (String line : new String(new ProcessBuilder("ip", "netns", "list").start().getInputStream().readAllBytes(),
                StandardCharsets.UTF_8).split("\n")) {
            if (line.startsWith(prefix)) left.add(line);
        }
        assertThat(left).as("namespaces left after close").isEmpty();
    }

    private static List<String> java(String main, String... args) {
        List<String> cmd = new ArrayList<>(List.of(ProcessHandle.current().info().command().orElseThrow(), "-cp",
                System.getProperty("java.class.path"), main));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static void echo(NetNs net, NetNs.Host h) throws Exception {
        Process p = net.start(h.namespace(), java(UdpProbe.class.getName(), "echo", "7000"), null);
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        assertThat(CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (Exception e) {
                return null;
            }
        }).get(30, TimeUnit.SECONDS)).isEqualTo("ready");
    }

    private static List<String> send(NetNs net, NetNs.Host from, String... targets) {
        List<String> args = new ArrayList<>(List.of("send", "5000"));
        args.addAll(List.of(targets));
        String out = net.exec(from.namespace(), java(UdpProbe.class.getName(), args.toArray(String[]::new)).toArray(String[]::new));
        return out.lines().filter(l -> !l.isBlank()).toList();
    }
}
