package io.peersocket.protocol.holepunch;

import io.peersocket.host.Host;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.transport.Connection;
import io.peersocket.transport.TransportException;
import io.peersocket.util.EventLoop;
import io.peersocket.util.Futures;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/** What the introduction and DCUtR share: address choice, punch bursts, racing dials, rate limits. Event loop. */
final class Punching {
    private final Host host;
    private final HolePunchConfig config;
    private final EventLoop loop;
    private final Map<PeerId, Integer> perPeer = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<PeerId, Integer> e) { return size() > 4096; }
    };
    private int global;
    private long windowStart;

    /** Punch series running per peer (each a "done" flag); ended when a direct connection to the peer opens. */
    private final Map<PeerId, List<boolean[]>> series = new java.util.HashMap<>();

    Punching(Host host, HolePunchConfig config) {
        this.host = host;
        this.config = config;
        this.loop = host.loop();
        host.onPeerEvent(e -> {
            if (e.kind() == io.peersocket.host.PeerEvent.Kind.CONNECTED && e.connection() != null
                    && !e.connection().isLimited()) {
                List<boolean[]> running = series.remove(e.peer());
                if (running != null) for (boolean[] done : running) done[0] = true;
            }
        });
    }

    HolePunchConfig config() { return config; }

    /** True for an address we can punch and dial directly: IP + UDP + QUIC, not relayed. */
    static boolean directQuic(Multiaddr a) {
        return a != null && a.isQuic() && !a.has(Protocol.P2P_CIRCUIT)
                && (a.has(Protocol.IP4) || a.has(Protocol.IP6));
    }

    /**
     * {@code first} (if direct) then {@code more}, without /p2p/, deduplicated, at most MAX_ADDRESSES; loopback
     * addresses only if all are loopback.
     */
    static List<Multiaddr> pick(Multiaddr first, List<Multiaddr> more) {
        LinkedHashSet<Multiaddr> out = new LinkedHashSet<>();
        if (first != null && directQuic(first.withoutPeerId())) out.add(first.withoutPeerId());
        for (Multiaddr a : more) {
            if (out.size() >= HolePunchCodec.MAX_ADDRESSES) break;
            Multiaddr b = a.withoutPeerId();
            if (directQuic(b)) out.add(b);
        }
        // loopback addresses reach the dialer's own host: useless unless every address is loopback (tests)
        if (out.stream().anyMatch(a -> !a.isLoopback())) out.removeIf(Multiaddr::isLoopback);
        return List.copyOf(out);
    }

    /** An open unlimited (direct) connection to {@code peer}, or null. Event loop. */
    Connection direct(PeerId peer) {
        for (Connection c : host.connectionsTo(peer)) if (c.isOpen() && !c.isLimited()) return c;
        return null;
    }

    /**
     * Sends punch bursts to {@code targets} at the configured offsets after {@code delayMs}, until a direct
     * connection to {@code peer} opens (the rest of the series is then dropped, even if that connection closes at
     * once). Event loop.
     */
    void punchBursts(PeerId peer, List<Multiaddr> targets, long delayMs) {
        boolean[] done = {false};
        List<boolean[]> running = series.computeIfAbsent(peer, k -> new ArrayList<>());
        running.add(done);
        long last = config.punchBurstsMs().stream().mapToLong(Long::longValue).max().orElse(0);
        loop.schedule(() -> { // forget the series after its last burst
            List<boolean[]> r = series.get(peer);
            if (r != null && r.remove(done) && r.isEmpty()) series.remove(peer);
        }, delayMs + last + 1);
        for (long at : config.punchBurstsMs()) {
            loop.schedule(() -> {
                // once connected the series is over for good: no punching after that connection closes
                if (done[0] || direct(peer) != null) {
                    done[0] = true;
                    return;
                }
                for (Multiaddr t : targets) {
                    host.punch(t, config.packetsPerBurst()).whenComplete((v, e) -> {
                        if (e != null) host.counters().increment("holepunch.punch.failed");
                        else host.counters().add("holepunch.punch.packets", config.packetsPerBurst());
                    });
                }
            }, delayMs + at);
        }
    }

    /**
     * Dials every target at once (each must prove to be {@code peer}); the first handshake wins, other winners are
     * closed (unless they arrive after the time limit). Fails with {@link TransportException} TIMEOUT after {@code dialTimeoutMs} or when all failed.
     */
    CompletableFuture<Connection> race(PeerId peer, List<Multiaddr> targets) {
        return race(peer, targets, config.dialTimeoutMs());
    }

    /** {@link #race(PeerId, List)} with its own time limit, ms. */
    CompletableFuture<Connection> race(PeerId peer, List<Multiaddr> targets, long dialTimeoutMs) {
        CompletableFuture<Connection> result = new CompletableFuture<>();
        if (targets.isEmpty()) {
            result.completeExceptionally(new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "no direct address for " + peer));
            return result;
        }
        AtomicInteger left = new AtomicInteger(targets.size());
        List<Throwable> errors = new ArrayList<>();
        for (Multiaddr t : targets) {
            CompletableFuture<Connection> d;
            try {
                d = host.connect(t.withPeerId(peer));
            } catch (RuntimeException e) {
                d = CompletableFuture.failedFuture(e);
            }
            d.whenCompleteAsync((c, e) -> {
                if (c != null) {
                    // a second winner: close it. One after the time limit stays open: it is a direct connection, and
                    // the caller's next try (or any user of the node) finds it.
                    if (!result.complete(c) && !result.isCompletedExceptionally() && result.join() != c) c.close();
                } else {
                    errors.add(Futures.unwrap(e));
                    if (left.decrementAndGet() == 0) {
                        result.completeExceptionally(new TransportException(TransportException.Kind.TIMEOUT,
                                "no direct dial to " + peer + " succeeded: " + errors.get(0).getMessage()));
                    }
                    return;
                }
                left.decrementAndGet();
            }, loop);
        }
        EventLoop.Cancellable timer = loop.schedule(() -> result.completeExceptionally(new TransportException(
                TransportException.Kind.TIMEOUT, "no direct connection to " + peer + " within "
                        + dialTimeoutMs + " ms")), dialTimeoutMs);
        result.whenComplete((c, e) -> timer.cancel());
        return result;
    }

    /** Fixed-window rate limit: true if one more introduction concerning {@code peer} is allowed. Event loop. */
    boolean admit(PeerId peer) {
        long now = loop.nowMs();
        if (now - windowStart >= config.windowMs()) {
            windowStart = now;
            global = 0;
            perPeer.clear();
        }
        int n = perPeer.getOrDefault(peer, 0);
        if (n >= config.perPeerPerWindow() || global >= config.globalPerWindow()) return false;
        perPeer.put(peer, n + 1);
        global++;
        return true;
    }

    /** Waits {@code ms} on the loop. */
    CompletableFuture<Void> delay(long ms) {
        CompletableFuture<Void> f = new CompletableFuture<>();
        if (ms <= 0) {
            loop.execute(() -> f.complete(null));
        } else {
            loop.schedule(() -> f.complete(null), ms);
        }
        return f;
    }
}
