package io.peersocket.bench;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkStore;
import io.peersocket.content.ChunkStoreConfig;
import io.peersocket.store.Store;
import io.peersocket.util.Counters;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Deque;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Chunk intake benchmark (issue 4 item 8), all in one run on the same data: real 4 KiB chunks cut from the
 * JDK's {@code lib/modules} file.
 * <ol>
 *   <li><b>SHA-256</b>: plain SHA-256 of each chunk's data ({@code span || payload}), one thread;</li>
 *   <li><b>BMT</b>: our chunk address (SHA-256 BMT) of the same data, one thread (for reference);</li>
 *   <li><b>SQLite insert</b>: the chunk rows (same table and indexes as the store, WAL, synchronous=NORMAL)
 *       inserted with plain JDBC in transactions of 4,096 rows, one thread;</li>
 *   <li><b>intake</b>: what a node does with received chunks: {@code Chunk.decode(address, data)} (BMT
 *       verify) on the receiving thread, then {@code ChunkStore.putAll} in batches of 128, the store thread
 *       committing in the background.</li>
 * </ol>
 * Prints chunks/s for each (median of {@code --repeat} runs) and intake / min(SHA-256, SQLite), target
 * &ge; 0.5. Run with {@code peersocket-bench/run chunks [--chunks N] [--repeat N]}.
 */
public final class ChunkBench {
    static final double TARGET = 0.5;
    static final int INTAKE_BATCH = 128;
    static final int INTAKE_IN_FLIGHT = 16;
    static final int SQL_BATCH = 4096;

    private final PrintStream out = System.out;
    private final int n;
    private final int repeat;
    private final Path work;
    private ChunkAddress[] addresses;
    private byte[][] data;
    private int[] pos;

    ChunkBench(int n, int repeat, Path work) {
        this.n = n;
        this.repeat = repeat;
        this.work = work;
    }

    public static void main(String[] args) throws Exception {
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
            System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "warn");
        }
        int n = 100_000;
        int repeat = 3;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--chunks" -> n = Integer.parseInt(args[++i]);
                case "--repeat" -> repeat = Integer.parseInt(args[++i]);
                case "--quick" -> {
                    n = 30_000;
                    repeat = 1;
                }
                case "-h", "--help" -> {
                    System.out.println("usage: peersocket-bench/run chunks [--quick] [--chunks N (default 100000)]"
                            + " [--repeat N (default 3)]");
                    return;
                }
                default -> {
                    System.err.println("chunk bench: unknown argument '" + args[i] + "' (try --help)");
                    System.exit(2);
                }
            }
        }
        if (n < 1000 || n > 1_000_000 || repeat < 1 || repeat > 20) {
            System.err.println("chunk bench: --chunks must be 1000..1000000 and --repeat 1..20");
            System.exit(2);
        }
        Path work = Files.createTempDirectory("peersocket-chunk-bench");
        try {
            new ChunkBench(n, repeat, work).run();
        } finally {
            deleteTree(work);
        }
    }

    void run() throws Exception {
        out.println("Machine: " + Machine.describe());
        out.println("Load average (1/5/15 min) before: " + Machine.loadAverage());
        prepare();
        out.printf(Locale.ROOT, "%,d distinct real chunks (4,096-byte windows of %s), %d run(s) each, median%n", n,
                source(), repeat);
        sha256(); // warm-up: JIT-compile the hashing paths before timing them
        bmt();
        double sha = median(this::sha256);
        report("SHA-256 of chunk data (1 thread)", sha);
        double bmt = median(this::bmt);
        report("BMT chunk address (1 thread)", bmt);
        double sql = median(this::sqliteInsert);
        report("SQLite batched insert (JDBC, 4,096 rows/tx)", sql);
        double intake = median(this::intake);
        report("Intake: decode + verify + ChunkStore.putAll", intake);
        double lower = Math.min(sha, sql);
        double ratio = intake / lower;
        out.printf(Locale.ROOT, "intake / min(SHA-256, SQLite) = %.2f (target >= %.1f): %s%n", ratio, TARGET,
                ratio >= TARGET ? "met" : "NOT met");
        out.printf(Locale.ROOT, "intake / SHA-256 = %.2f, intake / SQLite = %.2f, BMT / SHA-256 = %.2f%n",
                intake / sha, intake / sql, bmt / sha);
        out.println("Load average (1/5/15 min) after: " + Machine.loadAverage());
    }

    private void report(String what, double perSecond) {
        out.printf(Locale.ROOT, "  %-48s %,12.0f chunks/s  (%,.0f MiB/s)%n", what, perSecond,
                perSecond * Chunk.MAX_PAYLOAD / (1 << 20));
    }

    private interface Measure {
        double run() throws Exception;
    }

    private double median(Measure m) throws Exception {
        double[] r = new double[repeat];
        for (int i = 0; i < repeat; i++) {
            r[i] = m.run();
        }
        Arrays.sort(r);
        return r[repeat / 2];
    }

    private static Path source() {
        return Path.of(System.getProperty("java.home"), "lib", "modules");
    }

    /** n distinct chunks: 4,096-byte windows of lib/modules at a stride that fits the file. */
    private void prepare() throws IOException {
        Path src = source();
        long size = Files.size(src);
        long stride = Math.max(1, (size - Chunk.MAX_PAYLOAD) / (n + n / 10));
        addresses = new ChunkAddress[n];
        data = new byte[n][];
        pos = new int[n];
        byte[] overlay = new byte[32];
        try (FileChannel ch = FileChannel.open(src, StandardOpenOption.READ)) {
            ByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
            byte[] window = new byte[Chunk.MAX_PAYLOAD];
            java.util.Set<ChunkAddress> seen = new java.util.HashSet<>();
            long off = 0;
            for (int i = 0; i < n; ) {
                if (off + Chunk.MAX_PAYLOAD > size) {
                    throw new IllegalStateException(src + " has fewer than " + n + " distinct windows");
                }
                map.get((int) off, window);
                off += stride;
                Chunk c = Chunk.of(window);
                if (!seen.add(c.address())) {
                    off += 1; // a repeated region (e.g. zeros): skip it, keep the chunks distinct
                    continue;
                }
                addresses[i] = c.address();
                data[i] = c.data();
                pos[i] = c.address().proximityOrder(overlay);
                i++;
            }
        }
    }

    private double sha256() throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        byte[] sink = new byte[32];
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            md.update(data[i]);
            md.digest(sink, 0, 32);
        }
        return rate(t0);
    }

    private double bmt() {
        long t0 = System.nanoTime();
        int same = 0;
        for (int i = 0; i < n; i++) {
            if (Chunk.addressOf(data[i]).equals(addresses[i])) {
                same++;
            }
        }
        double r = rate(t0);
        if (same != n) {
            throw new IllegalStateException("BMT mismatch");
        }
        return r;
    }

    private double sqliteInsert() throws Exception {
        Path dir = Files.createTempDirectory(work, "sqlite");
        try (Connection c = new org.sqlite.JDBC().connect("jdbc:sqlite:" + dir.resolve("bench.db"),
                new java.util.Properties())) {
            try (Statement st = c.createStatement()) {
                st.execute("PRAGMA journal_mode = WAL");
                st.execute("PRAGMA synchronous = NORMAL");
                st.execute("CREATE TABLE chunks (address BLOB PRIMARY KEY NOT NULL, po INTEGER NOT NULL,"
                        + " bin_index INTEGER NOT NULL, data BLOB NOT NULL, pinned INTEGER NOT NULL DEFAULT 0,"
                        + " stored_at INTEGER NOT NULL)");
                st.execute("CREATE UNIQUE INDEX chunks_bin ON chunks (po, bin_index)");
                st.execute("CREATE INDEX chunks_gc ON chunks (po, bin_index) WHERE pinned = 0");
            }
            long[] next = new long[256];
            long now = System.currentTimeMillis();
            long t0 = System.nanoTime();
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO chunks (address, po, bin_index, data,"
                    + " pinned, stored_at) VALUES (?, ?, ?, ?, 0, ?) ON CONFLICT (address) DO NOTHING");
                    Statement tx = c.createStatement()) {
                for (int i = 0; i < n; i += SQL_BATCH) {
                    tx.execute("BEGIN IMMEDIATE");
                    for (int j = i; j < Math.min(n, i + SQL_BATCH); j++) {
                        ps.setBytes(1, addresses[j].toBytes());
                        ps.setInt(2, pos[j]);
                        ps.setLong(3, ++next[pos[j]]);
                        ps.setBytes(4, data[j]);
                        ps.setLong(5, now);
                        ps.executeUpdate();
                    }
                    tx.execute("COMMIT");
                }
            }
            return rate(t0);
        } finally {
            deleteTree(dir);
        }
    }

    private double intake() throws Exception {
        Path dir = Files.createTempDirectory(work, "store");
        try (Store store = Store.open(dir)) {
            ChunkStore cs = ChunkStore.open(store, new byte[32], ChunkStoreConfig.defaults().withCapacity(10L * n),
                    Runnable::run, System::currentTimeMillis, new Counters());
            Deque<CompletableFuture<?>> inFlight = new ArrayDeque<>();
            long t0 = System.nanoTime();
            List<Chunk> batch = new ArrayList<>(INTAKE_BATCH);
            for (int i = 0; i < n; i++) {
                batch.add(Chunk.decode(addresses[i], data[i])); // received: verify against the claimed address
                if (batch.size() == INTAKE_BATCH || i == n - 1) {
                    if (inFlight.size() >= INTAKE_IN_FLIGHT) {
                        inFlight.pollFirst().get(60, TimeUnit.SECONDS);
                    }
                    inFlight.add(cs.putAll(batch, false));
                    batch = new ArrayList<>(INTAKE_BATCH);
                }
            }
            while (!inFlight.isEmpty()) {
                inFlight.pollFirst().get(60, TimeUnit.SECONDS);
            }
            double r = rate(t0);
            if (cs.size() != n) {
                throw new IllegalStateException("intake stored " + cs.size() + " of " + n + " chunks");
            }
            return r;
        } finally {
            deleteTree(dir);
        }
    }

    private double rate(long t0) {
        return n / ((System.nanoTime() - t0) / 1e9);
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> w = Files.walk(p)) {
            for (Path x : w.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(x);
            }
        }
    }
}
