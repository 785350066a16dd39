package io.peersocket.content.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkNotFoundException;
import io.peersocket.content.InvalidChunkException;
import io.peersocket.content.RealData;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Splitting real data into chunk trees and joining them back; malformed trees are rejected. */
class FileTreeTest {
    private static final long TIMEOUT = 10_000;

    /** Chunks in memory, as a fetch hook. */
    static final class MapChunks {
        final Map<ChunkAddress, Chunk> map = new HashMap<>();

        void accept(Chunk c) {
            map.put(c.address(), c);
        }

        Function<ChunkAddress, CompletableFuture<Chunk>> fetch() {
            return a -> {
                Chunk c = map.get(a);
                return c == null ? CompletableFuture.failedFuture(new ChunkNotFoundException(a))
                        : CompletableFuture.completedFuture(c);
            };
        }
    }

    private static byte[] join(ChunkAddress root, long size, Function<ChunkAddress, CompletableFuture<Chunk>> f)
            throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        FileJoiner.join(root, size, f, out, TIMEOUT, null);
        return out.toByteArray();
    }

    @Test
    void roundTripsAtTreeShapeBoundaries() throws Exception {
        byte[] real = RealData.bytes(130 * 4096 + 100);
        int[] sizes = {0, 1, 31, 4095, 4096, 4097, 8192, 127 * 4096 + 1, 128 * 4096 - 1, 128 * 4096, 128 * 4096 + 1,
                129 * 4096 + 5, 130 * 4096 + 100};
        for (int size : sizes) {
            MapChunks chunks = new MapChunks();
            byte[] data = Arrays.copyOf(real, size);
            FileSplitter.Result r = FileSplitter.split(data, chunks::accept);
            assertThat(r.size()).isEqualTo(size);
            assertThat(r.chunks()).as("size %d", size).isEqualTo(chunks.map.size() + duplicates(data));
            assertThat(join(r.root(), size, chunks.fetch())).as("size %d", size).isEqualTo(data);
            // Deterministic: the same data gives the same root.
            assertThat(FileSplitter.split(data, c -> {}).root()).isEqualTo(r.root());
        }
        assertThat(FileSplitter.split(new byte[0], c -> {}).root()).isEqualTo(Chunk.of(new byte[0]).address());
        assertThat(FileSplitter.split(Arrays.copyOf(real, 100), c -> {}).root())
                .isEqualTo(Chunk.of(Arrays.copyOf(real, 100)).address());
    }

    /** Leaves with equal content (none in compressed real data, but be exact) are one chunk. */
    private static int duplicates(byte[] data) {
        Map<ChunkAddress, Integer> seen = new HashMap<>();
        int dup = 0;
        for (int off = 0; off < Math.max(1, data.length); off += 4096) {
            int n = Math.min(4096, data.length - off);
            if (seen.merge(Chunk.of(Arrays.copyOfRange(data, off, off + n)).address(), 1, Integer::sum) > 1) {
                dup++;
            }
        }
        return dup;
    }

    @Test
    void threeLevelTreeFromARealFileStreams() throws Exception {
        // More than 128 * 128 leaves: two levels of intermediate chunks. Streamed from the JDK's modules file.
        long size = 128L * 128 * 4096 + 3 * 4096 + 7;
        Path src = Path.of(System.getProperty("java.home"), "lib", "modules");
        MapChunks chunks = new MapChunks();
        MessageDigest in = MessageDigest.getInstance("SHA-256");
        FileSplitter.Result r;
        try (InputStream s = new java.security.DigestInputStream(
                new BoundedInput(Files.newInputStream(src), size), in)) {
            r = FileSplitter.split(s, chunks::accept, null);
        }
        assertThat(r.size()).isEqualTo(size);
        Chunk root = chunks.map.get(r.root());
        assertThat(root.span()).isEqualTo(size);
        assertThat(FileJoiner.childSpan(size)).isEqualTo(128L * 128 * 4096);
        MessageDigest outDigest = MessageDigest.getInstance("SHA-256");
        long[] last = {0};
        FileJoiner.Result j = FileJoiner.join(r.root(), size, chunks.fetch(),
                new java.security.DigestOutputStream(java.io.OutputStream.nullOutputStream(), outDigest), TIMEOUT,
                b -> last[0] = b);
        assertThat(j.size()).isEqualTo(size);
        assertThat(last[0]).isEqualTo(size);
        assertThat(outDigest.digest()).isEqualTo(in.digest());
    }

    @Test
    void wrongChunkFromFetcherIsRejected() throws Exception {
        MapChunks chunks = new MapChunks();
        byte[] data = RealData.bytes(3 * 4096);
        FileSplitter.Result r = FileSplitter.split(data, chunks::accept);
        Chunk other = Chunk.of(RealData.bytes(17));
        Function<ChunkAddress, CompletableFuture<Chunk>> lying = a -> a.equals(r.root())
                ? chunks.fetch().apply(a) : CompletableFuture.completedFuture(other);
        assertThatThrownBy(() -> join(r.root(), -1, lying))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("asked for chunk")
                .hasMessageContaining(other.address().toHex());
    }

    @Test
    void missingChunkIsReportedByAddress() throws Exception {
        MapChunks chunks = new MapChunks();
        byte[] data = RealData.bytes(5 * 4096);
        FileSplitter.Result r = FileSplitter.split(data, chunks::accept);
        ChunkAddress leaf = Chunk.of(Arrays.copyOfRange(data, 2 * 4096, 3 * 4096)).address();
        chunks.map.remove(leaf);
        assertThatThrownBy(() -> join(r.root(), data.length, chunks.fetch()))
                .isInstanceOf(ChunkNotFoundException.class).hasMessageContaining(leaf.toHex())
                .hasMessageContaining("depth 1");
    }

    @Test
    void selfSimilarTreeThatWouldLoopIsRejected() throws Exception {
        // A cycle needs a hash preimage, so the closest a forger gets is a chain of chunks that all claim the
        // same span ("loop" by repetition): each points at a chunk as big as itself. The span rule stops it.
        long span = 10 * 4096;
        Chunk leaf = Chunk.of(RealData.bytes(4096));
        byte[] p = new byte[10 * 32];
        for (int i = 0; i < 10; i++) {
            leaf.address().copyTo(p, i * 32);
        }
        Chunk inner = Chunk.of(span, p);
        byte[] q = new byte[10 * 32];
        for (int i = 0; i < 10; i++) {
            inner.address().copyTo(q, i * 32);
        }
        Chunk outer = Chunk.of(span, q);
        MapChunks chunks = new MapChunks();
        chunks.accept(leaf);
        chunks.accept(inner);
        chunks.accept(outer);
        assertThatThrownBy(() -> join(outer.address(), -1, chunks.fetch()))
                .isInstanceOf(InvalidChunkException.class)
                .hasMessageContaining("has span " + span + " but the tree above it requires 4096");
        // The well-formed inner tree itself joins.
        assertThat(join(inner.address(), span, chunks.fetch())).hasSize((int) span);
    }

    @Test
    void malformedIntermediateAndLeafAreRejected() throws Exception {
        Chunk leaf = Chunk.of(RealData.bytes(4096));
        // Span 3 * 4096 needs 3 child addresses; give 2.
        byte[] p = new byte[64];
        leaf.address().copyTo(p, 0);
        leaf.address().copyTo(p, 32);
        Chunk bad = Chunk.of(3 * 4096, p);
        MapChunks chunks = new MapChunks();
        chunks.accept(leaf);
        chunks.accept(bad);
        assertThatThrownBy(() -> join(bad.address(), -1, chunks.fetch()))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("must hold 3 child addresses");
        // A leaf whose span exceeds its payload (span 4000, 10 bytes) is not a valid leaf.
        Chunk shortLeaf = Chunk.of(4000, RealData.bytes(10));
        chunks.accept(shortLeaf);
        assertThatThrownBy(() -> join(shortLeaf.address(), -1, chunks.fetch()))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("has span 4000 but 10 payload bytes");
        // The size the manifest promised must match.
        assertThatThrownBy(() -> join(leaf.address(), 4095, chunks.fetch()))
                .isInstanceOf(InvalidChunkException.class).hasMessageContaining("requires 4095");
    }

    /** The first {@code limit} bytes of a stream. */
    private static final class BoundedInput extends java.io.FilterInputStream {
        private long left;

        BoundedInput(InputStream in, long limit) {
            super(in);
            this.left = limit;
        }

        @Override
        public int read() throws IOException {
            if (left <= 0) {
                return -1;
            }
            int b = super.read();
            if (b >= 0) {
                left--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (left <= 0) {
                return -1;
            }
            int n = super.read(b, off, (int) Math.min(len, left));
            if (n > 0) {
                left -= n;
            }
            return n;
        }
    }
}
