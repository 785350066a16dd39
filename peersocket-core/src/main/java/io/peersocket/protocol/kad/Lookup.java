package io.peersocket.protocol.kad;

import io.peersocket.identity.PeerId;
import io.peersocket.multiaddr.Multiaddr;
import io.peersocket.util.EventLoop;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/**
 * One iterative Kademlia lookup (libp2p kad-dht spec, "Peer routing"): candidates sorted by XOR distance to the
 * target; at most α requests in flight; each answer's closer peers join the candidates; the lookup ends when the
 * k closest peers not known to have failed have all answered, when nothing is left to ask, when the
 * {@link Visitor} says it has what it needs, or at the lookup timeout.
 *
 * <p><b>Hops</b>: peers from our own table are asked in hop 1; a peer first learned from an answer of a hop-h
 * request is asked in hop h + 1 (the smallest such h if learned several times). The outcome's {@code hops} is the
 * largest hop among the k closest that answered — the length of the longest request chain needed.
 *
 * <p>Runs on the event loop only; {@link #run} completes there.
 */
final class Lookup {
    /** Sends the lookup's request to one peer; the future completes on the loop. */
    interface Query extends Function<PeerId, CompletableFuture<KadMessage>> {}

    /** Sees every answer; returns true to end the lookup early (its answer is then the outcome). */
    interface Visitor {
        boolean onResponse(PeerId from, int hop, KadMessage response);
    }

    /** Notified of each learned peer, each answer and each failure (to update the routing table). */
    interface Listener {
        void learned(KadPeer peer);

        void answered(PeerId peer);

        void failed(PeerId peer, Throwable cause);
    }

    /**
     * How the lookup ended.
     *
     * @param closest up to k closest peers that answered, closest first, with the addresses we learned
     * @param hops see the class comment (0 if nobody answered)
     * @param queried requests sent
     * @param failed requests that failed or timed out
     * @param stoppedEarly the visitor ended the lookup
     * @param timedOut the lookup timeout ended it
     */
    record Outcome(List<KadPeer> closest, int hops, long durationMs, int queried, int failed,
                   boolean stoppedEarly, boolean timedOut) {}

    private enum State { NEW, IN_FLIGHT, ANSWERED, FAILED }

    private static final class Candidate {
        final PeerId id;
        final KadKey key;
        int hop;
        State state = State.NEW;
        List<Multiaddr> addresses;

        Candidate(PeerId id, KadKey key, int hop, List<Multiaddr> addresses) {
            this.id = id;
            this.key = key;
            this.hop = hop;
            this.addresses = addresses;
        }
    }

    private final EventLoop loop;
    private final PeerId self;
    private final KadKey target;
    private final int k;
    private final int alpha;
    private final int maxCandidates;
    private final long timeoutMs;
    private final Query query;
    private final Visitor visitor;
    private final Listener listener;
    private final TreeSet<Candidate> sorted;
    private final Map<PeerId, Candidate> byId = new HashMap<>();
    private final CompletableFuture<Outcome> result = new CompletableFuture<>();
    private long startNanos;
    private int inFlight;
    private int queried;
    private int failed;
    private EventLoop.Cancellable timer;

    Lookup(EventLoop loop, PeerId self, KadKey target, int k, int alpha, long timeoutMs, Query query,
           Visitor visitor, Listener listener) {
        this.loop = loop;
        this.self = self;
        this.target = target;
        this.k = k;
        this.alpha = alpha;
        this.maxCandidates = Math.max(10 * k, 100);
        this.timeoutMs = timeoutMs;
        this.query = query;
        this.visitor = visitor;
        this.listener = listener;
        this.sorted = new TreeSet<>((a, b) -> target.compareDistance(a.key, b.key));
    }

    /** Starts from {@code seeds} (our closest table members, with their known addresses). */
    CompletableFuture<Outcome> run(List<KadPeer> seeds) {
        startNanos = loop.nanoTime();
        for (KadPeer p : seeds) add(p, 1);
        timer = loop.schedule(() -> finish(false, true), timeoutMs);
        step();
        return result;
    }

    private void add(KadPeer p, int hop) {
        if (p.id().equals(self)) return;
        Candidate c = byId.get(p.id());
        if (c != null) {
            if (c.state == State.NEW && hop < c.hop) c.hop = hop;
            if (!p.addresses().isEmpty()) c.addresses = p.addresses();
            return;
        }
        c = new Candidate(p.id(), KadKey.of(p.id()), hop, p.addresses());
        sorted.add(c);
        byId.put(c.id, c);
        if (sorted.size() > maxCandidates) { // drop the farthest peer not yet asked
            for (Candidate far : sorted.descendingSet()) {
                if (far.state == State.NEW) {
                    sorted.remove(far);
                    byId.remove(far.id);
                    break;
                }
            }
        }
    }

    private void step() {
        if (result.isDone()) return;
        int considered = 0;
        for (Candidate c : sorted) {
            if (c.state == State.FAILED) continue;
            if (considered++ == k) break;
            if (c.state == State.NEW && inFlight < alpha) send(c);
        }
        if (inFlight == 0) finish(false, false); // the k closest answered, or nobody is left to ask
    }

    private void send(Candidate c) {
        c.state = State.IN_FLIGHT;
        inFlight++;
        queried++;
        CompletableFuture<KadMessage> f;
        try {
            f = query.apply(c.id);
        } catch (RuntimeException e) {
            f = CompletableFuture.failedFuture(e);
        }
        // always a separate task: an answer that completes at once must not re-enter step() mid-iteration
        f.whenComplete((resp, err) -> loop.execute(() -> onAnswer(c, resp, err)));
    }

    private void onAnswer(Candidate c, KadMessage resp, Throwable err) {
        inFlight--;
        if (result.isDone()) return;
        if (err != null) {
            c.state = State.FAILED;
            failed++;
            listener.failed(c.id, err);
            step();
            return;
        }
        c.state = State.ANSWERED;
        listener.answered(c.id);
        for (KadPeer p : resp.closerPeers()) {
            if (p.id().equals(self)) continue;
            listener.learned(p);
            add(p, c.hop + 1);
        }
        boolean stop;
        try {
            stop = visitor.onResponse(c.id, c.hop, resp);
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
            if (timer != null) timer.cancel();
            return;
        }
        if (stop) finish(true, false);
        else step();
    }

    private void finish(boolean early, boolean timedOut) {
        if (result.isDone()) return;
        if (timer != null) timer.cancel();
        List<KadPeer> closest = new ArrayList<>();
        int hops = 0;
        for (Candidate c : sorted) {
            if (closest.size() == k) break;
            if (c.state != State.ANSWERED) continue;
            closest.add(new KadPeer(c.id, c.addresses, KadPeer.ConnectionType.NOT_CONNECTED));
            hops = Math.max(hops, c.hop);
        }
        long durationMs = (loop.nanoTime() - startNanos) / 1_000_000;
        result.complete(new Outcome(List.copyOf(closest), hops, durationMs, queried, failed, early, timedOut));
    }
}
