package io.peersocket.protocol.holepunch;

import io.peersocket.host.Host;
import io.peersocket.host.PeerEvent;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.holepunch.HolePunchCodec.DcutrType;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * libp2p DCUtR, Direct Connection Upgrade through Relay ({@value #PROTOCOL_ID}, libp2p specs relay/DCUtR.md), both
 * roles, over any connection (normally a limited, relayed one).
 *
 * <p>The inbound side of a limited connection ("B", the initiator) opens the stream, sends {@code CONNECT} with
 * its addresses and times the answer; the other side ("A") answers {@code CONNECT} with its own; B sends
 * {@code SYNC} and, half the measured round trip later, dials A's addresses. QUIC rule (as go-libp2p): A does not
 * dial; on {@code SYNC} it sends random UDP punch packets to B's addresses, opening its NAT for B's handshake, so
 * one connection results. B retries twice on the same stream (3 tries), re-measuring the round trip each time.
 * B's unilateral dial before the protocol (spec: when A advertises public addresses) is not done here; a node
 * dials known public addresses by itself.
 *
 * <p>Bounds: messages ≤ 4 KiB, ≤ {@value HolePunchCodec#MAX_ADDRESSES} addresses, ≤ 8 messages buffered per
 * stream, CONNECTs answered per peer rate-limited; bad messages reset the stream and are counted
 * ({@code dcutr.*}).
 *
 * <p>Threading: state on the host's loop; futures complete there.
 */
public final class Dcutr implements ProtocolHandler {
    private static final Logger log = LoggerFactory.getLogger(Dcutr.class);
    public static final String PROTOCOL_ID = "/libp2p/dcutr";
    /** Messages read ahead of the state machine per stream at most. */
    static final int MAX_QUEUED = 8;

    private final Host host;
    private final EventLoop loop;
    private final Counters counters;
    private final Punching punching;
    private volatile boolean closed;

    /**
     * Registers the protocol and, if {@code auto}, starts an upgrade whenever a limited inbound connection opens
     * to a peer without a direct one.
     */
    public Dcutr(Host host, HolePunchConfig config, boolean auto) {
        this.host = host;
        this.loop = host.loop();
        this.counters = host.counters();
        this.punching = new Punching(host, config);
        host.registerProtocol(PROTOCOL_ID, this);
        if (auto) host.onPeerEvent(this::onPeerEvent);
    }

    public void close() { closed = true; }

    private void onPeerEvent(PeerEvent e) {
        Connection c = e.connection();
        if (e.kind() != PeerEvent.Kind.CONNECTED || c == null || !c.isLimited()
                || c.direction() != Connection.Direction.INBOUND || punching.direct(e.peer()) != null) return;
        upgrade(c).whenComplete((d, err) -> {
            if (err != null) log.debug("dcutr with {} failed: {}", e.peer(), Futures.unwrap(err).getMessage());
            else log.debug("dcutr with {}: direct connection {}", e.peer(), d.remoteAddress());
        });
    }

    /** Our addresses for CONNECT: confirmed external ones first, then listen addresses. */
    private List<Multiaddr> ownAddresses() {
        List<Multiaddr> all = new ArrayList<>(host.externalAddresses());
        all.addAll(host.listenAddresses());
        return Punching.pick(null, all);
    }

    // ---- initiator (B) --------------------------------------------------------------------------------

    /**
     * Runs DCUtR as initiator over {@code via} (any connection to the peer; normally limited): up to the configured
     * attempts of CONNECT / CONNECT / SYNC and a dial of the peer's addresses half a round trip later.
     *
     * @return the direct connection; fails with {@link TransportException} or {@link HolePunchException}
     */
    public CompletableFuture<Connection> upgrade(Connection via) {
        PeerId peer = via.remotePeer();
        counters.increment("dcutr.initiated");
        Channel ch = new Channel(null);
        return Futures.composeOn(loop, () -> Multistream.select(via, List.of(PROTOCOL_ID), id -> ch)
                .thenCompose(n -> Futures.composeOn(loop, () -> {
                    ch.stream = n.stream();
                    return run(ch, peer, 0);
                })));
    }

    private CompletableFuture<Connection> run(Channel ch, PeerId peer, int i) {
        int attempts = punching.config().attempts();
        long t0 = System.nanoTime();
        ch.send(new HolePunchCodec.Dcutr(DcutrType.CONNECT, ownAddresses()));
        return ch.next().thenCompose(reply -> {
            if (reply.type() != DcutrType.CONNECT) throw new HolePunchException("expected CONNECT, got " + reply.type());
            long rttMs = Math.max(0, (System.nanoTime() - t0) / 1_000_000);
            List<Multiaddr> theirs = Punching.pick(null, reply.addresses());
            if (theirs.isEmpty()) throw new HolePunchException("peer sent no direct QUIC address in CONNECT");
            ch.send(new HolePunchCodec.Dcutr(DcutrType.SYNC, List.of()));
            return punching.delay(rttMs / 2).thenCompose(v -> punching.race(peer, theirs));
        }).handleAsync((c, err) -> {
            if (c != null) {
                counters.increment("dcutr.direct.ok");
                ch.stream.close();
                return CompletableFuture.completedFuture(c);
            }
            Throwable cause = Futures.unwrap(err);
            if (i + 1 >= attempts || closed || cause instanceof HolePunchException) {
                counters.increment("dcutr.direct.failed");
                ch.stream.reset();
                return CompletableFuture.<Connection>failedFuture(cause);
            }
            return run(ch, peer, i + 1);
        }, loop).thenCompose(f -> f);
    }

    // ---- responder (A) --------------------------------------------------------------------------------

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        PeerId peer = stream.connection().remotePeer();
        List<Multiaddr> theirs = new ArrayList<>();
        Channel ch = new Channel(stream);
        ch.onMessage = m -> {
            switch (m.type()) {
                case CONNECT -> {
                    if (!punching.admit(peer)) {
                        counters.increment("dcutr.refused.rate_limited");
                        stream.reset();
                        return;
                    }
                    theirs.clear();
                    theirs.addAll(Punching.pick(null, m.addresses()));
                    counters.increment("dcutr.connect");
                    ch.send(new HolePunchCodec.Dcutr(DcutrType.CONNECT, ownAddresses()));
                }
                case SYNC -> {
                    if (theirs.isEmpty()) {
                        counters.increment("dcutr.bad_message");
                        stream.reset();
                        return;
                    }
                    counters.increment("dcutr.sync");
                    punching.punchBursts(peer, List.copyOf(theirs), 0);
                }
            }
        };
        return ch;
    }

    // ---- framing --------------------------------------------------------------------------------------

    /** One DCUtR stream: framed messages in, either pushed to {@link #onMessage} or pulled with {@link #next}. */
    private final class Channel implements StreamHandler {
        Stream stream; // set once negotiated (initiator) or at once (responder); event loop
        final FrameDecoder decoder = new FrameDecoder(HolePunchCodec.MAX_MESSAGE_BYTES);
        final ArrayDeque<HolePunchCodec.Dcutr> queue = new ArrayDeque<>();
        CompletableFuture<HolePunchCodec.Dcutr> waiter;
        java.util.function.Consumer<HolePunchCodec.Dcutr> onMessage;
        boolean done;

        Channel(Stream stream) {
            this.stream = stream;
        }

        void send(HolePunchCodec.Dcutr m) { stream.write(FrameDecoder.frame(HolePunchCodec.encode(m))); }

        /** The next message (event loop); fails after the request timeout or when the stream ends. */
        CompletableFuture<HolePunchCodec.Dcutr> next() {
            if (!queue.isEmpty()) return CompletableFuture.completedFuture(queue.poll());
            if (done) return CompletableFuture.failedFuture(new HolePunchException("dcutr stream ended"));
            CompletableFuture<HolePunchCodec.Dcutr> f = new CompletableFuture<>();
            waiter = f;
            EventLoop.Cancellable t = loop.schedule(() -> f.completeExceptionally(new TransportException(
                    TransportException.Kind.TIMEOUT, "no dcutr message within " + punching.config().requestTimeoutMs()
                            + " ms")), punching.config().requestTimeoutMs());
            return f.whenComplete((m, e) -> t.cancel());
        }

        @Override public void onData(Stream s, byte[] data) {
            if (done) return;
            try {
                decoder.feed(data, frame -> deliver(HolePunchCodec.decodeDcutr(frame)));
            } catch (IllegalArgumentException e) {
                counters.increment("dcutr.bad_message");
                fail(new HolePunchException("bad dcutr message: " + e.getMessage(), e));
                s.reset();
            }
        }

        private void deliver(HolePunchCodec.Dcutr m) {
            if (onMessage != null) {
                onMessage.accept(m);
                return;
            }
            CompletableFuture<HolePunchCodec.Dcutr> w = waiter;
            waiter = null;
            if (w != null && w.complete(m)) return;
            if (queue.size() >= MAX_QUEUED) throw new HolePunchException("more than " + MAX_QUEUED + " unread dcutr messages");
            queue.add(m);
        }

        @Override public void onRemoteWriteClosed(Stream s) { fail(new HolePunchException("dcutr stream ended by peer")); }

        @Override public void onClosed(Stream s, Throwable cause) { fail(new HolePunchException("dcutr stream closed")); }

        private void fail(Throwable t) {
            done = true;
            CompletableFuture<HolePunchCodec.Dcutr> w = waiter;
            waiter = null;
            if (w != null) w.completeExceptionally(t);
        }
    }
}
