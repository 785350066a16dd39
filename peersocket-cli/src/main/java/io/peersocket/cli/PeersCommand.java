package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code peersocket peers}: known and connected peers of a running node, most recently connected first. */
@Command(name = "peers", mixinStandardHelpOptions = true,
        description = {"List a running node's peers: those it connected to, most recent first (seed 000 recency list),",
                "then those other peers told it about (peer exchange)."})
final class PeersCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Override public Integer call() throws Exception {
        Map<String, Object> answer = Remote.call(node.data, Map.of("cmd", "peers"));
        if (node.json) {
            System.out.println(JSON.std.asString(Map.of("peers", answer.get("peers"), "learned", answer.get("learned"))));
            return 0;
        }
        System.out.printf("%-54s %-9s %-24s %s%n", "PEER", "CONNECTED", "LAST SEEN", "ADDRESSES");
        print(answer.get("peers"), "");
        System.out.println();
        System.out.println("learned from other peers:");
        print(answer.get("learned"), "via");
        return 0;
    }

    @SuppressWarnings("unchecked")
    private static void print(Object list, String viaKey) {
        for (Map<String, Object> p : (List<Map<String, Object>>) list) {
            long last = ((Number) p.get("lastSeenMs")).longValue();
            String addrs = String.join(" ", (List<String>) p.get("addresses"));
            if (!viaKey.isEmpty()) addrs += " (via " + p.get(viaKey) + ")";
            System.out.printf("%-54s %-9s %-24s %s%n", p.get("peerId"), Boolean.TRUE.equals(p.get("connected")) ? "yes" : "no",
                    last < 0 ? "never" : Instant.ofEpochMilli(last).toString(), addrs);
        }
    }
}
