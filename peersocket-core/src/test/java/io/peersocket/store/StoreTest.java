package io.peersocket.store;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class StoreTest {
    @TempDir
    Path dir;

    static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }

    static Throwable failure(CompletableFuture<?> f) throws Exception {
        try {
            f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            return e.getCause();
        }
        throw new AssertionError("future completed normally: " + f);
    }

    /** Occupies the store thread until {@code release} is counted down; returns once it is running. */
    static CompletableFuture<Void> blockStoreThread(Store store, CountDownLatch release) throws Exception {
        CountDownLatch running = new CountDownLatch(1);
        CompletableFuture<Void> f = store.write("test.block", db -> {
            running.countDown();
            try {
                if (!release.await(30, TimeUnit.SECONDS)) {
                    throw new IllegalStateException("test never released the store thread");
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return null;
        });
        assertThat(running.await(30, TimeUnit.SECONDS)).as("store thread took the blocking unit").isTrue();
        return f;
    }

    static String pragma(Db db, String name) throws SQLException {
        try (ResultSet rs = db.connection().createStatement().executeQuery("PRAGMA " + name)) {
            rs.next();
            return rs.getString(1);
        }
    }

    @Test
    void opensDatabaseWithWalAndPragmasOnOneNamedPlatformThread() throws Exception {
        try (Store store = Store.open(dir.resolve("data"))) {
            assertThat(store.databasePath()).isEqualTo(dir.resolve("data").resolve("peersocket.db").toAbsolutePath());
            assertThat(Files.exists(store.databasePath())).isTrue();
            List<String> seen = await(store.read("test.pragmas", db -> List.of(
                    pragma(db, "journal_mode"), pragma(db, "synchronous"), pragma(db, "foreign_keys"),
                    pragma(db, "busy_timeout"), Thread.currentThread().getName(),
                    String.valueOf(Thread.currentThread().isVirtual()))));
            // synchronous: 1 = NORMAL
            assertThat(seen).containsExactly("wal", "1", "1", "5000", "peersocket-store", "false");
            assertThat(store.schemaVersion()).isEqualTo(Schema.MIGRATIONS.size());
        }
    }

    @Test
    void batchesManyWritesIntoFewTransactions() throws Exception {
        int n = 50_000;
        try (Store store = Store.open(dir)) {
            CountDownLatch release = new CountDownLatch(1);
            CompletableFuture<Void> blocker = blockStoreThread(store, release);
            long commitsBefore = store.commitCount();
            List<CompletableFuture<Void>> writes = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                writes.add(store.peers().recordAddresses(
                        "peer-" + i, List.of("/ip4/10.0.0." + (i % 256) + "/udp/" + (1000 + i) + "/quic-v1"), i,
                        "test"));
            }
            assertThat(store.queueDepth()).isEqualTo(n);
            CompletableFuture<Void> flushed = store.flush();
            release.countDown();
            await(flushed);
            await(blocker);
            assertThat(writes).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
            assertThat(store.queueDepth()).isZero();
            long commits = store.commitCount() - commitsBefore;
            // The blocking unit's own commit, then ceil(50,000 / 4,096) = 13 batches.
            assertThat(commits).isBetween(13L, 14L);
            assertThat(await(store.peers().count())).isEqualTo(n);
            long addresses = await(store.read("test.count", db -> {
                try (ResultSet rs = db.prepare("SELECT count(*) FROM peer_addresses").executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }));
            assertThat(addresses).isEqualTo(n);
            assertThat(store.failureCount()).isZero();
        }
    }

    @Test
    void failedWriteFailsOnlyItsOwnFutureAndTheBatchIsRetriedItemByItem() throws Exception {
        try (Store store = Store.open(dir)) {
            CountDownLatch release = new CountDownLatch(1);
            blockStoreThread(store, release);
            CompletableFuture<Void> a = store.kv().put("a", bytes("A"));
            CompletableFuture<Integer> bad = store.write("test.badInsert",
                    db -> db.update("INSERT INTO kv (key, value) VALUES (?, NULL)", "bad"));
            CompletableFuture<Object> boom = store.write("test.boom", db -> {
                throw new IllegalStateException("boom");
            });
            CompletableFuture<Void> b = store.kv().put("b", bytes("B"));
            CompletableFuture<Void> flushed = store.flush();
            release.countDown();
            await(flushed);

            assertThat(a).isCompleted();
            assertThat(b).isCompleted();
            Throwable badFailure = failure(bad);
            assertThat(badFailure).isInstanceOf(StoreException.class).hasMessageContaining("test.badInsert")
                    .hasCauseInstanceOf(SQLException.class);
            assertThat(failure(boom)).isInstanceOf(IllegalStateException.class).hasMessage("boom");
            assertThat(store.failureCount()).isEqualTo(2);
            assertThat(store.batchRetryCount()).isEqualTo(1);
            assertThat(await(store.kv().get("a"))).get().satisfies(v -> assertThat(v).isEqualTo(bytes("A")));
            assertThat(await(store.kv().get("b"))).get().satisfies(v -> assertThat(v).isEqualTo(bytes("B")));
            assertThat(await(store.kv().get("bad"))).isEmpty();

            // The store thread is alive and still batches.
            await(store.kv().put("c", bytes("C")));
            assertThat(await(store.kv().get("c"))).isPresent();
        }
    }

    @Test
    void failedReadDoesNotHurtOtherWork() throws Exception {
        try (Store store = Store.open(dir)) {
            CompletableFuture<Object> bad = store.read("test.badRead", db -> {
                try (ResultSet rs = db.prepare("SELECT no_such_column FROM kv").executeQuery()) {
                    return rs.next();
                }
            });
            CompletableFuture<Void> put = store.kv().put("k", bytes("v"));
            assertThat(failure(bad)).isInstanceOf(StoreException.class).hasMessageContaining("no_such_column");
            await(put);
            assertThat(await(store.kv().get("k"))).isPresent();
        }
    }

    @Test
    void closeCommitsQueuedWorkAndIsIdempotent() throws Exception {
        Store store = Store.open(dir);
        List<CompletableFuture<Void>> writes = new ArrayList<>();
        for (int i = 0; i < 5_000; i++) {
            writes.add(store.kv().put("key-" + i, bytes("value-" + i)));
        }
        store.close();
        assertThat(writes).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
        store.close(); // second close returns at once
        assertThat(failure(store.kv().put("late", bytes("x")))).isInstanceOf(StoreClosedException.class);
        assertThat(failure(store.flush())).isInstanceOf(StoreClosedException.class);
        assertThat(failure(store.peers().knownPeers(1))).isInstanceOf(StoreClosedException.class);

        try (Store reopened = Store.open(dir)) {
            assertThat(await(reopened.kv().get("key-4999"))).get()
                    .satisfies(v -> assertThat(v).isEqualTo(bytes("value-4999")));
            long rows = await(reopened.read("test.count", db -> {
                try (ResultSet rs = db.prepare("SELECT count(*) FROM kv").executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }));
            assertThat(rows).isEqualTo(5_000);
        }
    }

    @Test
    void closeIsBoundedWhenTheStoreThreadIsStuck() throws Exception {
        Store store = Store.open(dir, StoreOptions.defaults().withCloseTimeout(Duration.ofMillis(200)));
        AtomicReference<Thread> storeThread = new AtomicReference<>();
        await(store.read("test.thread", db -> {
            storeThread.set(Thread.currentThread());
            return null;
        }));
        CountDownLatch release = new CountDownLatch(1);
        CompletableFuture<Void> blocker = blockStoreThread(store, release);
        CompletableFuture<Void> queued = store.kv().put("queued", bytes("q"));

        long start = System.nanoTime();
        store.close();
        long tookMs = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
        assertThat(tookMs).isBetween(150L, 10_000L);
        assertThat(storeThread.get().isAlive()).isTrue();
        assertThat(queued).isNotDone();

        release.countDown();
        await(blocker);
        await(queued); // the thread finishes the queue on its own
        assertThat(storeThread.get().join(Duration.ofSeconds(30))).isTrue();
        try (Store reopened = Store.open(dir)) {
            assertThat(await(reopened.kv().get("queued"))).isPresent();
        }
    }

    @Test
    void concurrentProducersKeepPerThreadOrderAndLoseNothing() throws Exception {
        int threads = 6;
        int perThread = 3_000;
        try (Store store = Store.open(dir)) {
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                CountDownLatch start = new CountDownLatch(1);
                List<Future<List<CompletableFuture<?>>>> producers = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    int id = t;
                    producers.add(pool.submit(() -> {
                        start.await();
                        List<CompletableFuture<?>> fs = new ArrayList<>();
                        for (int i = 0; i < perThread; i++) {
                            fs.add(store.peers().recordConnected("peer-" + id + "-" + i,
                                    List.of("/ip4/127.0.0.1/udp/" + (i + 1) + "/quic-v1"), i));
                            // Last write per thread must win: same key, increasing value.
                            fs.add(store.kv().put("counter-" + id, bytes(Integer.toString(i))));
                        }
                        return fs;
                    }));
                }
                start.countDown();
                List<CompletableFuture<?>> all = new ArrayList<>();
                for (Future<List<CompletableFuture<?>>> p : producers) {
                    all.addAll(p.get(60, TimeUnit.SECONDS));
                }
                await(CompletableFuture.allOf(all.toArray(CompletableFuture[]::new)));
            } finally {
                pool.shutdownNow();
            }
            assertThat(await(store.peers().count())).isEqualTo((long) threads * perThread);
            for (int t = 0; t < threads; t++) {
                Optional<byte[]> v = await(store.kv().get("counter-" + t));
                assertThat(v).get().satisfies(b -> assertThat(new String(b, StandardCharsets.UTF_8))
                        .isEqualTo(Integer.toString(perThread - 1)));
            }
            assertThat(store.commitCount()).isLessThan((long) threads * perThread * 2);
            assertThat(store.failureCount()).isZero();
        }
    }

    @Test
    void fullQueueRejectsWithStoreFullExceptionButFlushStillWorks() throws Exception {
        StoreOptions opts = StoreOptions.defaults().withQueueCapacity(10).withEnqueueTimeout(Duration.ZERO);
        try (Store store = Store.open(dir, opts)) {
            CountDownLatch release = new CountDownLatch(1);
            blockStoreThread(store, release);
            List<CompletableFuture<Void>> accepted = new ArrayList<>();
            for (int i = 0; i < 10; i++) {
                accepted.add(store.kv().put("k" + i, bytes("v")));
            }
            CompletableFuture<Void> rejected = store.kv().put("k10", bytes("v"));
            assertThat(failure(rejected)).isInstanceOf(StoreFullException.class).hasMessageContaining("kv.put");
            assertThat(store.rejectedCount()).isEqualTo(1);
            CompletableFuture<Void> flushed = store.flush();
            assertThat(store.queueDepth()).isEqualTo(11);
            release.countDown();
            await(flushed);
            assertThat(accepted).allMatch(f -> f.isDone() && !f.isCompletedExceptionally());
            // Space is back.
            await(store.kv().put("k10", bytes("v")));
        }
    }

    @Test
    void blockingOnAStoreFutureFromTheStoreThreadThrowsInsteadOfDeadlocking() throws Exception {
        try (Store store = Store.open(dir)) {
            CompletableFuture<String> outer = store.read("test.nested", db -> {
                CompletableFuture<Optional<byte[]>> inner = store.kv().get("x");
                try {
                    inner.join();
                    return "joined";
                } catch (IllegalStateException e) {
                    return e.getMessage();
                }
            });
            assertThat(await(outer)).contains("deadlock");
        }
    }

    @Test
    void dbCannotBeUsedOutsideTheStoreThread() throws Exception {
        try (Store store = Store.open(dir)) {
            Db leaked = await(store.read("test.leak", db -> db));
            assertThatThrownBy(() -> leaked.prepare("SELECT 1")).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("outside the store thread");
        }
    }

    @Test
    void openingAFileThatIsNotADatabaseFailsClearly() throws Exception {
        Files.writeString(dir.resolve("peersocket.db"), "this is not a SQLite database, just text. ".repeat(100));
        assertThatThrownBy(() -> Store.open(dir)).isInstanceOf(StoreException.class)
                .hasMessageContaining("peersocket.db");
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
