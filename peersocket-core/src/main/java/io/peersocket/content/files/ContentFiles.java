package io.peersocket.content.files;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkNotFoundException;
import io.peersocket.content.ChunkStore;
import io.peersocket.content.InvalidChunkException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Deque;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Shares files and directory trees as chunks and gets them back (seed 001; {@code peersocket share} and
 * {@code peersocket get}).
 *
 * <p>{@link #share}: splits every file into a chunk tree ({@link FileSplitter}), lists them in a
 * {@link Manifest}, splits the manifest too, stores every chunk pinned in the {@link ChunkStore} (batched)
 * and hands each stored chunk to the push hook (push sync toward its neighbourhood; a no-op until the
 * network layer provides one). The manifest's root address is the ROOT to give to {@code get}.
 *
 * <p>{@link #get}: fetches the manifest, then every file's tree through the fetch hook (the local store, or
 * retrieval from the network), verifying every chunk ({@link FileJoiner}), and writes them under a temporary
 * name next to OUT, renamed to OUT only when everything arrived intact: a failed get leaves nothing at OUT.
 *
 * <p>Blocking; call from a virtual thread. Thread-safe (no mutable state besides the hooks' own).
 */
public final class ContentFiles {
    /** Default wait for any one chunk or push receipt, ms. */
    public static final long DEFAULT_TIMEOUT_MS = 60_000;
    /** Chunks per store batch while sharing. */
    static final int PUT_BATCH = 256;
    /** Store batches in flight while sharing. */
    static final int PUT_IN_FLIGHT = 8;
    /** Push receipts awaited at once while sharing. */
    static final int PUSH_IN_FLIGHT = 256;

    private static final Logger log = LoggerFactory.getLogger(ContentFiles.class);

    /** Told how far a transfer is; called often (after every leaf chunk) on the transferring thread. */
    @FunctionalInterface
    public interface Progress {
        /**
         * @param bytes file bytes done so far
         * @param totalBytes file bytes in all (-1 while unknown)
         * @param chunks chunks done so far
         */
        void update(long bytes, long totalBytes, long chunks);

        /** Ignores updates. */
        Progress NONE = (b, t, c) -> {};
    }

    /**
     * The outcome of {@link #share}.
     *
     * @param root the manifest root: what {@code get} needs
     * @param kind file or directory
     * @param files regular files shared
     * @param bytes file bytes shared
     * @param chunks chunks made (file trees and manifest)
     * @param stored chunks newly stored (the rest were already there)
     * @param pushed push receipts received
     * @param pushFailed pushes that failed or timed out
     * @param skipped directory entries skipped (symbolic links, devices, …)
     */
    public record ShareResult(ChunkAddress root, Manifest.Kind kind, int files, long bytes, long chunks, long stored,
            long pushed, long pushFailed, int skipped) {}

    /**
     * The outcome of {@link #get}.
     *
     * @param root the manifest root
     * @param kind file or directory
     * @param files regular files written
     * @param bytes file bytes written
     * @param chunks chunks fetched and verified (manifest included)
     */
    public record GetResult(ChunkAddress root, Manifest.Kind kind, int files, long bytes, long chunks) {}

    private final ChunkStore store;
    private final Function<ChunkAddress, CompletableFuture<Chunk>> fetch;
    private final Function<Chunk, CompletableFuture<?>> push;
    private final java.util.function.Consumer<List<ChunkAddress>> beforeStore;
    private final long timeoutMs;

    /**
     * @param store where shared chunks are stored (pinned)
     * @param fetch returns the chunk at an address for {@code get} (see {@link #localFetch}); fails with
     *     {@link ChunkNotFoundException} if no one has it
     * @param push pushes a stored chunk toward its neighbourhood and completes on the storer's receipt;
     *     {@code null} for none
     * @param timeoutMs wait for any one chunk or receipt, ms
     */
    public ContentFiles(ChunkStore store, Function<ChunkAddress, CompletableFuture<Chunk>> fetch,
            Function<Chunk, CompletableFuture<?>> push, long timeoutMs) {
        this(store, fetch, push, timeoutMs, null);
    }

    /**
     * As above, with {@code beforeStore}: called on the sharing thread with each batch's chunk addresses just
     * before the batch is stored and later pushed (e.g. {@code Content::holdBack}, so pull sync does not offer chunks
     * their push will deliver); {@code null} for none. Only used when {@code push} is set.
     */
    public ContentFiles(ChunkStore store, Function<ChunkAddress, CompletableFuture<Chunk>> fetch,
            Function<Chunk, CompletableFuture<?>> push, long timeoutMs,
            java.util.function.Consumer<List<ChunkAddress>> beforeStore) {
        this.store = Objects.requireNonNull(store, "store");
        this.fetch = Objects.requireNonNull(fetch, "fetch");
        this.push = push;
        this.beforeStore = push == null ? null : beforeStore;
        if (timeoutMs <= 0) {
            throw new IllegalArgumentException("timeoutMs must be > 0");
        }
        this.timeoutMs = timeoutMs;
    }

    /** Shares into and gets from {@code store} only: no network. */
    public static ContentFiles local(ChunkStore store) {
        return new ContentFiles(store, localFetch(store), null, DEFAULT_TIMEOUT_MS);
    }

    /** A fetch hook that reads {@code store}; fails with {@link ChunkNotFoundException} for a missing chunk. */
    public static Function<ChunkAddress, CompletableFuture<Chunk>> localFetch(ChunkStore store) {
        Objects.requireNonNull(store, "store");
        return a -> store.get(a).thenApply(o -> o.orElseThrow(
                () -> new ChunkNotFoundException(a, "chunk " + a + " is not in the local store")));
    }

    // ---------------------------------------------------------------------------------------------- share

    /**
     * Shares a file or a directory tree (symbolic links and special files inside are skipped, not followed).
     *
     * @throws IOException if {@code path} cannot be read, or storing or pushing fails
     * @throws IllegalArgumentException if {@code path} is neither a file nor a directory, or the tree breaks
     *     a manifest bound (entries, path length)
     */
    public ShareResult share(Path path, Progress progress) throws IOException {
        Objects.requireNonNull(path, "path");
        Progress p = progress == null ? Progress.NONE : progress;
        Path base = path.toAbsolutePath().normalize();
        List<Source> sources = new ArrayList<>();
        int[] skipped = {0};
        Manifest.Kind kind;
        if (Files.isRegularFile(base, LinkOption.NOFOLLOW_LINKS)) {
            kind = Manifest.Kind.FILE;
            sources.add(new Source(base, base.getFileName().toString(), false, mode(base, false)));
        } else if (Files.isDirectory(base, LinkOption.NOFOLLOW_LINKS)) {
            kind = Manifest.Kind.DIRECTORY;
            walk(base, sources, skipped);
        } else {
            throw new IllegalArgumentException(path + " is not a regular file or directory");
        }
        long total = 0;
        for (Source s : sources) {
            if (!s.dir) {
                total += Files.size(s.file);
            }
        }
        List<Manifest.Entry> entries = new ArrayList<>();
        long bytesBefore = 0;
        int files = 0;
        try (Sink sink = new Sink()) {
            for (Source s : sources) {
                if (s.dir) {
                    entries.add(new Manifest.Entry(s.path, s.mode, 0, null));
                    continue;
                }
                long before = bytesBefore;
                long t = total;
                FileSplitter.Result r;
                try (InputStream in = Files.newInputStream(s.file, LinkOption.NOFOLLOW_LINKS)) {
                    r = FileSplitter.split(in, sink, done -> p.update(before + done, t, sink.count()));
                }
                bytesBefore += r.size();
                files++;
                entries.add(new Manifest.Entry(s.path, s.mode, r.size(), r.root()));
            }
            Manifest m = new Manifest(kind, entries);
            ChunkAddress root = FileSplitter.split(m.encode(), sink).root();
            sink.finish();
            p.update(bytesBefore, Math.max(total, bytesBefore), sink.count());
            return new ShareResult(root, kind, files, bytesBefore, sink.count(), sink.stored.get(), sink.pushed.get(),
                    sink.pushFailed.get(), skipped[0]);
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

    private record Source(Path file, String path, boolean dir, int mode) {}

    private static void walk(Path base, List<Source> out, int[] skipped) throws IOException {
        Files.walkFileTree(base, EnumSet.noneOf(java.nio.file.FileVisitOption.class), Integer.MAX_VALUE,
                new SimpleFileVisitor<>() {
                    @Override
                    public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                        if (!dir.equals(base)) {
                            add(dir, true);
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    @Override
                    public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                        if (attrs.isRegularFile()) {
                            add(file, false);
                        } else {
                            skipped[0]++;
                            log.info("share: skipping {} (not a regular file or directory)", file);
                        }
                        return FileVisitResult.CONTINUE;
                    }

                    private void add(Path p, boolean dir) throws IOException {
                        if (out.size() >= Manifest.MAX_ENTRIES) {
                            throw new IllegalArgumentException(base + " has more than " + Manifest.MAX_ENTRIES
                                    + " files and directories");
                        }
                        StringBuilder rel = new StringBuilder();
                        for (Path seg : base.relativize(p)) {
                            if (!rel.isEmpty()) {
                                rel.append('/');
                            }
                            rel.append(seg);
                        }
                        out.add(new Source(p, rel.toString(), dir, mode(p, dir)));
                    }
                });
        out.sort(Comparator.comparing(s -> s.path.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                java.util.Arrays::compareUnsigned));
    }

    private static int mode(Path p, boolean dir) throws IOException {
        int perms;
        try {
            perms = 0;
            for (PosixFilePermission x : Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS)) {
                perms |= 1 << (8 - x.ordinal());
            }
        } catch (UnsupportedOperationException e) {
            perms = dir ? 0755 : 0644;
        }
        return (dir ? Manifest.S_IFDIR : Manifest.S_IFREG) | perms;
    }

    /** Batches chunks into pinned store puts and pushes each stored chunk; bounded in flight. */
    private final class Sink implements java.util.function.Consumer<Chunk>, AutoCloseable {
        private static final Chunk END = Chunk.of(new byte[0]);
        private List<Chunk> batch = new ArrayList<>(PUT_BATCH);
        private final Deque<CompletableFuture<?>> puts = new ArrayDeque<>();
        private final java.util.concurrent.LinkedBlockingQueue<Chunk> toPush = new java.util.concurrent.LinkedBlockingQueue<>();
        private final java.util.concurrent.Semaphore pushSlots = new java.util.concurrent.Semaphore(PUSH_IN_FLIGHT);
        private final List<CompletableFuture<?>> pushes = new ArrayList<>();
        private final Thread pusher;
        private long count;
        final AtomicLong stored = new AtomicLong();
        final AtomicLong pushed = new AtomicLong();
        final AtomicLong pushFailed = new AtomicLong();

        Sink() {
            pusher = push == null ? null : Thread.ofVirtual().name("peersocket-share-push").start(this::pushLoop);
        }

        long count() {
            return count;
        }

        @Override
        public void accept(Chunk c) {
            count++;
            batch.add(c);
            if (batch.size() >= PUT_BATCH) {
                flushBatch();
            }
        }

        private void flushBatch() {
            if (batch.isEmpty()) {
                return;
            }
            List<Chunk> b = batch;
            batch = new ArrayList<>(PUT_BATCH);
            while (puts.size() >= PUT_IN_FLIGHT) {
                awaitUnchecked(puts.pollFirst(), "storing chunks");
            }
            if (beforeStore != null) {
                beforeStore.accept(b.stream().map(Chunk::address).toList());
            }
            puts.add(store.putAll(b, true).thenAccept(results -> {
                for (var r : results) {
                    if (r.added()) {
                        stored.incrementAndGet();
                    }
                }
                if (pusher != null) {
                    toPush.addAll(b); // pushed once stored, off the store thread
                }
            }));
        }

        /** On the push thread: hands chunks to the push hook, at most PUSH_IN_FLIGHT awaiting receipts. */
        private void pushLoop() {
            try {
                while (true) {
                    Chunk c = toPush.take();
                    if (c == END) {
                        return;
                    }
                    pushSlots.acquire();
                    CompletableFuture<?> f;
                    try {
                        f = push.apply(c);
                    } catch (RuntimeException e) {
                        f = CompletableFuture.failedFuture(e);
                    }
                    pushes.add(f.orTimeout(timeoutMs, TimeUnit.MILLISECONDS).handle((r, e) -> {
                        pushSlots.release();
                        if (e == null) {
                            pushed.incrementAndGet();
                        } else {
                            pushFailed.incrementAndGet();
                            log.debug("push of chunk {} failed: {}", c.address(), e.toString());
                        }
                        return null;
                    }));
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        void finish() throws IOException {
            try {
                flushBatch();
                while (!puts.isEmpty()) {
                    awaitUnchecked(puts.pollFirst(), "storing chunks");
                }
            } catch (UncheckedIOException e) {
                throw e.getCause();
            }
            if (pusher != null) {
                toPush.add(END);
                try {
                    // Each chunk waits at most timeoutMs for a slot, so this bound is generous.
                    if (!pusher.join(java.time.Duration.ofMillis(timeoutMs * 2))) {
                        throw new IOException("pushing chunks did not finish within " + 2 * timeoutMs + " ms");
                    }
                    CompletableFuture.allOf(pushes.toArray(new CompletableFuture<?>[0])).get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted waiting for push receipts");
                } catch (ExecutionException e) {
                    throw new IllegalStateException(e); // handled futures never fail
                }
            }
        }

        private void awaitUnchecked(CompletableFuture<?> f, String what) {
            try {
                f.get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                throw new UncheckedIOException(new IOException(what + " failed: " + e.getCause().getMessage(), e.getCause()));
            } catch (TimeoutException e) {
                throw new UncheckedIOException(new IOException(what + " timed out after " + timeoutMs + " ms"));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new UncheckedIOException(new InterruptedIOException(what + " interrupted"));
            }
        }

        @Override
        public void close() {
            if (pusher != null && pusher.isAlive()) {
                pusher.interrupt(); // a failed share: stop pushing; stored chunks stay pinned
            }
        }
    }

    private static final class UncheckedIOException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UncheckedIOException(IOException cause) {
            super(cause);
        }

        @Override
        public synchronized IOException getCause() {
            return (IOException) super.getCause();
        }
    }

    // ---------------------------------------------------------------------------------------------- get

    /**
     * Fetches and decodes the manifest at {@code root}.
     *
     * @throws InvalidChunkException if it is not a valid manifest (too large, malformed, bad chunks)
     * @throws ChunkNotFoundException if a chunk of it cannot be fetched
     * @throws IOException on timeout or interrupt
     */
    public Manifest manifest(ChunkAddress root) throws IOException {
        return readManifest(root, new long[1]);
    }

    private Manifest readManifest(ChunkAddress root, long[] chunks) throws IOException {
        Objects.requireNonNull(root, "root");
        // Check the size first so a huge tree is never fetched as a manifest.
        Chunk top = new Fetched(fetch, null, null).fetchOne(root, timeoutMs);
        if (top.span() > Manifest.MAX_BYTES) {
            throw new InvalidChunkException("root " + root + " spans " + top.span() + " bytes: too large for a manifest"
                    + " (at most " + Manifest.MAX_BYTES + ")");
        }
        ByteArrayOutputStream bo = new ByteArrayOutputStream((int) top.span());
        Function<ChunkAddress, CompletableFuture<Chunk>> f = new Fetched(fetch, root, top)::apply;
        FileJoiner.Result r = FileJoiner.join(root, top.span(), f, bo, timeoutMs, null);
        chunks[0] += r.chunks();
        try {
            return Manifest.decode(bo.toByteArray());
        } catch (InvalidChunkException e) {
            throw new InvalidChunkException("root " + root + " is not a valid manifest: " + e.getMessage(), e);
        }
    }

    /**
     * Gets what was shared under {@code root} into {@code out}: a file for a single-file share, a directory
     * (created) for a directory share. Every chunk is verified against its address and every file against
     * the size the manifest gives.
     *
     * @throws FileAlreadyExistsException if {@code out} exists
     * @throws InvalidChunkException for a bad manifest or chunk (nothing is left at {@code out}; counted as
     *     {@code content.get.invalid} in the store's counters)
     * @throws ChunkNotFoundException for a missing chunk (nothing is left at {@code out}; counted as
     *     {@code content.get.missing})
     * @throws IOException on write errors, timeouts or interrupts
     */
    public GetResult get(ChunkAddress root, Path out, Progress progress) throws IOException {
        Objects.requireNonNull(out, "out");
        Progress p = progress == null ? Progress.NONE : progress;
        Path target = out.toAbsolutePath().normalize();
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) {
            throw new FileAlreadyExistsException(target.toString(), null, "refusing to overwrite");
        }
        try {
            return getChecked(root, target, p);
        } catch (InvalidChunkException e) {
            store.counters().increment("content.get.invalid");
            throw e;
        } catch (ChunkNotFoundException e) {
            store.counters().increment("content.get.missing");
            throw e;
        }
    }

    private GetResult getChecked(ChunkAddress root, Path target, Progress p) throws IOException {
        long[] chunks = {0};
        Manifest m = readManifest(root, chunks);
        long total = m.totalSize();
        Path parent = target.getParent();
        Files.createDirectories(parent);
        Path tmp = parent.resolve("." + target.getFileName() + ".part-" + Long.toHexString(System.nanoTime()));
        long[] done = {0};
        int files = 0;
        try {
            if (m.kind() == Manifest.Kind.FILE) {
                Manifest.Entry e = m.entries().get(0);
                writeFile(e, tmp, total, done, chunks, p);
                files = 1;
            } else {
                Files.createDirectory(tmp);
                for (Manifest.Entry e : m.entries()) {
                    Path dst = tmp.resolve(e.path()).normalize();
                    if (!dst.startsWith(tmp) || dst.equals(tmp)) {
                        throw new InvalidChunkException("manifest path " + e.path() + " leaves the output directory");
                    }
                    if (e.isDirectory()) {
                        Files.createDirectories(dst);
                    } else {
                        Files.createDirectories(dst.getParent());
                        writeFile(e, dst, total, done, chunks, p);
                        files++;
                    }
                }
                // Directory permissions last, deepest first, so a read-only directory does not block its files.
                List<Manifest.Entry> dirs = new ArrayList<>(m.entries().stream().filter(Manifest.Entry::isDirectory).toList());
                java.util.Collections.reverse(dirs);
                for (Manifest.Entry e : dirs) {
                    setPermissions(tmp.resolve(e.path()), e.permissions());
                }
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            deleteRecursively(tmp);
            throw e;
        }
        p.update(done[0], total, chunks[0]);
        return new GetResult(root, m.kind(), files, done[0], chunks[0]);
    }

    private void writeFile(Manifest.Entry e, Path dst, long total, long[] done, long[] chunks, Progress p)
            throws IOException {
        long before = done[0];
        long chunksBefore = chunks[0];
        AtomicLong leaves = new AtomicLong();
        FileJoiner.Result r;
        try (OutputStream os = Files.newOutputStream(dst, java.nio.file.StandardOpenOption.CREATE_NEW)) {
            OutputStream buffered = new java.io.BufferedOutputStream(os, 1 << 16);
            try {
                r = FileJoiner.join(e.root(), e.size(), fetch, buffered, timeoutMs,
                        written -> p.update(before + written, total, chunksBefore + leaves.incrementAndGet()));
            } catch (InvalidChunkException | ChunkNotFoundException x) {
                throw withPath(x, e.path());
            }
            buffered.flush();
        }
        setPermissions(dst, e.permissions());
        done[0] += r.size();
        chunks[0] += r.chunks();
    }

    private static RuntimeException withPath(RuntimeException x, String path) {
        String msg = "file " + path + ": " + x.getMessage();
        if (x instanceof ChunkNotFoundException c) {
            ChunkNotFoundException n = new ChunkNotFoundException(c.address(), msg);
            n.initCause(x);
            return n;
        }
        return new InvalidChunkException(msg, x);
    }

    private static void setPermissions(Path p, int perms) throws IOException {
        try {
            Set<PosixFilePermission> set = EnumSet.noneOf(PosixFilePermission.class);
            for (PosixFilePermission x : PosixFilePermission.values()) {
                if ((perms & (1 << (8 - x.ordinal()))) != 0) {
                    set.add(x);
                }
            }
            Files.setPosixFilePermissions(p, set);
        } catch (UnsupportedOperationException e) {
            // not a POSIX file system: keep defaults
        }
    }

    private static void deleteRecursively(Path p) {
        try {
            if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            try (var s = Files.walk(p)) {
                for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                    try {
                        Files.setPosixFilePermissions(x, EnumSet.allOf(PosixFilePermission.class));
                    } catch (IOException | UnsupportedOperationException ignored) {
                        // best effort
                    }
                    Files.deleteIfExists(x);
                }
            }
        } catch (IOException e) {
            log.warn("cannot remove partial output {}: {}", p, e.toString());
        }
    }

    /** A fetch hook that answers one address from memory (the manifest root fetched to check its size). */
    private record Fetched(Function<ChunkAddress, CompletableFuture<Chunk>> fetch, ChunkAddress known, Chunk chunk) {
        CompletableFuture<Chunk> apply(ChunkAddress a) {
            return a.equals(known) ? CompletableFuture.completedFuture(chunk) : fetch.apply(a);
        }

        Chunk fetchOne(ChunkAddress a, long timeoutMs) throws IOException {
            Chunk[] got = new Chunk[1];
            // One fetch, checked like any other: the address must match.
            CompletableFuture<Chunk> f;
            try {
                f = fetch.apply(a);
            } catch (RuntimeException e) {
                f = CompletableFuture.failedFuture(e);
            }
            try {
                got[0] = f.get(timeoutMs, TimeUnit.MILLISECONDS);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof ChunkNotFoundException cnf) {
                    throw new ChunkNotFoundException(a, cnf.getMessage());
                }
                if (c instanceof InvalidChunkException ice) {
                    throw ice;
                }
                ChunkNotFoundException x = new ChunkNotFoundException(a, "cannot fetch chunk " + a + ": " + c);
                x.initCause(c);
                throw x;
            } catch (TimeoutException e) {
                throw new IOException("timed out after " + timeoutMs + " ms waiting for chunk " + a);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted waiting for chunk " + a);
            }
            if (got[0] == null) {
                throw new ChunkNotFoundException(a);
            }
            if (!got[0].address().equals(a)) {
                throw new InvalidChunkException("asked for chunk " + a + " but got " + got[0].address());
            }
            return got[0];
        }
    }
}
