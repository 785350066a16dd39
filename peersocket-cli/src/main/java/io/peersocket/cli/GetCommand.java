package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import io.peersocket.content.ChunkAddress;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code peersocket get ROOT OUT}: a running node fetches what was shared under ROOT into OUT. */
@Command(name = "get", mixinStandardHelpOptions = true,
        description = {"Get a shared file or directory tree through a running node: it fetches every chunk,",
                "verifies it against its address and writes OUT (a file, or a directory for a directory share).",
                "OUT must not exist; on any error nothing is left at OUT. Progress on stderr."})
final class GetCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Parameters(index = "0", paramLabel = "ROOT", description = "The root printed by 'peersocket share' (64 hex digits).")
    String root;

    @Parameters(index = "1", paramLabel = "OUT", description = "Where to write (written by the node).")
    Path out;

    @Override public Integer call() throws Exception {
        ChunkAddress r = ChunkAddress.parse(root);
        ProgressBar bar = new ProgressBar("get", System.err, ProgressBar.stderrIsTerminal());
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("cmd", "get");
        req.put("root", r.toHex());
        req.put("out", out.toAbsolutePath().normalize().toString());
        Map<String, Object> a = Remote.call(node.data, req, bar::update);
        bar.done(((Number) a.get("bytes")).longValue(), ((Number) a.get("chunks")).longValue(),
                ((Number) a.get("elapsedMs")).longValue());
        if (node.json) {
            a.remove("ok");
            a.remove("cmd");
            System.out.println(JSON.std.asString(a));
        } else {
            System.out.println(out + ": " + a.get("files") + " file(s), " + ProgressBar.size(((Number) a.get("bytes")).longValue()));
        }
        return 0;
    }
}
