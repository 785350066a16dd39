package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.jr.ob.JSON;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code peersocket share} on one node process and {@code get} on another, over real QUIC on loopback: the
 * getter retrieves every chunk it does not hold from the network, verifying each, and the output is
 * byte-identical (SHA-256 of every file).
 */
class ShareGetNetworkCliTest {
    private final NodeProcesses nodes = new NodeProcesses();

    @AfterEach
    void stop() {
        nodes.close();
    }

    /** Starts a node process; returns its listen address (with /p2p/). */
    private String startNode(Path data, String... extra) throws Exception {
        List<String> args = new ArrayList<>(List.of("--dht", "off"));
        args.addAll(List.of(extra));
        return nodes.start(data, args.toArray(String[]::new)).address();
    }

    /** Asks a node's control socket until {@code ok} holds for the answer, at most {@code seconds}. */
    private static Map<String, Object> awaitControl(Path data, Map<String, Object> req, Predicate<Map<String, Object>> ok,
            long seconds) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        Map<String, Object> last = null;
        while (System.nanoTime() < deadline) {
            last = Remote.call(data, req);
            if (ok.test(last)) return last;
            // Bounded poll of another process's state: wait a little before asking again.
            CompletableFuture.runAsync(() -> { }, CompletableFuture.delayedExecutor(100, TimeUnit.MILLISECONDS)).join();
        }
        throw new AssertionError("condition not met within " + seconds + " s; last answer " + last);
    }

    /** Real data: part of /usr/share/doc and the first 3 MB of the JDK's src.zip (or modules file). */
    static Path realTree(Path dir, int skipDocs, int docs, int prefixBytes) throws Exception {
        Path src = dir.resolve("shared");
        Files.createDirectories(src);
        Path doc = Path.of("/usr/share/doc");
        if (Files.isDirectory(doc)) {
            List<Path> picks;
            try (Stream<Path> s = Files.list(doc)) {
                picks = s.sorted().skip(skipDocs).limit(docs).toList();
            }
            for (Path d : picks) {
                try (Stream<Path> w = Files.walk(d)) {
                    for (Path p : w.toList()) {
                        if (Files.isSymbolicLink(p)) continue;
                        Path dst = src.resolve(doc.relativize(p).toString());
                        if (Files.isDirectory(p)) Files.createDirectories(dst);
                        else if (Files.isRegularFile(p)) {
                            Files.createDirectories(dst.getParent());
                            Files.copy(p, dst);
                        }
                    }
                }
            }
        }
        Path jdk = Path.of(System.getProperty("java.home"), "lib");
        Path big = Files.exists(jdk.resolve("src.zip")) ? jdk.resolve("src.zip") : jdk.resolve("modules");
        try (var in = Files.newInputStream(big)) {
            Files.write(src.resolve(big.getFileName() + ".prefix"), in.readNBytes(prefixBytes));
        }
        return src;
    }

    @SuppressWarnings("unchecked")
    private static long counter(Path data, String name) throws Exception {
        Map<String, Object> c = (Map<String, Object>) Remote.call(data, Map.of("cmd", "stats")).get("counters");
        return ((Number) c.getOrDefault(name, 0)).longValue();
    }

    @Test
    void getOnAnotherNodeRetrievesOverTheNetworkByteIdentical(@TempDir Path dir) throws Exception {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        String addrA = startNode(a);
        // B keeps only what is pushed to it or it retrieves (no pull sync), so get must retrieve over the network.
        startNode(b, "--bootstrap", addrA, "--pull-sync", "off");
        awaitControl(a, Map.of("cmd", "chunks"), m -> ((Number) m.get("contentPeers")).intValue() == 1, 60);
        awaitControl(b, Map.of("cmd", "chunks"), m -> ((Number) m.get("contentPeers")).intValue() == 1, 60);
        Path src = realTree(dir, 100, 30, 3_000_000);

        CliTest.Run share = CliTest.run("share", "--data", a.toString(), "--json", src.toString());
        assertThat(share.exit()).as(share.err()).isZero();
        Map<String, Object> s = JSON.std.mapFrom(share.out());
        long chunks = ((Number) s.get("chunks")).longValue();
        assertThat(s).containsEntry("network", true).containsEntry("pushFailed", 0).containsEntry("badReceipts", 0);
        // Every chunk pushed got a verified receipt; with two nodes each stores the chunks closer to it.
        assertThat(((Number) s.get("receipts")).longValue()).isEqualTo(chunks);
        assertThat(((Number) s.get("storers")).intValue()).isEqualTo(2);
        long ownReceipts = ((Number) s.get("ownReceipts")).longValue();
        assertThat(ownReceipts).isPositive().isLessThan(chunks);
        String root = (String) s.get("root");

        Path out = dir.resolve("copy");
        CliTest.Run get = CliTest.run("get", "--data", b.toString(), "--json", root, out.toString());
        assertThat(get.exit()).as(get.err()).isZero();
        Map<String, Object> g = JSON.std.mapFrom(get.out());
        long retrieved = ((Number) g.get("retrieved")).longValue();
        long fromStore = ((Number) g.get("fromStore")).longValue();
        assertThat(retrieved + fromStore).isEqualTo(((Number) g.get("chunks")).longValue());
        // B holds what was pushed to it (the chunks it stores); the rest came from A by retrieval.
        assertThat(retrieved).isPositive();
        assertThat(fromStore).isPositive();
        Map<String, String> want = NodeProcesses.sha256Tree(src);
        assertThat(want).hasSizeGreaterThan(30);
        assertThat(NodeProcesses.sha256Tree(out)).isEqualTo(want);
        // Concurrent fetches of one address (files with equal blocks) share one network transfer.
        assertThat(counter(a, "content.retrieval.served")).isPositive().isLessThanOrEqualTo(retrieved);
        assertThat(counter(b, "content.retrieval.invalid_chunk")).isZero();
        assertThat(counter(b, "content.sync.duplicates")).isZero();

        // An address nobody has: one error line, nothing written.
        CliTest.Run missing = CliTest.run("get", "--data", b.toString(), "cd".repeat(32), dir.resolve("nope").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).startsWith("error: ").contains("cd".repeat(32));
        assertThat(dir.resolve("nope")).doesNotExist();
    }
}
