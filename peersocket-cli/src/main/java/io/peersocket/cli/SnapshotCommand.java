package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** {@code peersocket snapshot}: a Chandy–Lamport global snapshot initiated by a running node. */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
        description = {"Take a global snapshot (Chandy-Lamport) with a running node as initiator: every reachable",
                "node's recorded state and the messages in flight on each channel. Exit 1 if it is incomplete."})
final class SnapshotCommand implements Callable<Integer> {
    @Mixin NodeOptions node;

    @Option(names = "--timeout-ms", paramLabel = "MS", defaultValue = "10000",
            description = "How long to wait for every node's report, ms (default ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Override public Integer call() throws Exception {
        Map<String, Object> a = Remote.call(node.data, Map.of("cmd", "snapshot", "timeoutMs", timeoutMs));
        a.remove("ok");
        a.remove("cmd");
        boolean complete = Boolean.TRUE.equals(a.get("complete"));
        if (node.json) {
            System.out.println(JSON.std.asString(a));
            return complete ? 0 : 1;
        }
        System.out.println("snapshot   " + a.get("id") + " by " + a.get("initiator"));
        System.out.println("complete   " + (complete ? "yes" : "NO") + "   (" + a.get("durationMs") + " ms, "
                + a.get("channelMessages") + " messages in channels)");
        for (Map<?, ?> n : SnapshotCommand.<Map<?, ?>>list(a.get("nodes"))) {
            Map<?, ?> state = (Map<?, ?>) n.get("state");
            StringBuilder sb = new StringBuilder();
            if (state.get("node") instanceof Map<?, ?> ns && ns.get("connectedPeers") instanceof List<?> l) sb.append(l.size()).append(" peers");
            if (state.get("tokens") instanceof Map<?, ?> t) {
                sb.append(", tokens balance ").append(t.get("balance")).append(" outbox ").append(t.get("outbox"));
            }
            if (state.get("kad") instanceof Map<?, ?> k) sb.append(", kad table ").append(k.get("size")).append(" depth ").append(k.get("depth"));
            System.out.println();
            System.out.println("node " + n.get("peer") + (Boolean.TRUE.equals(n.get("busy")) ? " (busy)" : ""));
            System.out.println("  state    " + sb);
            for (Map<?, ?> c : SnapshotCommand.<Map<?, ?>>list(n.get("channels"))) {
                List<Map<?, ?>> msgs = list(c.get("messages"));
                long sum = 0;
                boolean values = false;
                for (Map<?, ?> m : msgs) {
                    if (m.get("value") instanceof Number v) {
                        sum += v.longValue();
                        values = true;
                    }
                }
                System.out.println("  channel  from " + c.get("from") + ": " + msgs.size() + " messages"
                        + (values ? " (sum " + sum + ")" : "") + (Boolean.TRUE.equals(c.get("complete")) ? "" : "  INCOMPLETE: " + c.get("problem")));
            }
        }
        if (a.get("conservation") instanceof Map<?, ?> c) {
            System.out.println();
            System.out.println("tokens     issued " + c.get("issued") + " = states " + c.get("inStates") + " + channels "
                    + c.get("inChannels") + ": " + (Boolean.TRUE.equals(c.get("holds")) ? "conserved" : "NOT CONSERVED"));
        }
        for (Object p : list(a.get("problems"))) System.out.println("problem    " + p);
        return complete ? 0 : 1;
    }

    @SuppressWarnings("unchecked")
    private static <T> List<T> list(Object o) { return o == null ? List.of() : (List<T>) o; }
}
