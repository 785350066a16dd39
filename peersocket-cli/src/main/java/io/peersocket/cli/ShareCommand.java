package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code peersocket share PATH}: a running node stores a file or directory as chunks and prints its ROOT. */
@Command(name = "share", mixinStandardHelpOptions = true,
        description = {"Share a file or directory tree through a running node: it splits it into 4 KiB chunks,",
                "stores them (pinned) and pushes them toward their neighbourhoods. Prints the ROOT (64 hex digits)",
                "that 'peersocket get' needs on stdout; progress (bytes, chunks/s, ETA) on stderr.",
                "Symbolic links and special files inside a directory are skipped."})
final class ShareCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Parameters(paramLabel = "PATH", description = "File or directory to share (read by the node).")
    Path path;

    @Override public Integer call() throws Exception {
        Path abs = path.toAbsolutePath().normalize();
        if (!Files.exists(abs)) throw new IllegalArgumentException("no such file or directory: " + path);
        ProgressBar bar = new ProgressBar("share", System.err, ProgressBar.stderrIsTerminal());
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("cmd", "share");
        req.put("path", abs.toString());
        Map<String, Object> a = Remote.call(node.data, req, bar::update);
        bar.done(((Number) a.get("bytes")).longValue(), ((Number) a.get("chunks")).longValue(),
                ((Number) a.get("elapsedMs")).longValue());
        if (node.json) {
            a.remove("ok");
            a.remove("cmd");
            System.out.println(JSON.std.asString(a));
        } else {
            System.out.println(a.get("root"));
        }
        return 0;
    }
}
