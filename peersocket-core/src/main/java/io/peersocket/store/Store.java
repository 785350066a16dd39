package io.peersocket.store;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The node's SQLite store: the file {@value #DB_FILE_NAME} in the data dir, opened in WAL mode with
 * {@code synchronous=NORMAL}, a busy timeout and foreign keys on, its schema brought up to date by
 * {@link Migration}s when opened.
 *
 * <p>Threading (DESIGN.md "Concurrency"): one platform thread named {@value #THREAD_NAME} owns the
 * connection; nothing else touches it. {@link #read}, {@link #write} and the {@link #peers()} and {@link #kv()}
 * views enqueue a unit of work and return at once with a future. The store thread takes everything queued
 * (up to {@link StoreOptions#maxBatch()} units) and runs it in order in one transaction, so a burst of small
 * writes costs one commit. Units from one producer thread run in the order it submitted them, and a read sees
 * every write submitted before it. Every future completes only after the transaction that ran its unit has
 * committed. If a batch transaction fails, it is rolled back and its units are re-run one transaction each,
 * so one bad unit fails only its own future (logged with SLF4J) and the rest commit.
 *
 * <p>Back-pressure: the queue holds at most {@link StoreOptions#queueCapacity()} units. A producer that finds
 * it full waits up to {@link StoreOptions#enqueueTimeout()} for space; then its future fails with
 * {@link StoreFullException} (and a warning is logged). No method throws for a full queue or a closed store:
 * the returned future fails instead ({@link StoreClosedException} after {@link #close()}).
 *
 * <p>Futures complete on the store thread; dependent stages added with non-async methods run there and must
 * be short and non-blocking. Blocking on an incomplete store future from the store thread throws
 * {@link IllegalStateException} instead of deadlocking.
 *
 * <p>One {@code Store} per data dir: the file is not locked against a second store in this or another
 * process (such a store would wait on SQLite locks, up to the busy timeout).
 */
public final class Store implements AutoCloseable {
    /** The database file name inside the data dir. */
    public static final String DB_FILE_NAME = "peersocket.db";
    /** The name of the store thread. */
    public static final String THREAD_NAME = "peersocket-store";

    private static final Logger log = LoggerFactory.getLogger(Store.class);
    private static final Item<Void> STOP = new Item<>("stop", null, false, false);

    private final Path dbPath;
    private final StoreOptions options;
    private final List<Migration> migrations;
    private final LinkedBlockingQueue<Item<?>> queue = new LinkedBlockingQueue<>();
    private final Semaphore space;
    private final StoreThread thread;
    private final AtomicBoolean closing = new AtomicBoolean();
    private volatile boolean terminated;
    private volatile int schemaVersion;
    private final AtomicLong commits = new AtomicLong();
    private final AtomicLong failures = new AtomicLong();
    private final AtomicLong batchRetries = new AtomicLong();
    private final AtomicLong rejections = new AtomicLong();
    private final PeerStore peers;
    private final KvStore kv;

    /** Owned by the store thread. */
    private Db db;

    private Store(Path dbPath, StoreOptions options, List<Migration> migrations, CompletableFuture<Void> opened) {
        this.dbPath = dbPath;
        this.options = options;
        this.migrations = migrations;
        this.space = new Semaphore(options.queueCapacity());
        this.thread = new StoreThread(() -> run(opened));
        this.peers = new PeerStore(this);
        this.kv = new KvStore(this);
    }

    /**
     * Opens (creating if needed) the store in {@code dataDir} with {@link StoreOptions#defaults()}.
     *
     * @throws StoreException if the directory or database cannot be created or opened, it is not a SQLite
     *     database, its schema is newer than this code knows, or a migration fails
     */
    public static Store open(Path dataDir) {
        return open(dataDir, StoreOptions.defaults());
    }

    /**
     * Opens (creating if needed) the store in {@code dataDir}: creates the directory, opens
     * {@code dataDir/}{@value #DB_FILE_NAME}, applies pending migrations and starts the store thread. Blocks
     * until the database is ready.
     *
     * @throws StoreException as for {@link #open(Path)}
     */
    public static Store open(Path dataDir, StoreOptions options) {
        return open(dataDir, options, Schema.MIGRATIONS);
    }

    /** As {@link #open(Path, StoreOptions)} with another schema (tests). */
    static Store open(Path dataDir, StoreOptions options, List<Migration> migrations) {
        Objects.requireNonNull(dataDir, "dataDir");
        Objects.requireNonNull(options, "options");
        List<Migration> schema = List.copyOf(migrations);
        Schema.validate(schema);
        Path dbPath = dataDir.toAbsolutePath().resolve(DB_FILE_NAME);
        if (dbPath.toString().indexOf('?') >= 0) {
            // sqlite-jdbc would read what follows '?' in its URL as connection options.
            throw new StoreException("data dir path must not contain '?': " + dataDir);
        }
        try {
            Files.createDirectories(dbPath.getParent());
        } catch (IOException e) {
            throw new StoreException("cannot create data dir " + dataDir + ": " + e, e);
        }
        CompletableFuture<Void> opened = new CompletableFuture<>();
        Store store = new Store(dbPath, options, schema, opened);
        store.thread.start();
        try {
            opened.get();
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof StoreException se) {
                throw se;
            }
            throw new StoreException("cannot open store " + dbPath + ": " + cause.getMessage(), cause);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            store.close();
            throw new StoreException("interrupted while opening store " + dbPath);
        }
        return store;
    }

    /** Peers and their multiaddrs. */
    public PeerStore peers() {
        return peers;
    }

    /** Node settings: bytes by string key. */
    public KvStore kv() {
        return kv;
    }

    /**
     * Enqueues a unit of work that changes the database.
     *
     * @param name short name for logs and errors, e.g. {@code "peers.recordConnected"}
     * @return completes with the work's result once committed; fails with {@link StoreException} (cause:
     *     the {@link SQLException}) or the work's own runtime exception, {@link StoreFullException} or
     *     {@link StoreClosedException}
     */
    public <T> CompletableFuture<T> write(String name, StoreWork<T> work) {
        return submit(name, work, true);
    }

    /**
     * Enqueues a unit of work that only reads. It runs in queue order, so it sees every write submitted
     * before it. Its future completes as for {@link #write}.
     */
    public <T> CompletableFuture<T> read(String name, StoreWork<T> work) {
        return submit(name, work, false);
    }

    /**
     * A future that completes when every unit enqueued before this call has been run and its transaction
     * committed (units that failed have failed their own futures; flush still completes normally). Flush
     * markers do not count against the queue capacity, so this never fails with {@link StoreFullException};
     * after {@link #close()} it fails with {@link StoreClosedException}.
     */
    public CompletableFuture<Void> flush() {
        Item<Void> item = new Item<>("flush", null, false, false);
        if (closing.get()) {
            item.future.completeExceptionally(closed());
            return item.future;
        }
        enqueue(item);
        return item.future;
    }

    /** Units waiting in the queue now (not counting the batch being run). For metrics. */
    public int queueDepth() {
        return queue.size();
    }

    /** Transactions committed since open (batches plus single-unit retries; not migrations). For metrics. */
    public long commitCount() {
        return commits.get();
    }

    /** Units whose future failed because their work threw. For metrics. */
    public long failureCount() {
        return failures.get();
    }

    /** Batch transactions that failed and were re-run one unit per transaction. For metrics. */
    public long batchRetryCount() {
        return batchRetries.get();
    }

    /** Units rejected because the queue stayed full ({@link StoreFullException}). For metrics. */
    public long rejectedCount() {
        return rejections.get();
    }

    /** The schema version of the open database. */
    public int schemaVersion() {
        return schemaVersion;
    }

    /** The database file. */
    public Path databasePath() {
        return dbPath;
    }

    /**
     * Stops accepting work, runs and commits everything already queued, stops the store thread and closes the
     * connection. Waits at most {@link StoreOptions#closeTimeout()}; if the thread has not finished by then
     * this logs an error and returns (the thread still finishes the queue and closes the connection itself).
     * Idempotent; later calls wait the same way. Called on the store thread (from a unit of work) it only
     * starts the close.
     */
    @Override
    public void close() {
        if (closing.compareAndSet(false, true)) {
            queue.add(STOP);
            if (terminated) {
                failLeftovers();
            }
        }
        if (Thread.currentThread() == thread) {
            return;
        }
        try {
            if (!thread.join(options.closeTimeout())) {
                log.error("store {}: thread did not stop within {} ({} units queued); leaving it to finish",
                        dbPath, options.closeTimeout(), queue.size());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "Store[" + dbPath + ", v" + schemaVersion + ", queued " + queue.size() + ", commits " + commits
                + (terminated ? ", closed" : closing.get() ? ", closing" : "") + "]";
    }

    // ---------------------------------------------------------------------------------------------- producers

    private <T> CompletableFuture<T> submit(String name, StoreWork<T> work, boolean write) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(work, "work");
        Item<T> item = new Item<>(name, work, write, true);
        if (closing.get()) {
            item.future.completeExceptionally(closed());
            return item.future;
        }
        boolean acquired;
        try {
            long waitNanos = options.enqueueTimeout().toNanos();
            // The store thread never waits for space: only it can make some.
            acquired = waitNanos == 0 || Thread.currentThread() == thread
                    ? space.tryAcquire()
                    : space.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            item.future.completeExceptionally(
                    new StoreException("interrupted while waiting for store queue space for '" + name + "'"));
            return item.future;
        }
        if (!acquired) {
            long n = rejections.incrementAndGet();
            if (n <= 10 || Long.bitCount(n) == 1) {
                log.warn("store {}: queue full ({} units) for {}; rejected '{}' (rejection #{})", dbPath,
                        options.queueCapacity(), options.enqueueTimeout(), name, n);
            }
            item.future.completeExceptionally(new StoreFullException("store queue full ("
                    + options.queueCapacity() + " units) for " + options.enqueueTimeout() + "; rejected '"
                    + name + "'"));
            return item.future;
        }
        enqueue(item);
        return item.future;
    }

    private void enqueue(Item<?> item) {
        queue.add(item);
        // Raced with the thread's exit: it may not have seen this item. Fail whatever is left.
        if (terminated) {
            failLeftovers();
        }
    }

    private StoreClosedException closed() {
        return new StoreClosedException("store " + dbPath + " is closed");
    }

    private void failLeftovers() {
        Item<?> item;
        while ((item = queue.poll()) != null) {
            if (item == STOP) {
                continue;
            }
            if (item.counted) {
                space.release();
            }
            item.future.completeExceptionally(closed());
        }
    }

    // ---------------------------------------------------------------------------------------------- store thread

    private void run(CompletableFuture<Void> opened) {
        try {
            db = openDatabase();
            schemaVersion = Schema.migrate(db, migrations, dbPath);
        } catch (Throwable t) {
            if (db != null) {
                db.close();
            }
            closing.set(true);
            terminated = true;
            failLeftovers();
            opened.completeExceptionally(t);
            return;
        }
        log.debug("store {} open, schema version {}", dbPath, schemaVersion);
        opened.complete(null);

        List<Item<?>> batch = new ArrayList<>();
        int maxBatch = options.maxBatch();
        boolean stopping = false;
        try {
            while (true) {
                if (stopping) {
                    if (queue.drainTo(batch, maxBatch) == 0) {
                        break;
                    }
                } else {
                    try {
                        batch.add(queue.take());
                    } catch (InterruptedException e) {
                        log.warn("store {}: thread interrupted; closing", dbPath);
                        closing.set(true);
                        stopping = true;
                        continue;
                    }
                    queue.drainTo(batch, maxBatch - 1);
                }
                int counted = 0;
                for (Iterator<Item<?>> it = batch.iterator(); it.hasNext(); ) {
                    Item<?> item = it.next();
                    if (item == STOP) {
                        it.remove();
                        stopping = true;
                    } else if (item.counted) {
                        counted++;
                    }
                }
                space.release(counted);
                execute(batch);
                batch.clear();
            }
        } catch (Throwable t) {
            log.error("store {}: store thread failed; the store is now closed", dbPath, t);
            closing.set(true);
            for (Item<?> item : batch) {
                item.future.completeExceptionally(new StoreClosedException("store thread failed: " + t));
            }
        } finally {
            terminated = true;
            failLeftovers();
            db.close();
            log.debug("store {} closed after {} commits", dbPath, commits.get());
        }
    }

    private Db openDatabase() throws SQLException {
        Properties props = new Properties();
        Connection c = new org.sqlite.JDBC().connect("jdbc:sqlite:" + dbPath, props);
        if (c == null) {
            throw new SQLException("sqlite-jdbc did not accept the URL for " + dbPath);
        }
        Db d = new Db(c, Thread.currentThread());
        try (Statement st = c.createStatement()) {
            st.execute("PRAGMA busy_timeout = " + options.busyTimeout().toMillis());
            String mode = pragma(st, "PRAGMA journal_mode = WAL");
            if (!"wal".equalsIgnoreCase(mode)) {
                log.warn("store {}: SQLite refused WAL mode (journal_mode is {}); writes will be slower", dbPath,
                        mode);
            }
            st.execute("PRAGMA synchronous = NORMAL");
            st.execute("PRAGMA foreign_keys = ON");
            if (!"1".equals(pragma(st, "PRAGMA foreign_keys"))) {
                throw new SQLException("SQLite did not enable foreign keys");
            }
        } catch (SQLException | RuntimeException e) {
            d.close();
            throw e;
        }
        return d;
    }

    private static String pragma(Statement st, String sql) throws SQLException {
        try (ResultSet rs = st.executeQuery(sql)) {
            return rs.next() ? rs.getString(1) : null;
        }
    }

    private void execute(List<Item<?>> batch) {
        int work = 0;
        boolean anyWrite = false;
        for (Item<?> item : batch) {
            if (item.work != null) {
                work++;
                anyWrite |= item.write;
            }
        }
        if (work <= 1) {
            for (Item<?> item : batch) {
                runAlone(item);
            }
            return;
        }
        try {
            begin(anyWrite);
            for (Item<?> item : batch) {
                item.runStaged(db);
            }
            db.prepare("COMMIT").execute();
            commits.incrementAndGet();
        } catch (Exception e) {
            rollbackQuietly();
            batchRetries.incrementAndGet();
            log.debug("store {}: batch of {} units failed ({}); re-running them one per transaction", dbPath, work,
                    e.toString());
            for (Item<?> item : batch) {
                runAlone(item);
            }
            return;
        }
        for (Item<?> item : batch) {
            item.completeStaged();
        }
    }

    private void runAlone(Item<?> item) {
        if (item.work == null) {
            item.completeStaged();
            return;
        }
        try {
            begin(item.write);
            item.runStaged(db);
            db.prepare("COMMIT").execute();
            commits.incrementAndGet();
        } catch (Exception e) {
            rollbackQuietly();
            fail(item, e);
            return;
        }
        item.completeStaged();
    }

    private void begin(boolean write) throws SQLException {
        // IMMEDIATE takes the write lock up front, so a writer never fails upgrading a read lock.
        db.prepare(write ? "BEGIN IMMEDIATE" : "BEGIN").execute();
    }

    private void rollbackQuietly() {
        try {
            db.execute("ROLLBACK");
        } catch (SQLException e) {
            // SQLite may already have rolled back (e.g. after SQLITE_FULL): "no transaction is active".
            log.debug("store {}: rollback: {}", dbPath, e.toString());
        }
    }

    private void fail(Item<?> item, Exception e) {
        long n = failures.incrementAndGet();
        String kind = item.write ? "write" : "read";
        if (n <= 100 || Long.bitCount(n) == 1) {
            log.warn("store {}: {} '{}' failed (failure #{})", dbPath, kind, item.name, n, e);
        } else {
            log.debug("store {}: {} '{}' failed (failure #{})", dbPath, kind, item.name, n, e);
        }
        RuntimeException ex = e instanceof RuntimeException re
                ? re
                : new StoreException("store " + kind + " '" + item.name + "' failed: " + e.getMessage(), e);
        item.future.completeExceptionally(ex);
    }

    // ---------------------------------------------------------------------------------------------- types

    private static final class Item<T> {
        final String name;
        final StoreWork<T> work;
        final boolean write;
        /** Holds a queue permit (work units do, flush and stop markers do not). */
        final boolean counted;
        final StoreFuture<T> future = new StoreFuture<>();
        T result;

        Item(String name, StoreWork<T> work, boolean write, boolean counted) {
            this.name = name;
            this.work = work;
            this.write = write;
            this.counted = counted;
        }

        void runStaged(Db db) throws SQLException {
            result = work == null ? null : work.run(db);
        }

        void completeStaged() {
            T r = result;
            result = null;
            future.complete(r);
        }
    }

    private static final class StoreThread extends Thread {
        StoreThread(Runnable body) {
            super(body, THREAD_NAME);
            // Daemon: a store left open must not keep the JVM alive; close() is what persists queued work.
            setDaemon(true);
        }
    }

    /** Refuses to block the store thread on work that only the store thread can complete. */
    private static final class StoreFuture<T> extends CompletableFuture<T> {
        @Override
        public <U> CompletableFuture<U> newIncompleteFuture() {
            return new StoreFuture<>();
        }

        @Override
        public T get() throws InterruptedException, ExecutionException {
            checkNotStoreThread();
            return super.get();
        }

        @Override
        public T get(long timeout, TimeUnit unit) throws InterruptedException, ExecutionException, TimeoutException {
            checkNotStoreThread();
            return super.get(timeout, unit);
        }

        @Override
        public T join() {
            checkNotStoreThread();
            return super.join();
        }

        private void checkNotStoreThread() {
            if (!isDone() && Thread.currentThread() instanceof StoreThread) {
                throw new IllegalStateException("blocking on an incomplete store future on the store thread would"
                        + " deadlock; chain it with a …Async stage or do the follow-up in the same StoreWork");
            }
        }
    }
}
