package io.peersocket.cli;

import io.peersocket.identity.HostKey;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Prints (creating if needed) the peer id of a data dir. */
@Command(name = "id", mixinStandardHelpOptions = true,
        description = "Print the peer id stored in a data dir (creates the key if missing).")
final class IdCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Node data directory.")
    Path data;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override public Integer call() throws Exception {
        HostKey key = HostKey.loadOrCreate(data);
        if (json) System.out.println(com.fasterxml.jackson.jr.ob.JSON.std.asString(
                java.util.Map.of("peerId", key.peerId().toString(), "cid", key.peerId().toCidString())));
        else System.out.println(key.peerId());
        return 0;
    }
}
