package io.peersocket.content;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;

/** Real bytes for tests: a prefix of the running JDK's {@code lib/src.zip} (or {@code lib/modules}). */
public final class RealData {
    private RealData() {}

    /** The file the bytes come from. */
    public static Path source() {
        Path home = Path.of(System.getProperty("java.home"));
        Path src = home.resolve("lib/src.zip");
        return Files.isRegularFile(src) ? src : home.resolve("lib/modules");
    }

    /** The first {@code n} bytes of {@link #source()}. */
    public static byte[] bytes(int n) {
        try (InputStream in = Files.newInputStream(source())) {
            byte[] b = in.readNBytes(n);
            if (b.length != n) {
                throw new IllegalStateException(source() + " has only " + b.length + " bytes, wanted " + n);
            }
            return b;
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + source(), e);
        }
    }

    /** {@code count} distinct leaf chunks cut from real data (4 KiB each). */
    public static java.util.List<Chunk> chunks(int count) {
        byte[] data = bytes(count * Chunk.MAX_PAYLOAD);
        java.util.List<Chunk> out = new java.util.ArrayList<>();
        for (int i = 0; i < count; i++) {
            out.add(Chunk.of(Chunk.MAX_PAYLOAD, data, i * Chunk.MAX_PAYLOAD, Chunk.MAX_PAYLOAD));
        }
        return out;
    }
}
