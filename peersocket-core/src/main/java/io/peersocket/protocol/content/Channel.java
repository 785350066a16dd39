package io.peersocket.protocol.content;

import io.peersocket.host.Host;
import io.peersocket.identity.PeerId;
import io.peersocket.transport.Stream;
import io.peersocket.transport.StreamHandler;
import io.peersocket.util.Counters;
import io.peersocket.util.FrameDecoder;
import io.peersocket.util.Futures;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The message channel of one content protocol: as with despatch, each side sends on one stream per peer that it
 * opened itself (so each direction is one FIFO channel) and reads only the streams the remote opened. Frames are
 * {@code varint(length) ‖ message} ({@link ContentCodec}). Outgoing messages pass through the node's
 * {@link BandwidthScheduler}. A malformed message, or one of another protocol, resets the stream, is counted
 * ({@code content.<name>.malformed}) and costs the sender reputation.
 *
 * <p>Counters: {@code content.<name>.wire.out} / {@code .wire.in} (frame bytes), {@code .msgs.out} / {@code .msgs.in},
 * {@code .open_failed}, {@code .malformed}, {@code .banned_dropped}. Event loop only.
 */
final class Channel {
    private static final Logger log = LoggerFactory.getLogger(Channel.class);

    /** Handles one decoded inbound message; may throw {@link ContentProtocolException} to reject it. */
    interface Handler {
        void onMessage(PeerId from, ContentCodec.Msg msg);
    }

    private final Host host;
    private final String protocolId;
    private final String name;
    private final BandwidthScheduler scheduler;
    private final Reputation reputation;
    private final Counters counters;
    private final Handler handler;
    private final java.util.function.Predicate<ContentCodec.Msg> accepts;
    private final Consumer<PeerId> onSendFailed;
    private final Map<PeerId, Out> outs = new HashMap<>();
    /** Connections carrying inbound streams of this protocol, per peer. */
    private final Map<PeerId, java.util.Set<io.peersocket.transport.Connection>> inbound = new HashMap<>();
    private boolean closed;

    private static final class Out {
        Stream stream;
        List<byte[]> pending = new ArrayList<>();
        boolean failed;
    }

    Channel(Host host, String protocolId, String name, BandwidthScheduler scheduler, Reputation reputation,
            java.util.function.Predicate<ContentCodec.Msg> accepts, Handler handler, Consumer<PeerId> onSendFailed) {
        this.host = host;
        this.protocolId = protocolId;
        this.name = name;
        this.scheduler = scheduler;
        this.reputation = reputation;
        this.counters = host.counters();
        this.accepts = accepts;
        this.handler = handler;
        this.onSendFailed = onSendFailed;
        host.registerProtocol(protocolId, (s, id) -> new Inbound(s));
    }

    /**
     * Sends {@code m} to {@code peer} through the scheduler in class {@code p}.
     *
     * @return false if the scheduler shed it
     */
    boolean send(PeerId peer, BandwidthScheduler.Priority p, ContentCodec.Msg m, boolean immediate) {
        return send(peer, p, m, immediate, () -> true);
    }

    /** As {@link #send(PeerId, BandwidthScheduler.Priority, ContentCodec.Msg, boolean)}, skipped if {@code stillWanted} is false by its turn. */
    boolean send(PeerId peer, BandwidthScheduler.Priority p, ContentCodec.Msg m, boolean immediate,
            java.util.function.BooleanSupplier stillWanted) {
        if (closed) return false;
        byte[] frame = FrameDecoder.frame(ContentCodec.encode(m));
        return scheduler.submit(peer, p, frame.length, immediate, () -> {
            if (stillWanted.getAsBoolean()) write(peer, frame);
            else counters.increment("content." + name + ".dropped_stale");
        });
    }


    private void write(PeerId peer, byte[] frame) {
        if (closed) return;
        counters.add("content." + name + ".wire.out", frame.length);
        counters.increment("content." + name + ".msgs.out");
        Out o = outs.get(peer);
        if (o != null && o.stream != null) {
            o.stream.write(frame);
            return;
        }
        if (o != null) {
            o.pending.add(frame);
            return;
        }
        if (!host.isConnected(peer)) {
            // never dial for content traffic: connections are the connection manager's business
            counters.increment("content." + name + ".not_connected");
            host.loop().execute(() -> onSendFailed.accept(peer));
            return;
        }
        Out n = new Out();
        n.pending.add(frame);
        outs.put(peer, n);
        host.openStream(peer, protocolId, new StreamHandler() {
            @Override public void onData(Stream s, byte[] data) {} // the remote answers on its own stream
            @Override public void onClosed(Stream s, Throwable cause) {
                host.loop().execute(() -> {
                    if (outs.get(peer) == n) outs.remove(peer);
                });
            }
        }).whenComplete((s, err) -> host.loop().execute(() -> {
            if (err != null || closed || outs.get(peer) != n) {
                if (s != null) s.close();
                if (outs.get(peer) == n) outs.remove(peer);
                if (err != null) {
                    counters.increment("content." + name + ".open_failed");
                    log.debug("{}: cannot open stream to {}: {}", protocolId, peer, Futures.unwrap(err).getMessage());
                    onSendFailed.accept(peer);
                }
                return;
            }
            n.stream = s;
            for (byte[] f : n.pending) s.write(f);
            n.pending = List.of();
        }));
    }

    /** True if a stream of this protocol with {@code peer}, either way, runs on {@code connection}. */
    boolean uses(PeerId peer, io.peersocket.transport.Connection connection) {
        Out o = outs.get(peer);
        if (o != null && o.stream != null && o.stream.connection() == connection) return true;
        java.util.Set<io.peersocket.transport.Connection> in = inbound.get(peer);
        return in != null && in.contains(connection);
    }

    /** Forgets the outgoing stream to {@code peer} (it disconnected). */
    void dropPeer(PeerId peer) {
        Out o = outs.remove(peer);
        if (o != null && o.stream != null) o.stream.close();
    }

    void close() {
        closed = true;
        for (Out o : outs.values()) if (o.stream != null) o.stream.close();
        outs.clear();
    }

    private final class Inbound implements StreamHandler {
        private final PeerId remote;
        private final FrameDecoder decoder = new FrameDecoder(ContentCodec.MAX_MESSAGE_BYTES);
        private boolean dead;

        Inbound(Stream s) {
            this.remote = s.connection().remotePeer();
            inbound.computeIfAbsent(remote, k -> new java.util.HashSet<>()).add(s.connection());
        }

        @Override public void onData(Stream s, byte[] data) {
            if (dead || closed) return;
            counters.add("content." + name + ".wire.in", data.length);
            try {
                decoder.feed(data, frame -> {
                    if (dead) {
                        decoder.stop();
                        return;
                    }
                    if (reputation.banned(remote)) {
                        counters.increment("content." + name + ".banned_dropped");
                        return;
                    }
                    ContentCodec.Msg m = ContentCodec.decode(frame);
                    if (!accepts.test(m)) throw new ContentProtocolException(m.getClass().getSimpleName() + " is not a " + protocolId + " message");
                    counters.increment("content." + name + ".msgs.in");
                    handler.onMessage(remote, m);
                });
            } catch (FrameDecoder.FrameException | ContentProtocolException e) {
                dead = true;
                counters.increment("content." + name + ".malformed");
                reputation.penalize(remote, "malformed", Reputation.MALFORMED);
                log.debug("{}: resetting stream from {}: {}", protocolId, remote, e.getMessage());
                s.reset();
            }
        }

        @Override public void onRemoteWriteClosed(Stream s) {
            if (!dead) s.close();
        }

        @Override public void onClosed(Stream s, Throwable cause) {
            dead = true;
            java.util.Set<io.peersocket.transport.Connection> in = inbound.get(remote);
            if (in != null && in.remove(s.connection()) && in.isEmpty()) inbound.remove(remote);
        }
    }
}
