package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peersocket peers}: known and connected peers of a running node, most recently connected first. */
@Command(name = "peers", mixinStandardHelpOptions = true,
        description = "List the known peers of a running node (most recently connected first) and whether each is connected.")
final class PeersCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, paramLabel = "DIR", description = "Data directory of the running node.")
    Path data;

    @Option(names = "--json", description = "Print JSON.")
    boolean json;

    @Override public Integer call() throws Exception {
        Map<String, Object> answer = Remote.call(data, Map.of("cmd", "peers"));
        if (json) {
            System.out.println(JSON.std.asString(answer.get("peers")));
            return 0;
        }
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> peers = (List<Map<String, Object>>) answer.get("peers");
        System.out.printf("%-54s %-9s %-24s %s%n", "PEER", "CONNECTED", "LAST CONNECTED", "ADDRESSES");
        for (Map<String, Object> p : peers) {
            long last = ((Number) p.get("lastConnectedMs")).longValue();
            System.out.printf("%-54s %-9s %-24s %s%n", p.get("peerId"), Boolean.TRUE.equals(p.get("connected")) ? "yes" : "no",
                    last < 0 ? "never" : Instant.ofEpochMilli(last).toString(), String.join(" ", (List<String>) p.get("addresses")));
        }
        return 0;
    }
}
