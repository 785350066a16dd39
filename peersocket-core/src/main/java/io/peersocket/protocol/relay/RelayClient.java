package io.peersocket.protocol.relay;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.multiaddr.Protocol;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.transport.TransportHandler;
import io.peersocket.transport.upgrade.Upgrader;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.Futures;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The client side of Circuit Relay v2 (libp2p specs relay/circuit-v2.md), on every node.
 *
 * <ul>
 *   <li><b>Reservations</b>: {@link #reserve(PeerId)} asks a relay for a slot (hop RESERVE) and keeps it:
 *       refreshed at ¾ of its remaining life, re-made after the connection to the relay drops, retried with
 *       backoff (2 s doubling to 60 s) after failures, until {@link #cancel}. While it is held,
 *       {@link #circuitAddresses()} lists {@code /…relay address…/p2p/RELAY/p2p-circuit}, which the node
 *       advertises in identify.</li>
 *   <li><b>Stop</b>: serves {@value RelayService#STOP}; a CONNECT is accepted only from a relay we asked for a
 *       reservation, then the circuit is upgraded as RESPONDER (Noise + Yamux via the {@link Upgrader}) and the
 *       connection reported to the node's {@link TransportHandler} with {@link Connection#isLimited()} true.
 *       {@link #inboundCircuits} replaces that with a raw handler.</li>
 *   <li><b>Dialling</b>: {@link #dial} takes {@code /…relay address…/p2p/RELAY/p2p-circuit/p2p/TARGET}
 *       (or {@code /p2p/RELAY/p2p-circuit/p2p/TARGET} for a relay already known), connects to the relay, sends
 *       hop CONNECT and upgrades the circuit as INITIATOR expecting TARGET. {@link #openCircuit} stops before the
 *       upgrade (raw bytes).</li>
 * </ul>
 *
 * <p>Threading: state on the host's event loop; public methods may be called from any thread; futures complete
 * on the loop. Counters under {@code relay.client.*}.
 */
public final class RelayClient implements ProtocolHandler {
    private static final Logger log = LoggerFactory.getLogger(RelayClient.class);
    /** How long a hop or stop exchange may take before it fails. */
    public static final long EXCHANGE_TIMEOUT_MS = 10_000;
    static final long RETRY_MIN_MS = 2_000;
    static final long RETRY_MAX_MS = 60_000;
    /** Reservation life assumed when a relay sends no expiry. */
    static final long DEFAULT_TTL_MS = 15 * 60_000;
    private static final Multiaddr CIRCUIT = Multiaddr.parse("/p2p-circuit");

    private final Host host;
    private final Upgrader upgrader;
    private final TransportHandler connections;
    private final EventLoop loop;
    private final Counters counters;
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();
    private volatile List<Reservation> held = List.of();
    private volatile Consumer<Circuit> inbound;

    // Event-loop state.
    private final Map<PeerId, Managed> managed = new HashMap<>();
    private boolean closed;

    /** A relay we keep a reservation with. */
    private static final class Managed {
        final PeerId relay;
        final CompletableFuture<Reservation> first = new CompletableFuture<>();
        Reservation current;
        EventLoop.Cancellable timer;
        int failures;
        boolean inFlight;

        Managed(PeerId relay) { this.relay = relay; }
    }

    /**
     * Registers {@value RelayService#STOP} on {@code host}.
     *
     * @param upgrader secures and multiplexes circuits; null for raw circuits only ({@link #dial} then fails and
     *     inbound circuits are refused unless {@link #inboundCircuits} is set)
     * @param connections where upgraded connections are reported (the node's transport handler)
     */
    public RelayClient(Host host, Upgrader upgrader, TransportHandler connections) {
        this.host = host;
        this.upgrader = upgrader;
        this.connections = connections;
        this.loop = host.loop();
        this.counters = host.counters();
        host.registerProtocol(RelayService.STOP, this);
        host.onPeerEvent(this::onPeerEvent);
    }

    // ---- addresses ------------------------------------------------------------------------------------

    /** True if {@code address} is a circuit address with a target: {@code …/p2p/RELAY/p2p-circuit/p2p/TARGET}. */
    public static boolean isCircuitAddress(Multiaddr address) {
        try {
            parse(address);
            return true;
        } catch (TransportException e) {
            return false;
        }
    }

    /**
     * The address that reaches {@code target} through the relay at {@code relayAddress}:
     * {@code relayAddress/p2p-circuit/p2p/TARGET}.
     *
     * @param relayAddress a direct address of the relay ending in {@code /p2p/RELAY}, or just {@code /p2p/RELAY}
     *     for a relay whose address the node knows
     * @throws IllegalArgumentException if {@code relayAddress} does not end in {@code /p2p/} or is itself a circuit
     */
    public static Multiaddr circuitAddress(Multiaddr relayAddress, PeerId target) {
        List<Multiaddr.Component> cs = relayAddress.components();
        if (cs.isEmpty() || cs.get(cs.size() - 1).protocol() != Protocol.P2P || relayAddress.has(Protocol.P2P_CIRCUIT)) {
            throw new IllegalArgumentException("relay address must end in /p2p/RELAY and not be a circuit: " + relayAddress);
        }
        return relayAddress.encapsulate(CIRCUIT).withPeerId(target);
    }

    /** Relay part, relay and target of a circuit address. */
    private record Target(Multiaddr relayAddress, PeerId relay, PeerId target) {}

    private static Target parse(Multiaddr address) {
        List<Multiaddr.Component> cs = address.components();
        int n = cs.size();
        int circuit = -1;
        for (int i = 0; i < n; i++) if (cs.get(i).protocol() == Protocol.P2P_CIRCUIT) circuit = i;
        if (circuit < 1 || n != circuit + 2 || cs.get(n - 1).protocol() != Protocol.P2P
                || cs.get(circuit - 1).protocol() != Protocol.P2P) {
            throw new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "not a circuit address …/p2p/RELAY/p2p-circuit/p2p/TARGET: " + address);
        }
        Multiaddr relayAddress = address.decapsulate(Protocol.P2P_CIRCUIT);
        return new Target(relayAddress, relayAddress.peerId(), address.peerId());
    }

    /** Circuit addresses of every reservation held now (any thread). */
    public List<Multiaddr> circuitAddresses() {
        LinkedHashSet<Multiaddr> out = new LinkedHashSet<>();
        for (Reservation r : held) out.addAll(r.circuitAddresses());
        return List.copyOf(out);
    }

    /** Reservations held now (any thread). */
    public List<Reservation> reservations() { return held; }

    /** Runs {@code listener} on the event loop whenever {@link #reservations()} changes. */
    public void onReservationsChanged(Runnable listener) { listeners.add(listener); }

    // ---- reservations ---------------------------------------------------------------------------------

    /**
     * Connects to {@code relayAddress} (which must end in {@code /p2p/RELAY}) and reserves a slot, as
     * {@link #reserve(PeerId)}.
     */
    public CompletableFuture<Reservation> reserve(Multiaddr relayAddress) {
        PeerId relay = relayAddress.peerId();
        if (relay == null || relayAddress.has(Protocol.P2P_CIRCUIT)) {
            return CompletableFuture.failedFuture(new IllegalArgumentException(
                    "relay address must be a direct address ending in /p2p/RELAY: " + relayAddress));
        }
        host.addAddresses(relay, List.of(relayAddress.withoutPeerId()));
        return host.connect(relayAddress).thenCompose(c -> reserve(relay));
    }

    /**
     * Reserves a slot on {@code relay} (connecting through its known addresses if needed) and keeps it refreshed
     * until {@link #cancel}. Calling it again for the same relay returns the current reservation.
     *
     * @return completes with the first reservation, or fails with {@link RelayException} (the relay's status,
     *     e.g. RESERVATION_REFUSED) or the connection's {@link TransportException}; after a failure of the first
     *     attempt the relay is not retried
     */
    public CompletableFuture<Reservation> reserve(PeerId relay) {
        return Futures.composeOn(loop, () -> {
            if (closed) return CompletableFuture.failedFuture(new IllegalStateException("relay client closed"));
            Managed m = managed.get(relay);
            if (m != null) return m.current != null ? CompletableFuture.completedFuture(m.current) : m.first;
            m = new Managed(relay);
            managed.put(relay, m);
            attempt(m);
            return m.first;
        });
    }

    /** Stops refreshing the reservation on {@code relay} and drops its circuit addresses. Any thread. */
    public void cancel(PeerId relay) {
        loop.execute(() -> {
            Managed m = managed.remove(relay);
            if (m == null) return;
            if (m.timer != null) m.timer.cancel();
            m.first.completeExceptionally(new RelayException((RelayStatus) null, "reservation cancelled"));
            publish();
        });
    }

    private void attempt(Managed m) {
        if (m.inFlight || closed) return;
        m.inFlight = true;
        requestReservation(m.relay).whenComplete((r, err) -> loop.execute(() -> {
            m.inFlight = false;
            if (managed.get(m.relay) != m) return; // cancelled meanwhile
            long now = loop.nowMs();
            if (err == null) {
                m.current = r;
                m.failures = 0;
                publish();
                m.first.complete(r);
                counters.increment("relay.client.reserve.ok");
                schedule(m, Math.max(1000, (r.expireMs() - now) * 3 / 4));
                return;
            }
            Throwable e = Futures.unwrap(err);
            counters.increment("relay.client.reserve.failed");
            if (!m.first.isDone()) {
                managed.remove(m.relay);
                m.first.completeExceptionally(e);
                return;
            }
            log.debug("reservation refresh on {} failed: {}", m.relay, e.getMessage());
            if (m.current != null && m.current.expireMs() <= now) {
                m.current = null;
                publish();
            }
            long backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS << Math.min(m.failures++, 5));
            if (m.current != null) backoff = Math.min(backoff, Math.max(1000, m.current.expireMs() - now));
            schedule(m, backoff);
        }));
    }

    private void schedule(Managed m, long delayMs) {
        if (m.timer != null) m.timer.cancel();
        m.timer = loop.schedule(() -> attempt(m), delayMs);
    }

    private void onPeerEvent(PeerEvent e) {
        if (e.kind() != PeerEvent.Kind.DISCONNECTED || closed) return;
        Managed m = managed.get(e.peer());
        if (m == null || m.current == null) return;
        for (Connection c : host.connectionsTo(e.peer())) if (c.isOpen() && !c.isLimited()) return;
        // The relay dropped the reservation with the connection (circuit-v2.md): make a new one.
        m.current = null;
        publish();
        counters.increment("relay.client.reserve.lost");
        schedule(m, Math.min(RETRY_MAX_MS, 500L << Math.min(m.failures++, 6)));
    }

    private void publish() {
        List<Reservation> now = new ArrayList<>();
        for (Managed m : managed.values()) if (m.current != null) now.add(m.current);
        held = List.copyOf(now);
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException ex) {
                log.warn("reservation listener failed", ex);
            }
        }
    }

    private CompletableFuture<Reservation> requestReservation(PeerId relay) {
        return directConnection(relay, null).thenCompose(conn -> exchange(conn, HopMessage.reserve()).thenApply(a -> {
            a.stream.stream().close();
            HopMessage m = a.message;
            if (m.type() != HopMessage.Type.STATUS) throw new RelayException(RelayStatus.UNEXPECTED_MESSAGE, "relay answered " + m.type());
            if (m.status() != RelayStatus.OK) throw new RelayException(m.status(), "relay " + relay + " refused the reservation: " + m.status());
            if (m.reservation() == null) throw new RelayException(RelayStatus.MALFORMED_MESSAGE, "relay said OK without a reservation");
            return toReservation(relay, conn, m);
        }));
    }

    private Reservation toReservation(PeerId relay, Connection conn, HopMessage m) {
        HopMessage.Reservation r = m.reservation();
        long now = loop.nowMs();
        long expireMs = r.expireSeconds() == 0 ? now + DEFAULT_TTL_MS
                : r.expireSeconds() > Long.MAX_VALUE / 1000 ? Long.MAX_VALUE : r.expireSeconds() * 1000;
        LinkedHashSet<Multiaddr> addrs = new LinkedHashSet<>();
        for (Multiaddr a : r.addresses()) {
            if (a.has(Protocol.P2P_CIRCUIT)) continue;
            PeerId p = a.peerId();
            if (p != null && !p.equals(relay)) continue;
            try {
                addrs.add((p == null ? a.withPeerId(relay) : a).encapsulate(CIRCUIT));
            } catch (IllegalArgumentException e) {
                // too long: skip
            }
        }
        if (addrs.isEmpty()) addrs.add(conn.remoteAddress().withPeerId(relay).encapsulate(CIRCUIT));
        ReservationVoucher voucher = null;
        if (r.voucher() != null) {
            try {
                voucher = ReservationVoucher.open(r.voucher());
                if (!voucher.relay().equals(relay) || !voucher.peer().equals(host.peerId())) {
                    throw new RelayProtocolException("voucher names relay " + voucher.relay() + " and peer " + voucher.peer());
                }
            } catch (RelayProtocolException e) {
                counters.increment("relay.client.voucher.invalid");
                log.debug("relay {} sent a bad voucher: {}", relay, e.getMessage());
                voucher = null;
            }
        }
        return new Reservation(relay, expireMs, List.copyOf(addrs), m.limit() == null ? Limit.NONE : m.limit(), voucher);
    }

    // ---- hop exchange ---------------------------------------------------------------------------------

    private record Answer(HopMessage message, MessageStream stream) {}

    /** An open unlimited connection to {@code relay}, dialling {@code relayAddress} (or known addresses) if none. */
    private CompletableFuture<Connection> directConnection(PeerId relay, Multiaddr relayAddress) {
        return Futures.composeOn(loop, () -> {
            for (Connection c : host.connectionsTo(relay)) {
                if (c.isOpen() && !c.isLimited()) return CompletableFuture.completedFuture(c);
            }
            if (relayAddress != null && relayAddress.components().size() > 1) return host.connect(relayAddress);
            return host.connection(relay);
        });
    }

    /** Sends {@code request} on a new hop stream and reads one answer. */
    private CompletableFuture<Answer> exchange(Connection conn, HopMessage request) {
        CompletableFuture<Answer> result = new CompletableFuture<>();
        MessageStream ms = new MessageStream(RelayCodec.MAX_MESSAGE_BYTES, RelayService.MAX_EARLY_BYTES);
        EventLoop.Cancellable timeout = loop.schedule(() -> {
            if (result.completeExceptionally(new RelayException((RelayStatus) null, "no hop answer from "
                    + conn.remotePeer() + " within " + EXCHANGE_TIMEOUT_MS + " ms")) && ms.stream() != null) {
                ms.stream().reset();
            }
        }, EXCHANGE_TIMEOUT_MS);
        result.whenComplete((a, e) -> timeout.cancel());
        Multistream.select(conn, List.of(RelayService.HOP), id -> ms).whenComplete((n, err) -> {
            if (err != null) {
                result.completeExceptionally(new RelayException("cannot open a hop stream to " + conn.remotePeer()
                        + ": " + Futures.unwrap(err).getMessage(), Futures.unwrap(err)));
                return;
            }
            ms.stream(n.stream());
            if (result.isDone()) {
                n.stream().reset();
                return;
            }
            ms.send(RelayCodec.encode(request));
            ms.expect(new MessageStream.Reader() {
                @Override public void onMessage(byte[] message) {
                    try {
                        result.complete(new Answer(RelayCodec.decodeHop(message), ms));
                    } catch (RelayProtocolException e) {
                        counters.increment("relay.client.hop.malformed");
                        n.stream().reset();
                        result.completeExceptionally(e);
                    }
                }

                @Override public void onEnd(String reason) {
                    result.completeExceptionally(new RelayException((RelayStatus) null, "hop stream to " + conn.remotePeer() + ": " + reason));
                }
            });
        });
        return result;
    }

    // ---- dialling -------------------------------------------------------------------------------------

    /**
     * Opens a raw circuit to the target of {@code circuitAddress} ({@code …/p2p/RELAY/p2p-circuit/p2p/TARGET}):
     * connects to the relay (the address before {@code /p2p-circuit}, or a known one) and sends hop CONNECT.
     *
     * @return the circuit once the relay answered OK; fails with {@link TransportException} (BAD_ADDRESS, or the
     *     relay connection's failure) or {@link RelayException} (the relay's status, e.g. NO_RESERVATION)
     */
    public CompletableFuture<Circuit> openCircuit(Multiaddr circuitAddress) {
        Target t;
        try {
            t = parse(circuitAddress);
        } catch (TransportException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (t.target.equals(host.peerId())) {
            return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "circuit address targets this node: " + circuitAddress));
        }
        return directConnection(t.relay, t.relayAddress).thenCompose(conn -> exchange(conn, HopMessage.connect(t.target))
                .thenApply(a -> {
                    HopMessage m = a.message;
                    if (m.type() != HopMessage.Type.STATUS || m.status() != RelayStatus.OK) {
                        a.stream.stream().close();
                        counters.increment("relay.client.connect.refused");
                        RelayStatus st = m.status() != null ? m.status() : RelayStatus.UNEXPECTED_MESSAGE;
                        throw new RelayException(st, "relay " + t.relay + " refused the circuit to " + t.target + ": " + st);
                    }
                    counters.increment("relay.client.circuit.outbound");
                    Multiaddr addr = t.relayAddress.components().size() > 1 ? t.relayAddress.encapsulate(CIRCUIT)
                            : conn.remoteAddress().withPeerId(t.relay).encapsulate(CIRCUIT);
                    return new Circuit(loop, a.stream, t.target, t.relay, m.limit(), addr, false);
                }));
    }

    /**
     * Dials {@code circuitAddress} and upgrades the circuit (Noise + Yamux) to a limited {@link Connection} with
     * TARGET, which is also reported to the node's transport handler.
     *
     * @return fails with {@link TransportException}: BAD_ADDRESS (not a circuit address, no upgrader), REFUSED
     *     (the relay refused; the {@link RelayException} is the cause), or the relay dial's or upgrade's failure
     */
    public CompletableFuture<Connection> dial(Multiaddr circuitAddress) {
        if (upgrader == null) {
            return CompletableFuture.failedFuture(new TransportException(TransportException.Kind.BAD_ADDRESS,
                    "this node has no connection upgrader for relayed connections"));
        }
        CompletableFuture<Connection> result = new CompletableFuture<>();
        openCircuit(circuitAddress).whenComplete((c, err) -> {
            if (err != null) {
                Throwable e = Futures.unwrap(err);
                result.completeExceptionally(e instanceof TransportException ? e
                        : new TransportException(TransportException.Kind.REFUSED, e.getMessage(), e));
                return;
            }
            loop.execute(() -> upgrade(c, Upgrader.Role.INITIATOR, c.remotePeer()).whenComplete((conn, e2) -> {
                if (e2 != null) result.completeExceptionally(Futures.unwrap(e2));
                else result.complete(conn);
            }));
        });
        return result;
    }

    private CompletableFuture<Connection> upgrade(Circuit c, Upgrader.Role role, PeerId expected) {
        Stream raw = c.stream();
        Upgrader.Upgrade up;
        try {
            up = upgrader.start(raw, role, expected, c.address(), raw.connection().localAddress(), true, connections);
        } catch (RuntimeException e) {
            raw.reset();
            return CompletableFuture.failedFuture(e);
        }
        c.attach(up.input());
        return up.connection().whenComplete((conn, e) -> {
            if (e != null) {
                counters.increment("relay.client.upgrade.failed");
                log.debug("upgrade of {} failed: {}", c, Futures.unwrap(e).getMessage());
            }
        });
    }

    // ---- stop (target side) ---------------------------------------------------------------------------

    /**
     * Replaces the default handling of accepted inbound circuits (upgrade as RESPONDER) with {@code handler}, which
     * gets the raw circuit on the event loop; null restores the default. For raw use and tests.
     */
    public void inboundCircuits(Consumer<Circuit> handler) { this.inbound = handler; }

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        PeerId relay = stream.connection().remotePeer();
        MessageStream ms = new MessageStream(RelayCodec.MAX_MESSAGE_BYTES, RelayService.MAX_EARLY_BYTES).stream(stream);
        EventLoop.Cancellable timeout = loop.schedule(() -> {
            counters.increment("relay.client.stop.timeout");
            stream.reset();
        }, EXCHANGE_TIMEOUT_MS);
        ms.expect(new MessageStream.Reader() {
            @Override public void onMessage(byte[] message) {
                timeout.cancel();
                StopMessage m;
                try {
                    m = RelayCodec.decodeStop(message);
                } catch (RelayProtocolException e) {
                    counters.increment("relay.client.stop.malformed");
                    answer(RelayStatus.MALFORMED_MESSAGE);
                    return;
                }
                if (m.type() != StopMessage.Type.CONNECT) {
                    counters.increment("relay.client.stop.unexpected");
                    answer(RelayStatus.UNEXPECTED_MESSAGE);
                    return;
                }
                Consumer<Circuit> h = inbound;
                if (closed || !managed.containsKey(relay) || stream.connection().isLimited()) {
                    counters.increment("relay.client.stop.refused");
                    answer(RelayStatus.PERMISSION_DENIED);
                    return;
                }
                if (h == null && upgrader == null) {
                    counters.increment("relay.client.stop.no_upgrader");
                    answer(RelayStatus.CONNECTION_FAILED);
                    return;
                }
                ms.send(RelayCodec.encode(StopMessage.status(RelayStatus.OK)));
                counters.increment("relay.client.circuit.inbound");
                Multiaddr addr = stream.connection().remoteAddress().withPeerId(relay).encapsulate(CIRCUIT);
                Circuit c = new Circuit(loop, ms, m.peer(), relay, m.limit(), addr, true);
                if (h != null) h.accept(c);
                else upgrade(c, Upgrader.Role.RESPONDER, m.peer());
            }

            @Override public void onEnd(String reason) { timeout.cancel(); }

            private void answer(RelayStatus status) {
                ms.send(RelayCodec.encode(StopMessage.status(status)));
                stream.close();
            }
        });
        return ms;
    }

    /** Stops refreshing reservations and refuses further circuits. Event loop. */
    public void close() {
        closed = true;
        for (Managed m : managed.values()) {
            if (m.timer != null) m.timer.cancel();
            m.first.completeExceptionally(new IllegalStateException("relay client closed"));
        }
        managed.clear();
        held = List.of();
    }
}
