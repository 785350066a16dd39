package io.peersocket.protocol.relay;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.node.Node;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.io.ByteArrayOutputStream;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Circuit Relay v2 at the raw stream level over real QUIC nodes on loopback: A — R — B, B reserves on R, A opens a
 * circuit to B through R.
 */
class RelayTest {
    private final List<Node> nodes = new ArrayList<>();

    @AfterEach
    void close() {
        for (Node n : nodes) n.close();
    }

    private Node node(RelayConfig relay) throws Exception {
        var b = Node.builder().redialOnStart(0);
        if (relay != null) b.relayService(relay);
        Node n = b.start();
        nodes.add(n);
        return n;
    }

    private static <T> T get(CompletableFuture<T> f) throws Exception {
        return f.get(10, TimeUnit.SECONDS);
    }

    private static Multiaddr circuit(Node relay, Node target) {
        return Multiaddr.parse(relay.addresses().get(0) + "/p2p-circuit/p2p/" + target.peerId());
    }

    /** Collects a circuit's bytes; completes {@code closed} when the stream ends. */
    private static final class Sink implements StreamHandler {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        final CompletableFuture<Void> fin = new CompletableFuture<>();
        final CompletableFuture<Throwable> closed = new CompletableFuture<>();

        @Override public synchronized void onData(Stream s, byte[] d) { data.writeBytes(d); }

        @Override public void onRemoteWriteClosed(Stream s) { fin.complete(null); }

        @Override public void onClosed(Stream s, Throwable cause) {
            fin.complete(null);
            closed.complete(cause);
        }

        synchronized int size() { return data.size(); }

        synchronized byte[] bytes() { return data.toByteArray(); }
    }

    private static void await(BooleanSupplier cond) throws InterruptedException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (!cond.getAsBoolean()) {
            if (System.nanoTime() > end) throw new AssertionError("condition not met within 10 s");
            java.util.concurrent.locks.LockSupport.parkNanos(1_000_000); // poll, without burning a shared core
        }
    }

    private record Pair(Circuit out, Circuit in) {}

    /** B reserves on R; A opens a circuit to B; both ends get their circuit. */
    private Pair circuitAtoB(Node a, Node r, Node b) throws Exception {
        CompletableFuture<Circuit> inbound = new CompletableFuture<>();
        b.relay().inboundCircuits(inbound::complete);
        get(b.relay().reserve(r.addresses().get(0)));
        Circuit out = get(a.relay().openCircuit(circuit(r, b)));
        return new Pair(out, get(inbound));
    }

    @Test
    void reservationGivesCircuitAddressesAndAVoucherAndIsAdvertised() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node b = node(null);
        Reservation res = get(b.relay().reserve(r.addresses().get(0)));
        assertThat(res.relay()).isEqualTo(r.peerId());
        Multiaddr expected = Multiaddr.parse(r.addresses().get(0) + "/p2p-circuit");
        assertThat(res.circuitAddresses()).contains(expected);
        assertThat(b.relay().circuitAddresses()).contains(expected);
        assertThat(res.limit()).isEqualTo(new Limit(120, 128 * 1024));
        assertThat(res.voucher()).isNotNull();
        assertThat(res.voucher().peer()).isEqualTo(b.peerId());
        assertThat(res.voucher().expirationSeconds() * 1000).isEqualTo(res.expireMs());
        long ttl = res.expireMs() - System.currentTimeMillis();
        assertThat(ttl).isBetween(3_590_000L, 3_601_000L);
        // identify from B now lists the circuit address
        assertThat(get(r.identify(b.peerId())).listenAddresses()).contains(expected);
        assertThat(r.counters().get("relay.reserve.accepted")).isEqualTo(1);
        CompletableFuture<List<PeerId>> reserved = Futures.composeOn(r.loop(),
                () -> CompletableFuture.completedFuture(r.relayService().reservedPeers()));
        assertThat(get(reserved)).containsExactly(b.peerId());
    }

    @Test
    void bytesFlowBothWaysThroughTheRelayWithBackpressure() throws Exception {
        Node r = node(RelayConfig.defaults().withLimit(0, 0));
        Node a = node(null);
        Node b = node(null);
        Pair p = circuitAtoB(a, r, b);
        assertThat(p.in.remotePeer()).isEqualTo(a.peerId());
        assertThat(p.in.relay()).isEqualTo(r.peerId());
        assertThat(p.out.remotePeer()).isEqualTo(b.peerId());
        assertThat(p.out.limit().isNone()).isTrue();
        Sink atB = new Sink();
        Sink atA = new Sink();
        p.in.attach(atB);
        p.out.attach(atA);
        byte[] big = new byte[3 << 20];
        new Random(1).nextBytes(big);
        byte[] back = new byte[1 << 20];
        new Random(2).nextBytes(back);
        for (int off = 0; off < big.length; off += 64 * 1024) p.out.write(java.util.Arrays.copyOfRange(big, off, off + 64 * 1024));
        p.out.stream().closeWrite();
        p.in.write(back);
        p.in.stream().closeWrite();
        get(atB.fin);
        get(atA.fin);
        assertThat(r.counters().get("relay.circuit.overflow")).isZero();
        assertThat(atB.size()).isEqualTo(big.length);
        assertThat(java.util.Arrays.equals(atB.bytes(), big)).as("A→B bytes intact").isTrue();
        assertThat(atA.size()).isEqualTo(back.length);
        assertThat(java.util.Arrays.equals(atA.bytes(), back)).as("B→A bytes intact").isTrue();
        await(() -> r.counters().get("relay.circuit.closed.closed") == 1);
        assertThat(r.counters().get("relay.circuit.bytes")).isEqualTo(big.length + back.length);
    }

    @Test
    void dataLimitClosesTheCircuit() throws Exception {
        Node r = node(RelayConfig.defaults().withLimit(0, 1000));
        Node a = node(null);
        Node b = node(null);
        Pair p = circuitAtoB(a, r, b);
        assertThat(p.out.limit()).isEqualTo(new Limit(0, 1000));
        assertThat(p.in.limit()).isEqualTo(new Limit(0, 1000));
        Sink atB = new Sink();
        p.in.attach(atB);
        p.out.attach(new Sink());
        p.out.write(new byte[600]);
        p.out.write(new byte[600]);
        get(atB.closed);
        assertThat(atB.size()).isLessThanOrEqualTo(1000);
        await(() -> r.counters().get("relay.circuit.limit.data") == 1);
        await(() -> r.counters().get("relay.circuit.closed.data_limit") == 1);
    }

    @Test
    void durationLimitClosesTheCircuit() throws Exception {
        Node r = node(RelayConfig.defaults().withLimit(300, 0));
        Node a = node(null);
        Node b = node(null);
        Pair p = circuitAtoB(a, r, b);
        assertThat(p.out.limit()).isEqualTo(new Limit(1, 0)); // announced in whole seconds, rounded up
        Sink atA = new Sink();
        p.out.attach(atA);
        p.in.attach(new Sink());
        assertThat(get(atA.closed)).isNotNull(); // reset by the relay
        await(() -> r.counters().get("relay.circuit.closed.duration_limit") == 1);
    }

    @Test
    void connectWithoutReservationIsRefused() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node a = node(null);
        Node b = node(null);
        get(a.connect(b.addresses().get(0))); // knowing B is not a reservation
        assertThatThrownBy(() -> get(a.relay().openCircuit(circuit(r, b))))
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.status()).isEqualTo(RelayStatus.NO_RESERVATION));
        assertThat(r.counters().get("relay.connect.refused.no_reservation")).isEqualTo(1);
        // a node that holds no reservation on R refuses R's stop CONNECT (R cannot be made to reach it)
        assertThat(RelayClient.isCircuitAddress(circuit(r, b))).isTrue();
        assertThat(RelayClient.isCircuitAddress(r.addresses().get(0))).isFalse();
        assertThat(RelayClient.circuitAddress(r.addresses().get(0), b.peerId())).isEqualTo(circuit(r, b));
        assertThatThrownBy(() -> RelayClient.circuitAddress(r.listenAddresses().get(0), b.peerId()))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void reservationFloodsAreRefusedAndCounted() throws Exception {
        Node r = node(RelayConfig.defaults().withMaxReservations(2, 8).withReserveRate(3, 60_000));
        Node b = node(null);
        Node c = node(null);
        Node d = node(null);
        get(b.relay().reserve(r.addresses().get(0)));
        get(c.relay().reserve(r.addresses().get(0)));
        assertThatThrownBy(() -> get(d.relay().reserve(r.addresses().get(0))))
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.status()).isEqualTo(RelayStatus.RESERVATION_REFUSED));
        assertThat(r.counters().get("relay.reserve.refused.full")).isEqualTo(1);
        assertThat(d.relay().reservations()).isEmpty();
        // B hammers RESERVE on raw hop streams: refreshes pass up to the per-peer rate, then RESOURCE_LIMIT_EXCEEDED
        Connection bToR = get(b.connection(r.peerId()));
        assertThat(get(rawHop(b, bToR, RelayCodec.encode(HopMessage.reserve()))).status()).isEqualTo(RelayStatus.OK);
        assertThat(get(rawHop(b, bToR, RelayCodec.encode(HopMessage.reserve()))).status()).isEqualTo(RelayStatus.OK);
        assertThat(get(rawHop(b, bToR, RelayCodec.encode(HopMessage.reserve()))).status()).isEqualTo(RelayStatus.RESOURCE_LIMIT_EXCEEDED);
        assertThat(r.counters().get("relay.reserve.refused.rate")).isEqualTo(1);
        assertThat(r.counters().get("relay.reserve.refreshed")).isEqualTo(2);
    }

    @Test
    void badMessagesCloseOnlyThatStream() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node b = node(null);
        get(b.connect(r.addresses().get(0)));
        Connection bToR = get(b.connection(r.peerId()));
        assertThat(get(rawHop(b, bToR, new byte[] {0x08, 0x01})).status()).isEqualTo(RelayStatus.MALFORMED_MESSAGE);
        assertThat(get(rawHop(b, bToR, new byte[] {(byte) 0xff, 0x00, 0x13})).status()).isEqualTo(RelayStatus.MALFORMED_MESSAGE);
        assertThat(get(rawHop(b, bToR, RelayCodec.encode(HopMessage.status(RelayStatus.OK)))).status())
                .isEqualTo(RelayStatus.UNEXPECTED_MESSAGE);
        assertThat(r.counters().get("relay.hop.malformed")).isEqualTo(2);
        assertThat(bToR.isOpen()).isTrue();
        // an oversized frame resets the stream; the connection stays and serves the next request
        CompletableFuture<HopMessage> big = rawFramed(b, bToR, FrameDecoder.frame(new byte[RelayCodec.MAX_MESSAGE_BYTES + 1]));
        assertThatThrownBy(() -> get(big)).isInstanceOf(ExecutionException.class);
        assertThat(bToR.isOpen()).isTrue();
        assertThat(get(b.relay().reserve(r.peerId())).relay()).isEqualTo(r.peerId());
    }

    @Test
    void reservationIsRefreshedBeforeExpiry() throws Exception {
        Node r = node(RelayConfig.defaults().withReservationTtlMs(3000));
        Node b = node(null);
        Reservation first = get(b.relay().reserve(r.addresses().get(0)));
        await(() -> r.counters().get("relay.reserve.refreshed") >= 1);
        await(() -> !b.relay().reservations().isEmpty() && b.relay().reservations().get(0).expireMs() > first.expireMs());
        assertThat(b.relay().circuitAddresses()).isNotEmpty();
    }

    @Test
    void circuitAndPerIpCapsAreEnforced() throws Exception {
        Node r = node(RelayConfig.defaults().withMaxCircuits(16, 1).withMaxReservations(128, 1));
        Node a = node(null);
        Node b = node(null);
        Node c = node(null);
        Pair p = circuitAtoB(a, r, b);
        p.in.attach(new Sink());
        p.out.attach(new Sink());
        // B is already in one circuit: a second one to B exceeds the per-peer cap
        assertThatThrownBy(() -> get(a.relay().openCircuit(circuit(r, b))))
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.status()).isEqualTo(RelayStatus.RESOURCE_LIMIT_EXCEEDED));
        assertThat(r.counters().get("relay.connect.refused.limit")).isEqualTo(1);
        // every node is on 127.0.0.1: with one reservation per IP, C is refused
        assertThatThrownBy(() -> get(c.relay().reserve(r.addresses().get(0))))
                .isInstanceOf(ExecutionException.class).cause()
                .isInstanceOfSatisfying(RelayException.class, e -> assertThat(e.status()).isEqualTo(RelayStatus.RESERVATION_REFUSED));
        assertThat(r.counters().get("relay.reserve.refused.ip")).isEqualTo(1);
        // closing the circuit frees the slot
        p.out.stream().reset();
        await(() -> r.counters().get("relay.circuit.closed.reset") == 1);
        CompletableFuture<Circuit> again = new CompletableFuture<>();
        b.relay().inboundCircuits(again::complete);
        assertThat(get(a.relay().openCircuit(circuit(r, b))).remotePeer()).isEqualTo(b.peerId());
        assertThat(get(again).remotePeer()).isEqualTo(a.peerId());
    }

    @Test
    void reservationEndsWithTheConnectionAndTheClientMakesANewOne() throws Exception {
        Node r = node(RelayConfig.defaults());
        Node b = node(null);
        get(b.relay().reserve(r.addresses().get(0)));
        get(b.disconnect(r.peerId()));
        await(() -> r.counters().get("relay.reserve.dropped.disconnected") == 1);
        await(() -> b.counters().get("relay.client.reserve.lost") == 1);
        // the client reconnects and reserves again by itself
        await(() -> r.counters().get("relay.reserve.accepted") == 2);
        await(() -> !b.relay().reservations().isEmpty());
        b.relay().cancel(r.peerId());
        await(() -> b.relay().reservations().isEmpty() && b.relay().circuitAddresses().isEmpty());
    }

    /** Sends one framed hop message on a new raw hop stream; completes with the relay's answer. */
    private static CompletableFuture<HopMessage> rawHop(Node from, Connection c, byte[] message) {
        return rawFramed(from, c, FrameDecoder.frame(message));
    }

    private static CompletableFuture<HopMessage> rawFramed(Node from, Connection c, byte[] bytes) {
        CompletableFuture<HopMessage> result = new CompletableFuture<>();
        FrameDecoder dec = new FrameDecoder(RelayCodec.MAX_MESSAGE_BYTES);
        StreamHandler h = new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {
                try {
                    dec.feed(data, m -> result.complete(RelayCodec.decodeHop(m)));
                } catch (RuntimeException e) {
                    result.completeExceptionally(e);
                }
            }

            @Override public void onClosed(Stream s, Throwable cause) {
                result.completeExceptionally(new IllegalStateException("closed: " + cause));
            }
        };
        Futures.composeOn(from.loop(), () -> Multistream.select(c, List.of(RelayService.HOP), id -> h))
                .whenComplete((n, err) -> {
                    if (err != null) result.completeExceptionally(err);
                    else n.stream().write(bytes);
                });
        return result;
    }
}
