package io.peersocket.bench;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.files.ContentFiles;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.protocol.content.Content;
import io.peersocket.protocol.content.ContentConfig;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Content transfer between two nodes in this process over real QUIC on loopback ({@code peersocket-bench/run share}):
 * node A shares about 100 MB of real data (the JDK's {@code lib/src.zip}, topped up with a prefix of
 * {@code lib/modules}), pushing every chunk to its storer (A or B) with a receipt; node B (pull sync off) gets it,
 * retrieving the chunks it does not hold; then node C joins A and B with pull sync on and syncs everything
 * historically. Reports MB/s of share, get and sync next to the same run's raw one-stream transfer over our
 * transport ({@link PeersocketBench#bulk}), and pull-sync wire bytes ÷ payload bytes from the nodes' counters.
 *
 * <pre>ShareBench [--mb N] [--raw-mb N]</pre>
 */
public final class ShareBench {
    private static final Multiaddr LOOPBACK = Multiaddr.parse("/ip4/127.0.0.1/udp/0/quic-v1");

    private ShareBench() {}

    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        long mb = 100;
        long rawMb = 256;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--mb" -> mb = Long.parseLong(args[++i]);
                case "--raw-mb" -> rawMb = Long.parseLong(args[++i]);
                case "-h", "--help" -> {
                    System.out.println("usage: peersocket-bench/run share [--mb N (default 100)] [--raw-mb N (default 256)]");
                    return;
                }
                default -> {
                    System.err.println("bench share: unknown argument '" + args[i] + "'");
                    System.exit(2);
                }
            }
        }
        if (mb < 1 || mb > 4096 || rawMb < 1) {
            System.err.println("bench share: --mb must be 1..4096, --raw-mb >= 1");
            System.exit(2);
        }
        PrintStream out = System.out;
        Machine m = Machine.describe();
        out.println("machine: " + m.cpu() + ", " + m.cores() + " cores, " + m.jdk() + ", " + m.os() + "; load "
                + Machine.loadAverage());

        Path tmp = Files.createTempDirectory("peersocket-sharebench-");
        try {
            Path data = realData(tmp.resolve("data"), mb * 1_000_000);
            long bytes = size(data);
            out.printf("data: %s (%.1f MB of real files)%n", data, bytes / 1e6);

            // Raw: one stream over our transport between two nodes, same process, same run.
            BulkResult raw;
            try (PeersocketBench pb = new PeersocketBench()) {
                raw = pb.bulk(Settings.quick().withBulkBytes(rawMb << 20));
            }
            out.printf("raw one-stream transfer (Peersocket stream): %.1f MB/s%n", raw.mbPerSecond());

            Node a = node(tmp.resolve("a"), true);
            Node b = node(tmp.resolve("b"), false);
            Node c = null;
            try {
                b.connect(a.addresses().getFirst()).get(10, TimeUnit.SECONDS);
                awaitContentPeers(a, 1);
                awaitContentPeers(b, 1);

                long t0 = System.nanoTime();
                ContentFiles.ShareResult sr = files(a).share(data, null);
                double shareS = (System.nanoTime() - t0) / 1e9;
                if (sr.pushFailed() > 0) throw new IllegalStateException(sr.pushFailed() + " pushes failed");
                out.printf("share on A: %d files, %d chunks, %.1f MB in %.2f s = %.1f MB/s (push sync: %d receipts)%n",
                        sr.files(), sr.chunks(), sr.bytes() / 1e6, shareS, sr.bytes() / 1e6 / shareS, sr.pushed());

                Path got = tmp.resolve("got");
                long served0 = counter(a, "content.retrieval.served");
                t0 = System.nanoTime();
                ContentFiles.GetResult gr = files(b).get(sr.root(), got, null);
                double getS = (System.nanoTime() - t0) / 1e9;
                long served = counter(a, "content.retrieval.served") - served0;
                if (!digest(data).equals(digest(got))) throw new IllegalStateException("get output differs from the data");
                out.printf("get on B: %d chunks (%d retrieved from A), %.1f MB in %.2f s = %.1f MB/s, byte-identical%n",
                        gr.chunks(), served, gr.bytes() / 1e6, getS, gr.bytes() / 1e6 / getS);

                c = node(tmp.resolve("c"), true);
                long target = a.chunks().size(); // C's depth is 0 with two peers: it syncs every chunk A and B hold
                long wire0 = counter(a, "content.sync.wire.out") + counter(b, "content.sync.wire.out");
                t0 = System.nanoTime();
                c.connect(a.addresses().getFirst()).get(10, TimeUnit.SECONDS);
                c.connect(b.addresses().getFirst()).get(10, TimeUnit.SECONDS);
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(600);
                while (c.chunks().size() < target && System.nanoTime() < deadline) {
                    TimeUnit.MILLISECONDS.sleep(20);
                }
                double syncS = (System.nanoTime() - t0) / 1e9;
                long synced = c.chunks().size();
                long wire = counter(a, "content.sync.wire.out") + counter(b, "content.sync.wire.out") + counter(c, "content.sync.wire.out") - wire0;
                long payload = counter(c, "content.sync.payload_in");
                long dups = counter(c, "content.sync.duplicates");
                out.printf("pull sync to C: %d of %d chunks, %.1f MB of chunk data in %.2f s = %.1f MB/s; wire %.1f MB, "
                                + "wire / payload = %.3f; duplicates %d%n", synced, target, payload / 1e6, syncS,
                        payload / 1e6 / syncS, wire / 1e6, (double) wire / Math.max(1, payload), dups);
                out.println();
                out.println("----- markdown for docs/benchmarks.md -----");
                out.println("| measurement | MB/s | vs raw stream |");
                out.println("|---|---|---|");
                out.printf("| raw one stream (Peersocket, %d MiB) | %.1f | 1.00 |%n", rawMb, raw.mbPerSecond());
                out.printf("| share (split, store, push sync with receipts) | %.1f | %.2f |%n", sr.bytes() / 1e6 / shareS,
                        sr.bytes() / 1e6 / shareS / raw.mbPerSecond());
                out.printf("| get (retrieval, verify, write) | %.1f | %.2f |%n", gr.bytes() / 1e6 / getS,
                        gr.bytes() / 1e6 / getS / raw.mbPerSecond());
                out.printf("| pull sync, historical (chunk data) | %.1f | %.2f |%n", payload / 1e6 / syncS,
                        payload / 1e6 / syncS / raw.mbPerSecond());
                out.printf("%nPull sync wire bytes / payload bytes: %.3f (%d duplicates).%n", (double) wire / Math.max(1, payload), dups);
                out.println("----- end markdown -----");
                if (synced < target) {
                    System.err.println("bench share: pull sync did not finish within 600 s");
                    System.exit(1);
                }
            } finally {
                if (c != null) c.close();
                b.close();
                a.close();
            }
        } finally {
            try (Stream<Path> w = Files.walk(tmp)) {
                w.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        System.exit(0);
    }

    private static Node node(Path dir, boolean pullSync) throws IOException {
        return Node.builder().dataDir(dir).listen(LOOPBACK).chunkCapacity(1_000_000)
                .content(ContentConfig.defaults().withPullSync(pullSync)).start();
    }

    /** Share and get over the network: fetch = store, then retrieval; push = push sync with a receipt. */
    private static ContentFiles files(Node n) {
        Content content = n.content();
        Function<ChunkAddress, CompletableFuture<Chunk>> fetch = content::retrieve;
        return new ContentFiles(n.chunks(), fetch, content::push, ContentFiles.DEFAULT_TIMEOUT_MS);
    }

    private static void awaitContentPeers(Node n, int want) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (CompletableFuture.supplyAsync(() -> n.content().peers().size(), n.loop()).get(10, TimeUnit.SECONDS) < want) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("content peers not connected after 30 s");
            TimeUnit.MILLISECONDS.sleep(20);
        }
    }

    private static long counter(Node n, String name) {
        Map<String, Long> m = n.counters().snapshot();
        Long v = m.get(name);
        return v == null ? 0 : v;
    }

    /** The JDK's src.zip (if present) and a prefix of lib/modules, {@code bytes} in all. */
    private static Path realData(Path dir, long bytes) throws IOException {
        Files.createDirectories(dir);
        Path lib = Path.of(System.getProperty("java.home"), "lib");
        long left = bytes;
        for (String name : List.of("src.zip", "modules")) {
            Path src = lib.resolve(name);
            if (!Files.isRegularFile(src) || left <= 0) continue;
            long n = Math.min(left, Files.size(src));
            try (InputStream in = Files.newInputStream(src); OutputStream o = Files.newOutputStream(dir.resolve(name))) {
                byte[] buf = new byte[1 << 16];
                long done = 0;
                while (done < n) {
                    int k = in.read(buf, 0, (int) Math.min(buf.length, n - done));
                    if (k < 0) break;
                    o.write(buf, 0, k);
                    done += k;
                }
                left -= done;
            }
        }
        if (left > 0) throw new IOException("not enough real data in " + lib + " for " + bytes + " bytes");
        return dir;
    }

    private static long size(Path dir) throws IOException {
        try (Stream<Path> w = Files.walk(dir)) {
            long s = 0;
            for (Path p : w.filter(Files::isRegularFile).toList()) s += Files.size(p);
            return s;
        }
    }

    private static String digest(Path dir) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        List<Path> files = new ArrayList<>();
        try (Stream<Path> w = Files.walk(dir)) {
            w.filter(Files::isRegularFile).sorted().forEach(files::add);
        }
        for (Path p : files) {
            md.update(dir.relativize(p).toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
            try (InputStream in = Files.newInputStream(p)) {
                byte[] buf = new byte[1 << 16];
                int k;
                while ((k = in.read(buf)) > 0) md.update(buf, 0, k);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }
}
