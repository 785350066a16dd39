package io.peersocket.content.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.InvalidChunkException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;

class ManifestTest {
    private static final ChunkAddress A = Chunk.of("a".getBytes(StandardCharsets.UTF_8)).address();
    private static final ChunkAddress B = Chunk.of("b".getBytes(StandardCharsets.UTF_8)).address();

    private static Manifest sample() {
        return new Manifest(Manifest.Kind.DIRECTORY, List.of(
                new Manifest.Entry("docs/readme.txt", Manifest.S_IFREG | 0644, 1, A),
                new Manifest.Entry("bin", Manifest.S_IFDIR | 0755, 0, null),
                new Manifest.Entry("bin/tool", Manifest.S_IFREG | 0755, 1, B),
                new Manifest.Entry("empty", Manifest.S_IFDIR | 0700, 0, null)));
    }

    @Test
    void roundTripSortsEntries() {
        Manifest m = sample();
        assertThat(m.entries()).extracting(Manifest.Entry::path)
                .containsExactly("bin", "bin/tool", "docs/readme.txt", "empty");
        byte[] enc = m.encode();
        assertThat(Arrays.copyOf(enc, 4)).isEqualTo("psm1".getBytes(StandardCharsets.US_ASCII));
        Manifest d = Manifest.decode(enc);
        assertThat(d).isEqualTo(m);
        assertThat(d.encode()).isEqualTo(enc);
        assertThat(d.totalSize()).isEqualTo(2);
        assertThat(d.entries().get(1).permissions()).isEqualTo(0755);
    }

    @Test
    void constructorRejectsBadEntries() {
        assertThatThrownBy(() -> new Manifest.Entry("../x", Manifest.S_IFREG | 0644, 1, A))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("segment \"..\"");
        assertThatThrownBy(() -> new Manifest.Entry("/abs", Manifest.S_IFREG | 0644, 1, A))
                .hasMessageContaining("segment \"\"");
        assertThatThrownBy(() -> new Manifest.Entry("a\\b", Manifest.S_IFREG, 1, A)).hasMessageContaining("backslash");
        assertThatThrownBy(() -> new Manifest.Entry("x", 0120777, 1, A)).hasMessageContaining("not a regular file");
        assertThatThrownBy(() -> new Manifest(Manifest.Kind.FILE, List.of(
                new Manifest.Entry("a/b", Manifest.S_IFREG | 0644, 1, A))))
                .hasMessageContaining("exactly one file entry with a plain name");
        assertThatThrownBy(() -> new Manifest(Manifest.Kind.DIRECTORY, List.of(
                new Manifest.Entry("a", Manifest.S_IFREG | 0644, 1, A),
                new Manifest.Entry("a", Manifest.S_IFREG | 0644, 1, B))))
                .hasMessageContaining("lists a twice");
    }

    @Test
    void decodeRejectsMalformedInputNamingThePart() {
        byte[] good = sample().encode();
        byte[] magic = good.clone();
        magic[0] = 'x';
        assertThatThrownBy(() -> Manifest.decode(magic)).isInstanceOf(InvalidChunkException.class)
                .hasMessageContaining("not a manifest");
        byte[] kind = good.clone();
        kind[4] = 7;
        assertThatThrownBy(() -> Manifest.decode(kind)).hasMessageContaining("kind 7");
        byte[] count = good.clone();
        ByteBuffer.wrap(count).putInt(5, 1_000_000);
        assertThatThrownBy(() -> Manifest.decode(count)).hasMessageContaining("more than 100000");
        byte[] many = good.clone();
        ByteBuffer.wrap(many).putInt(5, 90_000);
        assertThatThrownBy(() -> Manifest.decode(many)).hasMessageContaining("claims 90000 entries");
        assertThatThrownBy(() -> Manifest.decode(Arrays.copyOf(good, good.length - 1)))
                .hasMessageContaining("truncated");
        assertThatThrownBy(() -> Manifest.decode(Arrays.copyOf(good, good.length + 1)))
                .hasMessageContaining("1 bytes after its last entry");
        assertThatThrownBy(() -> Manifest.decode(new byte[3])).hasMessageContaining("shorter than its 9-byte header");
        // Swap the first two entries' order by renaming "bin" to "zzz": out of order.
        byte[] order = good.clone();
        int pathAt = 9 + 2;
        order[pathAt] = 'z';
        order[pathAt + 1] = 'z';
        order[pathAt + 2] = 'z';
        assertThatThrownBy(() -> Manifest.decode(order)).hasMessageContaining("out of order");
        // A path with "..": "bin" -> "..".
        byte[] dots = good.clone();
        dots[pathAt] = '.';
        dots[pathAt + 1] = '.';
        dots[pathAt + 2] = '/';
        assertThatThrownBy(() -> Manifest.decode(dots)).hasMessageContaining("not a plain relative path");
        // A directory entry with a root.
        byte[] dirRoot = good.clone();
        dirRoot[pathAt + 3 + 4 + 8] = 1;
        assertThatThrownBy(() -> Manifest.decode(dirRoot)).hasMessageContaining("is a directory but has a size or root");
        // Invalid UTF-8.
        byte[] utf = good.clone();
        utf[pathAt] = (byte) 0xC3;
        utf[pathAt + 1] = (byte) 0x28;
        assertThatThrownBy(() -> Manifest.decode(utf)).hasMessageContaining("not valid UTF-8");
        assertThatThrownBy(() -> Manifest.decode(new byte[Manifest.MAX_BYTES + 1])).hasMessageContaining("more than");
    }
}
