package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * Real {@code peersocket node} processes for CLI tests: each is a separate JVM on this test's class path,
 * listening on QUIC on 127.0.0.1 with an ephemeral port. {@link #close()} kills whatever is still running
 * (use it from {@code @AfterEach}).
 */
final class NodeProcesses implements AutoCloseable {
    /** A started node: its process, data dir, first listen address (with {@code /p2p/}) and peer id. */
    record NodeProcess(Process process, Path data, String address, String peerId) {}

    private final List<Process> processes = new ArrayList<>();

    /**
     * Starts {@code peersocket node --data DATA --listen /ip4/127.0.0.1/udp/0/quic-v1 EXTRA…} and waits (60 s at
     * most) for its first {@code listening} line; stderr is discarded.
     */
    NodeProcess start(Path data, String... extraArgs) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        List<String> cmd = new ArrayList<>(List.of(java, "-cp", System.getProperty("java.class.path"),
                Main.class.getName(), "node", "--data", data.toString(), "--listen", "/ip4/127.0.0.1/udp/0/quic-v1"));
        cmd.addAll(List.of(extraArgs));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        processes.add(p);
        BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8));
        String line = CompletableFuture.supplyAsync(() -> {
            try {
                return r.readLine();
            } catch (Exception e) {
                return null;
            }
        }).get(60, TimeUnit.SECONDS);
        assertThat(line).as("first line of node output").isNotNull().startsWith("listening /ip4/127.0.0.1/udp/");
        assertThat(line).matches("listening /ip4/127\\.0\\.0\\.1/udp/\\d+/quic-v1/p2p/12D3KooW\\w+");
        String addr = line.substring("listening ".length());
        return new NodeProcess(p, data, addr, addr.substring(addr.indexOf("/p2p/") + 5));
    }

    /** SIGTERM to every node still running, then up to 20 s for each to exit before it is killed. */
    @Override public void close() {
        for (Process p : processes) p.destroy();
        for (Process p : processes) {
            try {
                if (!p.waitFor(20, TimeUnit.SECONDS)) p.destroyForcibly();
            } catch (InterruptedException e) {
                p.destroyForcibly();
                Thread.currentThread().interrupt();
            }
        }
        processes.clear();
    }

    /** Relative path → SHA-256 (hex) of every file below {@code root}, {@code "dir"} for directories. */
    static Map<String, String> sha256Tree(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> w = Files.walk(root)) {
            for (Path p : w.toList()) {
                if (p.equals(root)) continue;
                out.put(root.relativize(p).toString(), Files.isDirectory(p) ? "dir"
                        : HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p))));
            }
        }
        return out;
    }
}
