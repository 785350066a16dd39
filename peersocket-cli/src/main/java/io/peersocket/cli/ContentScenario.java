package io.peersocket.cli;

import io.peersocket.cli.TestbedCommand.Peer;
import io.peersocket.cli.TestbedCommand.Reply;
import io.peersocket.content.ChunkAddress;
import io.peersocket.identity.PeerId;
import io.peersocket.util.Proximity;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@code peersocket testbed --scenario content} (issue 4): content sync between real node processes.
 *
 * <ol>
 *   <li>starts N − 1 nodes (DHT on, peer 0 the bootstrap, every node's content traffic limited to {@code --rate}
 *       bytes/s per peer) and connects them as a full mesh;
 *   <li>peer 0 shares real data ({@code --share}; default the JDK's {@code lib/src.zip}, else
 *       {@code /usr/share/doc}): every chunk is pushed to its storer, which signs a receipt;
 *   <li>peer 1 (started with {@code --pull-sync off}, so it holds only what is pushed to it) gets it, retrieving the
 *       other chunks over the network; the output must be byte-identical (SHA-256 of every file);
 *   <li>every other node (a storer) must converge on its neighbourhood: it holds every shared chunk whose proximity order to it is
 *       at least its depth (checked with the {@code chunks} control op);
 *   <li>a late joiner (peer N − 1) starts and pull-syncs its neighbourhood historically; it is killed with
 *       SIGKILL part-way, restarted on the same data dir, must find its persisted intervals ({@code sync-intervals})
 *       and be offered fewer hashes than a sync from scratch would need, and converges;
 *   <li>no chunk was invalid, and no node received a chunk twice — by pull sync ({@code content.sync.duplicates})
 *       or by a push that raced a sync fetch ({@code content.push.raced_sync}) — during the share or after it.
 * </ol>
 *
 * Summary: bytes moved (content protocol bytes on the wire, all nodes) vs bytes needed (chunk data each node had
 * to receive at least once), duplicates, times per phase.
 */
final class ContentScenario {
    private final TestbedCommand tb;
    private final TestbedCommand.Summary s;
    private final long timeoutMs;
    /** Counters of processes that were killed (read just before the kill). */
    private final Map<String, Long> killedCounters = new HashMap<>();
    /** Duplicate pull-sync deliveries (all nodes) by the end of the share phase. */
    private long dupBefore;
    /** Index of the node that gets the data; it runs without pull sync and is not a storer checked for convergence. */
    static final int GETTER = 1;

    ContentScenario(TestbedCommand tb, TestbedCommand.Summary s) {
        this.tb = tb;
        this.s = s;
        this.timeoutMs = TimeUnit.SECONDS.toMillis(tb.syncTimeoutS);
    }

    /** What one node holds and how it sees its neighbourhood. */
    private record View(int index, byte[] overlay, int depth, int contentPeers, Set<String> held) {}

    void run() throws Exception {
        int n = tb.peers;
        if (n < 3) throw new IllegalArgumentException("--scenario content needs --peers >= 3 (sharer, getter, late joiner)");
        if (tb.syncTimeoutS < 1) throw new IllegalArgumentException("--sync-timeout must be >= 1");
        long rate = NodeCommand.parseRate("--rate", tb.contentRate);
        Path share = tb.sharePath != null ? tb.sharePath.toAbsolutePath().normalize() : defaultShare();
        if (!Files.isRegularFile(share) && !Files.isDirectory(share)) {
            throw new IllegalArgumentException("--share " + share + " is not a file or directory");
        }
        List<String> args = List.of("--peer-bandwidth-limit", Long.toString(rate));
        tb.steps = 7;

        tb.step(1, "starting " + (n - 1) + " node processes (DHT, peer 0 as bootstrap, content " + rateText(rate)
                + " per peer), full mesh");
        tb.procs.add(Peer.start(0, tb.root.resolve("peer-0"), args));
        tb.procs.get(0).awaitListening(90_000);
        for (int i = 1; i < n - 1; i++) {
            List<String> a = withBootstrap(args);
            // The getter does not pull sync, so its get retrieves over the network what was not pushed to it.
            if (i == GETTER) a.addAll(List.of("--pull-sync", "off"));
            tb.procs.add(Peer.start(i, tb.root.resolve("peer-" + i), a));
        }
        for (Peer p : tb.procs.subList(1, tb.procs.size())) p.awaitListening(90_000);
        tb.startViewer();
        mesh(tb.procs);
        awaitContentPeers(tb.procs, n - 2);
        s.connectedSum = (n - 1) * (n - 2);

        Peer sharer = tb.procs.get(0);
        tb.step(2, "peer 0 shares " + share);
        long t0 = System.nanoTime();
        Reply sh = sharer.command(Map.of("cmd", "share", "path", share.toString()), tb.syncTimeoutS).get(tb.syncTimeoutS + 10, TimeUnit.SECONDS);
        if (!s.check(sh, "share")) return;
        double shareS = secondsSince(t0);
        Map<String, Object> sv = sh.values();
        long shareBytes = num(sv, "bytes"), shareChunks = num(sv, "chunks");
        tb.progressLine(String.format("  %s in %d files, %d chunks in %.1f s; %d receipts from %d storers, %d push failures",
                ProgressBar.size(shareBytes), num(sv, "files"), shareChunks, shareS, num(sv, "receipts"), num(sv, "storers"),
                num(sv, "pushFailed")));
        if (num(sv, "receipts") != shareChunks) s.failures.add("share: " + num(sv, "receipts") + " receipts for " + shareChunks + " chunks");
        if (num(sv, "badReceipts") != 0) s.failures.add("share: " + num(sv, "badReceipts") + " bad receipts");
        String root = (String) sv.get("root");

        tb.step(3, "peer 1 gets " + root.substring(0, 16) + "… over the network; comparing SHA-256 of every file");
        Path out = tb.root.resolve("get-output");
        t0 = System.nanoTime();
        Reply g = tb.procs.get(1).command(Map.of("cmd", "get", "root", root, "out", out.toString()), tb.syncTimeoutS)
                .get(tb.syncTimeoutS + 10, TimeUnit.SECONDS);
        double getS = secondsSince(t0);
        if (s.check(g, "get")) {
            Map<String, String> want = hashes(share), got = hashes(out);
            boolean same = want.equals(got);
            tb.progressLine(String.format("  %s in %.1f s (%.1f MB/s), %d chunks retrieved, %d from its store; %d files %s",
                    ProgressBar.size(num(g.values(), "bytes")), getS, num(g.values(), "bytes") / 1e6 / Math.max(getS, 1e-3),
                    num(g.values(), "retrieved"), num(g.values(), "fromStore"), want.size(), same ? "byte-identical" : "DIFFER"));
            if (!same) s.failures.add("get: output differs from the shared data (" + diff(want, got) + ")");
            s.extra.put("getRetrieved", num(g.values(), "retrieved"));
            if (num(g.values(), "retrieved") == 0) s.failures.add("get: no chunk was retrieved over the network");
            s.extra.put("getMBps", Math.round(num(g.values(), "bytes") / 1e6 / Math.max(getS, 1e-3) * 10) / 10.0);
        }

        tb.step(4, "waiting until every storer (all but peer " + GETTER + ") holds its neighbourhood's chunks (PO to the node >= its depth)");
        Set<String> universe = view(sharer).held();
        if (universe.size() > shareChunks) s.failures.add("peer 0 holds " + universe.size() + " chunks, more than the " + shareChunks + " shared");
        t0 = System.nanoTime();
        List<View> views = awaitConvergence(tb.procs, universe);
        double convergeS = secondsSince(t0);
        dupBefore = 0;
        long racesBefore = 0;
        for (Peer p : tb.procs) {
            Map<String, Long> c = counters(p);
            dupBefore += c.getOrDefault("content.sync.duplicates", 0L);
            racesBefore += c.getOrDefault("content.push.raced_sync", 0L);
        }
        tb.progressLine("  converged in " + round1(convergeS) + " s; duplicate sync deliveries so far: " + dupBefore
                + " (pushes that raced pull sync: " + racesBefore + ")");

        tb.step(5, "late joiner: peer " + (n - 1) + " starts (bootstrap peer 0) and pull-syncs historically; kill -9 part-way");
        Peer late = Peer.start(n - 1, tb.root.resolve("peer-" + (n - 1)), withBootstrap(args));
        tb.procs.add(late);
        late.awaitListening(90_000);
        long killAt = Math.max(1, universe.size() / 5);
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        long heldAtKill = -1;
        long offeredBefore = 0;
        while (System.nanoTime() < deadline) {
            Reply r = late.command(Map.of("cmd", "chunks")).get(30, TimeUnit.SECONDS);
            if (!s.check(r, "chunks of the late joiner")) return;
            long held = num(r.values(), "count");
            if (held >= killAt) {
                Map<String, Long> c = counters(late);
                late.process.destroyForcibly(); // SIGKILL: no shutdown hook, no clean close
                late.process.waitFor(30, TimeUnit.SECONDS);
                heldAtKill = held;
                offeredBefore = c.getOrDefault("content.sync.offered", 0L);
                c.forEach((k, v) -> killedCounters.merge(k, v, Long::sum));
                break;
            }
            TimeUnit.MILLISECONDS.sleep(10); // polling interval of the CLI, not a test wait
        }
        if (heldAtKill < 0) {
            s.failures.add("late joiner did not start syncing within " + tb.syncTimeoutS + " s");
            return;
        }
        tb.progressLine("  killed peer " + (n - 1) + " holding " + heldAtKill + " chunks");

        tb.step(6, "restarting peer " + (n - 1) + " on its data dir; it must resume from its persisted intervals");
        late.stop();
        Peer again = Peer.start(n - 1, late.dataDir, withBootstrap(args));
        tb.procs.set(tb.procs.indexOf(late), again);
        again.awaitListening(90_000);
        Reply iv = again.command(Map.of("cmd", "sync-intervals")).get(30, TimeUnit.SECONDS);
        long covered = s.check(iv, "sync-intervals") ? num(iv.values(), "covered") : 0;
        if (covered == 0) s.failures.add("restarted peer " + (n - 1) + " found no persisted sync intervals");
        long heldAtRestart = view(again).held().size();
        t0 = System.nanoTime();
        mesh(tb.procs);
        awaitContentPeers(tb.procs, n - 1);
        s.connectedSum = n * (n - 1);
        // Offers a sync from scratch needs: every chunk in each neighbour's bins >= the joiner's depth.
        views = awaitConvergence(tb.procs, universe);
        double resumeS = secondsSince(t0);
        View lateView = views.get(n - 1);
        int expectedLate = expected(lateView, universe).size();
        if (heldAtKill >= expectedLate) {
            s.failures.add("late joiner held " + heldAtKill + " chunks when killed, all " + expectedLate
                    + " of its neighbourhood: its historical sync was over; use more data or a lower --rate");
        }
        long fromScratch = 0;
        for (View v : views) {
            if (v.index() == n - 1 || Proximity.order(v.overlay(), lateView.overlay()) < lateView.depth()) continue;
            for (String a : v.held()) if (Proximity.order(ChunkAddress.parse(a).toBytes(), v.overlay()) >= lateView.depth()) fromScratch++;
        }
        long offeredAfter = counters(again).getOrDefault("content.sync.offered", 0L);
        tb.progressLine("  its neighbourhood (depth " + lateView.depth() + "): " + expectedLate + " chunks; persisted intervals cover "
                + covered + " indices; " + heldAtRestart + " chunks kept; offered "
                + offeredAfter + " hashes after the restart (" + offeredBefore + " before the kill; a sync from scratch: "
                + fromScratch + ")");
        if (offeredAfter >= fromScratch) {
            s.failures.add("restarted peer was offered " + offeredAfter + " hashes, as many as a sync from scratch ("
                    + fromScratch + "): it did not resume from its intervals");
        }

        tb.step(7, "collecting counters");
        long wire = 0, duplicates = 0, races = 0, invalid = 0, delivered = 0;
        for (Peer p : tb.procs) {
            Map<String, Long> c = counters(p);
            if (p.index == n - 1) killedCounters.forEach((k, v) -> c.merge(k, v, Long::sum));
            for (String proto : List.of("retrieval", "push", "sync")) wire += c.getOrDefault("content." + proto + ".wire.out", 0L);
            long d = c.getOrDefault("content.sync.duplicates", 0L);
            duplicates += d;
            races += c.getOrDefault("content.push.raced_sync", 0L);
            long bad = c.getOrDefault("content.sync.invalid_chunk", 0L) + c.getOrDefault("content.retrieval.invalid_chunk", 0L)
                    + c.getOrDefault("content.push.invalid_chunk", 0L);
            invalid += bad;
            if (bad > 0) s.failures.add("peer " + p.index + " received " + bad + " invalid chunks");
            delivered += c.getOrDefault("content.sync.delivered", 0L);
        }
        // Chunk data every node but the sharer had to receive at least once (mean chunk size of the share).
        long heldElsewhere = 0;
        for (View v : views) if (v.index() != 0) heldElsewhere += intersect(v.held(), universe);
        double meanChunk = (double) shareBytes / Math.max(1, shareChunks);
        long needed = Math.round(heldElsewhere * meanChunk);
        s.extra.put("shared", share.toString());
        s.extra.put("sharedBytes", shareBytes);
        s.extra.put("chunks", universe.size());
        s.extra.put("bytesMoved", wire);
        s.extra.put("bytesNeeded", needed);
        s.extra.put("movedPerNeeded", needed == 0 ? null : Math.round((double) wire / needed * 1000) / 1000.0);
        // Each chunk moves once: pull sync holds a chunk back from every downstream while it is being pushed, so a
        // storer never gets it by push and by sync. Any duplicate, during the share or after, fails the run.
        long afterShare = duplicates - dupBefore;
        if (duplicates > 0) s.failures.add(duplicates + " duplicate pull-sync deliveries (" + dupBefore + " during the share)");
        if (races > 0) s.failures.add(races + " pushes raced a pull-sync fetch of the same chunk");
        s.extra.put("duplicateTransfers", duplicates);
        s.extra.put("duplicatesDuringShare", dupBefore);
        s.extra.put("duplicatesAfterShare", afterShare);
        s.extra.put("pushSyncRaces", races);
        s.extra.put("invalidChunks", invalid);
        s.extra.put("syncDelivered", delivered);
        s.extra.put("lateJoinerChunks", expectedLate);
        s.extra.put("heldAtKill", heldAtKill);
        s.extra.put("intervalsCovered", covered);
        s.extra.put("offeredAfterRestart", offeredAfter);
        s.extra.put("offersFromScratch", fromScratch);
        s.extra.put("shareSeconds", round1(shareS));
        s.extra.put("getSeconds", round1(getS));
        s.extra.put("convergeSeconds", round1(convergeS));
        s.extra.put("resumeSeconds", round1(resumeS));
    }

    private List<String> withBootstrap(List<String> args) {
        List<String> l = new ArrayList<>(args);
        l.addAll(List.of("--bootstrap", tb.procs.get(0).address));
        return l;
    }

    /** Every pair connected: peer i dials every j > i. */
    private void mesh(List<Peer> ps) throws Exception {
        List<CompletableFuture<Void>> dials = new ArrayList<>();
        for (Peer a : ps) {
            for (Peer b : ps) {
                if (b.index > a.index) dials.add(a.command(Map.of("cmd", "dial", "addr", b.address))
                        .thenAccept(r -> s.check(r, "dial " + a.index + "->" + b.index)));
            }
        }
        TestbedCommand.awaitAll(dials, "dials");
    }

    private void awaitContentPeers(List<Peer> ps, int want) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (true) {
            int ready = 0;
            for (Peer p : ps) {
                Reply r = p.command(Map.of("cmd", "chunks")).get(30, TimeUnit.SECONDS);
                if (r.ok() && num(r.values(), "contentPeers") >= want) ready++;
            }
            if (ready == ps.size()) return;
            if (System.nanoTime() > deadline) {
                s.failures.add("only " + ready + "/" + ps.size() + " nodes see " + want + " content peers after 60 s");
                return;
            }
            TimeUnit.MILLISECONDS.sleep(200); // polling interval of the CLI, not a test wait
        }
    }

    /** Polls every node until each holds every chunk of {@code universe} in its neighbourhood; returns the last views. */
    private List<View> awaitConvergence(List<Peer> ps, Set<String> universe) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        long last = 0;
        while (true) {
            List<View> views = new ArrayList<>();
            long missing = 0, expected = 0;
            Map<Integer, Integer> missingBy = new TreeMap<>();
            for (Peer p : ps) {
                View v = view(p);
                views.add(v);
                Set<String> want = expected(v, universe);
                if (p.index != GETTER) expected += want.size();
                if (p.index == GETTER) continue;
                int m = want.size() - intersect(v.held(), want);
                missing += m;
                if (m > 0 && p.index != GETTER) missingBy.put(p.index, m);
            }
            if (System.nanoTime() - last > 2_000_000_000L || missing == 0) {
                tb.progressLine("  " + (expected - missing) + " of " + expected + " neighbourhood chunks held"
                        + (missingBy.isEmpty() ? "" : "; missing by peer " + missingBy));
                last = System.nanoTime();
            }
            if (missing == 0) return views;
            if (System.nanoTime() > deadline) {
                for (Map.Entry<Integer, Integer> e : missingBy.entrySet()) {
                    View v = views.get(e.getKey());
                    s.failures.add("peer " + e.getKey() + " (depth " + v.depth() + ", " + v.contentPeers() + " content peers) misses "
                            + e.getValue() + " chunks of its neighbourhood after " + tb.syncTimeoutS + " s");
                }
                return views;
            }
            TimeUnit.MILLISECONDS.sleep(500); // polling interval of the CLI, not a test wait
        }
    }

    /** The chunks of {@code universe} whose PO to the node is at least its depth. */
    private static Set<String> expected(View v, Set<String> universe) {
        Set<String> out = new HashSet<>();
        for (String a : universe) if (Proximity.order(ChunkAddress.parse(a).toBytes(), v.overlay()) >= v.depth()) out.add(a);
        return out;
    }

    private static int intersect(Set<String> a, Set<String> b) {
        int n = 0;
        for (String x : a) if (b.contains(x)) n++;
        return n;
    }

    private View view(Peer p) throws Exception {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("cmd", "chunks");
        req.put("list", true);
        Reply r = p.command(req).get(60, TimeUnit.SECONDS);
        if (!r.ok()) throw new IllegalStateException("chunks of peer " + p.index + ": " + r.error());
        Set<String> held = new HashSet<>();
        for (Object o : (List<?>) r.values().get("addresses")) held.add((String) o);
        byte[] overlay = ChunkAddress.overlayOf(PeerId.parse(p.peerId));
        return new View(p.index, overlay, (int) num(r.values(), "depth"), (int) num(r.values(), "contentPeers"), held);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Long> counters(Peer p) throws Exception {
        Reply r = p.command(Map.of("cmd", "stats")).get(30, TimeUnit.SECONDS);
        Map<String, Long> out = new HashMap<>();
        if (!r.ok()) return out;
        for (Map.Entry<String, Object> e : ((Map<String, Object>) r.values().get("counters")).entrySet()) {
            if (e.getValue() instanceof Number x) out.put(e.getKey(), x.longValue());
        }
        return out;
    }

    /** The running JDK's lib/src.zip if present, else /usr/share/doc. */
    static Path defaultShare() {
        Path src = Path.of(System.getProperty("java.home"), "lib", "src.zip");
        if (Files.isRegularFile(src)) return src;
        Path doc = Path.of("/usr/share/doc");
        if (Files.isDirectory(doc)) return doc;
        throw new IllegalArgumentException("no default data to share (no " + src + ", no " + doc + "); give --share PATH");
    }

    /** Relative path → SHA-256 of each regular file, "dir" for directories (symbolic links and the like skipped, as share does). */
    static Map<String, String> hashes(Path root) throws IOException {
        Map<String, String> out = new TreeMap<>();
        if (Files.isRegularFile(root, LinkOption.NOFOLLOW_LINKS)) {
            out.put("", sha256(root));
            return out;
        }
        if (!Files.isDirectory(root, LinkOption.NOFOLLOW_LINKS)) return out;
        try (Stream<Path> w = Files.walk(root)) {
            for (Path p : w.toList()) {
                if (p.equals(root)) continue;
                if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) out.put(root.relativize(p).toString(), "dir");
                else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) out.put(root.relativize(p).toString(), sha256(p));
            }
        }
        return out;
    }

    private static String sha256(Path p) throws IOException {
        try (InputStream in = Files.newInputStream(p)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            int k;
            while ((k = in.read(buf)) > 0) md.update(buf, 0, k);
            return HexFormat.of().formatHex(md.digest());
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String diff(Map<String, String> want, Map<String, String> got) {
        for (Map.Entry<String, String> e : want.entrySet()) {
            if (!e.getValue().equals(got.get(e.getKey()))) return "first difference: " + (e.getKey().isEmpty() ? "the file" : e.getKey());
        }
        for (String k : got.keySet()) if (!want.containsKey(k)) return "extra entry " + k;
        return "?";
    }

    private static long num(Map<String, Object> m, String key) {
        Object v = m.get(key);
        return v instanceof Number x ? x.longValue() : 0;
    }

    private static double secondsSince(long t0) { return (System.nanoTime() - t0) / 1e9; }

    private static double round1(double x) { return Math.round(x * 10) / 10.0; }

    private static String rateText(long rate) { return rate == 0 ? "unlimited" : ProgressBar.size(rate) + "/s"; }
}
