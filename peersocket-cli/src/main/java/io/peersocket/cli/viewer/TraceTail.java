package io.peersocket.cli.viewer;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * Follows one node's {@code traces.jsonl} as it grows: each {@link #poll} reads the complete lines appended
 * since the last poll (at most {@link #MAX_READ_BYTES} per call) and adds the valid spans to a {@link SpanStore}.
 * A partial last line waits for its newline; a line longer than {@link Spans#MAX_LINE_BYTES} or not a valid span
 * is skipped and counted. When the node rotates the file (renames it to {@code traces.jsonl.1} and starts a new
 * one) the rest of the renamed file is read first, then the new file from its start; a file truncated in place
 * is read again from its start. A missing file is not an error (the node may not have written a span yet).
 *
 * <p>Not thread-safe: call {@link #poll} from one thread.
 */
public final class TraceTail {
    /** Most bytes read by one poll. */
    public static final int MAX_READ_BYTES = 4 << 20;

    private final Path file;
    private final SpanStore store;
    private final ByteArrayOutputStream partial = new ByteArrayOutputStream();
    private long position;
    private Object fileKey;
    private boolean skippingLongLine;
    private long added, rejected;
    private String lastError;

    /**
     * @param file the traces file (need not exist yet)
     * @param store where spans go
     */
    public TraceTail(Path file, SpanStore store) {
        this.file = file;
        this.store = store;
    }

    /**
     * Reads what was appended since the last poll.
     *
     * @return number of spans added to the store
     * @throws IOException if the file exists but cannot be read
     */
    public int poll() throws IOException {
        BasicFileAttributes attrs;
        try {
            attrs = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            return 0;
        }
        int count = 0;
        Object key = attrs.fileKey();
        if (fileKey != null && key != null && !key.equals(fileKey)) { // rotated or replaced
            Path rotated = file.resolveSibling(file.getFileName() + ".1");
            try {
                if (fileKey.equals(Files.readAttributes(rotated, BasicFileAttributes.class).fileKey())) {
                    // Finish the old file (bounded: at most a few reads' worth).
                    for (int i = 0; i < 16; i++) {
                        int before = count;
                        long was = position;
                        count += read(rotated, Files.size(rotated));
                        if (position == was && count == before) break;
                    }
                }
            } catch (NoSuchFileException ignored) {
                // gone already: what it held after our last poll is lost
            }
            restart();
        } else if (attrs.size() < position) { // truncated in place
            restart();
        }
        fileKey = key;
        return count + read(file, attrs.size());
    }

    private void restart() {
        position = 0;
        partial.reset();
        skippingLongLine = false;
    }

    /** Reads what {@code f} holds past {@link #position} (at most {@link #MAX_READ_BYTES}). */
    private int read(Path f, long size) throws IOException {
        if (size <= position) return 0;
        int n = (int) Math.min(size - position, MAX_READ_BYTES);
        ByteBuffer buf = ByteBuffer.allocate(n);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            while (buf.hasRemaining()) {
                int r = ch.read(buf, position + buf.position());
                if (r < 0) break;
            }
        } catch (NoSuchFileException e) {
            return 0;
        }
        int read = buf.position();
        position += read;
        byte[] bytes = buf.array();
        int count = 0;
        int lineStart = 0;
        for (int i = 0; i < read; i++) {
            if (bytes[i] != '\n') continue;
            count += line(bytes, lineStart, i);
            lineStart = i + 1;
        }
        // Keep the unfinished tail for the next poll, bounded.
        int rest = read - lineStart;
        if (skippingLongLine) return count;
        if (partial.size() + rest > Spans.MAX_LINE_BYTES) {
            partial.reset();
            skippingLongLine = true;
            reject("span line longer than " + Spans.MAX_LINE_BYTES + " bytes");
        } else {
            partial.write(bytes, lineStart, rest);
        }
        return count;
    }

    private int line(byte[] bytes, int from, int to) {
        if (skippingLongLine) { // the end of a line already rejected as too long
            skippingLongLine = false;
            partial.reset();
            return 0;
        }
        String line;
        if (partial.size() > 0) {
            if (partial.size() + (to - from) > Spans.MAX_LINE_BYTES) {
                partial.reset();
                reject("span line longer than " + Spans.MAX_LINE_BYTES + " bytes");
                return 0;
            }
            partial.write(bytes, from, to - from);
            line = partial.toString(StandardCharsets.UTF_8);
            partial.reset();
        } else {
            if (to - from > Spans.MAX_LINE_BYTES) {
                reject("span line longer than " + Spans.MAX_LINE_BYTES + " bytes");
                return 0;
            }
            line = new String(bytes, from, to - from, StandardCharsets.UTF_8);
        }
        line = line.strip();
        if (line.isEmpty()) return 0;
        try {
            store.add(Spans.parse(line));
            added++;
            return 1;
        } catch (IllegalArgumentException e) {
            reject(e.getMessage());
            return 0;
        }
    }

    private void reject(String why) {
        rejected++;
        lastError = why;
    }

    /** The file followed. */
    public Path file() { return file; }

    /** Spans added so far. */
    public long added() { return added; }

    /** Lines skipped so far (too long or not a valid span). */
    public long rejected() { return rejected; }

    /** Why the last skipped line was skipped, or null. */
    public String lastError() { return lastError; }
}
