package io.peersocket.content.files;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.InvalidChunkException;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * What {@code peersocket share} publishes: a list of files (and directories) with their chunk-tree roots.
 * The manifest's bytes are themselves split into a chunk tree; its root address is the shared ROOT.
 *
 * <p>Encoding (docs/wire.md "Manifests"), all integers big-endian:
 * <pre>
 * magic   4 bytes  "psm1"
 * kind    1 byte   0 = a single file, 1 = a directory tree
 * count   u32      number of entries, 1..{@value #MAX_ENTRIES} (a directory may have 0)
 * entries count times:
 *   pathLength u16     1..{@value #MAX_PATH_BYTES}
 *   path       UTF-8   relative, '/'-separated; no empty, "." or ".." segment, no '\' or NUL
 *   mode       u32     S_IFREG (0100000) or S_IFDIR (0040000) | permission bits (at most 0777)
 *   size       u64     file bytes (0 for a directory), at most 2^62
 *   root       32 B    the file's chunk-tree root (all zero for a directory)
 * </pre>
 * Entries are sorted by path (unsigned byte order) with no duplicates; a single-file manifest has exactly
 * one regular-file entry whose path is a plain file name. Nothing may follow the last entry. The encoded
 * manifest is at most {@value #MAX_BYTES} bytes.
 */
public record Manifest(Kind kind, List<Entry> entries) {
    /** Magic: "psm1". */
    static final byte[] MAGIC = {'p', 's', 'm', '1'};
    /** Most entries. */
    public static final int MAX_ENTRIES = 100_000;
    /** Longest path, UTF-8 bytes. */
    public static final int MAX_PATH_BYTES = 1024;
    /** Largest encoded manifest, bytes (16 MiB). */
    public static final int MAX_BYTES = 16 << 20;
    /** File type bits: regular file. */
    public static final int S_IFREG = 0100000;
    /** File type bits: directory. */
    public static final int S_IFDIR = 0040000;
    private static final int HEADER = 4 + 1 + 4;
    private static final int ENTRY_FIXED = 2 + 4 + 8 + ChunkAddress.BYTES;
    private static final byte[] ZERO_ROOT = new byte[ChunkAddress.BYTES];

    /** What was shared. */
    public enum Kind {
        /** One file; {@code get} writes it to OUT. */
        FILE,
        /** A directory tree; {@code get} creates OUT as a directory. */
        DIRECTORY
    }

    /**
     * One file or directory.
     *
     * @param path relative path with '/' separators
     * @param mode {@link #S_IFREG} or {@link #S_IFDIR} with permission bits
     * @param size file bytes (0 for a directory)
     * @param root the file's chunk-tree root; null for a directory
     */
    public record Entry(String path, int mode, long size, ChunkAddress root) {
        public Entry {
            Objects.requireNonNull(path, "path");
            checkPath(path, IllegalArgumentException::new);
            checkMode(path, mode, IllegalArgumentException::new);
            if (isDirectoryMode(mode)) {
                if (size != 0 || root != null) {
                    throw new IllegalArgumentException("directory entry " + path + " must have size 0 and no root");
                }
            } else {
                Objects.requireNonNull(root, "root");
                if (size < 0 || size > Chunk.MAX_SPAN) {
                    throw new IllegalArgumentException("entry " + path + " size out of range: " + size);
                }
            }
        }

        /** True for a directory entry. */
        public boolean isDirectory() {
            return isDirectoryMode(mode);
        }

        /** The permission bits (0..0777). */
        public int permissions() {
            return mode & 0777;
        }
    }

    /**
     * A manifest; entries are sorted here.
     *
     * @throws IllegalArgumentException if the entries break the rules above (duplicates, too many, a FILE
     *     manifest without exactly one file entry, too large when encoded)
     */
    public Manifest {
        Objects.requireNonNull(kind, "kind");
        List<Entry> sorted = new ArrayList<>(entries);
        sorted.sort((a, b) -> Arrays.compareUnsigned(utf8(a.path()), utf8(b.path())));
        entries = List.copyOf(sorted);
        checkShape(kind, entries, IllegalArgumentException::new);
        long bytes = HEADER;
        for (Entry e : entries) {
            bytes += ENTRY_FIXED + utf8(e.path()).length;
        }
        if (bytes > MAX_BYTES) {
            throw new IllegalArgumentException("manifest would be " + bytes + " bytes, more than " + MAX_BYTES);
        }
    }

    /** Total bytes of all files. */
    public long totalSize() {
        long t = 0;
        for (Entry e : entries) {
            t += e.size();
        }
        return t;
    }

    /** The encoding described above. */
    public byte[] encode() {
        ByteArrayOutputStream bo = new ByteArrayOutputStream();
        try (DataOutputStream out = new DataOutputStream(bo)) {
            out.write(MAGIC);
            out.writeByte(kind == Kind.FILE ? 0 : 1);
            out.writeInt(entries.size());
            for (Entry e : entries) {
                byte[] p = utf8(e.path());
                out.writeShort(p.length);
                out.write(p);
                out.writeInt(e.mode());
                out.writeLong(e.size());
                out.write(e.root() == null ? ZERO_ROOT : e.root().toBytes());
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return bo.toByteArray();
    }

    /**
     * Decodes a manifest, checking every bound before use.
     *
     * @throws InvalidChunkException naming the bad part: wrong magic or kind, count out of range, a path that
     *     is empty, too long, not UTF-8 or unsafe, an unknown mode, a size out of range, unsorted or duplicate
     *     entries, a directory with a root, trailing bytes, or more than {@value #MAX_BYTES} bytes
     */
    public static Manifest decode(byte[] data) {
        Objects.requireNonNull(data, "data");
        if (data.length > MAX_BYTES) {
            throw new InvalidChunkException("manifest is " + data.length + " bytes, more than " + MAX_BYTES);
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        if (b.remaining() < HEADER) {
            throw new InvalidChunkException("manifest is " + data.length + " bytes, shorter than its " + HEADER
                    + "-byte header");
        }
        byte[] magic = new byte[4];
        b.get(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new InvalidChunkException("not a manifest: magic is " + java.util.HexFormat.of().formatHex(magic)
                    + ", expected \"psm1\"");
        }
        int k = b.get() & 0xFF;
        if (k > 1) {
            throw new InvalidChunkException("manifest kind " + k + " is unknown (0 = file, 1 = directory)");
        }
        Kind kind = k == 0 ? Kind.FILE : Kind.DIRECTORY;
        long count = b.getInt() & 0xFFFFFFFFL;
        if (count > MAX_ENTRIES) {
            throw new InvalidChunkException("manifest has " + count + " entries, more than " + MAX_ENTRIES);
        }
        if (count * ENTRY_FIXED > b.remaining()) {
            throw new InvalidChunkException("manifest claims " + count + " entries but has only " + b.remaining()
                    + " bytes left");
        }
        List<Entry> entries = new ArrayList<>((int) count);
        byte[] previous = null;
        for (int idx = 0; idx < count; idx++) {
            final int i = idx;
            if (b.remaining() < 2) {
                throw new InvalidChunkException("manifest entry " + i + " is truncated");
            }
            int len = b.getShort() & 0xFFFF;
            if (len == 0 || len > MAX_PATH_BYTES) {
                throw new InvalidChunkException("manifest entry " + i + " path length " + len + " is not in 1.."
                        + MAX_PATH_BYTES);
            }
            if (b.remaining() < len + ENTRY_FIXED - 2) {
                throw new InvalidChunkException("manifest entry " + i + " is truncated");
            }
            byte[] p = new byte[len];
            b.get(p);
            String path;
            try {
                path = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                        .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(p)).toString();
            } catch (CharacterCodingException e) {
                throw new InvalidChunkException("manifest entry " + i + " path is not valid UTF-8");
            }
            checkPath(path, m -> new InvalidChunkException("manifest entry " + i + ": " + m));
            if (previous != null && Arrays.compareUnsigned(previous, p) >= 0) {
                throw new InvalidChunkException("manifest entry " + i + " (" + path + ") is "
                        + (Arrays.equals(previous, p) ? "a duplicate" : "out of order"));
            }
            previous = p;
            int mode = b.getInt();
            checkMode(path, mode, m -> new InvalidChunkException("manifest entry " + i + ": " + m));
            long size = b.getLong();
            byte[] root = new byte[ChunkAddress.BYTES];
            b.get(root);
            if (isDirectoryMode(mode)) {
                if (size != 0 || !Arrays.equals(root, ZERO_ROOT)) {
                    throw new InvalidChunkException("manifest entry " + i + " (" + path
                            + ") is a directory but has a size or root");
                }
                entries.add(new Entry(path, mode, 0, null));
            } else {
                if (size < 0 || size > Chunk.MAX_SPAN) {
                    throw new InvalidChunkException("manifest entry " + i + " (" + path + ") size "
                            + Long.toUnsignedString(size) + " is out of range");
                }
                entries.add(new Entry(path, mode, size, ChunkAddress.of(root)));
            }
        }
        if (b.hasRemaining()) {
            throw new InvalidChunkException("manifest has " + b.remaining() + " bytes after its last entry");
        }
        checkShape(kind, entries, InvalidChunkException::new);
        return new Manifest(kind, entries);
    }

    // ---------------------------------------------------------------------------------------------- rules

    private static boolean isDirectoryMode(int mode) {
        return (mode & ~0777) == S_IFDIR;
    }

    private static <E extends RuntimeException> void checkMode(String path, int mode,
            java.util.function.Function<String, E> error) {
        int type = mode & ~0777;
        if (type != S_IFREG && type != S_IFDIR) {
            throw error.apply("entry " + path + " has mode 0" + Integer.toOctalString(mode)
                    + ", not a regular file (0100xxx) or directory (0040xxx)");
        }
    }

    private static <E extends RuntimeException> void checkShape(Kind kind, List<Entry> entries,
            java.util.function.Function<String, E> error) {
        if (entries.size() > MAX_ENTRIES) {
            throw error.apply("manifest has " + entries.size() + " entries, more than " + MAX_ENTRIES);
        }
        for (int i = 1; i < entries.size(); i++) {
            if (entries.get(i).path().equals(entries.get(i - 1).path())) {
                throw error.apply("manifest lists " + entries.get(i).path() + " twice");
            }
        }
        if (kind == Kind.FILE) {
            if (entries.size() != 1 || entries.get(0).isDirectory() || entries.get(0).path().contains("/")) {
                throw error.apply("a single-file manifest must have exactly one file entry with a plain name");
            }
        }
    }

    /** Paths: relative, '/'-separated, no empty/"."/".." segments, no backslash or NUL, at most 1,024 bytes. */
    static <E extends RuntimeException> void checkPath(String path, java.util.function.Function<String, E> error) {
        if (path.isEmpty()) {
            throw error.apply("empty path");
        }
        if (utf8(path).length > MAX_PATH_BYTES) {
            throw error.apply("path longer than " + MAX_PATH_BYTES + " bytes");
        }
        if (path.indexOf('\\') >= 0 || path.indexOf('\0') >= 0) {
            throw error.apply("path " + printable(path) + " contains a backslash or NUL");
        }
        for (String seg : path.split("/", -1)) {
            if (seg.isEmpty() || seg.equals(".") || seg.equals("..")) {
                throw error.apply("path " + printable(path) + " is not a plain relative path (segment \"" + seg + "\")");
            }
        }
    }

    private static String printable(String s) {
        String t = s.length() > 80 ? s.substring(0, 80) + "…" : s;
        return "\"" + t.replaceAll("\\p{Cntrl}", "?") + "\"";
    }

    private static byte[] utf8(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}
