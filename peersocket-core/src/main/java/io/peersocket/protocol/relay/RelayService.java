package io.peersocket.protocol.relay;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.HostKey;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The relay side of Circuit Relay v2 (libp2p specs relay/circuit-v2.md): serves the hop protocol
 * {@value #HOP}, grants reservations and relays circuits to peers holding one, opening the stop protocol
 * {@value #STOP} to the target. Opt-in ({@code NodeBuilder.relayService}); any node can run it.
 *
 * <p><b>RESERVE.</b> Refused with PERMISSION_DENIED over a relayed (limited) connection, RESOURCE_LIMIT_EXCEEDED
 * when the peer made more than {@link RelayConfig#maxReserveRequestsPerPeer()} requests in the window, and
 * RESERVATION_REFUSED when {@link RelayConfig#maxReservations()} or the per-IP cap is reached (a refresh of a live
 * reservation is never refused for capacity). Granted: expiry now + TTL, this relay's addresses with
 * {@code /p2p/RELAY}, a signed {@link ReservationVoucher} and the {@link Limit}. A reservation lives until it
 * expires or the peer's last connection to the relay closes.
 *
 * <p><b>CONNECT.</b> NO_RESERVATION unless the target holds a live reservation; RESOURCE_LIMIT_EXCEEDED beyond
 * {@link RelayConfig#maxCircuits()} or {@link RelayConfig#maxCircuitsPerPeer()} (initiator or target);
 * CONNECTION_FAILED if the stop stream cannot be opened or the target does not answer OK within
 * {@link RelayConfig#connectTimeoutMs()}. On OK the two streams are spliced ({@code Splice}) under the limit.
 *
 * <p><b>Abuse.</b> A malformed or unexpected message is answered MALFORMED_MESSAGE / UNEXPECTED_MESSAGE and only
 * that stream is closed; a silent stream is reset after {@link RelayConfig#messageTimeoutMs()}. Everything is
 * counted under {@code relay.*} in the host's {@link Counters}.
 *
 * <p>Threading: all state on the host's event loop.
 */
public final class RelayService implements ProtocolHandler {
    private static final Logger log = LoggerFactory.getLogger(RelayService.class);
    public static final String HOP = "/libp2p/circuit/relay/0.2.0/hop";
    public static final String STOP = "/libp2p/circuit/relay/0.2.0/stop";
    /** Bytes a hop or stop stream may send beyond its request before the circuit is up. */
    static final int MAX_EARLY_BYTES = 64 * 1024;
    /** Most peers tracked by the per-peer request window. */
    static final int MAX_TRACKED_PEERS = 4096;

    private final Host host;
    private final HostKey key;
    private final RelayConfig config;
    private final EventLoop loop;
    private final Counters counters;

    // Event-loop state.
    private final Map<PeerId, Res> reservations = new HashMap<>();
    private final Map<PeerId, long[]> requestWindows = new LinkedHashMap<>(16, 0.75f, true) {
        @Override protected boolean removeEldestEntry(Map.Entry<PeerId, long[]> e) { return size() > MAX_TRACKED_PEERS; }
    };
    private final Map<PeerId, Integer> circuitsPerPeer = new HashMap<>();
    private final Set<Splice> circuits = new HashSet<>();
    private int pendingCircuits;
    private boolean closed;

    private record Res(PeerId peer, Connection connection, String ip, long expireMs) {}

    /**
     * Registers {@value #HOP} on {@code host} and listens for disconnects.
     *
     * @param key this node's identity (signs the vouchers); must be {@code host.peerId()}'s
     */
    public RelayService(Host host, HostKey key, RelayConfig config) {
        if (!key.peerId().equals(host.peerId())) throw new IllegalArgumentException("key is not the host's");
        this.host = host;
        this.key = key;
        this.config = config;
        this.loop = host.loop();
        this.counters = host.counters();
        host.registerProtocol(HOP, this);
        host.onPeerEvent(this::onPeerEvent);
    }

    public RelayConfig config() { return config; }

    /** Peers holding a live reservation (event loop for a consistent answer). */
    public List<PeerId> reservedPeers() {
        long now = loop.nowMs();
        List<PeerId> out = new ArrayList<>();
        for (Res r : reservations.values()) if (live(r, now)) out.add(r.peer);
        return out;
    }

    /** Circuits currently being relayed (event loop). */
    public int circuitCount() { return circuits.size(); }

    /** Stops serving: unregisters the hop protocol and resets every circuit. Event loop. */
    public void close() {
        closed = true;
        try {
            host.unregisterProtocol(HOP);
        } catch (UnsupportedOperationException e) {
            // a host that cannot withdraw protocols: new streams are refused below
        }
        for (Splice s : new ArrayList<>(circuits)) s.abort("closed");
        reservations.clear();
    }

    private void onPeerEvent(PeerEvent e) {
        if (e.kind() != PeerEvent.Kind.DISCONNECTED) return;
        Res r = reservations.get(e.peer());
        if (r == null || r.connection.isOpen()) return;
        Connection other = usableConnection(e.peer());
        if (other != null) {
            reservations.put(e.peer(), new Res(r.peer, other, r.ip, r.expireMs)); // still connected: keep it
        } else {
            reservations.remove(e.peer());
            counters.increment("relay.reserve.dropped.disconnected");
        }
    }

    private static boolean live(Res r, long now) { return r.expireMs > now && r.connection.isOpen(); }

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        MessageStream ms = new MessageStream(RelayCodec.MAX_MESSAGE_BYTES, MAX_EARLY_BYTES).stream(stream);
        if (closed) {
            stream.reset();
            return ms;
        }
        EventLoop.Cancellable timeout = loop.schedule(() -> {
            counters.increment("relay.hop.timeout");
            stream.reset();
        }, config.messageTimeoutMs());
        ms.expect(new MessageStream.Reader() {
            @Override public void onMessage(byte[] message) {
                timeout.cancel();
                HopMessage m;
                try {
                    m = RelayCodec.decodeHop(message);
                } catch (RelayProtocolException e) {
                    counters.increment("relay.hop.malformed");
                    log.debug("malformed hop message from {}: {}", stream.connection().remotePeer(), e.getMessage());
                    answer(ms, RelayStatus.MALFORMED_MESSAGE);
                    return;
                }
                switch (m.type()) {
                    case RESERVE -> reserve(ms);
                    case CONNECT -> connect(ms, m.peer());
                    case STATUS -> {
                        counters.increment("relay.hop.unexpected");
                        answer(ms, RelayStatus.UNEXPECTED_MESSAGE);
                    }
                }
            }

            @Override public void onEnd(String reason) {
                timeout.cancel();
                counters.increment("relay.hop.ended");
            }
        });
        return ms;
    }

    /** Answers STATUS {@code status} and closes the stream. */
    private static void answer(MessageStream ms, RelayStatus status) {
        ms.send(RelayCodec.encode(HopMessage.status(status)));
        ms.stream().close();
    }

    // ---- RESERVE --------------------------------------------------------------------------------------

    private void reserve(MessageStream ms) {
        Connection c = ms.stream().connection();
        PeerId peer = c.remotePeer();
        long now = loop.nowMs();
        if (c.isLimited()) {
            refuseReserve(ms, RelayStatus.PERMISSION_DENIED, "limited_connection");
            return;
        }
        long[] w = requestWindows.computeIfAbsent(peer, k -> new long[] {now, 0});
        if (now - w[0] >= config.requestWindowMs()) {
            w[0] = now;
            w[1] = 0;
        }
        if (++w[1] > config.maxReserveRequestsPerPeer()) {
            refuseReserve(ms, RelayStatus.RESOURCE_LIMIT_EXCEEDED, "rate");
            return;
        }
        pruneExpired(now);
        String ip = ipOf(c.remoteAddress());
        Res existing = reservations.get(peer);
        if (existing == null) {
            if (reservations.size() >= config.maxReservations()) {
                refuseReserve(ms, RelayStatus.RESERVATION_REFUSED, "full");
                return;
            }
            int sameIp = 0;
            for (Res r : reservations.values()) if (r.ip.equals(ip)) sameIp++;
            if (sameIp >= config.maxReservationsPerIp()) {
                refuseReserve(ms, RelayStatus.RESERVATION_REFUSED, "ip");
                return;
            }
        }
        long expireMs = now + config.reservationTtlMs();
        long expireSeconds = (expireMs + 999) / 1000;
        reservations.put(peer, new Res(peer, c, ip, expireMs));
        List<Multiaddr> addrs = new ArrayList<>();
        LinkedHashSet<Multiaddr> mine = new LinkedHashSet<>(host.listenAddresses());
        mine.addAll(host.externalAddresses());
        for (Multiaddr a : mine) {
            if (addrs.size() >= RelayCodec.MAX_ADDRESSES) break;
            if (!a.has(Protocol.P2P_CIRCUIT)) addrs.add(a.withPeerId(host.peerId()));
        }
        byte[] voucher = new ReservationVoucher(host.peerId(), peer, expireSeconds).seal(key);
        counters.increment(existing == null ? "relay.reserve.accepted" : "relay.reserve.refreshed");
        ms.send(RelayCodec.encode(HopMessage.ok(new HopMessage.Reservation(expireSeconds, addrs, voucher), config.limit())));
        ms.stream().close();
        log.debug("reservation for {} until {}", peer, expireSeconds);
    }

    private void refuseReserve(MessageStream ms, RelayStatus status, String reason) {
        counters.increment("relay.reserve.refused." + reason);
        answer(ms, status);
    }

    private void pruneExpired(long now) {
        for (Iterator<Res> it = reservations.values().iterator(); it.hasNext(); ) {
            if (!live(it.next(), now)) it.remove();
        }
    }

    private static String ipOf(Multiaddr a) {
        String ip = a.valueOf(Protocol.IP4);
        if (ip == null) ip = a.valueOf(Protocol.IP6);
        return ip == null ? a.toString() : ip;
    }

    // ---- CONNECT --------------------------------------------------------------------------------------

    private Connection usableConnection(PeerId peer) {
        for (Connection c : host.connectionsTo(peer)) if (c.isOpen() && !c.isLimited()) return c;
        return null;
    }

    private void connect(MessageStream hop, PeerId target) {
        Connection c = hop.stream().connection();
        PeerId src = c.remotePeer();
        if (c.isLimited()) {
            refuseConnect(hop, RelayStatus.PERMISSION_DENIED, "limited_connection");
            return;
        }
        Res r = reservations.get(target);
        Connection targetConn = r == null || !live(r, loop.nowMs()) ? null
                : r.connection.isOpen() ? r.connection : usableConnection(target);
        if (targetConn == null) {
            refuseConnect(hop, RelayStatus.NO_RESERVATION, "no_reservation");
            return;
        }
        if (circuits.size() + pendingCircuits >= config.maxCircuits()
                || circuitsPerPeer.getOrDefault(src, 0) >= config.maxCircuitsPerPeer()
                || circuitsPerPeer.getOrDefault(target, 0) >= config.maxCircuitsPerPeer()) {
            refuseConnect(hop, RelayStatus.RESOURCE_LIMIT_EXCEEDED, "limit");
            return;
        }
        pendingCircuits++;
        circuitsPerPeer.merge(src, 1, Integer::sum);
        circuitsPerPeer.merge(target, 1, Integer::sum);
        new Attempt(hop, src, target).start(targetConn);
    }

    private void refuseConnect(MessageStream hop, RelayStatus status, String reason) {
        counters.increment("relay.connect.refused." + reason);
        answer(hop, status);
    }

    private void release(PeerId p) {
        circuitsPerPeer.computeIfPresent(p, (k, n) -> n <= 1 ? null : n - 1);
    }

    /** One CONNECT in progress: stop stream to the target, then splice or fail. */
    private final class Attempt {
        final MessageStream hop;
        final PeerId src;
        final PeerId target;
        final MessageStream stop = new MessageStream(RelayCodec.MAX_MESSAGE_BYTES, MAX_EARLY_BYTES);
        EventLoop.Cancellable timer;
        boolean settled;

        Attempt(MessageStream hop, PeerId src, PeerId target) {
            this.hop = hop;
            this.src = src;
            this.target = target;
        }

        void start(Connection targetConn) {
            timer = loop.schedule(() -> fail("timeout"), config.connectTimeoutMs());
            // the initiator giving up (closing its hop stream) aborts the attempt
            hop.expect(new MessageStream.Reader() {
                @Override public void onMessage(byte[] message) { fail("early_data"); }

                @Override public void onEnd(String reason) { fail("initiator_gone"); }
            });
            Multistream.select(targetConn, List.of(STOP), id -> stop).whenComplete((n, err) -> {
                if (err != null) {
                    fail("stop_stream");
                    return;
                }
                stop.stream(n.stream());
                if (settled) {
                    n.stream().reset();
                    return;
                }
                stop.send(RelayCodec.encode(StopMessage.connect(src, config.limit())));
                stop.expect(new MessageStream.Reader() {
                    @Override public void onMessage(byte[] message) { onStopAnswer(message); }

                    @Override public void onEnd(String reason) { fail("stop_ended"); }
                });
            });
        }

        void onStopAnswer(byte[] message) {
            StopMessage m;
            try {
                m = RelayCodec.decodeStop(message);
            } catch (RelayProtocolException e) {
                counters.increment("relay.stop.malformed");
                fail("stop_malformed");
                return;
            }
            if (m.type() != StopMessage.Type.STATUS || m.status() != RelayStatus.OK) {
                fail("target_refused");
                return;
            }
            if (settled) return;
            settled = true;
            timer.cancel();
            pendingCircuits--;
            counters.increment("relay.connect.ok");
            hop.send(RelayCodec.encode(HopMessage.ok(null, config.limit())));
            Splice[] holder = new Splice[1];
            // the hop stream's reader above is replaced by the splice
            Splice splice = new Splice(loop, counters, hop, stop, config.limitDurationMs(), config.limitDataBytes(),
                    config.maxBufferedBytes(), reason -> {
                        if (holder[0] != null) circuits.remove(holder[0]);
                        release(src);
                        release(target);
                        counters.increment("relay.circuit.closed." + reason);
                        log.debug("circuit {} -> {} over: {}", src, target, reason);
                    });
            holder[0] = splice;
            if (closed) splice.abort("closed");
            else if (!splice.isDone()) circuits.add(splice);
        }

        void fail(String reason) {
            if (settled) return;
            settled = true;
            if (timer != null) timer.cancel();
            pendingCircuits--;
            release(src);
            release(target);
            counters.increment("relay.connect.failed." + reason);
            if (stop.stream() != null) stop.stream().reset();
            if (!"initiator_gone".equals(reason)) answer(hop, RelayStatus.CONNECTION_FAILED);
        }
    }
}
