package io.peersocket.cli;

import com.fasterxml.jackson.jr.ob.JSON;
import java.io.PrintStream;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code peersocket pub} and {@code peersocket sub}: GossipSub through a running node. */
final class PubSubCommands {
    private PubSubCommands() {}

    @Command(name = "pub", mixinStandardHelpOptions = true,
            description = {"Publish MESSAGE (UTF-8 text) to TOPIC through a running node (GossipSub, /meshsub/1.2.0).",
                    "Prints the message id and how many peers it was sent to."})
    static final class Pub implements Callable<Integer> {
        @Mixin NodeOptions node;
        @Parameters(index = "0", paramLabel = "TOPIC") String topic;
        @Parameters(index = "1", paramLabel = "MESSAGE") String message;

        @Override public Integer call() throws Exception {
            Map<String, Object> req = new LinkedHashMap<>();
            req.put("cmd", "pubsub-publish");
            req.put("topic", topic);
            req.put("data", message);
            Map<String, Object> a = Remote.call(node.data, req);
            a.remove("ok");
            a.remove("cmd");
            if (node.json) System.out.println(JSON.std.asString(a));
            else System.out.println("published " + a.get("messageId") + " to " + a.get("peers") + " peers");
            return 0;
        }
    }

    @Command(name = "sub", mixinStandardHelpOptions = true,
            description = {"Subscribe to TOPIC through a running node and print each message as it arrives, one line",
                    "each (\"FROM: TEXT\", or a JSON object with --json), until Ctrl-C or --count messages."})
    static final class Sub implements Callable<Integer> {
        @Mixin NodeOptions node;
        @Parameters(index = "0", paramLabel = "TOPIC") String topic;
        @Option(names = "--count", paramLabel = "N", description = "Exit after N messages (default: run until Ctrl-C).")
        int count;

        @Override public Integer call() throws Exception {
            Map<String, Object> s = Remote.call(node.data, Map.of("cmd", "pubsub-subscribe", "topic", topic));
            Object id = s.get("id");
            AtomicBoolean done = new AtomicBoolean();
            Thread hook = new Thread(() -> {
                done.set(true);
                try {
                    Remote.call(node.data, Map.of("cmd", "pubsub-unsubscribe", "id", id));
                } catch (Exception ignored) {
                    // the node expires idle control subscriptions anyway
                }
            }, "peersocket-sub-unsubscribe");
            Runtime.getRuntime().addShutdownHook(hook);
            PrintStream out = System.out;
            int seen = 0;
            while (!done.get()) {
                Map<String, Object> a = Remote.call(node.data, Map.of("cmd", "pubsub-poll", "id", id, "waitMs", 5_000));
                for (Object o : (List<?>) a.get("messages")) {
                    Map<?, ?> m = (Map<?, ?>) o;
                    if (node.json) out.println(JSON.std.asString(m));
                    else out.println(m.get("from") + ": " + m.get("data"));
                    out.flush();
                    if (count > 0 && ++seen >= count) {
                        Runtime.getRuntime().removeShutdownHook(hook);
                        hook.run();
                        return 0;
                    }
                }
                if (a.get("dropped") instanceof Number n && n.longValue() > 0) {
                    System.err.println("sub: " + n + " messages dropped (reader too slow)");
                }
            }
            return 0;
        }
    }
}
