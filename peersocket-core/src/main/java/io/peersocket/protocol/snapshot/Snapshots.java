package io.peersocket.protocol.snapshot;

import io.peersocket.despatch.ChannelObserver;
import io.peersocket.despatch.Despatcher;
import io.peersocket.despatch.Header;
import io.peersocket.despatch.Message;
import io.peersocket.host.Host;
import io.peersocket.identity.PeerId;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Chandy–Lamport global snapshots over the despatch layer (seed 002; docs/snapshot.md).
 *
 * <p><b>Channels.</b> A channel is one direction of a peer pair: the despatch stream the sender opened to the
 * receiver, FIFO and reliable ({@link ChannelObserver}). A node's channels at its recording point are its peers
 * with an open connection that passed the Peersocket handshake (the {@code channelPeers} supplier), plus any peer
 * that sends it a marker or a covered message while it records. Datagrams are on no channel: covered message types
 * ({@link #handle}) are stream-only ({@link Despatcher#requireReliable}). A stream that ends during a snapshot
 * (closed, reset, connection lost — or up to {@link SnapshotConfig#resetMarginMs} before the snapshot started) makes
 * the channel, and so the snapshot, incomplete: messages in flight may have been lost.
 *
 * <p><b>Algorithm.</b> The initiator records its state and sends a marker ({@link #MARKER}) on every outbound
 * channel. A node receiving its first marker of a snapshot records its state (every {@link SnapshotParticipant}),
 * marks that channel empty, sends markers on all its outbound channels, and records every covered message that
 * then arrives on each other inbound channel until that channel's marker. When every inbound channel has its
 * marker (or the timeout passes) it sends its report ({@link #REPORT}: state and channel states) to the
 * initiator, which assembles the {@link GlobalSnapshot} once every node named in any report has reported.
 *
 * <p><b>Consistency with applications.</b> Markers and covered messages are handled on the event loop in arrival
 * order; covered handlers run right there, so the state recorded at a marker includes exactly the covered messages
 * that arrived before it. Senders change state and {@link #send} in one loop task, so a message sent after the
 * recording follows the marker on its channel. See {@link SnapshotParticipant} for the rule.
 *
 * <p><b>Concurrency.</b> A node records one snapshot at a time: a marker of another snapshot while it records is
 * answered with a busy report (that snapshot is incomplete); {@link #snapshot} fails while one is in progress here.
 *
 * <p>Bad input (malformed or oversized marker or report, a covered message that is a request or reply) is dropped
 * and counted ({@code snapshot.drop.*}); the node keeps serving. Threading: state belongs to the host's event loop;
 * public methods may be called from any thread unless they say otherwise.
 */
public final class Snapshots implements ChannelObserver, AutoCloseable {
    /** Despatch message type of a marker (stack-reserved range 0x7F000000 …). */
    public static final int MARKER = 0x7F00_0001;
    /** Despatch message type of a report to the initiator. */
    public static final int REPORT = 0x7F00_0002;
    private static final Logger log = LoggerFactory.getLogger(Snapshots.class);
    private static final int RECENT_IDS = 64;

    private final Host host;
    private final EventLoop loop;
    private final Despatcher despatcher;
    private final SnapshotConfig config;
    private final Supplier<Collection<PeerId>> channelPeers;
    private final List<SnapshotParticipant> participants = new CopyOnWriteArrayList<>();
    private final Map<Integer, Consumer<Message>> covered = new ConcurrentHashMap<>();

    // Event-loop state.
    private final Map<PeerId, Long> lastResetMs = new HashMap<>();
    private final LinkedHashSet<Long> recentIds = new LinkedHashSet<>();
    private final Set<Long> busyAnswered = new HashSet<>();
    private Local current;
    private Collecting collecting;
    private long counter;
    private boolean closed;

    /**
     * Installs itself as {@code despatcher}'s channel observer.
     *
     * @param channelPeers the peers this node has channels with now (called on the loop): connected peers that
     *     run the Peersocket stack
     * @throws IllegalStateException if the despatcher already has a channel observer
     */
    public Snapshots(Host host, Despatcher despatcher, SnapshotConfig config, Supplier<Collection<PeerId>> channelPeers) {
        this.host = Objects.requireNonNull(host);
        this.loop = host.loop();
        this.despatcher = Objects.requireNonNull(despatcher);
        this.config = Objects.requireNonNull(config);
        this.channelPeers = Objects.requireNonNull(channelPeers);
        despatcher.setChannelObserver(this);
        despatcher.requireReliable(MARKER);
        despatcher.requireReliable(REPORT);
        despatcher.nameType(MARKER, "SNAPSHOT_MARKER");
        despatcher.nameType(REPORT, "SNAPSHOT_REPORT");
    }

    public SnapshotConfig config() { return config; }

    /** The despatcher this service observes (to name message types, send other traffic). */
    public Despatcher despatcher() { return despatcher; }

    /** The peers this node has channels with now (see the class doc). Event loop only. */
    public Collection<PeerId> channelPeers() { return channelPeers.get(); }

    // ---- registration -----------------------------------------------------------------------------------------

    /**
     * Adds a participant whose state every snapshot records.
     *
     * @throws IllegalArgumentException if one with the same name is registered
     */
    public void register(SnapshotParticipant participant) {
        Objects.requireNonNull(participant);
        synchronized (participants) {
            for (SnapshotParticipant p : participants) {
                if (p.name().equals(participant.name())) throw new IllegalArgumentException("participant \"" + p.name() + "\" exists");
            }
            participants.add(participant);
        }
    }

    /** The registered participant called {@code name} as {@code type}, or null if there is none. */
    public <T> T participant(String name, Class<T> type) {
        for (SnapshotParticipant p : participants) if (p.name().equals(name)) return type.cast(p);
        return null;
    }

    /**
     * Makes {@code type} a covered message type: it is stream-only, every message of it is recorded in channel
     * states while a snapshot records, and {@code handler} applies it <em>on the event loop</em>, in arrival order
     * (it must be quick and never block). Covered messages are one-way: one with in-reply-to, in-regards-to or
     * the request flag is dropped and counted ({@code snapshot.drop.bad_flags}). Messages of {@code type} no longer
     * reach a despatch handler registered for it.
     */
    public void handle(int type, Consumer<Message> handler) {
        if (type == MARKER || type == REPORT) throw new IllegalArgumentException("type " + type + " is the snapshot protocol's");
        despatcher.requireReliable(type);
        covered.put(type, Objects.requireNonNull(handler));
    }

    /**
     * Sends a covered message now, on {@code peer}'s channel (see {@link Despatcher#sendFromLoop}). Call on the
     * event loop, in the same task that changes the state the message accounts for. If this node recorded a
     * snapshot and has not sent {@code peer} a marker yet (a channel that appeared after the recording), the
     * marker goes first.
     *
     * @throws IllegalStateException off the event loop
     * @throws IllegalArgumentException if {@code type} is not covered ({@link #handle}) or the payload too large
     */
    public CompletableFuture<Void> send(PeerId peer, int type, byte[] payload) {
        if (!loop.inEventLoop()) throw new IllegalStateException("Snapshots.send called off the event loop");
        if (!covered.containsKey(type)) throw new IllegalArgumentException("message type " + type + " is not covered (handle)");
        Local l = current;
        if (l != null && !l.dutyEnded && !l.markersSentTo.contains(peer) && !peer.equals(host.peerId())) sendMarker(l, peer);
        return despatcher.sendFromLoop(peer, type, payload);
    }

    /** A readable form of a recorded channel message, from the participants' {@link SnapshotParticipant#describe}. */
    public Object describe(int type, byte[] payload) {
        for (SnapshotParticipant p : participants) {
            try {
                Object d = p.describe(type, payload);
                if (d != null) return d;
            } catch (RuntimeException e) {
                log.debug("describe failed: {}", e.toString());
            }
        }
        return null;
    }

    // ---- initiating -------------------------------------------------------------------------------------------

    /** {@link #snapshot(long)} with {@link SnapshotConfig#defaultTimeoutMs()}. */
    public CompletableFuture<GlobalSnapshot> snapshot() { return snapshot(config.defaultTimeoutMs()); }

    /**
     * Takes a global snapshot with this node as initiator.
     *
     * @param timeoutMs how long to wait for every report, ms (1 … {@link SnapshotConfig#maxTimeoutMs()}); nodes
     *     stop recording channels after three quarters of it
     * @return completes (on the loop) with the assembled snapshot — check {@link GlobalSnapshot#complete()}; after
     *     the timeout with what arrived; fails with {@link IllegalStateException} if a snapshot is in progress at
     *     this node or the service is closed
     * @throws IllegalArgumentException for a timeout out of range
     */
    public CompletableFuture<GlobalSnapshot> snapshot(long timeoutMs) {
        if (timeoutMs < 1 || timeoutMs > config.maxTimeoutMs()) {
            throw new IllegalArgumentException("timeoutMs must be 1 … " + config.maxTimeoutMs() + ", got " + timeoutMs);
        }
        CompletableFuture<GlobalSnapshot> result = new CompletableFuture<>();
        loop.execute(() -> {
            if (closed) {
                result.completeExceptionally(new IllegalStateException("snapshots closed"));
                return;
            }
            if (collecting != null || current != null && !current.reported) {
                host.counters().increment("snapshot.refused_busy");
                long busyWith = collecting != null ? collecting.id : current.id;
                result.completeExceptionally(new IllegalStateException("a snapshot is in progress here (id "
                        + Long.toUnsignedString(busyWith, 16) + ")"));
                return;
            }
            long id = mix(host.peerId().hashCode() * 0x9E3779B97F4A7C15L ^ loop.nowMs() ^ (++counter << 40));
            Collecting c = new Collecting(id, result, loop.nowMs());
            collecting = c;
            c.timer = loop.schedule(() -> finishCollecting(c, true), timeoutMs);
            host.counters().increment("snapshot.started");
            record(new SnapshotCodec.Marker(id, host.peerId(), loop.nowMs(), timeoutMs, host.listenAddresses()), null);
        });
        return result;
    }

    // ---- channel observer (event loop) ---------------------------------------------------------------------------

    @Override public boolean onChannelMessage(Message m) {
        int type = m.type();
        boolean oneWay = (m.header().flags() & ~Header.F_TRACE) == 0;
        if (type == MARKER || type == REPORT) {
            if (!oneWay) {
                host.counters().increment("snapshot.drop.bad_flags");
            } else if (type == MARKER) {
                onMarker(m);
            } else {
                onReport(m);
            }
            return true;
        }
        Consumer<Message> handler = covered.get(type);
        if (handler == null) return false;
        if (!oneWay) {
            host.counters().increment("snapshot.drop.bad_flags");
            return true;
        }
        Local l = current;
        if (l != null && !l.reported) {
            Chan c = l.in.get(m.peer());
            if (c == null) c = addLateChannel(l, m.peer());
            if (c != null && !c.markerSeen) c.record(m);
        }
        try {
            handler.accept(m);
        } catch (RuntimeException e) {
            host.counters().increment("snapshot.handler.failed");
            log.warn("covered handler for type {} from {} failed: {}", type, m.peer(), e.toString());
        }
        return true;
    }

    @Override public void onChannelReset(PeerId peer, boolean inbound) {
        long now = loop.nowMs();
        lastResetMs.put(peer, now);
        if (lastResetMs.size() > 10_000) lastResetMs.entrySet().removeIf(e -> e.getValue() < now - config.resetMarginMs());
        Local l = current;
        if (l == null || l.reported) return;
        if (inbound) {
            Chan c = l.in.get(peer);
            if (c != null && !c.markerSeen && c.problem == null) c.problem = "channel reset while recording";
        } else if (l.markersSentTo.contains(peer)) {
            l.problem("outbound channel to " + peer + " reset after the recording");
        }
    }

    private void onMarker(Message m) {
        SnapshotCodec.Marker mk;
        try {
            mk = SnapshotCodec.decodeMarker(m.payload(), config.maxTimeoutMs());
        } catch (MalformedSnapshotException e) {
            host.counters().increment("snapshot.drop.malformed_marker");
            log.debug("malformed marker from {}: {}", m.peer(), e.getMessage());
            return;
        }
        host.counters().increment("snapshot.marker.received");
        PeerId from = m.peer();
        Local l = current;
        if (l != null && l.id == mk.id()) {
            if (l.reported) {
                // a channel that appeared after we finished: its sender waits for our marker too (the initiator
                // flags the channel it sent on, which we did not record)
                if (!l.dutyEnded && !l.markersSentTo.contains(from)) sendMarker(l, from);
                return;
            }
            Chan c = l.in.get(from);
            if (c == null) c = addLateChannel(l, from);
            if (c != null) {
                if (c.markerSeen) host.counters().increment("snapshot.drop.duplicate_marker");
                c.markerSeen = true;
            }
            if (!l.markersSentTo.contains(from)) sendMarker(l, from);
            checkDone(l);
            return;
        }
        if (recentIds.contains(mk.id())) return; // a snapshot we finished
        if (l != null && !l.reported) {
            host.counters().increment("snapshot.busy");
            if (busyAnswered.add(mk.id())) {
                if (busyAnswered.size() > RECENT_IDS) busyAnswered.clear();
                NodeSnapshot busy = new NodeSnapshot(host.peerId(), true, Map.of(), List.of(), List.of(),
                        List.of("busy with snapshot " + Long.toUnsignedString(l.id, 16)));
                deliver(mk, busy);
            }
            return;
        }
        record(mk, from);
    }

    private void onReport(Message m) {
        SnapshotCodec.Report r;
        try {
            r = SnapshotCodec.decodeReport(m.payload(), m.peer(), config);
        } catch (MalformedSnapshotException e) {
            host.counters().increment("snapshot.drop.malformed_report");
            log.debug("malformed report from {}: {}", m.peer(), e.getMessage());
            return;
        }
        Collecting c = collecting;
        if (c == null || c.id != r.id()) {
            host.counters().increment("snapshot.drop.unexpected_report");
            return;
        }
        c.add(r.node());
    }

    // ---- recording (event loop) ---------------------------------------------------------------------------------

    private void record(SnapshotCodec.Marker mk, PeerId markerFrom) {
        if (current != null) current.dutyEnded = true;
        if (!mk.initiatorAddresses().isEmpty() && !mk.initiator().equals(host.peerId())) {
            host.addAddresses(mk.initiator(), mk.initiatorAddresses()); // for the report, if we are not connected
        }
        Local l = new Local(mk, loop.nowMs());
        current = l;
        host.counters().increment("snapshot.recorded");
        l.state = collectState(l);
        LinkedHashSet<PeerId> peers = new LinkedHashSet<>();
        try {
            peers.addAll(channelPeers.get());
        } catch (RuntimeException e) {
            l.problem("channel peers unavailable: " + e);
        }
        if (markerFrom != null) peers.add(markerFrom);
        peers.remove(host.peerId());
        for (PeerId p : peers) addChannel(l, p);
        // A channel that ended since the snapshot started (or just before) but is not in our set now: messages in
        // flight on it may be lost, and no channel state accounts for them.
        for (Map.Entry<PeerId, Long> e : lastResetMs.entrySet()) {
            if (!l.in.containsKey(e.getKey()) && e.getValue() >= mk.startedAtMs() - config.resetMarginMs()) {
                l.problem("channel with " + e.getKey() + " ended " + (mk.startedAtMs() - e.getValue())
                        + " ms before the snapshot started (or during it) and is gone");
            }
        }
        if (markerFrom != null && l.in.containsKey(markerFrom)) l.in.get(markerFrom).markerSeen = true;
        for (PeerId p : List.copyOf(l.in.keySet())) sendMarker(l, p);
        long recordFor = Math.max(1, mk.timeoutMs() * 3 / 4);
        l.timer = loop.schedule(() -> finish(l, "no marker within " + recordFor + " ms"), recordFor);
        l.dutyTimer = loop.schedule(() -> {
            l.dutyEnded = true;
            if (current == l && l.reported) current = null;
        }, mk.timeoutMs());
        checkDone(l);
    }

    private Map<String, Object> collectState(Local l) {
        Map<String, Object> state = new LinkedHashMap<>();
        for (SnapshotParticipant p : participants) {
            try {
                state.put(p.name(), StateValues.normalize(p.state()));
            } catch (RuntimeException e) {
                state.put(p.name(), null);
                l.problem("state of \"" + p.name() + "\" unavailable: " + e);
            }
        }
        return state;
    }

    private Chan addChannel(Local l, PeerId p) {
        if (l.in.size() >= config.maxChannels()) {
            l.problem("more than " + config.maxChannels() + " channels");
            return null;
        }
        Chan c = new Chan(p);
        Long reset = lastResetMs.get(p);
        if (reset != null && reset >= l.marker.startedAtMs() - config.resetMarginMs()) {
            c.problem = "channel reset " + (l.marker.startedAtMs() - reset) + " ms before the snapshot started";
            if (reset > l.marker.startedAtMs()) c.problem = "channel reset during the snapshot";
        }
        l.in.put(p, c);
        return c;
    }

    /** A channel that appeared while recording (a marker or covered message from a peer not in our set). */
    private Chan addLateChannel(Local l, PeerId p) {
        Chan c = addChannel(l, p);
        if (c != null && !l.markersSentTo.contains(p)) sendMarker(l, p);
        return c;
    }

    private void sendMarker(Local l, PeerId p) {
        l.markersSentTo.add(p);
        host.counters().increment("snapshot.marker.sent");
        despatcher.sendFromLoop(p, MARKER, l.markerBytes).whenComplete((v, err) -> {
            if (err != null) {
                loop.execute(() -> {
                    if (!l.reported) l.problem("marker to " + p + " not sent: " + err.getMessage());
                });
            }
        });
    }

    private void checkDone(Local l) {
        if (l.reported) return;
        for (Chan c : l.in.values()) if (!c.markerSeen) return;
        finish(l, null);
    }

    private void finish(Local l, String missingMarker) {
        if (l.reported) return;
        l.reported = true;
        if (l.timer != null) l.timer.cancel();
        rememberId(l.id);
        List<ChannelState> channels = new ArrayList<>(l.in.size());
        for (Chan c : l.in.values()) {
            String problem = c.problem;
            if (problem == null && !c.markerSeen) problem = missingMarker;
            if (problem == null && c.dropped > 0) problem = c.dropped + " messages over the recording limit";
            channels.add(new ChannelState(c.from, host.peerId(), problem == null, problem, c.dropped, c.messages));
        }
        NodeSnapshot node = new NodeSnapshot(host.peerId(), false, l.state, channels, List.copyOf(l.markersSentTo), l.problems);
        if (current == l && l.dutyEnded) current = null;
        deliver(l.marker, node);
    }

    /** Sends {@code node}'s report to the initiator of {@code mk} (or adds it, if that is us). */
    private void deliver(SnapshotCodec.Marker mk, NodeSnapshot node) {
        if (mk.initiator().equals(host.peerId())) {
            Collecting c = collecting;
            if (c != null && c.id == mk.id()) c.add(node);
            return;
        }
        byte[] bytes = boundedReport(mk.id(), node);
        host.counters().increment("snapshot.report.sent");
        despatcher.sendFromLoop(mk.initiator(), REPORT, bytes).whenComplete((v, err) -> {
            if (err != null) {
                host.counters().increment("snapshot.report.failed");
                log.debug("report of snapshot {} to {} failed: {}", Long.toUnsignedString(mk.id(), 16), mk.initiator(), err.toString());
            }
        });
    }

    /** The report, shrunk to {@link SnapshotConfig#maxReportBytes()}: channel messages go first, then the state. */
    private byte[] boundedReport(long id, NodeSnapshot node) {
        byte[] b = SnapshotCodec.encodeReport(id, node);
        if (b.length <= config.maxReportBytes()) return b;
        List<ChannelState> stripped = node.channels().stream().map(c -> new ChannelState(c.from(), c.to(), false,
                "report over " + config.maxReportBytes() + " bytes: messages left out", c.dropped() + c.messages().size(),
                List.of())).toList();
        List<String> problems = new ArrayList<>(node.problems());
        problems.add("report over " + config.maxReportBytes() + " bytes");
        NodeSnapshot smaller = new NodeSnapshot(node.peer(), node.busy(), node.state(), stripped, node.markersSentTo(), problems);
        b = SnapshotCodec.encodeReport(id, smaller);
        if (b.length <= config.maxReportBytes()) return b;
        return SnapshotCodec.encodeReport(id, new NodeSnapshot(node.peer(), node.busy(), Map.of(), stripped,
                node.markersSentTo().size() > config.maxChannels() ? List.of() : node.markersSentTo(), problems));
    }

    private void rememberId(long id) {
        recentIds.add(id);
        if (recentIds.size() > RECENT_IDS) recentIds.remove(recentIds.iterator().next());
    }

    private void finishCollecting(Collecting c, boolean timedOut) {
        if (collecting != c) return;
        collecting = null;
        c.timer.cancel();
        List<PeerId> missing = new ArrayList<>();
        for (PeerId p : c.expected) if (!c.reports.containsKey(p)) missing.add(p);
        List<String> problems = new ArrayList<>();
        if (timedOut) problems.add("timed out after " + (loop.nowMs() - c.startedAtMs) + " ms");
        // Every marker sent must open a channel state at its receiver; otherwise messages on that channel were
        // recorded nowhere (the receiver did not count the sender among its channels).
        for (NodeSnapshot n : c.reports.values()) {
            for (PeerId to : n.markersSentTo()) {
                NodeSnapshot r = c.reports.get(to);
                if (r == null || r.busy()) continue;
                if (r.channels().stream().noneMatch(ch -> ch.from().equals(n.peer()))) {
                    if (problems.size() < 100) problems.add("channel " + n.peer() + " -> " + to + " was not recorded at " + to);
                }
            }
        }
        GlobalSnapshot g = new GlobalSnapshot(c.id, host.peerId(), c.startedAtMs, loop.nowMs() - c.startedAtMs, c.reports,
                missing, problems);
        host.counters().increment(g.complete() ? "snapshot.complete" : "snapshot.incomplete");
        c.result.complete(g);
    }

    /** Whether this node is recording a snapshot now (call on the loop). */
    public boolean isRecording() { return current != null && !current.reported; }

    /** Stops timers and fails a snapshot being assembled here. On the loop or after it stopped. */
    @Override public void close() {
        if (closed) return;
        closed = true;
        if (current != null) {
            if (current.timer != null) current.timer.cancel();
            if (current.dutyTimer != null) current.dutyTimer.cancel();
            current = null;
        }
        if (collecting != null) {
            collecting.timer.cancel();
            collecting.result.completeExceptionally(new IllegalStateException("snapshots closed"));
            collecting = null;
        }
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    // ---- state ----------------------------------------------------------------------------------------------------

    /** This node's participation in one snapshot. */
    private final class Local {
        final SnapshotCodec.Marker marker;
        final long id;
        final byte[] markerBytes;
        final long recordedAtMs;
        final Map<PeerId, Chan> in = new LinkedHashMap<>();
        final LinkedHashSet<PeerId> markersSentTo = new LinkedHashSet<>();
        final List<String> problems = new ArrayList<>();
        Map<String, Object> state = Map.of();
        boolean reported;
        boolean dutyEnded; // after the snapshot's timeout: new channels no longer get a marker
        EventLoop.Cancellable timer, dutyTimer;

        Local(SnapshotCodec.Marker marker, long now) {
            this.marker = marker;
            this.id = marker.id();
            this.markerBytes = SnapshotCodec.encodeMarker(marker);
            this.recordedAtMs = now;
        }

        void problem(String p) {
            if (problems.size() < 50) problems.add(p.length() > 900 ? p.substring(0, 900) : p);
        }
    }

    /** An inbound channel being recorded. */
    private final class Chan {
        final PeerId from;
        final List<ChannelMessage> messages = new ArrayList<>();
        boolean markerSeen;
        long dropped;
        long bytes;
        String problem;

        Chan(PeerId from) { this.from = from; }

        void record(Message m) {
            if (messages.size() >= config.maxMessagesPerChannel() || bytes + m.payload().length > config.maxReportBytes()) {
                dropped++;
                return;
            }
            bytes += m.payload().length;
            messages.add(new ChannelMessage(m.type(), m.id(), m.payload()));
        }
    }

    /** Reports being assembled at the initiator. */
    private final class Collecting {
        final long id;
        final CompletableFuture<GlobalSnapshot> result;
        final long startedAtMs;
        final Map<PeerId, NodeSnapshot> reports = new LinkedHashMap<>();
        final LinkedHashSet<PeerId> expected = new LinkedHashSet<>();
        EventLoop.Cancellable timer;

        Collecting(long id, CompletableFuture<GlobalSnapshot> result, long startedAtMs) {
            this.id = id;
            this.result = result;
            this.startedAtMs = startedAtMs;
            expected.add(host.peerId());
        }

        void add(NodeSnapshot node) {
            if (reports.containsKey(node.peer())) {
                host.counters().increment("snapshot.drop.duplicate_report");
                return;
            }
            if (!expected.contains(node.peer()) && expected.size() >= config.maxChannels() * 4) {
                host.counters().increment("snapshot.drop.unexpected_report");
                return;
            }
            reports.put(node.peer(), node);
            expected.add(node.peer());
            for (ChannelState c : node.channels()) expected.add(c.from());
            expected.addAll(node.markersSentTo());
            if (reports.keySet().containsAll(expected)) finishCollecting(this, false);
        }
    }
}
