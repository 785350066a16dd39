package io.peersocket.content.files;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkNotFoundException;
import io.peersocket.content.InvalidChunkException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Function;
import java.util.function.LongConsumer;

/**
 * Reassembles the data of a chunk tree made by {@link FileSplitter}, streaming it to an output in order.
 *
 * <p>Every chunk is checked: it must be the chunk asked for (its address; a {@link Chunk} always matches its
 * content), and its span must be the one the tree's shape requires (for a tree of span {@code s > 4096} the
 * children cover {@code c = 4096·128^k} bytes each, {@code k} the smallest with {@code 128·c >= s}, the last
 * child the rest; a leaf's payload length equals its span). Since every child spans strictly less than its
 * parent, a tree cannot loop and its depth is at most {@value #MAX_DEPTH}; a cycle or a bogus span is
 * reported as an {@link InvalidChunkException} naming the chunk, a missing chunk as a
 * {@link ChunkNotFoundException}. Children are fetched ahead (all children of each intermediate chunk on
 * the current path) so a network fetcher overlaps round trips.
 *
 * <p>Blocking; call from a virtual thread or another thread that may block.
 */
public final class FileJoiner {
    /** Deepest tree possible for {@link Chunk#MAX_SPAN}: 8 levels of intermediate chunks above the leaves. */
    public static final int MAX_DEPTH = 9;

    private FileJoiner() {}

    /**
     * The outcome of a join.
     *
     * @param size data bytes written
     * @param chunks chunks fetched and checked (leaves and intermediate chunks)
     */
    public record Result(long size, long chunks) {}

    /**
     * Streams the data under {@code root} to {@code out} (not closed).
     *
     * @param expectedSize the size the tree must have (e.g. from a manifest), or -1 for any
     * @param fetch returns the chunk at an address; fails (e.g. with {@link ChunkNotFoundException}) if it
     *     cannot
     * @param timeoutMs how long to wait for any one chunk
     * @param progress told the data bytes written so far after each leaf (may be null)
     * @throws InvalidChunkException if a chunk is not the one asked for or the tree is malformed
     * @throws ChunkNotFoundException if a chunk cannot be fetched (also for fetch failures, with the cause)
     * @throws IOException from {@code out}, or on timeout/interrupt
     */
    public static Result join(ChunkAddress root, long expectedSize, Function<ChunkAddress, CompletableFuture<Chunk>> fetch,
            OutputStream out, long timeoutMs, LongConsumer progress) throws IOException {
        Objects.requireNonNull(root, "root");
        Objects.requireNonNull(fetch, "fetch");
        Objects.requireNonNull(out, "out");
        Deque<Node> queue = new ArrayDeque<>();
        queue.add(new Node(root, expectedSize, 0, fetchSafely(fetch, root)));
        long written = 0;
        long chunks = 0;
        while (!queue.isEmpty()) {
            Node n = queue.pollFirst();
            Chunk c = await(n, timeoutMs);
            chunks++;
            if (!c.address().equals(n.address)) {
                throw new InvalidChunkException("asked for chunk " + n.address + " but got " + c.address());
            }
            long span = c.span();
            if (n.expectedSpan >= 0 && span != n.expectedSpan) {
                throw new InvalidChunkException("chunk " + n.address + " at depth " + n.depth + " has span " + span
                        + " but the tree above it requires " + n.expectedSpan);
            }
            if (span <= Chunk.MAX_PAYLOAD) {
                if (c.payloadLength() != span) {
                    throw new InvalidChunkException("leaf chunk " + n.address + " has span " + span + " but "
                            + c.payloadLength() + " payload bytes");
                }
                out.write(c.payload());
                written += span;
                if (progress != null) {
                    progress.accept(written);
                }
                continue;
            }
            if (n.depth + 1 >= MAX_DEPTH) {
                throw new InvalidChunkException("chunk tree deeper than " + MAX_DEPTH + " levels at " + n.address);
            }
            long childSpan = childSpan(span);
            int count = (int) ((span + childSpan - 1) / childSpan);
            if (c.payloadLength() != count * ChunkAddress.BYTES) {
                throw new InvalidChunkException("intermediate chunk " + n.address + " with span " + span + " must hold "
                        + count + " child addresses (" + count * ChunkAddress.BYTES + " bytes) but holds "
                        + c.payloadLength() + " bytes");
            }
            byte[] p = c.payload();
            Node[] children = new Node[count];
            for (int i = 0; i < count; i++) {
                ChunkAddress a = ChunkAddress.of(p, i * ChunkAddress.BYTES);
                long s = i < count - 1 ? childSpan : span - (long) (count - 1) * childSpan;
                children[i] = new Node(a, s, n.depth + 1, fetchSafely(fetch, a));
            }
            for (int i = count - 1; i >= 0; i--) {
                queue.addFirst(children[i]);
            }
        }
        if (expectedSize >= 0 && written != expectedSize) {
            throw new InvalidChunkException("tree " + root + " holds " + written + " bytes, expected " + expectedSize);
        }
        return new Result(written, chunks);
    }

    /**
     * The span each child of an intermediate chunk of span {@code span} (> 4,096) covers, but the last:
     * {@code 4096·128^k} with {@code k >= 0} smallest such that 128 children cover {@code span}.
     */
    public static long childSpan(long span) {
        long c = Chunk.MAX_PAYLOAD;
        long needed = (span + FileSplitter.BRANCHES - 1) / FileSplitter.BRANCHES; // ceil(span / 128)
        while (c < needed) {
            c *= FileSplitter.BRANCHES;
        }
        return c;
    }

    private static CompletableFuture<Chunk> fetchSafely(Function<ChunkAddress, CompletableFuture<Chunk>> fetch,
            ChunkAddress a) {
        try {
            CompletableFuture<Chunk> f = fetch.apply(a);
            return f == null ? CompletableFuture.failedFuture(new ChunkNotFoundException(a)) : f;
        } catch (RuntimeException e) {
            return CompletableFuture.failedFuture(e);
        }
    }

    private static Chunk await(Node n, long timeoutMs) throws IOException {
        try {
            Chunk c = n.future.get(timeoutMs, TimeUnit.MILLISECONDS);
            if (c == null) {
                throw new ChunkNotFoundException(n.address);
            }
            return c;
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof java.util.concurrent.CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            if (cause instanceof ChunkNotFoundException cnf) {
                throw new ChunkNotFoundException(n.address, cnf.getMessage()
                        + (n.depth > 0 ? " (at depth " + n.depth + " of the tree)" : ""));
            }
            if (cause instanceof InvalidChunkException ice) {
                throw new InvalidChunkException(ice.getMessage(), ice);
            }
            ChunkNotFoundException x = new ChunkNotFoundException(n.address,
                    "cannot fetch chunk " + n.address + ": " + cause);
            x.initCause(cause);
            throw x;
        } catch (TimeoutException e) {
            throw new IOException("timed out after " + timeoutMs + " ms waiting for chunk " + n.address);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted waiting for chunk " + n.address);
        }
    }

    private record Node(ChunkAddress address, long expectedSpan, int depth, CompletableFuture<Chunk> future) {}
}
