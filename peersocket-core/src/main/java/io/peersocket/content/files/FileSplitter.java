package io.peersocket.content.files;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;

/**
 * Splits a byte stream into a chunk tree (docs/wire.md "File trees"; Swarm's chunker): the data is cut into
 * 4,096-byte leaf chunks (the last one shorter; an empty stream is one empty leaf); every 128 consecutive
 * addresses of a level are packed into an intermediate chunk whose payload is their concatenation and whose
 * span is the number of data bytes beneath it; a level's leftover single address is carried up unwrapped. The
 * root address names the whole stream. Chunks are handed to the sink as soon as they are made, leaves before
 * the intermediate chunk that refers to them.
 *
 * <p>Not thread-safe: one instance splits one stream.
 */
public final class FileSplitter {
    /** Addresses per intermediate chunk. */
    public static final int BRANCHES = Chunk.MAX_PAYLOAD / ChunkAddress.BYTES;

    /**
     * The outcome of a split.
     *
     * @param root the tree's root address
     * @param size data bytes split
     * @param chunks chunks handed to the sink (leaves and intermediate chunks; repeats counted each time)
     */
    public record Result(ChunkAddress root, long size, long chunks) {}

    private final Consumer<Chunk> sink;
    /** Per level: pending addresses (raw bytes) and spans. */
    private final List<Level> levels = new ArrayList<>();
    private long chunks;

    private FileSplitter(Consumer<Chunk> sink) {
        this.sink = sink;
    }

    /**
     * Splits {@code in} (read to its end, not closed) and hands every chunk to {@code sink}.
     *
     * @param progress told the number of data bytes consumed so far after each leaf (may be null)
     * @throws IOException from {@code in}
     * @throws IllegalArgumentException if the stream is longer than {@link Chunk#MAX_SPAN} bytes
     */
    public static Result split(InputStream in, Consumer<Chunk> sink, java.util.function.LongConsumer progress)
            throws IOException {
        Objects.requireNonNull(in, "in");
        FileSplitter s = new FileSplitter(Objects.requireNonNull(sink, "sink"));
        byte[] buf = new byte[Chunk.MAX_PAYLOAD];
        long size = 0;
        boolean any = false;
        while (true) {
            int n = in.readNBytes(buf, 0, buf.length);
            if (n == 0 && any) {
                break;
            }
            any = true;
            size += n;
            if (size > Chunk.MAX_SPAN) {
                throw new IllegalArgumentException("stream is longer than " + Chunk.MAX_SPAN + " bytes");
            }
            s.add(0, s.emit(Chunk.of(n, buf, 0, n)), n);
            if (progress != null) {
                progress.accept(size);
            }
            if (n < buf.length) {
                break;
            }
        }
        ChunkAddress root = s.finish();
        return new Result(root, size, s.chunks);
    }

    /** Splits a byte array (see {@link #split(InputStream, Consumer, java.util.function.LongConsumer)}). */
    public static Result split(byte[] data, Consumer<Chunk> sink) {
        try {
            return split(new java.io.ByteArrayInputStream(data), sink, null);
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private ChunkAddress emit(Chunk c) {
        chunks++;
        sink.accept(c);
        return c.address();
    }

    private void add(int level, ChunkAddress address, long span) {
        while (levels.size() <= level) {
            levels.add(new Level());
        }
        Level l = levels.get(level);
        address.copyTo(l.payload, l.count * ChunkAddress.BYTES);
        l.count++;
        l.span += span;
        if (l.count == BRANCHES) {
            long s = l.span;
            ChunkAddress up = emit(Chunk.of(s, l.payload, 0, l.count * ChunkAddress.BYTES));
            l.count = 0;
            l.span = 0;
            add(level + 1, up, s);
        }
    }

    private ChunkAddress finish() {
        for (int i = 0; ; i++) {
            Level l = levels.get(i);
            boolean higher = false;
            for (int j = i + 1; j < levels.size(); j++) {
                higher |= levels.get(j).count > 0;
            }
            if (l.count == 0) {
                continue; // a full level was wrapped already; its address is higher up
            }
            if (!higher && l.count == 1) {
                return ChunkAddress.of(l.payload, 0);
            }
            ChunkAddress up;
            long span = l.span;
            if (l.count == 1) {
                up = ChunkAddress.of(l.payload, 0); // carried up unwrapped
            } else {
                up = emit(Chunk.of(span, l.payload, 0, l.count * ChunkAddress.BYTES));
            }
            l.count = 0;
            l.span = 0;
            add(i + 1, up, span);
        }
    }

    private static final class Level {
        final byte[] payload = new byte[Chunk.MAX_PAYLOAD];
        int count;
        long span;
    }
}
