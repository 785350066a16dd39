package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

/** {@code peersocket dht …}: Kademlia queries through a running node. */
@Command(name = "dht", mixinStandardHelpOptions = true,
        description = {"Kademlia DHT queries through a running node (/ipfs/kad/1.0.0).",
                "Values live under /NAMESPACE/… keys; CLI nodes accept any value under /test/.",
                "Provider records are keyed by sha2-256(NAME)."},
        subcommands = {DhtCommand.FindPeer.class, DhtCommand.Put.class, DhtCommand.Get.class, DhtCommand.Provide.class,
                DhtCommand.FindProviders.class})
final class DhtCommand implements Runnable {
    @picocli.CommandLine.Spec picocli.CommandLine.Model.CommandSpec spec;

    @Override public void run() { spec.commandLine().usage(System.out); }

    abstract static class Sub implements Callable<Integer> {
        @Mixin NodeOptions node;

        abstract Map<String, Object> request();

        abstract void print(Map<String, Object> answer);

        @Override public Integer call() throws Exception {
            Map<String, Object> a = Remote.call(node.data, request());
            a.remove("ok");
            a.remove("cmd");
            if (node.json) System.out.println(JSON.std.asString(a));
            else print(a);
            return 0;
        }

        static String hops(Map<String, Object> a) {
            return "(" + a.get("hops") + " hops, " + a.get("queried") + " peers queried, " + a.get("durationMs") + " ms)";
        }
    }

    @Command(name = "find-peer", mixinStandardHelpOptions = true, description = "Find a peer's addresses by its peer id.")
    static final class FindPeer extends Sub {
        @Parameters(paramLabel = "PEER_ID") String peer;

        @Override Map<String, Object> request() { return Map.of("cmd", "dht-find-peer", "peer", peer); }

        @Override void print(Map<String, Object> a) {
            if (!Boolean.TRUE.equals(a.get("found"))) throw new IllegalStateException("peer " + peer + " not found " + hops(a));
            for (Object addr : (List<?>) a.get("addresses")) System.out.println(addr);
            System.out.println(hops(a));
        }
    }

    @Command(name = "put", mixinStandardHelpOptions = true, description = "Store VALUE under KEY (e.g. /test/hello).")
    static final class Put extends Sub {
        @Parameters(index = "0", paramLabel = "KEY") String key;
        @Parameters(index = "1", paramLabel = "VALUE") String value;

        @Override Map<String, Object> request() {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("cmd", "dht-put");
            m.put("key", key);
            m.put("value", value);
            return m;
        }

        @Override void print(Map<String, Object> a) { System.out.println("stored on " + a.get("stored") + " peers " + hops(a)); }
    }

    @Command(name = "get", mixinStandardHelpOptions = true, description = "Get the value stored under KEY.")
    static final class Get extends Sub {
        @Parameters(paramLabel = "KEY") String key;

        @Override Map<String, Object> request() { return Map.of("cmd", "dht-get", "key", key); }

        @Override void print(Map<String, Object> a) { System.out.println(a.get("value")); }
    }

    @Command(name = "provide", mixinStandardHelpOptions = true, description = "Announce that this node provides NAME.")
    static final class Provide extends Sub {
        @Parameters(paramLabel = "NAME") String name;

        @Override Map<String, Object> request() { return Map.of("cmd", "dht-provide", "name", name); }

        @Override void print(Map<String, Object> a) { System.out.println("announced to " + a.get("announced") + " peers " + hops(a)); }
    }

    @Command(name = "find-providers", mixinStandardHelpOptions = true, description = "Find peers that provide NAME.")
    static final class FindProviders extends Sub {
        @Parameters(paramLabel = "NAME") String name;

        @Override Map<String, Object> request() { return Map.of("cmd", "dht-find-providers", "name", name); }

        @Override void print(Map<String, Object> a) {
            for (Object o : (List<?>) a.get("providers")) {
                Map<?, ?> p = (Map<?, ?>) o;
                System.out.println(p.get("peerId") + " " + String.join(" ", ((List<?>) p.get("addresses")).stream().map(String::valueOf).toList()));
            }
            System.out.println(hops(a));
        }
    }
}
