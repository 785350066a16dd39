package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code peersocket kad}: a running node's Kademlia routing table in seed 001 terms. */
@Command(name = "kad", mixinStandardHelpOptions = true,
        description = {"Show a running node's Kademlia routing table: bins by proximity order (PO), members and",
                "connected peers per bin, neighbourhood depth, saturation and health (seed 001)."})
final class KadCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Override public Integer call() throws Exception {
        Map<String, Object> a = Remote.call(node.data, Map.of("cmd", "kad"));
        a.remove("ok");
        a.remove("cmd");
        if (node.json) {
            System.out.println(JSON.std.asString(a));
            return 0;
        }
        System.out.printf("size %s  known %s  depth %s  saturation %s  healthy %s%n", a.get("size"), a.get("known"),
                a.get("depth"), a.get("saturation"), a.get("healthy"));
        System.out.printf("nearest neighbours %s (known: %s, connected: %s); empty bins %s%n", a.get("nearestNeighbours"),
                a.get("knowsNearestNeighbours"), a.get("connectedToNearestNeighbours"), a.get("emptyBins"));
        System.out.printf("%4s %8s %10s  %s%n", "PO", "MEMBERS", "CONNECTED", "PEERS");
        for (Object o : (List<?>) a.get("bins")) {
            Map<?, ?> bin = (Map<?, ?>) o;
            System.out.printf("%4s %8s %10s  %s%n", bin.get("po"), bin.get("members"), bin.get("connected"),
                    String.join(" ", ((List<?>) bin.get("peers")).stream().map(String::valueOf).toList()));
        }
        return 0;
    }
}
