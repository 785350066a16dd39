package io.peersocket.cli;

import io.peersocket.identity.PeerId;
import io.peersocket.node.Node;
import io.peersocket.protocol.snapshot.GlobalSnapshot;
import io.peersocket.protocol.snapshot.Snapshots;
import io.peersocket.protocol.snapshot.TokenApp;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * Control commands for snapshots and the token test app (docs/snapshot.md), answered by {@link ControlHandler}:
 * <ul>
 *   <li>{@code snapshot {timeoutMs?}}: takes a global snapshot with this node as initiator; answers
 *       {@link GlobalSnapshot#toMap} (token messages described by their amount) and, if the token app runs,
 *       {@code conservation {issued, inStates, inChannels, channelMessages, holds}};</li>
 *   <li>{@code tokens-start {intervalMs?, maxAmount?, seed?, slowPeer?, slowDelayMs?}}: starts passing tokens to
 *       random connected peers (sends to {@code slowPeer} wait {@code slowDelayMs} first: a slow link);</li>
 *   <li>{@code tokens-stop}; {@code tokens}: {@code {state, channelPeers}}, the app's state and how many peers this
 *       node has snapshot channels with.</li>
 * </ul>
 */
final class SnapshotControl {
    /** Tokens every CLI node is issued at start. */
    static final long ISSUED = 1_000_000;

    private SnapshotControl() {}

    /** Installs the token app on {@code node} (every CLI node serves it; it sends nothing until started). */
    static TokenApp install(Node node) {
        Snapshots s = node.snapshots();
        return TokenApp.install(s, node.loop(), s::channelPeers, ISSUED);
    }

    @SuppressWarnings("unchecked")
    static void handle(Node node, String cmd, Map<String, Object> r, Map<String, Object> out) throws Exception {
        Snapshots snapshots = node.snapshots();
        TokenApp tokens = snapshots.participant(TokenApp.NAME, TokenApp.class);
        switch (cmd) {
            case "snapshot" -> {
                long timeout = num(r, "timeoutMs", snapshots.config().defaultTimeoutMs());
                GlobalSnapshot g = snapshots.snapshot(timeout).get(timeout + 5_000, TimeUnit.MILLISECONDS);
                out.putAll(g.toMap(snapshots::describe));
                if (tokens != null) {
                    TokenApp.Conservation c = g.complete() ? TokenApp.conservation(g) : null;
                    if (c != null) {
                        out.put("conservation", Map.of("issued", c.issued(), "inStates", c.inStates(), "inChannels", c.inChannels(),
                                "channelMessages", c.channelMessages(), "holds", c.holds()));
                    }
                }
            }
            case "tokens-start" -> {
                if (tokens == null) throw new IllegalStateException("the token app is not installed");
                Object slow = r.get("slowPeer");
                PeerId slowPeer = slow == null || "".equals(slow) ? null : PeerId.parse(String.valueOf(slow));
                tokens.start(new TokenApp.Settings(num(r, "intervalMs", 10), num(r, "maxAmount", 100),
                        num(r, "seed", System.nanoTime()), slowPeer, num(r, "slowDelayMs", 0)));
            }
            case "tokens-stop" -> {
                if (tokens == null) throw new IllegalStateException("the token app is not installed");
                tokens.stop();
            }
            case "tokens" -> {
                if (tokens == null) throw new IllegalStateException("the token app is not installed");
                java.util.concurrent.CompletableFuture<Object> f = new java.util.concurrent.CompletableFuture<>();
                node.loop().execute(() -> f.complete(Map.of("state", tokens.state(), "channelPeers", snapshots.channelPeers().size())));
                out.putAll((Map<String, Object>) f.get(30, TimeUnit.SECONDS));
            }
            default -> throw new IllegalArgumentException("unknown command \"" + cmd + "\"");
        }
    }

    private static long num(Map<String, Object> r, String key, long dflt) { return ControlArgs.num(r, key, dflt); }
}
