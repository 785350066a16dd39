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
                "--via RELAY dials the peer through that Circuit Relay v2 relay (RELAY/p2p-circuit/p2p/PEER): a relayed,",
                "limited connection, which the two nodes then try to upgrade to a direct one (DCUtR) by themselves.",
                "Prints whether the connection is direct or relayed, the remote address and the time taken."})
final class ConnectCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Parameters(paramLabel = "PEER_OR_MULTIADDR", description = "12D3KooW… or /ip4/…/udp/…/quic-v1/p2p/12D3KooW…")
    String target;

    @Option(names = "--direct", description = "Require a direct connection (introduction and hole punching).")
    boolean direct;

    @Option(names = "--via", paramLabel = "RELAY",
            description = "Connect through this relay: its multiaddr ending in /p2p/<relay id> (the target needs a reservation there).")
    String via;

    @Option(names = "--attempts", paramLabel = "N", description = "Hole-punch tries, 1..10 (default: the node's, 3).")
    Integer attempts;

    @Override public Integer call() throws Exception {
        Map<String, Object> req = new LinkedHashMap<>();
        req.put("cmd", "connect");
        req.put(target.startsWith("/") ? "addr" : "peer", target);
        req.put("direct", direct);
        if (attempts != null) req.put("attempts", attempts);
        if (via != null) {
            if (direct) throw new IllegalArgumentException("--via and --direct exclude each other");
            req.put("via", via);
        }
        Map<String, Object> a = Remote.call(node.data, req);
        if (node.json) {
            a.remove("ok");
            a.remove("cmd");
            System.out.println(JSON.std.asString(a));
            return 0;
        }
        System.out.println("connected to " + a.get("peer") + (Boolean.TRUE.equals(a.get("direct")) ? " directly" : " relayed")
                + " at " + a.get("remoteAddress") + " in " + a.get("ms") + " ms");
        return 0;
    }
}
