package io.peersocket.cli;

import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.node.Node;
import io.peersocket.protocol.ping.Ping;
import io.peersocket.transport.Connection;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code peersocket ping}: libp2p ping from a throwaway identity. */
@Command(name = "ping", mixinStandardHelpOptions = true,
        description = {"Ping a peer with libp2p ping (/ipfs/ping/1.0.0) from an ephemeral identity.",
                "Prints one line per ping with the round-trip time in ms. Fails on timeout, refused",
                "connection, or when the remote is not the peer named by /p2p/."})
final class PingCommand implements Callable<Integer> {
    @Parameters(paramLabel = "MULTIADDR", description = "e.g. /ip4/127.0.0.1/udp/4001/quic-v1/p2p/12D3KooW…")
    String address;

    @Option(names = {"-c", "--count"}, paramLabel = "N", defaultValue = "4", description = "Pings to send (default ${DEFAULT-VALUE}).")
    int count;

    @Option(names = "--timeout", paramLabel = "MS", defaultValue = "10000",
            description = "Time limit for connecting and for each ping, ms (default ${DEFAULT-VALUE}).")
    long timeoutMs;

    @Option(names = "--json", description = "Print one JSON object per ping.")
    boolean json;

    @Override public Integer call() throws Exception {
        if (count < 1) throw new IllegalArgumentException("--count must be >= 1");
        Multiaddr target = Multiaddr.parse(address);
        if (!target.isQuic()) throw new IllegalArgumentException("not a QUIC address: " + target);
        String listen = target.valueOf(Protocol.IP6) != null ? "/ip6/::/udp/0/quic-v1" : "/ip4/0.0.0.0/udp/0/quic-v1";
        try (Node node = Node.builder().listen(listen).transportSettings(c -> c.withHandshakeTimeoutMs(timeoutMs)).start()) {
            Connection conn = get(node.connect(target), "connecting to " + target);
            Ping.Session session = get(node.pingSession(conn.remotePeer()), "opening ping stream");
            for (int i = 1; i <= count; i++) {
                long ns = get(session.ping(), "ping " + i);
                double ms = ns / 1e6;
                if (json) System.out.println(com.fasterxml.jackson.jr.ob.JSON.std.asString(
                        java.util.Map.of("seq", i, "peer", conn.remotePeer().toString(), "rttMs", ms)));
                else System.out.printf("ping %d from %s: time=%.3f ms%n", i, conn.remotePeer(), ms);
            }
            session.close();
        }
        return 0;
    }

    private <T> T get(java.util.concurrent.CompletableFuture<T> f, String what) throws Exception {
        try {
            return f.get(timeoutMs + 1000, TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            throw new TimeoutException(what + ": no answer within " + timeoutMs + " ms");
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            throw new IllegalStateException(what + ": " + (c.getMessage() == null ? c.toString() : c.getMessage()), c);
        }
    }
}
