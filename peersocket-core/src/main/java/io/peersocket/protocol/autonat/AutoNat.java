package io.peersocket.protocol.autonat;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libp2p AutoNAT v1 {@code /libp2p/autonat/1.0.0} (libp2p specs autonat/autonat-v1.md), both sides, plus the
 * observed-address consensus that finds the addresses to test.
 *
 * <p><b>Client.</b> Every probe round asks up to {@code probePeers} connected peers that serve AutoNAT
 * (least recently asked first) to dial back our candidate addresses: listen addresses plus observed addresses
 * confirmed by {@link ObservedAddresses}. {@code OK} counts as "dialled", {@code E_DIAL_ERROR} as "not
 * dialled"; other answers carry no information and are only counted. Results drive {@link Reachability};
 * listeners hear each change. Rounds repeat every {@code retryIntervalMs} while UNKNOWN, every
 * {@code refreshIntervalMs} once decided, and soon after a new server or a newly confirmed address appears.
 *
 * <p><b>Server.</b> Dials back only addresses whose IP (or memory address) equals the requester's observed one
 * — other addresses are skipped and counted ({@code autonat.server.refused.third_party}), as the spec demands
 * against RFC 3489 §12.1.1 amplification — plus the observed address itself (first); never over a relayed
 * connection; at most
 * {@code maxDialsPerRequest} addresses; per-peer and global rate limits; the peer id in the request must be the
 * connection's peer. The dial itself goes through {@link DialBack}, which the node implements with a separate
 * ephemeral identity and port, so an existing connection or NAT mapping cannot make the answer a false OK.
 *
 * <p>Threading: all state on the host's event loop; listeners run there.
 */
public final class AutoNat implements ProtocolHandler {
    private static final Logger log = LoggerFactory.getLogger(AutoNat.class);
    public static final String PROTOCOL_ID = "/libp2p/autonat/1.0.0";
    /** Most peers remembered by the per-peer rate limit and the asked-at table. */
    static final int MAX_TRACKED_PEERS = 1024;

    /** Dials an address back from a connection that is not the requester's existing one. */
    public interface DialBack {
        /** True if this node can dial {@code address} at all. */
        boolean canDial(Multiaddr address);

        /**
         * Dials {@code address}, which must be {@code peer}; completes when the handshake proved it, fails
         * otherwise. The connection is closed afterwards.
         */
        CompletableFuture<Void> dial(PeerId peer, Multiaddr address);
    }

    private final Host host;
    private final AutoNatConfig config;
    private final DialBack dialBack;
    private final EventLoop loop;
    private final Counters counters;
    private final Reachability reachability;
    private final ObservedAddresses observed;
    private final List<Consumer<Reachability.State>> listeners = new CopyOnWriteArrayList<>();
    private volatile Reachability.State state = Reachability.State.UNKNOWN;
    private volatile List<Multiaddr> external = List.of();

    // Event-loop state.
    private final Set<PeerId> servers = new LinkedHashSet<>();
    private final Map<PeerId, Long> askedAt = bounded();
    private final Map<PeerId, Integer> peerRequests = bounded();
    private int globalRequests;
    private long windowStartMs;
    private int inFlight;
    private EventLoop.Cancellable next;
    private boolean closed;

    /**
     * Registers the protocol (if {@code config.serve()}) and listens to peer events; the first probe round runs
     * when a server is known.
     */
    public AutoNat(Host host, AutoNatConfig config, DialBack dialBack) {
        this.host = host;
        this.config = config;
        this.dialBack = dialBack;
        this.loop = host.loop();
        this.counters = host.counters();
        this.reachability = new Reachability(config.confidence(), config.minDwellMs());
        this.observed = new ObservedAddresses(config.observedThreshold(), config.observedTtlMs(), counters);
        if (config.serve()) host.registerProtocol(PROTOCOL_ID, this);
        host.onPeerEvent(this::onPeerEvent);
    }

    /** The current belief (any thread). */
    public Reachability.State reachability() { return state; }

    /** External addresses confirmed by observed-address consensus, most votes first (any thread). */
    public List<Multiaddr> externalAddresses() { return external; }

    /** Listens for reachability changes (on the event loop; keep it quick). */
    public void onChange(Consumer<Reachability.State> listener) { listeners.add(listener); }

    /** Stops probing. Event loop. */
    public void close() {
        closed = true;
        if (next != null) next.cancel();
    }

    // ---- observed addresses -----------------------------------------------------------------------

    private void onPeerEvent(PeerEvent e) {
        switch (e.kind()) {
            case IDENTIFIED -> {
                if (e.identify().observedAddress() != null && e.connection() != null) onObserved(e);
                if (e.identify().protocols().contains(PROTOCOL_ID) && servers.add(e.peer())) {
                    if (servers.size() > MAX_TRACKED_PEERS) servers.remove(servers.iterator().next());
                    if (state == Reachability.State.UNKNOWN) probeSoon();
                }
            }
            case DISCONNECTED -> {
                if (!host.isConnected(e.peer())) servers.remove(e.peer());
            }
            default -> { }
        }
    }

    private void onObserved(PeerEvent e) {
        Multiaddr seen = e.identify().observedAddress();
        // Only a report about the connection's own transport counts: a QUIC peer must report a QUIC address.
        if (!sameShape(seen, e.connection().localAddress())) {
            counters.increment("autonat.observed.rejected.transport");
            return;
        }
        if (!observed.record(e.peer(), seen, loop.nowMs())) return;
        List<Multiaddr> now = observed.confirmed(loop.nowMs());
        if (!now.equals(external)) {
            boolean added = !external.containsAll(now);
            external = List.copyOf(now);
            log.info("external addresses {}", external);
            if (added) probeSoon();
        }
    }

    private static boolean sameShape(Multiaddr a, Multiaddr b) {
        if (a == null || b == null) return false;
        List<Multiaddr.Component> x = a.withoutPeerId().components(), y = b.withoutPeerId().components();
        if (x.size() != y.size()) return false;
        for (int i = 1; i < x.size(); i++) if (x.get(i).protocol() != y.get(i).protocol()) return false;
        return !x.isEmpty() && family(x.get(0).protocol()) == family(y.get(0).protocol());
    }

    private static int family(Protocol p) { return p == Protocol.IP4 || p == Protocol.IP6 ? 1 : p.code(); }

    // ---- client -----------------------------------------------------------------------------------

    private void probeSoon() {
        if (closed || inFlight > 0) return;
        schedule(1_000);
    }

    private void schedule(long delayMs) {
        if (closed) return;
        if (next != null) next.cancel();
        next = loop.schedule(this::probe, delayMs);
    }

    /** The addresses we ask peers to dial: listen addresses and confirmed external ones. */
    public List<Multiaddr> candidates() {
        LinkedHashSet<Multiaddr> out = new LinkedHashSet<>(external);
        for (Multiaddr a : host.listenAddresses()) if (!a.isLoopback()) out.add(a.withoutPeerId());
        List<Multiaddr> list = new ArrayList<>(out);
        return list.size() > AutoNatCodec.MAX_ADDRESSES ? list.subList(0, AutoNatCodec.MAX_ADDRESSES) : list;
    }

    /**
     * Runs one probe round now (event loop). Completes when every asked peer answered or timed out.
     *
     * @return the number of peers asked
     */
    public CompletableFuture<Integer> probe() {
        return Futures.composeOn(loop, () -> {
            if (closed || inFlight > 0) return CompletableFuture.completedFuture(0);
            List<Multiaddr> candidates = candidates();
            List<PeerId> pick = new ArrayList<>();
            for (PeerId p : servers) if (host.isConnected(p)) pick.add(p);
            pick.sort((a, b) -> Long.compare(askedAt.getOrDefault(a, Long.MIN_VALUE), askedAt.getOrDefault(b, Long.MIN_VALUE)));
            if (pick.size() > config.probePeers()) pick = pick.subList(0, config.probePeers());
            if (candidates.isEmpty() || pick.isEmpty()) {
                counters.increment(candidates.isEmpty() ? "autonat.client.no_candidates" : "autonat.client.no_servers");
                schedule(nextInterval());
                return CompletableFuture.completedFuture(0);
            }
            byte[] request = FrameDecoder.frame(AutoNatCodec.encode(new AutoNatMessage.Dial(host.peerId(), candidates, 0)));
            List<CompletableFuture<Void>> all = new ArrayList<>();
            for (PeerId p : pick) {
                askedAt.put(p, loop.nowMs());
                inFlight++;
                counters.increment("autonat.client.requests");
                all.add(ask(p, request).handleAsync((r, err) -> { // back on the loop: a failed dial completes on a transport thread
                    inFlight--;
                    if (err != null) {
                        counters.increment("autonat.client.failed");
                        log.debug("autonat request to {} failed: {}", p, Futures.unwrap(err).getMessage());
                    } else {
                        onResponse(p, r);
                    }
                    return null;
                }, loop));
            }
            int asked = pick.size();
            return CompletableFuture.allOf(all.toArray(CompletableFuture[]::new))
                    .thenApplyAsync(x -> {
                        if (inFlight == 0) schedule(nextInterval());
                        return asked;
                    }, loop);
        });
    }

    /**
     * Asks one peer, now, to dial us back on {@code addresses} (a {@code DIAL} with our peer id on a new
     * {@value #PROTOCOL_ID} stream), outside the probe rounds: the answer is returned as is and does not count
     * toward {@link #reachability()} (tools, tests, interop). The peer is dialled if not connected.
     *
     * @param server the peer to ask
     * @param addresses the addresses to put in the request (1 … {@link AutoNatCodec#MAX_ADDRESSES}), sent as given
     * @return the decoded {@code DIAL_RESPONSE} (any status); fails with {@link AutoNatProtocolException} on a
     *     malformed or missing answer (request timeout {@link AutoNatConfig#requestTimeoutMs()}), or with the
     *     connection's error
     * @throws IllegalArgumentException if {@code addresses} is empty or too long
     */
    public CompletableFuture<AutoNatMessage.DialResponse> ask(PeerId server, List<Multiaddr> addresses) {
        java.util.Objects.requireNonNull(server, "server");
        if (addresses.isEmpty() || addresses.size() > AutoNatCodec.MAX_ADDRESSES) {
            throw new IllegalArgumentException("1.." + AutoNatCodec.MAX_ADDRESSES + " addresses, got " + addresses.size());
        }
        byte[] request = FrameDecoder.frame(AutoNatCodec.encode(new AutoNatMessage.Dial(host.peerId(), addresses, 0)));
        counters.increment("autonat.client.asked");
        return Futures.composeOn(loop, () -> ask(server, request));
    }

    private long nextInterval() {
        return state == Reachability.State.UNKNOWN ? config.retryIntervalMs() : config.refreshIntervalMs();
    }

    private void onResponse(PeerId peer, AutoNatMessage.DialResponse r) {
        counters.increment("autonat.client.response." + r.status().name().toLowerCase());
        Boolean dialled = switch (r.status()) {
            case OK -> true;
            case E_DIAL_ERROR -> false;
            default -> null;
        };
        if (dialled == null) return;
        Reachability.State changed = reachability.record(peer, dialled, loop.nowMs());
        if (changed == null) return;
        state = changed;
        log.info("reachability {}", changed);
        counters.increment("autonat.reachability." + changed.name().toLowerCase());
        for (Consumer<Reachability.State> l : listeners) {
            try {
                l.accept(changed);
            } catch (RuntimeException ex) {
                log.warn("reachability listener failed", ex);
            }
        }
    }

    private CompletableFuture<AutoNatMessage.DialResponse> ask(PeerId peer, byte[] request) {
        CompletableFuture<AutoNatMessage.DialResponse> result = new CompletableFuture<>();
        FrameDecoder decoder = new FrameDecoder(AutoNatCodec.MAX_MESSAGE_BYTES);
        StreamHandler reader = new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {
                try {
                    decoder.feed(data, msg -> {
                        decoder.stop();
                        if (!(AutoNatCodec.decode(msg) instanceof AutoNatMessage.DialResponse r)) {
                            throw new AutoNatProtocolException("expected DIAL_RESPONSE, got DIAL");
                        }
                        result.complete(r);
                    });
                } catch (RuntimeException e) {
                    counters.increment("autonat.client.bad_response");
                    result.completeExceptionally(e);
                    s.reset();
                    return;
                }
                if (result.isDone()) s.close();
            }

            @Override public void onRemoteWriteClosed(Stream s) {
                if (result.completeExceptionally(new AutoNatProtocolException("autonat stream ended before a response"))) s.reset();
            }

            @Override public void onClosed(Stream s, Throwable cause) {
                result.completeExceptionally(new AutoNatProtocolException("autonat stream closed"));
            }
        };
        host.openStream(peer, PROTOCOL_ID, reader).whenComplete((s, err) -> {
            if (err != null) result.completeExceptionally(err);
            else s.write(request);
        });
        EventLoop.Cancellable timer = loop.schedule(() -> result.completeExceptionally(
                new AutoNatProtocolException("no autonat response within " + config.requestTimeoutMs() + " ms")),
                config.requestTimeoutMs());
        return result.whenComplete((r, e) -> timer.cancel());
    }

    // ---- server -----------------------------------------------------------------------------------

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        FrameDecoder decoder = new FrameDecoder(AutoNatCodec.MAX_MESSAGE_BYTES);
        boolean[] seen = {false};
        return new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {
                if (seen[0]) return;
                try {
                    decoder.feed(data, msg -> {
                        decoder.stop();
                        seen[0] = true;
                        serve(s, msg);
                    });
                } catch (FrameDecoder.FrameException e) {
                    seen[0] = true;
                    counters.increment("autonat.server.bad_request");
                    respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.E_BAD_REQUEST, e.getMessage(), null));
                }
            }

            @Override public void onRemoteWriteClosed(Stream s) {
                if (!seen[0]) s.reset();
            }
        };
    }

    private void serve(Stream s, byte[] msg) {
        Connection c = s.connection();
        PeerId requester = c.remotePeer();
        counters.increment("autonat.server.requests");
        if (c.remoteAddress().has(Protocol.P2P_CIRCUIT)) {
            refuse(s, "relayed", "dial-back requests over relayed connections are refused");
            return;
        }
        if (!admit(requester)) {
            refuse(s, "rate_limited", "rate limited");
            return;
        }
        AutoNatMessage m;
        try {
            m = AutoNatCodec.decode(msg);
        } catch (AutoNatProtocolException e) {
            counters.increment("autonat.server.bad_request");
            respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.E_BAD_REQUEST, e.getMessage(), null));
            return;
        }
        if (!(m instanceof AutoNatMessage.Dial dial)) {
            counters.increment("autonat.server.bad_request");
            respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.E_BAD_REQUEST, "expected DIAL", null));
            return;
        }
        if (dial.peer() == null || !dial.peer().equals(requester)) {
            counters.increment("autonat.server.bad_request");
            respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.E_BAD_REQUEST,
                    "peer id in DIAL is not the connection's peer", null));
            return;
        }
        byte[] observedHost = hostOf(c.remoteAddress());
        List<Multiaddr> targets = new ArrayList<>();
        // The spec allows adding the observed address; it is the requester's own by definition, and it lets a
        // node behind a NAT that has not learned its external address yet (or never can: symmetric NAT) find out.
        Multiaddr seenAt = c.remoteAddress().withoutPeerId();
        if (observedHost != null && dialBack.canDial(seenAt)) targets.add(seenAt);
        for (Multiaddr a : dial.addresses()) {
            PeerId named = a.peerId();
            Multiaddr bare = a.withoutPeerId();
            if ((named != null && !named.equals(requester)) || bare.has(Protocol.P2P_CIRCUIT)
                    || observedHost == null || !Arrays.equals(observedHost, hostOf(bare))) {
                counters.increment("autonat.server.refused.third_party");
                continue;
            }
            if (!dialBack.canDial(bare)) {
                counters.increment("autonat.server.refused.undialable");
                continue;
            }
            if (!targets.contains(bare) && targets.size() < config.maxDialsPerRequest()) targets.add(bare);
        }
        if (targets.isEmpty()) {
            refuse(s, "no_address", "no dialable address on your observed IP");
            return;
        }
        dialInTurn(requester, targets, 0).whenCompleteAsync((addr, err) -> {
            if (addr != null) {
                counters.increment("autonat.server.dial.ok");
                respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.OK, "", addr));
            } else {
                counters.increment("autonat.server.dial.error");
                respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.E_DIAL_ERROR, "dial back failed", null));
            }
        }, loop);
    }

    /** Dials {@code targets} one after another; completes with the first that answered, or null. */
    private CompletableFuture<Multiaddr> dialInTurn(PeerId peer, List<Multiaddr> targets, int i) {
        if (i >= targets.size()) return CompletableFuture.completedFuture(null);
        Multiaddr a = targets.get(i);
        CompletableFuture<Void> dial;
        try {
            dial = dialBack.dial(peer, a).orTimeout(config.dialTimeoutMs(), java.util.concurrent.TimeUnit.MILLISECONDS);
        } catch (RuntimeException e) {
            dial = CompletableFuture.failedFuture(e);
        }
        return dial.handleAsync((v, err) -> err == null, loop)
                .thenCompose(ok -> ok ? CompletableFuture.completedFuture(a) : dialInTurn(peer, targets, i + 1));
    }

    private void refuse(Stream s, String reason, String text) {
        counters.increment("autonat.server.refused." + reason);
        respond(s, new AutoNatMessage.DialResponse(AutoNatMessage.Status.E_DIAL_REFUSED, text, null));
    }

    private static void respond(Stream s, AutoNatMessage.DialResponse r) {
        s.write(FrameDecoder.frame(AutoNatCodec.encode(r)));
        s.closeWrite();
    }

    /** Per-peer and global fixed-window rate limits; true if this request may be served. */
    private boolean admit(PeerId peer) {
        long now = loop.nowMs();
        if (now - windowStartMs >= config.rateWindowMs()) {
            windowStartMs = now;
            globalRequests = 0;
            peerRequests.clear();
        }
        int n = peerRequests.getOrDefault(peer, 0);
        if (n >= config.perPeerRequests() || globalRequests >= config.globalRequests()) return false;
        peerRequests.put(peer, n + 1);
        globalRequests++;
        return true;
    }

    /** The IP (or memory address) bytes of {@code a}'s first component, or null if it has none. */
    static byte[] hostOf(Multiaddr a) {
        if (a == null || a.isEmpty()) return null;
        Multiaddr.Component first = a.components().get(0);
        return switch (first.protocol()) {
            case IP4, IP6, MEMORY -> first.rawValue();
            default -> null;
        };
    }

    private static <K, V> Map<K, V> bounded() {
        return new LinkedHashMap<>(16, 0.75f, true) {
            @Override protected boolean removeEldestEntry(Map.Entry<K, V> e) { return size() > MAX_TRACKED_PEERS; }
        };
    }

    /** Debug view: observed-address votes. Event loop. */
    public Map<Multiaddr, Integer> observedVotes() { return new HashMap<>(observed.counts(loop.nowMs())); }
}
