package io.peersocket.content.files;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.content.Chunk;
import io.peersocket.content.ChunkAddress;
import io.peersocket.content.ChunkNotFoundException;
import io.peersocket.content.ChunkStore;
import io.peersocket.content.InvalidChunkException;
import io.peersocket.content.RealData;
import io.peersocket.store.Store;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** share → get through a real chunk store (SQLite file), with real files from the system. */
class ContentFilesTest {
    @TempDir
    Path tmp;

    /** A copy of some of /usr/share/doc (real text and gzip files) plus an empty dir and a private file. */
    private Path realTree() throws IOException {
        Path src = tmp.resolve("src");
        Files.createDirectories(src);
        Path doc = Path.of("/usr/share/doc");
        int copied = 0;
        if (Files.isDirectory(doc)) {
            List<Path> dirs;
            try (Stream<Path> s = Files.list(doc)) {
                dirs = s.sorted().limit(25).toList();
            }
            for (Path d : dirs) {
                try (Stream<Path> w = Files.walk(d)) {
                    for (Path p : w.toList()) {
                        if (Files.isSymbolicLink(p)) {
                            continue;
                        }
                        Path dst = src.resolve(doc.relativize(p).toString());
                        if (Files.isDirectory(p)) {
                            Files.createDirectories(dst);
                        } else if (Files.isRegularFile(p) && Files.isReadable(p)) {
                            Files.createDirectories(dst.getParent());
                            Files.copy(p, dst);
                            copied++;
                        }
                    }
                }
            }
        }
        // A file of several chunk-tree levels' worth (real bytes) and the corner cases.
        Files.write(src.resolve("jdk-src-prefix.bin"), RealData.bytes(600_000));
        Files.createDirectories(src.resolve("empty/dir"));
        Files.setPosixFilePermissions(src.resolve("empty"), PosixFilePermissions.fromString("rwxr-x---"));
        Files.write(src.resolve("empty.txt"), new byte[0]);
        Path secret = src.resolve("private.txt");
        Files.write(secret, RealData.bytes(5000));
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
        assertThat(copied).as("files copied from /usr/share/doc").isGreaterThan(10);
        return src;
    }

    /** Relative path → (sha256 or "dir", permissions). */
    static Map<String, String> fingerprint(Path root) throws Exception {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> w = Files.walk(root)) {
            for (Path p : w.toList()) {
                if (p.equals(root)) {
                    continue;
                }
                String rel = root.relativize(p).toString();
                String perms = PosixFilePermissions.toString(Files.getPosixFilePermissions(p, LinkOption.NOFOLLOW_LINKS));
                if (Files.isDirectory(p)) {
                    out.put(rel, "dir " + perms);
                } else {
                    byte[] h = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
                    out.put(rel, HexFormat.of().formatHex(h) + " " + perms);
                }
            }
        }
        return out;
    }

    @Test
    void shareAndGetADirectoryTreeByteIdentical() throws Exception {
        Path src = realTree();
        try (Store store = Store.open(tmp.resolve("data"))) {
            ChunkStore cs = ChunkStore.open(store, new byte[32]);
            Set<ChunkAddress> pushed = ConcurrentHashMap.newKeySet();
            ContentFiles files = new ContentFiles(cs, ContentFiles.localFetch(cs),
                    c -> {
                        pushed.add(c.address());
                        return CompletableFuture.completedFuture(null);
                    }, 10_000);
            long[] last = {-1, -1, -1};
            ContentFiles.ShareResult r = files.share(src, (b, t, c) -> {
                last[0] = b;
                last[1] = t;
                last[2] = c;
            });
            assertThat(r.kind()).isEqualTo(Manifest.Kind.DIRECTORY);
            assertThat(r.files()).isGreaterThan(10);
            assertThat(last[0]).isEqualTo(r.bytes()).isEqualTo(last[1]);
            assertThat(last[2]).isEqualTo(r.chunks());
            assertThat(cs.pinnedCount()).isEqualTo(cs.size()).isEqualTo(r.stored());
            assertThat(r.pushed()).isEqualTo(r.chunks());
            assertThat(pushed).hasSize((int) cs.size());
            assertThat(await(cs.has(r.root()))).isTrue();

            Path out = tmp.resolve("out/copy");
            ContentFiles.GetResult g = files.get(r.root(), out, null);
            assertThat(g.files()).isEqualTo(r.files());
            assertThat(g.bytes()).isEqualTo(r.bytes());
            assertThat(fingerprint(out)).isEqualTo(fingerprint(src));
            assertThat(Files.isDirectory(out.resolve("empty/dir"))).isTrue();

            // Sharing again stores nothing new and gives the same root.
            ContentFiles.ShareResult again = files.share(src, null);
            assertThat(again.root()).isEqualTo(r.root());
            assertThat(again.stored()).isZero();

            assertThatThrownBy(() -> files.get(r.root(), out, null)).isInstanceOf(FileAlreadyExistsException.class);
        }
    }

    @Test
    void shareAndGetASingleFile() throws Exception {
        Path file = tmp.resolve("one.bin");
        Files.write(file, RealData.bytes(100_000));
        try (Store store = Store.open(tmp.resolve("data"))) {
            ContentFiles files = ContentFiles.local(ChunkStore.open(store, new byte[32]));
            ContentFiles.ShareResult r = files.share(file, null);
            assertThat(r.kind()).isEqualTo(Manifest.Kind.FILE);
            assertThat(files.manifest(r.root()).entries()).singleElement()
                    .satisfies(e -> assertThat(e.path()).isEqualTo("one.bin"));
            Path out = tmp.resolve("got.bin");
            files.get(r.root(), out, null);
            assertThat(Files.readAllBytes(out)).isEqualTo(Files.readAllBytes(file));
        }
    }

    @Test
    void missingChunkFailsTheGetAndLeavesNothing() throws Exception {
        Path file = tmp.resolve("one.bin");
        byte[] data = RealData.bytes(50_000);
        Files.write(file, data);
        try (Store store = Store.open(tmp.resolve("data"))) {
            ChunkStore cs = ChunkStore.open(store, new byte[32]);
            ContentFiles files = ContentFiles.local(cs);
            ContentFiles.ShareResult r = files.share(file, null);
            ChunkAddress leaf = Chunk.of(java.util.Arrays.copyOfRange(data, 4096, 8192)).address();
            assertThat(await(cs.delete(leaf))).isTrue();
            Path out = tmp.resolve("got.bin");
            assertThatThrownBy(() -> files.get(r.root(), out, null))
                    .isInstanceOf(ChunkNotFoundException.class)
                    .hasMessageContaining(leaf.toHex()).hasMessageContaining("one.bin");
            assertThat(out).doesNotExist();
            assertThat(cs.counters().get("content.get.missing")).isEqualTo(1);
            try (Stream<Path> left = Files.list(tmp)) {
                assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.contains(".part-"));
            }
            // A root that is not there at all.
            ChunkAddress nowhere = Chunk.of(RealData.bytes(3)).address();
            assertThatThrownBy(() -> files.get(nowhere, out, null)).isInstanceOf(ChunkNotFoundException.class)
                    .hasMessageContaining(nowhere.toHex());
        }
    }

    @Test
    void rootThatIsNotAManifestIsRejected() throws Exception {
        try (Store store = Store.open(tmp.resolve("data"))) {
            ChunkStore cs = ChunkStore.open(store, new byte[32]);
            ContentFiles files = ContentFiles.local(cs);
            // A plain file tree (not a manifest) as ROOT.
            List<Chunk> chunks = new java.util.ArrayList<>();
            FileSplitter.Result plain = FileSplitter.split(RealData.bytes(10_000), chunks::add);
            await(cs.putAll(chunks, true));
            assertThatThrownBy(() -> files.get(plain.root(), tmp.resolve("x"), null))
                    .isInstanceOf(InvalidChunkException.class).hasMessageContaining("is not a valid manifest");
            // A tree claiming more than 16 MiB is refused before its chunks are fetched.
            Chunk huge = Chunk.of(Manifest.MAX_BYTES + 1L, new byte[32 * 5]);
            await(cs.put(huge, true));
            assertThatThrownBy(() -> files.get(huge.address(), tmp.resolve("y"), null))
                    .isInstanceOf(InvalidChunkException.class).hasMessageContaining("too large for a manifest");
            assertThat(cs.counters().get("content.get.invalid")).isEqualTo(2);
            assertThat(tmp.resolve("x")).doesNotExist();
        }
    }

    private static <T> T await(CompletableFuture<T> f) throws Exception {
        return f.get(30, TimeUnit.SECONDS);
    }
}
