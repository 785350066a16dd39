package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

/** {@code peersocket status}: identity, addresses and connection count of a running node. */
@Command(name = "status", mixinStandardHelpOptions = true,
        description = "Show a running node's peer id, addresses, connected peer count, reachability (AutoNAT),"
                + " external addresses and protocols.")
final class StatusCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Override public Integer call() throws Exception {
        Map<String, Object> a = Remote.call(node.data, Map.of("cmd", "status"));
        if (node.json) {
            a.remove("ok");
            a.remove("cmd");
            System.out.println(JSON.std.asString(a));
            return 0;
        }
        System.out.println("peer id    " + a.get("peerId"));
        for (Object addr : (List<?>) a.get("addresses")) System.out.println("address    " + addr);
        System.out.println("connected  " + a.get("connected"));
        System.out.println("reachable  " + a.get("reachability") + " (dht " + a.get("dhtMode") + ")");
        for (Object addr : (List<?>) a.getOrDefault("externalAddresses", List.of())) System.out.println("external   " + addr);
        System.out.println("protocols  " + String.join(" ", ((List<?>) a.get("protocols")).stream().map(String::valueOf).toList()));
        return 0;
    }
}
