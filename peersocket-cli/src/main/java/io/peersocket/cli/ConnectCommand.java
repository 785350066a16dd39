package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code peersocket connect}: make a running node connect to a peer, directly (hole punching) if asked. */
@Command(name = "connect", mixinStandardHelpOptions = true,
        description = {"Make a running node connect to a peer (by peer id or multiaddr).",
                "--direct asks for a direct connection: a mutual peer introduces the two nodes and both punch",
                "holes through their NATs (/peersocket/introduce/1.0.0), retried with backoff.",
                "Prints whether the connection is direct, the remote address and the time taken."})
final class ConnectCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Parameters(paramLabel = "PEER_OR_MULTIADDR", description = "12D3KooW… or /ip4/…/udp/…/quic-v1/p2p/12D3KooW…")
    String target;

    @Option(names = "--direct", description = "Require a direct connection (introduction and hole punching).")
    boolean direct;

    @Option(names = "--attempts", paramLabel = "N", description = "Hole-punch tries, 1..10 (default: the node's, 3).")
    Integer attempts;

    @Override public Integer call() throws Exception {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("cmd", "connect");
        req.put(target.startsWith("/") ? "addr" : "peer", target);
        req.put("direct", direct);
        if (attempts != null) req.put("attempts", attempts);
        Map<String, Object> a = Remote.call(node.data, req);
        if (node.json) {
            a.remove("ok");
            a.remove("cmd");
            System.out.println(JSON.std.asString(a));
            return 0;
        }
        System.out.println("connected to " + a.get("peer") + (Boolean.TRUE.equals(a.get("direct")) ? " directly" : " (limited)")
                + " at " + a.get("remoteAddress") + " in " + a.get("ms") + " ms");
        return 0;
    }
}
