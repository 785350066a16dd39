package io.peersocket.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code peersocket share} and {@code get} against one real node process, with a real directory tree. */
class ShareGetCliTest {
    private final NodeProcesses nodes = new NodeProcesses();

    @AfterEach
    void stop() {
        nodes.close();
    }

    private void startNode(Path data) throws Exception {
        nodes.start(data, "--dht", "off", "--chunk-capacity", "50000");
    }

    /** A copy of part of /usr/share/doc (real files) plus a 1 MB prefix of the JDK's modules file. */
    private static Path realTree(Path dir) throws Exception {
        Path src = dir.resolve("shared");
        Path doc = Path.of("/usr/share/doc");
        List<Path> picks;
        try (Stream<Path> s = Files.list(doc)) {
            picks = s.sorted().skip(40).limit(20).toList();
        }
        for (Path d : picks) {
            try (Stream<Path> w = Files.walk(d)) {
                for (Path p : w.toList()) {
                    if (Files.isSymbolicLink(p)) continue;
                    Path dst = src.resolve(doc.relativize(p).toString());
                    if (Files.isDirectory(p)) Files.createDirectories(dst);
                    else if (Files.isRegularFile(p)) {
                        Files.createDirectories(dst.getParent());
                        Files.copy(p, dst);
                    }
                }
            }
        }
        try (var in = Files.newInputStream(Path.of(System.getProperty("java.home"), "lib", "modules"))) {
            Files.createDirectories(src);
            Files.write(src.resolve("modules-prefix.bin"), in.readNBytes(1_000_000));
        }
        return src;
    }

    @Test
    void helpDescribesBothCommands() {
        for (String cmd : List.of("share", "get")) {
            CliTest.Run r = CliTest.run(cmd, "--help");
            assertThat(r.exit()).as(cmd).isZero();
            assertThat(r.out()).as(cmd).contains("Usage: peersocket " + cmd, "--data");
        }
    }

    @Test
    void shareThenGetIsByteIdentical(@TempDir Path dir) throws Exception {
        Path data = dir.resolve("node");
        startNode(data);
        Path src = realTree(dir);

        CliTest.Run share = CliTest.run("share", "--data", data.toString(), src.toString());
        assertThat(share.exit()).as(share.err()).isZero();
        String root = share.out().strip();
        assertThat(root).matches("[0-9a-f]{64}");
        // Not a terminal here: plain progress lines, ending with the summary.
        assertThat(share.err()).contains("share: ").contains("chunks/s").contains("share: done");

        Path out = dir.resolve("copy");
        CliTest.Run get = CliTest.run("get", "--data", data.toString(), root, out.toString());
        assertThat(get.exit()).as(get.err()).isZero();
        assertThat(get.err()).contains("get: done");
        Map<String, String> want = NodeProcesses.sha256Tree(src);
        assertThat(want).hasSizeGreaterThan(20);
        assertThat(NodeProcesses.sha256Tree(out)).isEqualTo(want);

        // JSON output of a second share: same root, nothing new stored.
        CliTest.Run again = CliTest.run("share", "--data", data.toString(), "--json", src.toString());
        assertThat(again.exit()).as(again.err()).isZero();
        assertThat(again.out()).contains("\"root\":\"" + root + "\"", "\"stored\":0");

        // A single file.
        Path one = src.resolve("modules-prefix.bin");
        CliTest.Run shareOne = CliTest.run("share", "--data", data.toString(), one.toString());
        assertThat(shareOne.exit()).as(shareOne.err()).isZero();
        Path oneOut = dir.resolve("one.bin");
        CliTest.Run getOne = CliTest.run("get", "--data", data.toString(), shareOne.out().strip(), oneOut.toString());
        assertThat(getOne.exit()).as(getOne.err()).isZero();
        assertThat(Files.readAllBytes(oneOut)).isEqualTo(Files.readAllBytes(one));

        // Errors: unknown root, existing OUT, malformed root; one line each, nothing written.
        String unknown = "ab".repeat(32);
        CliTest.Run missing = CliTest.run("get", "--data", data.toString(), unknown, dir.resolve("nope").toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err().strip().lines().count()).isEqualTo(1);
        assertThat(missing.err()).startsWith("error: ").contains(unknown).contains("not in the local store");
        assertThat(dir.resolve("nope")).doesNotExist();
        CliTest.Run exists = CliTest.run("get", "--data", data.toString(), root, out.toString());
        assertThat(exists.exit()).isEqualTo(1);
        assertThat(exists.err()).contains("refusing to overwrite");
        CliTest.Run badRoot = CliTest.run("get", "--data", data.toString(), "xyz", dir.resolve("n2").toString());
        assertThat(badRoot.exit()).isNotZero();
        assertThat(badRoot.err()).contains("64 hex digits");
    }
}
