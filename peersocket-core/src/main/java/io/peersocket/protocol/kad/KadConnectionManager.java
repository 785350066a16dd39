package io.peersocket.protocol.kad;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.transport.Connection;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Keeps a {@link Kademlia} routing table healthy (seed 001 hive's connect loop). Every
 * {@link KadConfig#connectionManagerIntervalMs()} on the event loop, one {@link #tick()}:
 * <ol>
 *   <li><b>trims</b> over-full bins (closing only connections this node opened): in each bin below depth with
 *       more than {@link KadConfig#maxConnectedPerBin()}
 *       connected peers, closes connections to the surplus (replacements first, then least recently seen
 *       members); the neighbourhood is never trimmed;
 *   <li><b>dials</b> up to {@link KadConfig#dialsPerTick()} peers proposed by {@link RoutingTable#suggestPeer},
 *       skipping peers in back-off;
 *   <li>if a bin below depth is unsaturated and nobody in it can be dialled, <b>refreshes</b> that bin with a
 *       lookup for a random key in it (at most once per bin per {@link KadConfig#refreshIntervalMs()}).
 * </ol>
 * A failed dial backs the peer off exponentially: retry after {@code backoffBase × 2^(failures-1)} ms (at most
 * {@code backoffMax}); after {@link KadConfig#maxDialRetries()} failures the peer is removed from the table and
 * not retried for {@code backoffMax}. A connection made by anyone clears the peer's back-off.
 *
 * <p>Event loop only, except {@link #start()}, {@link #tick()} and {@link #close()} which may be called from any
 * thread.
 */
public final class KadConnectionManager implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(KadConnectionManager.class);
    /** Peers whose back-off is remembered at most. */
    static final int MAX_BACKOFF_ENTRIES = 10_000;

    /**
     * What one tick did.
     *
     * @param dialled peers dialled, with whether the connection succeeded
     * @param trimmed peers whose connection was closed to trim a bin
     * @param refreshedBin the bin refreshed by a lookup, or -1
     */
    public record TickReport(Map<PeerId, Boolean> dialled, List<PeerId> trimmed, int refreshedBin) {}

    /** Back-off state of one peer. */
    record Backoff(int failures, long nextAttemptMs) {}

    private final Kademlia kad;
    private final Host host;
    private final EventLoop loop;
    private final KadConfig config;
    private final Set<PeerId> dialling = new HashSet<>();
    private final Map<PeerId, Backoff> backoff = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<PeerId, Backoff> e) { return size() > MAX_BACKOFF_ENTRIES; }
    };
    private final Map<Integer, Long> lastRefresh = new HashMap<>();
    private EventLoop.Cancellable timer;
    private volatile boolean started;
    private volatile boolean closed;

    public KadConnectionManager(Kademlia kad) {
        this.kad = kad;
        this.host = kad.host();
        this.loop = kad.loop();
        this.config = kad.config();
        host.onPeerEvent(e -> {
            if (e.kind() == PeerEvent.Kind.CONNECTED) backoff.remove(e.peer());
        });
    }

    /** Starts periodic ticks (the first right away). Idempotent. */
    public void start() {
        if (started) return;
        started = true;
        loop.execute(this::scheduled);
    }

    private void scheduled() {
        if (closed) return;
        tickNow();
        timer = loop.schedule(this::scheduled, config.connectionManagerIntervalMs());
    }

    /** Runs one tick now; completes (on the loop) when its dials have finished. */
    public CompletableFuture<TickReport> tick() {
        CompletableFuture<TickReport> f = new CompletableFuture<>();
        kad.onLoop(() -> tickNow().whenComplete((r, e) -> {
            if (e != null) f.completeExceptionally(e);
            else f.complete(r);
        }));
        return f;
    }

    private CompletableFuture<TickReport> tickNow() {
        if (closed) return CompletableFuture.completedFuture(new TickReport(Map.of(), List.of(), -1));
        RoutingTable table = kad.table();
        List<PeerId> trimmed = trim(table);
        long now = loop.nowMs();
        Map<PeerId, Boolean> dialled = new LinkedHashMap<>();
        List<CompletableFuture<Void>> dials = new ArrayList<>();
        int refreshed = -1;
        for (int i = 0; i < config.dialsPerTick(); i++) {
            RoutingTable.Suggestion s = table.suggestPeer(p -> !dialling.contains(p) && !dialled.containsKey(p)
                    && mayDial(p, now) && !host.isConnected(p));
            if (s.peer() == null) {
                if (i == 0 && s.wantedBin() >= 0) refreshed = refresh(s.wantedBin(), now);
                break;
            }
            dialled.put(s.peer(), false);
            dials.add(dial(s.peer()).thenAccept(ok -> dialled.put(s.peer(), ok)));
        }
        int bin = refreshed;
        return CompletableFuture.allOf(dials.toArray(CompletableFuture[]::new))
                .thenApply(v -> new TickReport(Map.copyOf(dialled), List.copyOf(trimmed), bin));
    }

    private boolean mayDial(PeerId p, long now) {
        Backoff b = backoff.get(p);
        return b == null || b.nextAttemptMs <= now;
    }

    private CompletableFuture<Boolean> dial(PeerId peer) {
        dialling.add(peer);
        kad.counters().increment("kad.connmgr.dial");
        CompletableFuture<Boolean> done = new CompletableFuture<>();
        host.connection(peer).whenComplete((c, err) -> kad.onLoop(() -> {
            dialling.remove(peer);
            if (err == null) {
                backoff.remove(peer);
                done.complete(true);
                return;
            }
            onDialFailed(peer, Kademlia.unwrap(err));
            done.complete(false);
        }));
        return done;
    }

    private void onDialFailed(PeerId peer, Throwable cause) {
        long now = loop.nowMs();
        Backoff old = backoff.get(peer);
        int failures = (old == null ? 0 : old.failures) + 1;
        kad.counters().increment("kad.connmgr.dial_failed");
        if (failures >= config.maxDialRetries()) {
            backoff.put(peer, new Backoff(failures, now + config.backoffMaxMs()));
            if (kad.table().remove(peer)) kad.counters().increment("kad.connmgr.gave_up");
            log.debug("giving up on {} after {} failed dials: {}", peer, failures, cause.toString());
            return;
        }
        long delay = config.backoffBaseMs() << Math.min(failures - 1, 30);
        if (delay <= 0 || delay > config.backoffMaxMs()) delay = config.backoffMaxMs();
        backoff.put(peer, new Backoff(failures, now + delay));
        log.debug("dial {} failed ({}), retry in {} ms", peer, cause.toString(), delay);
    }

    /** Closes connections beyond {@code maxConnectedPerBin} in bins below depth. */
    private List<PeerId> trim(RoutingTable table) {
        List<PeerId> trimmed = new ArrayList<>();
        int depth = table.depth();
        for (int po = 0; po < depth; po++) {
            int surplus = table.connectedCount(po) - config.maxConnectedPerBin();
            if (surplus <= 0) continue;
            List<RoutingTable.PeerInfo> victims = new ArrayList<>();
            for (RoutingTable.PeerInfo p : table.bin(po)) {
                if (p.connected() && p.tier() == RoutingTable.Tier.REPLACEMENT) victims.add(p);
            }
            for (RoutingTable.PeerInfo p : table.bin(po)) { // members, least recently seen first
                if (p.connected() && p.tier() == RoutingTable.Tier.MEMBER) victims.add(p);
            }
            for (int i = 0; i < surplus && i < victims.size(); i++) {
                PeerId peer = victims.get(i).peer();
                if (!host.isConnected(peer)) continue;
                // Only connections we opened: proximity order is symmetric but depth is not, so a peer in our
                // shallow bin may count us among its nearest neighbours and dial us; closing that would flap.
                if (host.connectionsTo(peer).stream().anyMatch(c -> c.direction() == Connection.Direction.INBOUND)) {
                    surplus++;
                    continue;
                }
                trimmed.add(peer);
                table.setConnected(peer, false);
                kad.counters().increment("kad.connmgr.trimmed");
                List<Connection> open = host.connectionsTo(peer);
                if (open.isEmpty()) host.connection(peer).thenAccept(Connection::close);
                else for (Connection c : open) c.close(); // all of them, or the table's "unconnected" is a lie
            }
        }
        return trimmed;
    }

    private int refresh(int po, long now) {
        Long last = lastRefresh.get(po);
        long every = config.refreshIntervalMs() > 0 ? config.refreshIntervalMs() : config.connectionManagerIntervalMs();
        if (last != null && now - last < every) return -1;
        lastRefresh.put(po, now);
        kad.counters().increment("kad.connmgr.refresh");
        kad.refreshBin(po).exceptionally(e -> null);
        return po;
    }

    /** The back-off of {@code peer}, or null. Event loop only. */
    Backoff backoffOf(PeerId peer) { return backoff.get(peer); }

    /** Stops the ticks. Idempotent. */
    @Override public void close() {
        closed = true;
        kad.onLoop(() -> {
            if (timer != null) timer.cancel();
        });
    }
}
