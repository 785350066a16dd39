package io.peersocket.protocol.autonat;

import io.peersocket.identity.PeerId;
import java.util.LinkedHashSet;
import java.util.Set;

/**
 * The reachability state machine: PUBLIC, PRIVATE or UNKNOWN, decided from AutoNAT dial-back results with
 * hysteresis so a node does not flip-flop (a known complaint about go-libp2p, whose confidence counter lets a
 * single contrary answer flip a freshly decided state).
 *
 * <p>Rule: a state is entered only after {@code threshold} consecutive agreeing results from {@code threshold}
 * distinct peers (a contrary result restarts the streak; repeated answers from one peer count once). Once
 * PUBLIC or PRIVATE, the state is kept for at least {@code minDwellMs} even if a contrary streak completes
 * earlier; the streak is kept and the change happens at the next result after the dwell. So alternating
 * answers never change the state, and a changed state holds for the dwell time. Results that carry no
 * information (refused, bad request, internal error, no answer) are not fed here.
 *
 * <p>Not thread-safe: owned by the event loop.
 */
public final class Reachability {

    /** What this node believes about being dialable from the Internet. */
    public enum State {
        /** Not enough agreeing results yet. */
        UNKNOWN,
        /** Peers could dial us back on an address we announced. */
        PUBLIC,
        /** Peers could not dial us back: behind a NAT or firewall. */
        PRIVATE
    }

    private final int threshold;
    private final long minDwellMs;
    private State state = State.UNKNOWN;
    private long enteredMs;
    private boolean streakSuccess;
    private final Set<PeerId> streak = new LinkedHashSet<>();

    /**
     * @param threshold agreeing results from distinct peers needed to enter a state (≥ 1)
     * @param minDwellMs least time in ms a decided state is kept (≥ 0)
     */
    public Reachability(int threshold, long minDwellMs) {
        if (threshold < 1) throw new IllegalArgumentException("threshold must be ≥ 1: " + threshold);
        if (minDwellMs < 0) throw new IllegalArgumentException("minDwellMs must be ≥ 0: " + minDwellMs);
        this.threshold = threshold;
        this.minDwellMs = minDwellMs;
    }

    public State state() { return state; }

    /** Results in the current streak (agreeing, distinct peers). */
    public int streak() { return streak.size(); }

    /**
     * Feeds one result: {@code peer} could ({@code dialled}) or could not dial us back.
     *
     * @param nowMs the event-loop clock
     * @return the new state if it changed, else null
     */
    public State record(PeerId peer, boolean dialled, long nowMs) {
        if (streak.isEmpty() || streakSuccess != dialled) {
            streak.clear();
            streakSuccess = dialled;
        }
        streak.add(peer);
        if (streak.size() > threshold) streak.remove(streak.iterator().next()); // bounded: oldest goes
        State target = dialled ? State.PUBLIC : State.PRIVATE;
        if (target == state || streak.size() < threshold) return null;
        if (state != State.UNKNOWN && nowMs - enteredMs < minDwellMs) return null;
        state = target;
        enteredMs = nowMs;
        return state;
    }
}
