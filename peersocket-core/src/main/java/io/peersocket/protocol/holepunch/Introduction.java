package io.peersocket.protocol.holepunch;

import io.peersocket.host.Host;
import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.negotiation.Multistream;
import io.peersocket.negotiation.ProtocolHandler;
import io.peersocket.protocol.holepunch.HolePunchCodec.IntroKind;
import io.peersocket.protocol.holepunch.HolePunchCodec.IntroStatus;
import io.peersocket.protocol.holepunch.HolePunchCodec.Introduce;
import io.peersocket.transport.Connection;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.transport.TransportException;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Introduction (seed 000: "you can ask him to initiate a peer connection for the two of you"), Peersocket's own
 * protocol {@value #PROTOCOL_ID}. Node A wants a direct connection to B, which may be behind a NAT; M is connected
 * to both.
 *
 * <ol>
 *   <li>A → M: {@code REQUEST{peer=B}} on a new stream.</li>
 *   <li>M checks its rate limit for A and that it has a direct connection to B, then M → B:
 *       {@code INTRODUCE{peer=A, addrs=A's addresses}} — the address M sees A at first, then what identify told,
 *       at most {@value HolePunchCodec#MAX_ADDRESSES}.</li>
 *   <li>B (rate limit per introducer) sends punch bursts to A's addresses over the next ~2 s (opening B's NAT
 *       towards A) and answers {@code READY}.</li>
 *   <li>M → A: {@code RESPONSE{peer=B, addrs=B's addresses}}; A dials them all at once (its own outbound packets
 *       open A's NAT) and keeps the first connection proven to be B.</li>
 * </ol>
 *
 * <p>Timing: the delay fields are relative (ms after receipt) so clocks need not agree. M sends RESPONSE only
 * after READY, so B's first burst leaves at least one M–B round trip before A's first handshake packet; M
 * therefore asks for no extra delay (0). The QUIC rule of DCUtR applies: one side (B) punches, the other (A)
 * dials, so there is one connection.
 *
 * <p>Abuse: address lists are bounded; M only introduces peers it has a direct connection to; requests per
 * requester and introductions per introducer are rate limited (fixed window); every refusal and bad message is
 * counted ({@code holepunch.intro.*}). A punch burst is at most 16 addresses × packetsPerBurst × 64 bytes.
 *
 * <p>Threading: state on the host's loop; futures complete there.
 */
public final class Introduction implements ProtocolHandler {
    private static final Logger log = LoggerFactory.getLogger(Introduction.class);
    public static final String PROTOCOL_ID = "/peersocket/introduce/1.0.0";
    /** Mutual peers asked per attempt at most. */
    static final int MAX_INTRODUCERS_PER_ATTEMPT = 4;

    private final Host host;
    private final EventLoop loop;
    private final Counters counters;
    private final Punching punching;
    private final Supplier<List<PeerId>> connectedPeers;
    private final Function<PeerId, List<PeerId>> knownVia;
    private volatile boolean closed;

    /**
     * Registers the protocol.
     *
     * @param connectedPeers peers with an open connection (event loop)
     * @param knownVia for a target, peers that told us about it (peer exchange), tried first as introducers
     */
    public Introduction(Host host, HolePunchConfig config, Supplier<List<PeerId>> connectedPeers,
            Function<PeerId, List<PeerId>> knownVia) {
        this.host = host;
        this.loop = host.loop();
        this.counters = host.counters();
        this.punching = new Punching(host, config);
        this.connectedPeers = connectedPeers;
        this.knownVia = knownVia;
        host.registerProtocol(PROTOCOL_ID, this);
    }

    public void close() { closed = true; }

    // ---- requester ------------------------------------------------------------------------------------

    /** {@link #connectDirect(PeerId, int)} with the configured attempts. */
    public CompletableFuture<Connection> connectDirect(PeerId target) {
        return connectDirect(target, punching.config().attempts());
    }

    /**
     * A direct (unlimited) connection to {@code target}: an open one, else up to {@code attempts} tries of
     * introduction by a mutual peer followed by a racing dial of the addresses it gave, with backoff
     * (0.5, 1, 2 s by default) between tries. A try with no mutual peer dials the known addresses instead.
     *
     * @return completes on the loop with the connection, or fails with {@link TransportException} (TIMEOUT) naming
     *     the last try's cause
     */
    public CompletableFuture<Connection> connectDirect(PeerId target, int attempts) {
        return connectDirect(target, attempts, punching.config().dialTimeoutMs());
    }

    /**
     * {@link #connectDirect(PeerId, int)} with {@code dialTimeoutMs} (≥ 100) for each try's direct dial instead of
     * the configured one.
     */
    public CompletableFuture<Connection> connectDirect(PeerId target, int attempts, long dialTimeoutMs) {
        if (attempts < 1 || attempts > 10) throw new IllegalArgumentException("attempts must be 1..10, got " + attempts);
        if (dialTimeoutMs < 100 || dialTimeoutMs > 60_000) {
            throw new IllegalArgumentException("dialTimeoutMs must be 100..60000, got " + dialTimeoutMs);
        }
        if (target.equals(host.peerId())) {
            return CompletableFuture.failedFuture(new IllegalArgumentException("cannot connect to self"));
        }
        CompletableFuture<Connection> result = new CompletableFuture<>();
        loop.execute(() -> attempt(target, 0, attempts, dialTimeoutMs, result));
        return result;
    }

    private void attempt(PeerId target, int i, int attempts, long dialTimeoutMs, CompletableFuture<Connection> result) {
        if (closed) {
            result.completeExceptionally(new TransportException(TransportException.Kind.CLOSED, "node closed"));
            return;
        }
        Connection have = punching.direct(target);
        if (have != null) {
            result.complete(have);
            return;
        }
        counters.increment("holepunch.direct.attempts");
        List<PeerId> via = introducers(target);
        CompletableFuture<Connection> tryOnce;
        if (via.isEmpty()) {
            counters.increment("holepunch.direct.no_introducer");
            tryOnce = punching.race(target, Punching.pick(null, host.addressesOf(target)), dialTimeoutMs);
        } else {
            tryOnce = introduceByAny(target, via).thenCompose(r -> punching.delay(r.delayMs()).thenCompose(v -> {
                List<Multiaddr> addrs = Punching.pick(null, r.addresses());
                for (Multiaddr a : addrs) host.punch(a, 1); // harmless; may help a NAT that opens on first packet
                return punching.race(target, addrs, dialTimeoutMs);
            }));
        }
        tryOnce.whenCompleteAsync((c, err) -> {
            if (c != null) {
                counters.increment("holepunch.direct.ok");
                result.complete(c);
                return;
            }
            Throwable cause = Futures.unwrap(err);
            log.debug("direct connection to {} try {}/{} failed: {}", target, i + 1, attempts, cause.getMessage());
            if (i + 1 >= attempts) {
                counters.increment("holepunch.direct.failed");
                result.completeExceptionally(new TransportException(TransportException.Kind.TIMEOUT,
                        "no direct connection to " + target + " after " + attempts + " tries: " + cause.getMessage(), cause));
                return;
            }
            long backoff = punching.config().backoffMs() << Math.min(i, 10);
            loop.schedule(() -> attempt(target, i + 1, attempts, dialTimeoutMs, result), backoff);
        }, loop);
    }

    /** Connected peers that may know {@code target}: those that told us about it first. */
    private List<PeerId> introducers(PeerId target) {
        LinkedHashSet<PeerId> out = new LinkedHashSet<>();
        List<PeerId> connected = connectedPeers.get();
        for (PeerId p : knownVia.apply(target)) if (connected.contains(p)) out.add(p);
        out.addAll(connected);
        out.remove(target);
        out.remove(host.peerId());
        out.removeIf(p -> punching.direct(p) == null);
        List<PeerId> list = new ArrayList<>(out);
        return list.size() > MAX_INTRODUCERS_PER_ATTEMPT ? list.subList(0, MAX_INTRODUCERS_PER_ATTEMPT) : list;
    }

    /**
     * Asks every introducer at once (a stale connection to one must not cost a whole request timeout); the first OK
     * answer wins, the rest are ignored (each made the target punch once more: harmless, and rate-limited there).
     */
    private CompletableFuture<Introduce> introduceByAny(PeerId target, List<PeerId> via) {
        CompletableFuture<Introduce> result = new CompletableFuture<>();
        int[] left = {via.size()};
        for (PeerId m : via) {
            requestIntroduction(m, target).whenCompleteAsync((r, err) -> {
                if (err == null && r.status() == IntroStatus.OK) {
                    result.complete(r);
                } else if (--left[0] == 0) {
                    result.completeExceptionally(err != null ? Futures.unwrap(err) : new TransportException(
                            TransportException.Kind.REFUSED, m + " did not introduce us to " + target + ": "
                                    + r.status() + " " + r.text()));
                }
            }, loop);
        }
        return result;
    }

    /**
     * Asks {@code via} (over an open direct connection; this never dials) to introduce this node to
     * {@code target}.
     *
     * @return the RESPONSE (status OK: target's addresses and delay; else why not); fails on timeout or a bad
     *     answer ({@link HolePunchException})
     */
    public CompletableFuture<Introduce> requestIntroduction(PeerId via, PeerId target) {
        counters.increment("holepunch.intro.requested");
        return Futures.composeOn(loop, () -> exchange(via, Introduce.request(target), IntroKind.RESPONSE));
    }

    // ---- introducer and target ------------------------------------------------------------------------

    @Override public StreamHandler onNegotiated(Stream stream, String protocolId) {
        FrameDecoder decoder = new FrameDecoder(HolePunchCodec.MAX_MESSAGE_BYTES);
        boolean[] seen = {false};
        return new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {
                if (seen[0]) return;
                try {
                    decoder.feed(data, frame -> {
                        decoder.stop();
                        seen[0] = true;
                        serve(s, HolePunchCodec.decodeIntroduce(frame));
                    });
                } catch (IllegalArgumentException e) { // FrameException or HolePunchException
                    seen[0] = true;
                    counters.increment("holepunch.intro.bad_message");
                    reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_BAD_REQUEST, e.getMessage()));
                }
            }

            @Override public void onRemoteWriteClosed(Stream s) {
                if (!seen[0]) s.reset();
            }
        };
    }

    private void serve(Stream s, Introduce m) {
        if (closed) {
            s.reset();
            return;
        }
        switch (m.kind()) {
            case REQUEST -> serveRequest(s, m);
            case INTRODUCE -> serveIntroduce(s, m);
            default -> {
                counters.increment("holepunch.intro.bad_message");
                reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_BAD_REQUEST, "unexpected " + m.kind()));
            }
        }
    }

    /** As M: introduce the requester to its target. */
    private void serveRequest(Stream s, Introduce m) {
        Connection fromA = s.connection();
        PeerId a = fromA.remotePeer();
        PeerId b = m.peer();
        if (b == null || b.equals(a) || b.equals(host.peerId())) {
            counters.increment("holepunch.intro.refused.bad_target");
            reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_BAD_REQUEST, "bad target peer"));
            return;
        }
        if (!punching.admit(a)) {
            counters.increment("holepunch.intro.refused.rate_limited");
            reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_RATE_LIMITED, "rate limited"));
            return;
        }
        Connection toB = punching.direct(b);
        if (toB == null) {
            counters.increment("holepunch.intro.refused.not_connected");
            reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_NOT_CONNECTED, "not connected to " + b));
            return;
        }
        List<Multiaddr> aAddrs = Punching.pick(fromA.remoteAddress(), host.addressesOf(a));
        if (aAddrs.isEmpty()) {
            counters.increment("holepunch.intro.refused.no_address");
            reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_REFUSED, "no direct address of yours is known"));
            return;
        }
        long t0 = loop.nowMs();
        exchange(b, new Introduce(IntroKind.INTRODUCE, a, aAddrs, 0, IntroStatus.OK, ""), IntroKind.READY)
                .whenCompleteAsync((ready, err) -> {
                    if (err != null) {
                        counters.increment("holepunch.intro.target_failed");
                        reply(s, Introduce.error(IntroKind.RESPONSE, IntroStatus.E_TIMEOUT,
                                "target did not answer: " + Futures.unwrap(err).getMessage()));
                        return;
                    }
                    if (ready.status() != IntroStatus.OK) {
                        counters.increment("holepunch.intro.target_refused");
                        reply(s, Introduce.error(IntroKind.RESPONSE, ready.status(), "target: " + ready.text()));
                        return;
                    }
                    Connection now = punching.direct(b);
                    List<Multiaddr> bAddrs = Punching.pick(now != null ? now.remoteAddress() : toB.remoteAddress(),
                            host.addressesOf(b));
                    counters.increment("holepunch.intro.served");
                    log.debug("introduced {} to {} (target rtt {} ms)", a, b, loop.nowMs() - t0);
                    reply(s, new Introduce(IntroKind.RESPONSE, b, bAddrs, 0, IntroStatus.OK, ""));
                }, loop);
    }

    /** As B: M tells us A wants to connect; punch towards A and say READY. */
    private void serveIntroduce(Stream s, Introduce m) {
        PeerId introducer = s.connection().remotePeer();
        PeerId a = m.peer();
        if (a == null || a.equals(host.peerId()) || a.equals(introducer)) {
            counters.increment("holepunch.intro.bad_message");
            reply(s, Introduce.error(IntroKind.READY, IntroStatus.E_BAD_REQUEST, "bad requester peer"));
            return;
        }
        List<Multiaddr> targets = Punching.pick(null, m.addresses());
        if (targets.isEmpty()) {
            counters.increment("holepunch.intro.bad_message");
            reply(s, Introduce.error(IntroKind.READY, IntroStatus.E_BAD_REQUEST, "no direct QUIC address to punch"));
            return;
        }
        if (!punching.admit(introducer)) {
            counters.increment("holepunch.intro.refused.rate_limited");
            reply(s, Introduce.error(IntroKind.READY, IntroStatus.E_RATE_LIMITED, "rate limited"));
            return;
        }
        counters.increment("holepunch.intro.punching");
        punching.punchBursts(a, targets, m.delayMs());
        reply(s, new Introduce(IntroKind.READY, null, List.of(), 0, IntroStatus.OK, ""));
    }

    // ---- streams --------------------------------------------------------------------------------------

    private static void reply(Stream s, Introduce m) {
        s.write(FrameDecoder.frame(HolePunchCodec.encode(m)));
        s.closeWrite();
    }

    /**
     * Opens a stream to {@code peer} on an open direct connection (never dials), sends {@code m}, awaits one message
     * of kind {@code want}. Event loop.
     */
    private CompletableFuture<Introduce> exchange(PeerId peer, Introduce m, IntroKind want) {
        CompletableFuture<Introduce> result = new CompletableFuture<>();
        FrameDecoder decoder = new FrameDecoder(HolePunchCodec.MAX_MESSAGE_BYTES);
        StreamHandler reader = new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {
                try {
                    decoder.feed(data, frame -> {
                        decoder.stop();
                        Introduce r = HolePunchCodec.decodeIntroduce(frame);
                        if (r.kind() != want) throw new HolePunchException("expected " + want + ", got " + r.kind());
                        result.complete(r);
                    });
                } catch (IllegalArgumentException e) {
                    counters.increment("holepunch.intro.bad_answer");
                    result.completeExceptionally(e);
                    s.reset();
                    return;
                }
                if (result.isDone()) s.close();
            }

            @Override public void onRemoteWriteClosed(Stream s) {
                if (result.completeExceptionally(new HolePunchException("introduce stream ended before " + want))) s.reset();
            }

            @Override public void onClosed(Stream s, Throwable cause) {
                result.completeExceptionally(new HolePunchException("introduce stream closed before " + want));
            }
        };
        // only over an open direct connection: an introduction must never dial (the introducer was chosen because
        // it is connected; if that connection just closed, this introducer is out)
        Connection c = punching.direct(peer);
        if (c == null) {
            result.completeExceptionally(new TransportException(TransportException.Kind.CLOSED, "not connected to " + peer));
            return result;
        }
        Multistream.select(c, List.of(PROTOCOL_ID), id -> reader).whenComplete((n, err) -> {
            if (err != null) result.completeExceptionally(err);
            else n.stream().write(FrameDecoder.frame(HolePunchCodec.encode(m)));
        });
        EventLoop.Cancellable timer = loop.schedule(() -> result.completeExceptionally(new TransportException(
                TransportException.Kind.TIMEOUT, "no " + want + " from " + peer + " within "
                        + punching.config().requestTimeoutMs() + " ms")), punching.config().requestTimeoutMs());
        return result.whenComplete((r, e) -> timer.cancel());
    }
}
