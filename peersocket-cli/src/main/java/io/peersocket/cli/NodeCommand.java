package io.peersocket.cli;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.node.Node;
import io.peersocket.node.NodeBuilder;
import io.peersocket.protocol.ping.Ping;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** {@code peersocket node}: runs a node until SIGINT/SIGTERM. */
@Command(name = "node", mixinStandardHelpOptions = true,
        description = {"Run a node until interrupted (SIGINT/SIGTERM), then shut down cleanly.",
                "Prints one line per listen address: listening <multiaddr>/p2p/<peer id>.",
                "Serves ping, identify and the despatch layer with the demo app (echo request, counting conversation)."})
final class NodeCommand implements Callable<Integer> {
    @Option(names = "--data", required = true, paramLabel = "DIR",
            description = "Data directory: identity key and database (created if missing).")
    Path data;

    @Option(names = "--listen", paramLabel = "MULTIADDR", split = ",",
            description = "Listen address(es); default /ip4/0.0.0.0/udp/4001/quic-v1.")
    List<String> listen = new ArrayList<>();

    @Option(names = "--peer", paramLabel = "MULTIADDR", split = ",",
            description = "Peer(s) to dial at start, with /p2p/<peer id>.")
    List<String> peers = new ArrayList<>();

    @Option(names = "--control-stdin", hidden = true,
            description = "Read control commands on stdin, answer on stdout (used by the testbed).")
    boolean controlStdin;

    @Override public Integer call() throws Exception {
        NodeBuilder b = Node.builder().dataDir(data);
        if (listen.isEmpty()) listen.add("/ip4/0.0.0.0/udp/4001/quic-v1");
        for (String l : listen) b.listen(Multiaddr.parse(l));
        for (String p : peers) b.bootstrap(Multiaddr.parse(p));
        Node node = b.start();
        DemoApp.install(node.despatcher());
        CountDownLatch stopped = new CountDownLatch(1);
        Thread hook = new Thread(() -> {
            node.close();
            stopped.countDown();
        }, "peersocket-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        PrintStream out = System.out;
        for (Multiaddr a : node.addresses()) out.println("listening " + a);
        out.flush();
        if (controlStdin) {
            new Control(node, out).run();
            node.close();
            return 0;
        }
        stopped.await();
        return 0;
    }

    /**
     * Line commands for the testbed. Each answer is one line: {@code ok <cmd> key=value…} or
     * {@code err <cmd> <reason>}. Commands: {@code dial MULTIADDR}, {@code ping PEER COUNT},
     * {@code request PEER BYTES}, {@code count PEER LIMIT}, {@code stats}, {@code quit}. EOF on stdin stops.
     */
    static final class Control {
        private final Node node;
        private final PrintStream out;

        Control(Node node, PrintStream out) {
            this.node = node;
            this.out = out;
        }

        void run() throws Exception {
            BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
            String line;
            while ((line = in.readLine()) != null) {
                String[] w = line.trim().split("\\s+");
                if (w[0].isEmpty()) continue;
                if (w[0].equals("quit")) break;
                String answer;
                try {
                    answer = "ok " + w[0] + " " + handle(w);
                } catch (Exception e) {
                    Throwable t = e;
                    while (t.getCause() != null && (t instanceof java.util.concurrent.ExecutionException
                            || t instanceof java.util.concurrent.CompletionException)) t = t.getCause();
                    answer = "err " + w[0] + " " + String.valueOf(t.getMessage()).replace('\n', ' ');
                }
                synchronized (out) {
                    out.println(answer);
                    out.flush();
                }
            }
        }

        private String handle(String[] w) throws Exception {
            switch (w[0]) {
                case "dial" -> {
                    var c = node.connect(Multiaddr.parse(w[1])).get(20, TimeUnit.SECONDS);
                    return "peer=" + c.remotePeer();
                }
                case "ping" -> {
                    PeerId peer = PeerId.parse(w[1]);
                    int count = Integer.parseInt(w[2]);
                    Ping.Session s = node.pingSession(peer).get(20, TimeUnit.SECONDS);
                    try {
                        List<String> rtts = new ArrayList<>();
                        for (int i = 0; i < count; i++) {
                            long ns = s.ping().get(10, TimeUnit.SECONDS);
                            rtts.add(String.format("%.3f", ns / 1e6));
                        }
                        return "rtt_ms=" + String.join(",", rtts);
                    } finally {
                        s.close();
                    }
                }
                case "request" -> {
                    PeerId peer = PeerId.parse(w[1]);
                    byte[] payload = new byte[Integer.parseInt(w[2])];
                    new java.util.Random().nextBytes(payload);
                    long t0 = System.nanoTime();
                    var reply = node.despatcher().request(peer, DemoApp.ECHO_REQUEST, payload).get(20, TimeUnit.SECONDS);
                    long ns = System.nanoTime() - t0;
                    if (!java.util.Arrays.equals(reply.payload(), payload)) throw new IllegalStateException("echo payload differs");
                    return String.format("rtt_ms=%.3f", ns / 1e6);
                }
                case "count" -> {
                    PeerId peer = PeerId.parse(w[1]);
                    long limit = Long.parseLong(w[2]);
                    long received = DemoApp.count(node.despatcher(), peer, limit).get(30, TimeUnit.SECONDS);
                    return "received=" + received;
                }
                case "stats" -> {
                    int connected = node.connectedPeers().get(10, TimeUnit.SECONDS).size();
                    Map<String, Long> c = node.counters().snapshot();
                    StringBuilder sb = new StringBuilder("connected=" + connected);
                    c.forEach((k, v) -> sb.append(' ').append(k).append('=').append(v));
                    return sb.toString();
                }
                default -> throw new IllegalArgumentException("unknown command " + w[0]);
            }
        }
    }
}
