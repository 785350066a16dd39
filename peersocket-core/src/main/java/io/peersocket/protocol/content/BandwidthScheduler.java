package io.peersocket.protocol.content;

import io.peersocket.identity.PeerId;
import io.peersocket.util.Counters;
import io.peersocket.util.EventLoop;
import java.util.ArrayDeque;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Map;

/**
 * Outgoing content traffic of one node (seeds 000 "Minimal system" and 001 "priority queues"): every message that
 * carries chunk data waits here for bandwidth, by priority class — user retrieval before live sync before
 * historical sync — and is spread at a constant rate per counterparty, peers of one class taking turns (round
 * robin), under a global and a per-peer byte-rate limit (token buckets on the loop's clock).
 *
 * <p>{@link Priority#CONTROL} messages (requests, offers, wanted vectors, receipts, NACKs — no chunk data) and the
 * first instalment of a batch are sent at once "without regard to bandwidth limits" (seed 000); their bytes still
 * count against the buckets, which may go into debt. A bucket may also go into debt by one message, so a message
 * larger than the burst still goes out; the rate holds on average.
 *
 * <p>Each peer's queue holds at most {@link Limits#maxQueuedBytesPerPeer()} bytes; a live or historical message
 * that would exceed it is shed ({@link #submit} returns false, counted {@code content.sched.shed}): the receiver
 * NACKs the missing instalment. Retrieval messages are never shed.
 *
 * <p>Counters: {@code content.sched.sent.<class>}, {@code .bytes.<class>}, {@code .shed}, {@code .delayed}.
 *
 * <p>Threading: event loop only.
 */
public final class BandwidthScheduler {
    /** Priority classes, highest first. */
    public enum Priority { CONTROL, RETRIEVAL, LIVE, HISTORICAL }

    /**
     * Limits; a rate of 0 means unlimited.
     *
     * @param globalBytesPerSecond all outgoing content traffic of the node, bytes/s
     * @param perPeerBytesPerSecond to one counterparty, bytes/s
     * @param burstBytes bucket depth, bytes (≥ 1)
     * @param maxQueuedBytesPerPeer queued bytes per counterparty before live/historical messages are shed
     */
    public record Limits(long globalBytesPerSecond, long perPeerBytesPerSecond, long burstBytes, long maxQueuedBytesPerPeer) {
        public Limits {
            if (globalBytesPerSecond < 0 || perPeerBytesPerSecond < 0) throw new IllegalArgumentException("rates must be >= 0");
            if (burstBytes < 1) throw new IllegalArgumentException("burstBytes must be >= 1, got " + burstBytes);
            if (maxQueuedBytesPerPeer < 1) throw new IllegalArgumentException("maxQueuedBytesPerPeer must be >= 1");
        }

        /** No rate limit, 64 KiB burst, 4 MiB queue per peer. */
        public static Limits unlimited() { return new Limits(0, 0, 64 * 1024, 4L << 20); }
    }

    /** A token bucket of {@code rate} bytes/s and depth {@code burst}; rate 0 = unlimited. */
    static final class Bucket {
        final long rate;
        final long burst;
        double tokens;
        long lastMs;

        Bucket(long rate, long burst, long nowMs) {
            this.rate = rate;
            this.burst = burst;
            this.tokens = burst;
            this.lastMs = nowMs;
        }

        void refill(long nowMs) {
            if (nowMs > lastMs) {
                tokens = Math.min(burst, tokens + (nowMs - lastMs) * rate / 1000.0);
                lastMs = nowMs;
            }
        }

        boolean ready(long nowMs) {
            if (rate == 0) return true;
            refill(nowMs);
            return tokens > 0;
        }

        void take(long bytes) { if (rate != 0) tokens -= bytes; }

        /** ms until {@link #ready} (0 if ready). */
        long waitMs(long nowMs) {
            if (ready(nowMs)) return 0;
            return (long) Math.ceil((-tokens + 1) * 1000.0 / rate);
        }
    }

    private record Item(int bytes, Runnable send) {}

    private final class PeerQueue {
        final PeerId peer;
        final Bucket bucket;
        final EnumMap<Priority, ArrayDeque<Item>> queues = new EnumMap<>(Priority.class);
        long queuedBytes;

        PeerQueue(PeerId peer) {
            this.peer = peer;
            this.bucket = new Bucket(limits.perPeerBytesPerSecond(), limits.burstBytes(), loop.nowMs());
            for (Priority p : Priority.values()) queues.put(p, new ArrayDeque<>());
        }
    }

    private final EventLoop loop;
    private final Limits limits;
    private final Counters counters;
    private final Bucket global;
    private final Map<PeerId, PeerQueue> peers = new HashMap<>();
    /** Per class, the peers with something queued in it, in turn order. */
    private final EnumMap<Priority, ArrayDeque<PeerQueue>> active = new EnumMap<>(Priority.class);
    private EventLoop.Cancellable timer;
    private long timerDueMs = Long.MAX_VALUE;

    public BandwidthScheduler(EventLoop loop, Limits limits, Counters counters) {
        this.loop = loop;
        this.limits = limits;
        this.counters = counters;
        this.global = new Bucket(limits.globalBytesPerSecond(), limits.burstBytes(), loop.nowMs());
        for (Priority p : Priority.values()) active.put(p, new ArrayDeque<>());
    }

    public Limits limits() { return limits; }

    /**
     * Queues {@code send} (which writes {@code bytes} bytes to {@code peer}) in class {@code priority}; runs it at
     * once for {@link Priority#CONTROL} or {@code immediate}. Event loop only.
     *
     * @return false if it was shed because the peer's queue is full (never for control or retrieval)
     */
    public boolean submit(PeerId peer, Priority priority, int bytes, boolean immediate, Runnable send) {
        PeerQueue q = peers.computeIfAbsent(peer, PeerQueue::new);
        if (priority == Priority.CONTROL || immediate) {
            long now = loop.nowMs();
            q.bucket.refill(now);
            global.refill(now);
            q.bucket.take(bytes);
            global.take(bytes);
            account(priority, bytes);
            send.run();
            return true;
        }
        if (priority != Priority.RETRIEVAL && q.queuedBytes + bytes > limits.maxQueuedBytesPerPeer()) {
            counters.increment("content.sched.shed");
            return false;
        }
        ArrayDeque<Item> dq = q.queues.get(priority);
        if (dq.isEmpty()) active.get(priority).addLast(q);
        dq.addLast(new Item(bytes, send));
        q.queuedBytes += bytes;
        pump();
        return true;
    }

    /** Bytes queued for {@code peer} (all classes). */
    public long queuedBytes(PeerId peer) {
        PeerQueue q = peers.get(peer);
        return q == null ? 0 : q.queuedBytes;
    }

    /**
     * Estimated ms until a message of class {@code priority} submitted now for {@code peer} goes out: its queue
     * ahead of it at the per-peer rate (0 when unlimited).
     */
    public long estimateDelayMs(PeerId peer, Priority priority, int bytes) {
        long rate = limits.perPeerBytesPerSecond();
        if (rate == 0) rate = limits.globalBytesPerSecond();
        if (rate == 0) return 0;
        PeerQueue q = peers.get(peer);
        long ahead = bytes;
        if (q != null) {
            for (Priority p : Priority.values()) {
                if (p.ordinal() > priority.ordinal()) break;
                for (Item i : q.queues.get(p)) ahead += i.bytes;
            }
        }
        return ahead * 1000 / rate;
    }

    /** Drops everything queued for {@code peer} (it disconnected). */
    public void dropPeer(PeerId peer) {
        PeerQueue q = peers.remove(peer);
        if (q == null) return;
        for (Priority p : Priority.values()) active.get(p).remove(q);
    }

    /** Sends what the buckets allow, highest class first, peers of a class in turn; re-arms the timer. */
    private void pump() {
        long now = loop.nowMs();
        while (true) {
            if (!global.ready(now)) {
                arm(global.waitMs(now));
                return;
            }
            boolean sent = false;
            long minWait = Long.MAX_VALUE;
            for (Priority p : Priority.values()) {
                ArrayDeque<PeerQueue> turn = active.get(p);
                int n = turn.size();
                for (int i = 0; i < n && !sent; i++) {
                    PeerQueue q = turn.pollFirst();
                    if (!q.bucket.ready(now)) {
                        minWait = Math.min(minWait, q.bucket.waitMs(now));
                        turn.addLast(q);
                        continue;
                    }
                    ArrayDeque<Item> dq = q.queues.get(p);
                    Item item = dq.pollFirst();
                    if (!dq.isEmpty()) turn.addLast(q);
                    q.queuedBytes -= item.bytes;
                    q.bucket.take(item.bytes);
                    global.take(item.bytes);
                    account(p, item.bytes);
                    item.send.run();
                    sent = true;
                }
                if (sent) break;
            }
            if (!sent) {
                if (minWait != Long.MAX_VALUE) arm(minWait);
                return;
            }
        }
    }

    private void account(Priority p, int bytes) {
        String name = p.name().toLowerCase();
        counters.increment("content.sched.sent." + name);
        counters.add("content.sched.bytes." + name, bytes);
    }

    private void arm(long delayMs) {
        long due = loop.nowMs() + Math.max(1, delayMs);
        if (timer != null && timerDueMs <= due) return;
        if (timer != null) timer.cancel();
        counters.increment("content.sched.delayed");
        timerDueMs = due;
        timer = loop.schedule(() -> {
            timer = null;
            timerDueMs = Long.MAX_VALUE;
            pump();
        }, due - loop.nowMs());
    }
}
